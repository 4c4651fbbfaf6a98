import { ConfigError } from './errors.ts';

/**
 * The declaration: one typed description of providers and subscribers that both
 * the CDK app and the local runtime turn into resources (DESIGN.md §6).
 */

/** Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp`, `webhook-signature`. */
export interface StandardWebhooksProvider {
  scheme: 'standard-webhooks';
  /** Accepted clock skew, both directions. @default 300 */
  toleranceSeconds?: number;
}

export type ProviderScheme = StandardWebhooksProvider;

export type ProviderDeclaration = ProviderScheme & {
  /** Largest accepted body in bytes; bigger is answered 413. @default DEFAULT_MAX_BODY_BYTES */
  maxBodyBytes?: number;
};

/**
 * Which events a subscriber receives. Both lists are optional; an empty filter
 * receives everything. A type ending in `.` or `*` matches as a prefix
 * (`standard.invoice.` or `standard.invoice.*`), anything else exactly. Types
 * are the envelope's `type`, that is `<provider>.<eventType>`.
 */
export interface SubscriberFilter {
  providers?: readonly string[];
  types?: readonly string[];
}

export interface ConsumerDeclaration {
  /** Path of the handler module, relative to the repository root. */
  entry: string;
  /** Exported handler name. @default 'handler' */
  handler?: string;
  /** @default 30 */
  timeoutSeconds?: number;
  /** @default 256 */
  memorySize?: number;
}

export interface SubscriberDeclaration {
  filter?: SubscriberFilter;
  consumer: ConsumerDeclaration;
  /** Records per consumer invocation. @default 10 */
  batchSize?: number;
  /** Receives before a message is parked in the DLQ. @default 5 */
  maxReceiveCount?: number;
  /** @default 6 × the consumer timeout, as AWS recommends for SQS event sources */
  visibilityTimeoutSeconds?: number;
}

export interface HookonceDeclaration {
  /** Prefix of resource names. @default 'hookonce' */
  name?: string;
  /** Keyed by the URL segment: `POST /webhooks/{name}`. */
  providers: Readonly<Record<string, ProviderDeclaration>>;
  /** Keyed by subscriber name; each gets its own queue, DLQ and consumer. */
  subscribers: Readonly<Record<string, SubscriberDeclaration>>;
  /** How long a delivery id is remembered. @default 7 */
  retentionDays?: number;
  /** Shards of the pending-deliveries index (DESIGN.md §3). @default 16 */
  pendingShards?: number;
}

/** Under SNS's 256 KiB message limit once wrapped in the envelope. */
export const DEFAULT_MAX_BODY_BYTES = 200 * 1024;
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_RETENTION_DAYS = 7;
export const DEFAULT_PENDING_SHARDS = 16;
export const DEFAULT_CONSUMER_TIMEOUT_SECONDS = 30;
export const DEFAULT_BATCH_SIZE = 10;
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** Records a problem unless `value` is a whole number in [min, max]. */
function checkInt(problems: string[], what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${what} must be a whole number between ${min} and ${max}, got ${value}`);
  }
}

/** Checks a declaration and fills defaults; throws one error listing every problem found. */
export function resolveDeclaration(declaration: HookonceDeclaration): ResolvedDeclaration {
  const problems: string[] = [];
  const name = declaration.name ?? 'hookonce';
  if (!NAME.test(name)) problems.push(`name "${name}": lower-case letters, digits and dashes`);
  if (Object.keys(declaration.providers).length === 0)
    problems.push('declare at least one provider');

  const providers: Record<string, ResolvedProvider> = {};
  for (const [provider, p] of Object.entries(declaration.providers)) {
    if (!NAME.test(provider)) {
      problems.push(`provider "${provider}": names are lower-case letters, digits and dashes`);
    }
    if (p.scheme !== 'standard-webhooks') {
      problems.push(`provider "${provider}": unknown scheme "${(p as { scheme: string }).scheme}"`);
    }
    const resolved = {
      ...p,
      maxBodyBytes: p.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      toleranceSeconds: p.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
    };
    checkInt(
      problems,
      `provider "${provider}": maxBodyBytes`,
      resolved.maxBodyBytes,
      1,
      DEFAULT_MAX_BODY_BYTES,
    );
    checkInt(
      problems,
      `provider "${provider}": toleranceSeconds`,
      resolved.toleranceSeconds,
      1,
      3600,
    );
    providers[provider] = resolved;
  }

  const subscribers: Record<string, ResolvedSubscriber> = {};
  for (const [subscriber, s] of Object.entries(declaration.subscribers)) {
    const what = `subscriber "${subscriber}"`;
    if (!NAME.test(subscriber))
      problems.push(`${what}: names are lower-case letters, digits and dashes`);
    for (const provider of s.filter?.providers ?? []) {
      if (!(provider in declaration.providers)) {
        problems.push(`${what}: filter names unknown provider "${provider}"`);
      }
    }
    const timeoutSeconds = s.consumer.timeoutSeconds ?? DEFAULT_CONSUMER_TIMEOUT_SECONDS;
    const resolved: ResolvedSubscriber = {
      filter: s.filter ?? {},
      consumer: {
        entry: s.consumer.entry,
        handler: s.consumer.handler ?? 'handler',
        timeoutSeconds,
        memorySize: s.consumer.memorySize ?? 256,
      },
      batchSize: s.batchSize ?? DEFAULT_BATCH_SIZE,
      maxReceiveCount: s.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
      visibilityTimeoutSeconds: s.visibilityTimeoutSeconds ?? timeoutSeconds * 6,
    };
    checkInt(problems, `${what}: batchSize`, resolved.batchSize, 1, 10);
    checkInt(problems, `${what}: maxReceiveCount`, resolved.maxReceiveCount, 1, 1000);
    checkInt(problems, `${what}: consumer.timeoutSeconds`, timeoutSeconds, 1, 900);
    checkInt(problems, `${what}: consumer.memorySize`, resolved.consumer.memorySize, 128, 10240);
    // SQS caps the visibility timeout at 12 hours; AWS wants it at least the function timeout.
    checkInt(
      problems,
      `${what}: visibilityTimeoutSeconds`,
      resolved.visibilityTimeoutSeconds,
      timeoutSeconds,
      43200,
    );
    subscribers[subscriber] = resolved;
  }

  const retentionDays = declaration.retentionDays ?? DEFAULT_RETENTION_DAYS;
  const pendingShards = declaration.pendingShards ?? DEFAULT_PENDING_SHARDS;
  checkInt(problems, 'retentionDays', retentionDays, 1, 365);
  checkInt(problems, 'pendingShards', pendingShards, 1, 1000);
  if (problems.length > 0) {
    throw new ConfigError(`invalid hookonce declaration:\n  - ${problems.join('\n  - ')}`);
  }
  return { name, providers, subscribers, retentionDays, pendingShards };
}

export type ResolvedProvider = ProviderDeclaration & {
  maxBodyBytes: number;
  toleranceSeconds: number;
};

export interface ResolvedSubscriber {
  filter: SubscriberFilter;
  consumer: Required<ConsumerDeclaration>;
  batchSize: number;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
}

export interface ResolvedDeclaration {
  name: string;
  providers: Readonly<Record<string, ResolvedProvider>>;
  subscribers: Readonly<Record<string, ResolvedSubscriber>>;
  retentionDays: number;
  pendingShards: number;
}

type FilterCondition = string | { prefix: string };

/**
 * The SNS filter policy of a subscriber, on the `provider` and `type` message
 * attributes. `undefined` means no policy: every event is delivered. The CDK app
 * and the local runtime both use this exact JSON.
 */
export function toFilterPolicy(
  filter: SubscriberFilter,
): Record<string, FilterCondition[]> | undefined {
  const policy: Record<string, FilterCondition[]> = {};
  if (filter.providers && filter.providers.length > 0) policy.provider = [...filter.providers];
  if (filter.types && filter.types.length > 0) {
    policy.type = filter.types.map((t) => {
      if (t.endsWith('*')) return { prefix: t.slice(0, -1) };
      if (t.endsWith('.')) return { prefix: t };
      return t;
    });
  }
  return Object.keys(policy).length > 0 ? policy : undefined;
}
