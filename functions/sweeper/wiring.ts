import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { DeliveryStore } from '../deliveries/store.ts';
import { SnsPublisher } from '../fanout/publisher.ts';
import { BACKGROUND_CLIENT_CONFIG } from '../shared/aws.ts';
import { systemClock } from '../shared/clock.ts';
import type { Env } from '../shared/env.ts';
import { createPowertoolsLogger, fromPowertools, levelFromEnv } from '../shared/log.ts';
import { emfMetrics, SERVICE } from '../shared/metrics.ts';
import { readSweeperConfig } from './config.ts';
import { type SweepDeps, type SweepReport, sweep } from './sweeper.ts';

export type SweeperHandler = (
  event: ScheduledEvent | undefined,
  context: Context,
) => Promise<SweepReport>;

/** Config once at cold start; each scheduled invocation is one bounded sweep. */
export function createSweeperHandler(env: Env, overrides: Partial<SweepDeps> = {}): SweeperHandler {
  const config = readSweeperConfig(env);
  const service = env.POWERTOOLS_SERVICE_NAME || SERVICE.sweeper;
  const powertools = createPowertoolsLogger({ service, level: levelFromEnv(env) });
  const deps: SweepDeps = {
    deliveries:
      overrides.deliveries ??
      new DeliveryStore({
        client: new DynamoDBClient(BACKGROUND_CLIENT_CONFIG),
        tableName: config.tableName,
        pendingShards: config.pendingShards,
        retentionSeconds: config.retentionSeconds,
      }),
    publisher:
      overrides.publisher ??
      new SnsPublisher({
        client: new SNSClient(BACKGROUND_CLIENT_CONFIG),
        topicArn: config.topicArn,
      }),
    clock: overrides.clock ?? systemClock,
    log: overrides.log ?? fromPowertools(powertools),
    metrics: overrides.metrics ?? emfMetrics({ service }),
  };
  return (
    middy<ScheduledEvent | undefined, SweepReport>()
      // Never the event: it holds the body and the signature headers (even if POWERTOOLS_LOGGER_LOG_EVENT is set).
      .use(injectLambdaContext(powertools, { resetKeys: true, logEvent: false }))
      .handler((_event, context) =>
        sweep(deps, {
          owner: `sweeper:${context.awsRequestId}`,
          graceMs: config.graceSeconds * 1000,
          maxPerRun: config.maxPerRun,
          maxAttempts: config.maxAttempts,
          leaseMs: 30_000,
          remainingTimeMs: () => context.getRemainingTimeInMillis(),
        }),
      )
  );
}
