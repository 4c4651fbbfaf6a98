import { type Env, optionalIntEnv, requireEnv } from '../shared/env.ts';

/** The consumer functions' environment, built by the CDK app and the local runtime alike. */
export const CONSUMER_ENV = {
  table: 'HOOKONCE_CONSUMER_TABLE',
  subscriber: 'HOOKONCE_SUBSCRIBER',
  retentionSeconds: 'HOOKONCE_CLAIM_RETENTION_SECONDS',
  payloadBucket: 'HOOKONCE_PAYLOAD_BUCKET',
} as const;

export interface ConsumerConfig {
  tableName: string;
  subscriber: string;
  retentionSeconds: number;
  /** Where payloads too large for the envelope are; consumers may read it. */
  payloadBucket: string;
}

export function consumerEnvironment(config: ConsumerConfig): Record<string, string> {
  return {
    [CONSUMER_ENV.table]: config.tableName,
    [CONSUMER_ENV.subscriber]: config.subscriber,
    [CONSUMER_ENV.retentionSeconds]: String(config.retentionSeconds),
    [CONSUMER_ENV.payloadBucket]: config.payloadBucket,
  };
}

export function readConsumerConfig(env: Env): ConsumerConfig {
  return {
    tableName: requireEnv(env, CONSUMER_ENV.table),
    subscriber: requireEnv(env, CONSUMER_ENV.subscriber),
    retentionSeconds: optionalIntEnv(env, CONSUMER_ENV.retentionSeconds, 7 * 24 * 3600),
    payloadBucket: requireEnv(env, CONSUMER_ENV.payloadBucket),
  };
}
