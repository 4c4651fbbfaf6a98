import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { S3PayloadStore } from '../deliveries/payloads.ts';
import { DeliveryStore } from '../deliveries/store.ts';
import { SnsPublisher } from '../fanout/publisher.ts';
import { buildProviders } from '../providers/registry.ts';
import { INGEST_CLIENT_CONFIG, INGEST_S3_CLIENT_CONFIG, s3PathStyle } from '../shared/aws.ts';
import { systemClock } from '../shared/clock.ts';
import type { Env } from '../shared/env.ts';
import { ConfigError } from '../shared/errors.ts';
import {
  createPowertoolsLogger,
  errorFields,
  fromPowertools,
  levelFromEnv,
} from '../shared/log.ts';
import { emfMetrics, SERVICE } from '../shared/metrics.ts';
import { envSecrets, secretEnvKey } from '../shared/secrets.ts';
import { secretsManagerSecrets } from '../shared/secrets-manager.ts';
import { readIngestConfig } from './config.ts';
import { type IngestDeps, ingest } from './ingest.ts';
import { toIngestRequest } from './request.ts';
import { internalError } from './responses.ts';

export type IngestHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Reads the configuration once (a cold start fails fast on a bad one), builds
 * the clients, and wires the core into a middy handler. Tests pass `overrides`
 * to swap a dependency; production passes nothing.
 */
export function createIngestHandler(env: Env, overrides: Partial<IngestDeps> = {}): IngestHandler {
  const config = readIngestConfig(env);
  const providers = buildProviders(config.providers);
  // Powertools Logger: JSON lines; the middleware below adds the Lambda context and
  // re-draws the debug sampling (POWERTOOLS_LOGGER_SAMPLE_RATE) per invocation.
  const service = env.POWERTOOLS_SERVICE_NAME || SERVICE.ingest;
  const powertools = createPowertoolsLogger({ service, level: levelFromEnv(env) });
  const log = overrides.log ?? fromPowertools(powertools);
  const metrics = overrides.metrics ?? emfMetrics({ service });
  let secrets = overrides.secrets;
  if (!secrets && config.secretIds) {
    secrets = secretsManagerSecrets({
      secretIds: config.secretIds,
      log,
      check: (name, list) => providers.get(name)?.checkSecrets(list),
    });
  } else if (!secrets) {
    // A provider whose keys are in the declaration (asymmetric, jwt) takes no secret.
    const withSecrets = [...providers.values()].filter((p) => !p.secretless);
    const local = envSecrets(
      env,
      withSecrets.map((p) => p.name),
    );
    // Local secrets are known now: a malformed one fails the cold start, not the first webhook.
    for (const provider of withSecrets) {
      try {
        provider.checkSecrets(local.all.get(provider.name) ?? []);
      } catch (error) {
        // Say which variable to fix; the verifier's message never repeats the secret.
        throw new ConfigError(`${secretEnvKey(provider.name)}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    secrets = local;
  }
  const deps: IngestDeps = {
    providers,
    secrets,
    deliveries:
      overrides.deliveries ??
      new DeliveryStore({
        client: new DynamoDBClient(INGEST_CLIENT_CONFIG),
        tableName: config.tableName,
        pendingShards: config.pendingShards,
        retentionSeconds: config.retentionSeconds,
      }),
    publisher:
      overrides.publisher ??
      new SnsPublisher({ client: new SNSClient(INGEST_CLIENT_CONFIG), topicArn: config.topicArn }),
    payloads:
      overrides.payloads ??
      new S3PayloadStore({
        client: new S3Client({ ...INGEST_S3_CLIENT_CONFIG, forcePathStyle: s3PathStyle(env) }),
        bucket: config.payloadBucket,
      }),
    clock: overrides.clock ?? systemClock,
    log,
    metrics,
    lease: overrides.lease,
    inlinePayloadBytes: overrides.inlinePayloadBytes,
  };

  return (
    middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
      // Never the event: it holds the body and the signature headers (even if POWERTOOLS_LOGGER_LOG_EVENT is set).
      .use(injectLambdaContext(powertools, { resetKeys: true, logEvent: false }))
      .handler((event, context) => ingest(toIngestRequest(event, context), deps))
      .onError(async (request) => {
        // Anything the core did not answer itself is a bug: log it, say nothing of it.
        log.error('unhandled error', {
          ...errorFields(request.error),
          outcome: 'error',
          status: 500,
        });
        request.response = internalError();
      })
  );
}
