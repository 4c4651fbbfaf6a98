import { ingestEnvironment } from '../../functions/ingest/config.ts';
import { S3_PATH_STYLE_ENV } from '../../functions/shared/aws.ts';
import type { ResolvedDeclaration } from '../../functions/shared/declaration.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import type { DynamoBackend, MessagingBackend } from './backends.ts';

/** The variables the SDK clients the ingest handler builds read their endpoint, region and credentials from. */
const AWS_VARIABLES = [
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_SNS',
  'AWS_ENDPOINT_URL_S3',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
] as const;

/**
 * For a test that runs the ingest Lambda's handler in-process on the emulators. The
 * SDK clients the handler builds read their endpoints, region and credentials from
 * process.env, so those point at the emulators (any other AWS profile, token or
 * endpoint cleared) until `restore()` puts every variable back as it was. `env` is
 * what the handler is built from: the construct's variables for `declaration`, the
 * providers' secrets (`HOOKONCE_SECRET_<NAME>`, given as they are) and path-style S3.
 */
export function emulatorIngestEnvironment(options: {
  readonly db: DynamoBackend;
  readonly messaging: MessagingBackend;
  readonly declaration: ResolvedDeclaration;
  readonly retentionSeconds: number;
  readonly secrets: Readonly<Record<string, string>>;
}): { env: Record<string, string>; restore(): void } {
  const { db, messaging, declaration } = options;
  const saved = new Map(AWS_VARIABLES.map((key) => [key, process.env[key]]));
  for (const key of ['AWS_ENDPOINT_URL', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
    delete process.env[key];
  }
  process.env.AWS_ENDPOINT_URL_DYNAMODB = db.emulator.endpoint;
  process.env.AWS_ENDPOINT_URL_SNS = messaging.emulator.endpoint;
  process.env.AWS_ENDPOINT_URL_S3 = messaging.emulator.endpoint;
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  const env = {
    ...ingestEnvironment({
      tableName: db.deliveriesTable,
      topicArn: messaging.topicArn,
      providers: { ...declaration.providers },
      retentionSeconds: options.retentionSeconds,
      pendingShards: declaration.pendingShards,
      payloadBucket: messaging.payloadBucket,
    }),
    ...options.secrets,
    [S3_PATH_STYLE_ENV]: 'true',
  };
  return {
    env,
    restore() {
      for (const [key, value] of saved) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    },
  };
}
