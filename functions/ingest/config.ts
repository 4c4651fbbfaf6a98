import type { ResolvedProvider } from '../shared/declaration.ts';
import { type Env, jsonEnv, optionalIntEnv, requireEnv } from '../shared/env.ts';
import { ConfigError } from '../shared/errors.ts';

/**
 * The ingest function's environment. The CDK app and the local runtime both
 * build it with ingestEnvironment(), and the handler reads it with
 * readIngestConfig(): one place names every variable.
 */
export const INGEST_ENV = {
  table: 'HOOKONCE_DELIVERIES_TABLE',
  topicArn: 'HOOKONCE_TOPIC_ARN',
  providers: 'HOOKONCE_PROVIDERS',
  retentionSeconds: 'HOOKONCE_RETENTION_SECONDS',
  pendingShards: 'HOOKONCE_PENDING_SHARDS',
  secretIds: 'HOOKONCE_SECRET_IDS',
  payloadBucket: 'HOOKONCE_PAYLOAD_BUCKET',
} as const;

export interface IngestConfig {
  tableName: string;
  topicArn: string;
  providers: Record<string, ResolvedProvider>;
  retentionSeconds: number;
  pendingShards: number;
  /** The bucket large bodies go to. */
  payloadBucket: string;
  /** Secrets Manager ids by provider; absent locally, where secrets come from HOOKONCE_SECRET_<PROVIDER>. */
  secretIds?: Record<string, string>;
}

export function ingestEnvironment(config: IngestConfig): Record<string, string> {
  const env: Record<string, string> = {
    [INGEST_ENV.table]: config.tableName,
    [INGEST_ENV.topicArn]: config.topicArn,
    [INGEST_ENV.providers]: JSON.stringify(config.providers),
    [INGEST_ENV.retentionSeconds]: String(config.retentionSeconds),
    [INGEST_ENV.pendingShards]: String(config.pendingShards),
    [INGEST_ENV.payloadBucket]: config.payloadBucket,
  };
  if (config.secretIds) env[INGEST_ENV.secretIds] = JSON.stringify(config.secretIds);
  return env;
}

export function readIngestConfig(env: Env): IngestConfig {
  const providers = jsonEnv<Record<string, ResolvedProvider>>(env, INGEST_ENV.providers);
  if (Object.keys(providers).length === 0)
    throw new ConfigError(`${INGEST_ENV.providers} lists no provider`);
  const rawIds = env[INGEST_ENV.secretIds];
  const pendingShards = optionalIntEnv(env, INGEST_ENV.pendingShards, 16);
  if (pendingShards < 1) throw new ConfigError(`${INGEST_ENV.pendingShards} must be at least 1`);
  for (const [name, p] of Object.entries(providers)) {
    if (!Number.isInteger(p.maxBodyBytes) || p.maxBodyBytes <= 0) {
      throw new ConfigError(
        `${INGEST_ENV.providers}: provider "${name}" has no valid maxBodyBytes`,
      );
    }
  }
  return {
    tableName: requireEnv(env, INGEST_ENV.table),
    topicArn: requireEnv(env, INGEST_ENV.topicArn),
    providers,
    retentionSeconds: optionalIntEnv(env, INGEST_ENV.retentionSeconds, 7 * 24 * 3600),
    pendingShards,
    payloadBucket: requireEnv(env, INGEST_ENV.payloadBucket),
    secretIds: rawIds ? jsonEnv<Record<string, string>>(env, INGEST_ENV.secretIds) : undefined,
  };
}
