import { type Env, optionalIntEnv, requireEnv } from '../shared/env.ts';
import { ConfigError } from '../shared/errors.ts';

/** The sweeper's environment, built by the CDK app and the local runtime alike. */
export const SWEEPER_ENV = {
  table: 'HOOKONCE_DELIVERIES_TABLE',
  topicArn: 'HOOKONCE_TOPIC_ARN',
  pendingShards: 'HOOKONCE_PENDING_SHARDS',
  retentionSeconds: 'HOOKONCE_RETENTION_SECONDS',
  graceSeconds: 'HOOKONCE_SWEEP_GRACE_SECONDS',
  maxPerRun: 'HOOKONCE_SWEEP_MAX_PER_RUN',
  maxAttempts: 'HOOKONCE_SWEEP_MAX_ATTEMPTS',
} as const;

export const DEFAULT_SWEEP_GRACE_SECONDS = 30;
export const DEFAULT_SWEEP_MAX_PER_RUN = 500;
/**
 * Publishes the sweeper tries per delivery before it parks it FAILED: with the
 * retry delays (1 min, doubling, at most 1 h), about four hours of trying.
 */
export const DEFAULT_SWEEP_MAX_ATTEMPTS = 10;
/** How often the sweeper runs, on AWS and locally. */
export const SWEEP_INTERVAL_SECONDS = 60;

export interface SweeperConfig {
  tableName: string;
  topicArn: string;
  pendingShards: number;
  retentionSeconds: number;
  graceSeconds: number;
  maxPerRun: number;
  /** Failed publishes before a delivery is parked FAILED. */
  maxAttempts: number;
}

export function sweeperEnvironment(config: SweeperConfig): Record<string, string> {
  return {
    [SWEEPER_ENV.table]: config.tableName,
    [SWEEPER_ENV.topicArn]: config.topicArn,
    [SWEEPER_ENV.pendingShards]: String(config.pendingShards),
    [SWEEPER_ENV.retentionSeconds]: String(config.retentionSeconds),
    [SWEEPER_ENV.graceSeconds]: String(config.graceSeconds),
    [SWEEPER_ENV.maxPerRun]: String(config.maxPerRun),
    [SWEEPER_ENV.maxAttempts]: String(config.maxAttempts),
  };
}

export function readSweeperConfig(env: Env): SweeperConfig {
  const config = {
    tableName: requireEnv(env, SWEEPER_ENV.table),
    topicArn: requireEnv(env, SWEEPER_ENV.topicArn),
    pendingShards: optionalIntEnv(env, SWEEPER_ENV.pendingShards, 16),
    retentionSeconds: optionalIntEnv(env, SWEEPER_ENV.retentionSeconds, 7 * 24 * 3600),
    graceSeconds: optionalIntEnv(env, SWEEPER_ENV.graceSeconds, DEFAULT_SWEEP_GRACE_SECONDS),
    maxPerRun: optionalIntEnv(env, SWEEPER_ENV.maxPerRun, DEFAULT_SWEEP_MAX_PER_RUN),
    maxAttempts: optionalIntEnv(env, SWEEPER_ENV.maxAttempts, DEFAULT_SWEEP_MAX_ATTEMPTS),
  };
  if (config.pendingShards < 1)
    throw new ConfigError(`${SWEEPER_ENV.pendingShards} must be at least 1`);
  if (config.maxPerRun < 1) throw new ConfigError(`${SWEEPER_ENV.maxPerRun} must be at least 1`);
  if (config.maxAttempts < 1) {
    throw new ConfigError(`${SWEEPER_ENV.maxAttempts} must be at least 1`);
  }
  return config;
}
