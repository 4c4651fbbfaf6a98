import { createHmac, randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  type HookonceDeclaration,
  type ResolvedDeclaration,
  resolveDeclaration,
} from '../../../functions/shared/declaration.ts';
import { createLogger, type Logger } from '../../../functions/shared/log.ts';
import { emfMetrics, type MetricsPort } from '../../../functions/shared/metrics.ts';
import {
  type DynamoEmulator,
  type Emulator,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynalite,
  startFauxqs,
} from '../../../infra/local/emulators.ts';
import {
  ensureBucket,
  ensureMessaging,
  ensureTables,
  type LocalResources,
} from '../../../infra/local/resources.ts';
import { localNames } from '../../../infra/names.ts';

/** A Standard Webhooks secret made for this run. */
export const BENCH_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const BENCH_KEY = Buffer.from(BENCH_SECRET.slice('whsec_'.length), 'base64');

/** Every bench delivery has this type, so a floor can write the same item without parsing. */
export const BENCH_EVENT_TYPE = 'invoice.paid';

/**
 * A JSON body of exactly `bytes` bytes (ASCII), shaped like a real provider's event:
 * `id` and `type` at the top (Stripe, Standard Webhooks), `event_id` and `event.type`
 * (Slack), and a `data.object` padded to size.
 */
export function jsonBody(bytes: number, id: string): string {
  const head = {
    id,
    type: BENCH_EVENT_TYPE,
    event_id: id,
    event: { type: 'message' },
    created: 4102444800,
    data: { object: { id: `in_${id}`, amount: 4200, currency: 'eur', customer: 'cus_bench' } },
  };
  const empty = JSON.stringify({ ...head, padding: '' });
  const room = bytes - empty.length;
  if (room < 0) throw new Error(`a body of ${bytes} bytes is too small for the event`);
  return JSON.stringify({ ...head, padding: 'x'.repeat(room) });
}

/** The three Standard Webhooks headers, signed as the spec (and its library) signs them. */
export function signStandard(
  id: string,
  body: string | Buffer,
  nowMs = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const signature = createHmac('sha256', BENCH_KEY)
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest('base64');
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}

let sequence = 0;
/** Read once: ids of this run differ from every earlier run's by it, and from each other by the sequence. */
const RUN = `${process.pid}_${randomBytes(4).toString('hex')}`;
/** A delivery id no earlier run or subject has used. */
export const uniqueId = (prefix: string): string => `${prefix}_${RUN}_${(sequence++).toString(36)}`;

/** The declaration the in-process benches run: one Standard Webhooks provider, one subscriber for every event. */
export function benchDeclaration(name: string, overrides: Partial<HookonceDeclaration> = {}) {
  return resolveDeclaration({
    name,
    providers: { standard: { scheme: 'standard-webhooks' } },
    subscribers: { all: { consumer: { entry: 'functions/consumers/example/handler.ts' } } },
    ...overrides,
  });
}

export const clientConfig = (endpoint: string) => ({
  endpoint,
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
});

export interface Backends {
  readonly dynamo: DynamoEmulator;
  readonly fauxqs: Emulator;
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly resources: LocalResources;
  /** Empties every subscriber queue, so published events do not pile up between rounds. */
  purge(): Promise<void>;
  stop(): Promise<void>;
}

/** dynalite and fauxqs in this process, with the declaration's tables, topic and queues. */
export async function startBackends(declaration: ResolvedDeclaration): Promise<Backends> {
  const dynamo = await startDynalite();
  const fauxqs = await startFauxqs();
  const dynamodb = new DynamoDBClient(clientConfig(dynamo.endpoint));
  const sns = new SNSClient(clientConfig(fauxqs.endpoint));
  const sqs = new SQSClient(clientConfig(fauxqs.endpoint));
  const s3 = new S3Client({ ...clientConfig(fauxqs.endpoint), forcePathStyle: true });
  await ensureTables(dynamodb, declaration);
  const payloadBucket = await ensureBucket(s3, declaration);
  s3.destroy();
  const messaging = await ensureMessaging(sns, sqs, declaration);
  const names = localNames(declaration);
  const resources: LocalResources = {
    deliveriesTable: names.deliveriesTable,
    consumerTable: names.consumerTable,
    payloadBucket,
    ...messaging,
  };
  return {
    dynamo,
    fauxqs,
    dynamodb,
    sns,
    sqs,
    resources,
    async purge() {
      for (const q of Object.values(resources.subscribers)) {
        await sqs.send(new PurgeQueueCommand({ QueueUrl: q.queueUrl }));
      }
    },
    async stop() {
      dynamodb.destroy();
      sns.destroy();
      sqs.destroy();
      await fauxqs.stop();
      await dynamo.stop();
    },
  };
}

/** The variables the SDK clients a handler builds read their endpoints, region and credentials from. */
export function pointSdkAt(endpoints: { dynamodb: string; fauxqs: string }): () => void {
  const values: Record<string, string> = {
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SNS: endpoints.fauxqs,
    AWS_ENDPOINT_URL_S3: endpoints.fauxqs,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  };
  const saved = new Map(Object.keys(values).map((k) => [k, process.env[k]]));
  for (const key of ['AWS_ENDPOINT_URL', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
    saved.set(key, process.env[key]);
    delete process.env[key];
  }
  Object.assign(process.env, values);
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

/**
 * A logger at the production level (info) whose lines are built but not written:
 * the handler pays for its logging as in Lambda, and the terminal stays readable.
 */
export const discardingLogger = (service: string): Logger =>
  createLogger({ service }, 'info', () => undefined);

/**
 * EMF metrics as in Lambda, each line built but not written: the handler pays
 * for its metrics, and the terminal gets no `{"_aws":…}` line per delivery.
 */
export const discardingMetrics = (service: string): MetricsPort =>
  emfMetrics({ service, write: () => undefined });
