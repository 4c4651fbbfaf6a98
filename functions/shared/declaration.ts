import { ConfigError } from './errors.ts';

/**
 * The declaration: one typed description of providers and subscribers that both
 * the CDK app and the local runtime turn into resources (docs/architecture.md,
 * Configuration).
 */

/**
 * Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp`,
 * `webhook-signature`. Secrets are `whsec_` keys (symmetric `v1` signatures) and `whpk_`
 * Ed25519 public keys (asymmetric `v1a` signatures), in any mix.
 */
export interface StandardWebhooksProvider {
  scheme: 'standard-webhooks';
  /** Accepted clock skew of `webhook-timestamp`, both directions. @default 300 */
  toleranceSeconds?: number;
}

/** Stripe: `Stripe-Signature: t=…,v1=…`; the event's `id` and `type` from the body. Secret: `whsec_…`. */
export interface StripeProvider {
  scheme: 'stripe';
  /** Accepted clock skew of the signature's `t=`, both directions. @default 300 */
  toleranceSeconds?: number;
}

/** GitHub: `X-Hub-Signature-256`, `X-GitHub-Delivery`, `X-GitHub-Event`. Secret: the webhook's secret. */
export interface GithubProvider {
  scheme: 'github';
}

/** Shopify: `X-Shopify-Hmac-Sha256`, `X-Shopify-Event-Id` (else `X-Shopify-Webhook-Id`), `X-Shopify-Topic`. Secret: the app's client secret. */
export interface ShopifyProvider {
  scheme: 'shopify';
}

/** Slack Events API: `X-Slack-Signature` over `v0:timestamp:body`, `event_id`, `event.type`. Secret: the app's signing secret. */
export interface SlackProvider {
  scheme: 'slack';
  /** Accepted clock skew of `X-Slack-Request-Timestamp`, both directions. @default 300 */
  toleranceSeconds?: number;
}

/** Twilio: `X-Twilio-Signature` over the public URL and the form parameters; `I-Twilio-Idempotency-Token`. Secret: the auth token. */
export interface TwilioProvider {
  scheme: 'twilio';
  /**
   * The URL configured in Twilio, without its query string (the request's own query
   * string is appended): set it when hookonce sits behind a custom domain or a proxy
   * that changes the host or the path.
   * @default the request's `<x-forwarded-proto>://<host><path>`
   */
  publicUrl?: string;
  /** The event type of every Twilio delivery (the envelope type is `<provider>.<eventType>`). @default 'twilio' */
  eventType?: string;
}

/** Where the generic HMAC scheme finds a delivery id. */
export type HmacDeliveryId = { header: string } | { jsonField: string };

/** Any HMAC signer: the header, the algorithm, the encoding and what is signed are declared. */
export interface HmacProvider {
  scheme: 'hmac';
  /** The header that carries the signature, e.g. `x-signature`. */
  header: string;
  /** Text before the signature in the header, e.g. `sha256=`. @default '' */
  prefix?: string;
  algorithm: 'sha1' | 'sha256' | 'sha512';
  encoding: 'hex' | 'base64';
  /** The header that carries a signed timestamp (whole seconds); enables the replay window. @default none */
  timestampHeader?: string;
  /** Accepted clock skew of the timestamp, both directions; only with `timestampHeader`. @default 300 */
  toleranceSeconds?: number;
  /**
   * What is signed: a template of `{body}` (the raw body, exactly once), `{timestamp}` (the
   * timestamp header) and `{id}` (the delivery id header).
   * @default '{timestamp}.{body}' with a timestampHeader, else '{body}'
   */
  signedContent?: string;
  /**
   * Where the delivery id is: a header, or a field of the JSON body (a dotted path).
   * @default none: the SHA-256 of the body, so identical bodies count as one delivery (content-based dedup)
   */
  deliveryId?: HmacDeliveryId;
  /** A field of the JSON body (a dotted path) that names the event type. @default none: every event is 'webhook' */
  eventTypeField?: string;
}

export type ProviderScheme =
  | StandardWebhooksProvider
  | StripeProvider
  | GithubProvider
  | ShopifyProvider
  | SlackProvider
  | TwilioProvider
  | HmacProvider;

export type SchemeName = ProviderScheme['scheme'];

export const SCHEMES: readonly SchemeName[] = [
  'standard-webhooks',
  'stripe',
  'github',
  'shopify',
  'slack',
  'twilio',
  'hmac',
];

export type ProviderDeclaration = ProviderScheme & {
  /** Largest accepted body in bytes; bigger is answered 413. @default DEFAULT_MAX_BODY_BYTES */
  maxBodyBytes?: number;
  /**
   * On AWS, an existing Secrets Manager secret that holds this provider's JSON list
   * of active secrets, by its complete ARN (ending in the six random characters).
   * The stack then creates none for this provider and grants the ingest function
   * read access to this one only. Not with secretName.
   * @default a secret the stack creates, starting as `[]`
   */
  secretArn?: string;
  /**
   * Days a delivery's key is kept: a copy within them is a duplicate. A scheme that
   * signs no timestamp (github, shopify, twilio, hmac without timestampHeader)
   * takes a replayed request again once its key is gone, so it keeps keys longer.
   * @default the declaration's retentionDays; at least 30 for a scheme that signs no timestamp
   */
  retentionDays?: number;
  /** The same as secretArn, by the secret's name in this account and region. */
  secretName?: string;
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
  /**
   * How long the event source waits to fill a batch before it invokes the consumer
   * with what it has (Lambda's MaximumBatchingWindowInSeconds), 0 to 300. @default 0
   */
  batchingWindowSeconds?: number;
  /**
   * The most batches in flight at once (Lambda's ScalingConfig.MaximumConcurrency),
   * 2 to 1000. @default unset: Lambda scales up to the account's limit
   */
  maxConcurrency?: number;
  /** Receives before a message is parked in the DLQ. @default 5 */
  maxReceiveCount?: number;
  /**
   * At least the consumer timeout plus the batching window, or messages held while
   * a batch fills come back before they are processed.
   * @default 6 × the consumer timeout + the batching window, as AWS recommends for SQS event sources
   */
  visibilityTimeoutSeconds?: number;
}

export interface HookonceDeclaration {
  /** Prefix of resource names. @default 'hookonce' */
  name?: string;
  /** Keyed by the URL segment: `POST /webhooks/{name}`. */
  providers: Readonly<Record<string, ProviderDeclaration>>;
  /** Keyed by subscriber name; each gets its own queue, DLQ and consumer. */
  subscribers: Readonly<Record<string, SubscriberDeclaration>>;
  /**
   * How long a delivery id is remembered, for providers that sign a timestamp
   * (others keep at least NO_TIMESTAMP_RETENTION_DAYS). @default 7
   */
  retentionDays?: number;
  /** Shards of the pending-deliveries index (docs/architecture.md, the delivery state machine). @default 16 */
  pendingShards?: number;
  /**
   * Throttling of the webhook endpoint, for all providers together (API Gateway
   * stage throttling): requests over it are answered 429, which every provider
   * retries. The account's own limit (10,000 requests/s, burst 5,000 in most
   * regions) still applies above it.
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  throttle?: ThrottleDeclaration;
}

export interface ThrottleDeclaration {
  /** Steady requests per second. @default 1000 */
  rateLimit?: number;
  /** Requests allowed at once above the steady rate. @default 2000 */
  burstLimit?: number;
}

/** An existing secret a provider names, resolved from secretArn or secretName. */
export type ExistingSecret = { readonly arn: string } | { readonly name: string };

/**
 * The largest body AWS reliably lets through: API Gateway takes 10 MB, but
 * Lambda's synchronous invocation payload is 6 MiB once the body sits inside
 * the API Gateway event, and a binary body arrives base64-encoded (4/3 larger).
 * 4 MiB × 4/3 ≈ 5.33 MiB leaves room for the headers and the rest of the event.
 * Providers can only be configured lower.
 */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_RETENTION_DAYS = 7;
/**
 * The least a scheme that signs no timestamp keeps a key: its signed requests
 * stay valid for ever, so a replay is refused only while the key is kept.
 */
export const NO_TIMESTAMP_RETENTION_DAYS = 30;
export const DEFAULT_PENDING_SHARDS = 16;
export const DEFAULT_THROTTLE = { rateLimit: 1000, burstLimit: 2000 } as const;
export const DEFAULT_CONSUMER_TIMEOUT_SECONDS = 30;
export const DEFAULT_BATCH_SIZE = 10;
export const DEFAULT_BATCHING_WINDOW_SECONDS = 0;
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
  // A declaration from a JavaScript file is not type-checked: say what is missing.
  if (typeof declaration.providers !== 'object' || declaration.providers === null) {
    throw new ConfigError(
      'invalid hookonce declaration:\n  - providers: missing; declare at least one provider',
    );
  }
  if (typeof declaration.subscribers !== 'object' || declaration.subscribers === null) {
    throw new ConfigError(
      'invalid hookonce declaration:\n  - subscribers: missing; give an object, {} for none',
    );
  }
  if (Object.keys(declaration.providers).length === 0)
    problems.push('declare at least one provider');

  const retentionDays = declaration.retentionDays ?? DEFAULT_RETENTION_DAYS;
  const providers: Record<string, ResolvedProvider> = {};
  const existingSecrets: Record<string, ExistingSecret> = {};
  const warnings: string[] = [];
  for (const [provider, p] of Object.entries(declaration.providers)) {
    if (!NAME.test(provider)) {
      problems.push(`provider "${provider}": names are lower-case letters, digits and dashes`);
    }
    const resolved = resolveProvider(`provider "${provider}"`, p, problems, retentionDays);
    if (resolved) warnings.push(...providerWarnings(`provider "${provider}"`, resolved));
    if (resolved) providers[provider] = resolved;
    const secret = resolveSecret(`provider "${provider}"`, p, problems);
    if (secret) existingSecrets[provider] = secret;
  }

  const subscribers: Record<string, ResolvedSubscriber> = {};
  for (const [subscriber, s] of Object.entries(declaration.subscribers)) {
    const what = `subscriber "${subscriber}"`;
    if (!NAME.test(subscriber))
      problems.push(`${what}: names are lower-case letters, digits and dashes`);
    checkFilter(what, s.filter ?? {}, Object.keys(declaration.providers), problems);
    const timeoutSeconds = s.consumer.timeoutSeconds ?? DEFAULT_CONSUMER_TIMEOUT_SECONDS;
    const windowSeconds = s.batchingWindowSeconds ?? DEFAULT_BATCHING_WINDOW_SECONDS;
    const resolved: ResolvedSubscriber = {
      filter: s.filter ?? {},
      consumer: {
        entry: s.consumer.entry,
        handler: s.consumer.handler ?? 'handler',
        timeoutSeconds,
        memorySize: s.consumer.memorySize ?? 256,
      },
      batchSize: s.batchSize ?? DEFAULT_BATCH_SIZE,
      batchingWindowSeconds: windowSeconds,
      ...(s.maxConcurrency !== undefined ? { maxConcurrency: s.maxConcurrency } : {}),
      maxReceiveCount: s.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
      visibilityTimeoutSeconds: s.visibilityTimeoutSeconds ?? timeoutSeconds * 6 + windowSeconds,
    };
    checkInt(problems, `${what}: batchSize`, resolved.batchSize, 1, 10);
    // Lambda's limits for an SQS event source mapping.
    checkInt(problems, `${what}: batchingWindowSeconds`, resolved.batchingWindowSeconds, 0, 300);
    if (resolved.maxConcurrency !== undefined) {
      checkInt(problems, `${what}: maxConcurrency`, resolved.maxConcurrency, 2, 1000);
    }
    checkInt(problems, `${what}: maxReceiveCount`, resolved.maxReceiveCount, 1, 1000);
    checkInt(problems, `${what}: consumer.timeoutSeconds`, timeoutSeconds, 1, 900);
    checkInt(problems, `${what}: consumer.memorySize`, resolved.consumer.memorySize, 128, 10240);
    // SQS caps the visibility timeout at 12 hours; AWS wants it at least the function
    // timeout, and a message held while its batch fills must not come back meanwhile.
    checkInt(
      problems,
      `${what}: visibilityTimeoutSeconds`,
      resolved.visibilityTimeoutSeconds,
      timeoutSeconds + (Number.isInteger(windowSeconds) ? windowSeconds : 0),
      43200,
    );
    subscribers[subscriber] = resolved;
  }

  const pendingShards = declaration.pendingShards ?? DEFAULT_PENDING_SHARDS;
  checkInt(problems, 'retentionDays', retentionDays, 1, 365);
  checkInt(problems, 'pendingShards', pendingShards, 1, 1000);
  const throttle = {
    rateLimit: declaration.throttle?.rateLimit ?? DEFAULT_THROTTLE.rateLimit,
    burstLimit: declaration.throttle?.burstLimit ?? DEFAULT_THROTTLE.burstLimit,
  };
  // API Gateway takes up to the account's quota, which AWS raises on request.
  checkInt(problems, 'throttle.rateLimit', throttle.rateLimit, 1, 1_000_000);
  checkInt(problems, 'throttle.burstLimit', throttle.burstLimit, 1, 1_000_000);
  if (problems.length > 0) {
    throw new ConfigError(`invalid hookonce declaration:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    name,
    providers,
    subscribers,
    retentionDays,
    pendingShards,
    throttle,
    existingSecrets,
    warnings,
  };
}

/** The longest any provider keeps a delivery: what a stored payload must outlive. */
export function longestRetentionDays(declaration: ResolvedDeclaration): number {
  return Math.max(
    declaration.retentionDays,
    ...Object.values(declaration.providers).map((p) => p.retentionDays),
  );
}

/** Whether a resolved provider's scheme signs a timestamp, and so bounds a replay in time. */
export function signsTimestamp(p: ResolvedProvider | ProviderDeclaration): boolean {
  switch (p.scheme) {
    case 'standard-webhooks':
    case 'stripe':
    case 'slack':
      return true;
    case 'hmac':
      return p.timestampHeader !== undefined;
    default:
      return false;
  }
}

/**
 * Whether a provider's signature covers its delivery id, so the id keys a delivery.
 * Where it does not, the SHA-256 of the signed content is the key.
 */
export function signsDeliveryId(p: ResolvedProvider): boolean {
  switch (p.scheme) {
    case 'standard-webhooks':
    case 'stripe':
    case 'slack':
      return true;
    case 'hmac':
      return (
        p.deliveryId !== undefined &&
        ('jsonField' in p.deliveryId || p.signedContent.includes('{id}'))
      );
    default:
      return false;
  }
}

/** What is allowed but probably not meant: said at synth and at `npm start`, never fatal. */
function providerWarnings(what: string, p: ResolvedProvider): string[] {
  const warnings: string[] = [];
  if (p.scheme === 'hmac' && p.deliveryId && 'header' in p.deliveryId) {
    if (!p.signedContent.includes('{id}')) {
      warnings.push(
        `${what}: the delivery id header "${p.deliveryId.header}" is not in signedContent, so the signature does not cover it: deliveries are keyed by the SHA-256 of the body and the header is kept for display only. If the sender signs its id, add {id} to signedContent.`,
      );
    }
  }
  return warnings;
}

/** A complete secret ARN: the name, a dash and the six characters Secrets Manager adds. */
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

function resolveSecret(
  what: string,
  p: ProviderDeclaration,
  problems: string[],
): ExistingSecret | undefined {
  const { secretArn, secretName } = p;
  if (secretArn !== undefined && secretName !== undefined) {
    problems.push(`${what}: name its secret by secretArn or by secretName, not both`);
    return undefined;
  }
  if (secretArn !== undefined) {
    if (typeof secretArn !== 'string' || !SECRET_ARN.test(secretArn)) {
      problems.push(
        `${what}: secretArn must be a complete Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)`,
      );
      return undefined;
    }
    return { arn: secretArn };
  }
  if (secretName !== undefined) {
    if (typeof secretName !== 'string' || !SECRET_NAME.test(secretName)) {
      problems.push(
        `${what}: secretName must be 1 to 512 letters, digits and / _ + = . @ -, got "${String(secretName)}"`,
      );
      return undefined;
    }
    return { name: secretName };
  }
  return undefined;
}

interface ResolvedCommon {
  maxBodyBytes: number;
  /** Days a delivery's key is kept (see ProviderDeclaration.retentionDays). */
  retentionDays: number;
}

/** A provider with every default filled in: JSON-serializable, it travels to the ingest function in HOOKONCE_PROVIDERS. */
export type ResolvedProvider =
  | (ResolvedCommon & { scheme: 'standard-webhooks'; toleranceSeconds: number })
  | (ResolvedCommon & { scheme: 'stripe'; toleranceSeconds: number })
  | (ResolvedCommon & { scheme: 'github' })
  | (ResolvedCommon & { scheme: 'shopify' })
  | (ResolvedCommon & { scheme: 'slack'; toleranceSeconds: number })
  | (ResolvedCommon & { scheme: 'twilio'; publicUrl?: string; eventType: string })
  | (ResolvedCommon & ResolvedHmac);

/** The generic HMAC scheme resolved: header names lower-cased, the template and prefix filled in. */
export interface ResolvedHmac {
  scheme: 'hmac';
  header: string;
  prefix: string;
  algorithm: HmacProvider['algorithm'];
  encoding: HmacProvider['encoding'];
  timestampHeader?: string;
  toleranceSeconds?: number;
  signedContent: string;
  deliveryId?: HmacDeliveryId;
  eventTypeField?: string;
}

/** Omit over each member of a union, not over the union as one. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type ResolvedProviderOf<S extends SchemeName> = Extract<ResolvedProvider, { scheme: S }>;

/** What every provider may set, whatever its scheme. */
const COMMON_OPTIONS: readonly string[] = [
  'maxBodyBytes',
  'secretArn',
  'secretName',
  'retentionDays',
];

/** The options each scheme takes, beside `scheme` and COMMON_OPTIONS: anything else is a typo. */
const OPTIONS: Readonly<Record<SchemeName, readonly string[]>> = {
  'standard-webhooks': ['toleranceSeconds'],
  stripe: ['toleranceSeconds'],
  github: [],
  shopify: [],
  slack: ['toleranceSeconds'],
  twilio: ['publicUrl', 'eventType'],
  hmac: [
    'header',
    'prefix',
    'algorithm',
    'encoding',
    'timestampHeader',
    'toleranceSeconds',
    'signedContent',
    'deliveryId',
    'eventTypeField',
  ],
};

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
/** A dotted path into a JSON body: `id`, `event.type`. */
const JSON_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
const EVENT_TYPE = /^[A-Za-z0-9_./:-]{1,128}$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;

function resolveProvider(
  what: string,
  p: ProviderDeclaration,
  problems: string[],
  defaultRetentionDays: number,
): ResolvedProvider | undefined {
  const resolved = resolveScheme(what, p, problems);
  if (!resolved) return undefined;
  const retentionDays =
    p.retentionDays ??
    (signsTimestamp(resolved)
      ? defaultRetentionDays
      : Math.max(defaultRetentionDays, NO_TIMESTAMP_RETENTION_DAYS));
  checkInt(problems, `${what}: retentionDays`, retentionDays, 1, 365);
  return { ...resolved, retentionDays };
}

function resolveScheme(
  what: string,
  p: ProviderDeclaration,
  problems: string[],
): DistributiveOmit<ResolvedProvider, 'retentionDays'> | undefined {
  const scheme = (p as { scheme: unknown }).scheme;
  if (typeof scheme !== 'string' || !(SCHEMES as readonly string[]).includes(scheme)) {
    problems.push(
      `${what}: unknown scheme "${String(scheme)}"; use one of ${SCHEMES.map((s) => `"${s}"`).join(', ')}`,
    );
    return undefined;
  }
  const allowed = OPTIONS[p.scheme];
  for (const key of Object.keys(p)) {
    if (key !== 'scheme' && !COMMON_OPTIONS.includes(key) && !allowed.includes(key)) {
      problems.push(
        `${what}: scheme "${p.scheme}" has no option "${key}"${allowed.length > 0 ? ` (it takes ${allowed.join(', ')})` : ''}`,
      );
    }
  }
  const maxBodyBytes = p.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  checkInt(problems, `${what}: maxBodyBytes`, maxBodyBytes, 1, DEFAULT_MAX_BODY_BYTES);
  const tolerance = (value: number | undefined): number => {
    const seconds = value ?? DEFAULT_TOLERANCE_SECONDS;
    checkInt(problems, `${what}: toleranceSeconds`, seconds, 1, 3600);
    return seconds;
  };

  switch (p.scheme) {
    case 'standard-webhooks':
    case 'stripe':
    case 'slack':
      return { scheme: p.scheme, maxBodyBytes, toleranceSeconds: tolerance(p.toleranceSeconds) };
    case 'github':
    case 'shopify':
      return { scheme: p.scheme, maxBodyBytes };
    case 'twilio': {
      const eventType = p.eventType ?? 'twilio';
      if (typeof eventType !== 'string' || !EVENT_TYPE.test(eventType)) {
        problems.push(
          `${what}: eventType must be 1 to 128 letters, digits and _ . / : -, got "${eventType}"`,
        );
      }
      if (p.publicUrl !== undefined) checkPublicUrl(what, p.publicUrl, problems);
      return {
        scheme: 'twilio',
        maxBodyBytes,
        ...(p.publicUrl !== undefined ? { publicUrl: p.publicUrl } : {}),
        eventType,
      };
    }
    case 'hmac':
      return { maxBodyBytes, ...resolveHmac(what, p, problems, tolerance) };
  }
}

function checkPublicUrl(what: string, publicUrl: string, problems: string[]): void {
  let url: URL | undefined;
  try {
    url = new URL(publicUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    problems.push(`${what}: publicUrl must be an http(s) URL, got "${publicUrl}"`);
  } else if (publicUrl.includes('?') || publicUrl.includes('#')) {
    problems.push(
      `${what}: publicUrl must not hold a query string or fragment: the request's own query string is appended to it`,
    );
  }
}

function resolveHmac(
  what: string,
  p: HmacProvider,
  problems: string[],
  tolerance: (value: number | undefined) => number,
): ResolvedHmac {
  const header = (name: unknown, option: string): string | undefined => {
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
      problems.push(`${what}: ${option} must be an HTTP header name, got "${String(name)}"`);
      return undefined;
    }
    return name.toLowerCase();
  };
  const path = (value: unknown, option: string): string | undefined => {
    if (typeof value !== 'string' || !JSON_PATH.test(value)) {
      problems.push(
        `${what}: ${option} must be a JSON field or a dotted path such as "event.type", got "${String(value)}"`,
      );
      return undefined;
    }
    return value;
  };

  const signatureHeader = header(p.header, 'header') ?? '';
  if (!['sha1', 'sha256', 'sha512'].includes(p.algorithm)) {
    problems.push(`${what}: algorithm must be "sha1", "sha256" or "sha512", got "${p.algorithm}"`);
  }
  if (!['hex', 'base64'].includes(p.encoding)) {
    problems.push(`${what}: encoding must be "hex" or "base64", got "${p.encoding}"`);
  }
  const prefix = p.prefix ?? '';
  if (typeof prefix !== 'string' || prefix.length > 64) {
    problems.push(`${what}: prefix must be text of at most 64 characters`);
  }

  const resolved: ResolvedHmac = {
    scheme: 'hmac',
    header: signatureHeader,
    prefix,
    algorithm: p.algorithm,
    encoding: p.encoding,
    signedContent: p.signedContent ?? (p.timestampHeader ? '{timestamp}.{body}' : '{body}'),
  };
  if (p.timestampHeader !== undefined) {
    resolved.timestampHeader = header(p.timestampHeader, 'timestampHeader');
    resolved.toleranceSeconds = tolerance(p.toleranceSeconds);
  } else if (p.toleranceSeconds !== undefined) {
    problems.push(`${what}: toleranceSeconds needs a timestampHeader to measure`);
  }
  if (p.deliveryId !== undefined) {
    const d = p.deliveryId as { header?: unknown; jsonField?: unknown };
    if ((d.header === undefined) === (d.jsonField === undefined)) {
      problems.push(`${what}: deliveryId is either { header } or { jsonField }`);
    } else if (d.header !== undefined) {
      resolved.deliveryId = { header: header(d.header, 'deliveryId.header') ?? '' };
    } else {
      resolved.deliveryId = { jsonField: path(d.jsonField, 'deliveryId.jsonField') ?? '' };
    }
  }
  if (p.eventTypeField !== undefined) {
    resolved.eventTypeField = path(p.eventTypeField, 'eventTypeField');
  }
  if (resolved.timestampHeader && resolved.timestampHeader === signatureHeader) {
    problems.push(`${what}: timestampHeader and header must be different headers`);
  }

  const template = resolved.signedContent;
  const placeholders = [...String(template).matchAll(PLACEHOLDER)].map((m) => m[1]);
  for (const name of placeholders) {
    if (name !== 'body' && name !== 'timestamp' && name !== 'id') {
      problems.push(
        `${what}: signedContent knows {body}, {timestamp} and {id}, not {${name ?? ''}}`,
      );
    }
  }
  if (placeholders.filter((n) => n === 'body').length !== 1) {
    problems.push(`${what}: signedContent must hold {body} exactly once`);
  }
  if (placeholders.includes('timestamp') && !p.timestampHeader) {
    problems.push(`${what}: signedContent uses {timestamp}, so set timestampHeader`);
  }
  if (p.timestampHeader && !placeholders.includes('timestamp')) {
    problems.push(
      `${what}: signedContent must hold {timestamp} when timestampHeader is set, or the timestamp is not signed and proves nothing`,
    );
  }
  if (placeholders.includes('id') && !(p.deliveryId && 'header' in p.deliveryId)) {
    problems.push(`${what}: signedContent uses {id}, so set deliveryId: { header }`);
  }
  return resolved;
}

export interface ResolvedSubscriber {
  filter: SubscriberFilter;
  consumer: Required<ConsumerDeclaration>;
  batchSize: number;
  batchingWindowSeconds: number;
  /** Unset: no cap beyond the account's. */
  maxConcurrency?: number;
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
}

export interface ResolvedDeclaration {
  name: string;
  providers: Readonly<Record<string, ResolvedProvider>>;
  subscribers: Readonly<Record<string, ResolvedSubscriber>>;
  /** The declaration's retentionDays; each provider has its own in providers[…].retentionDays. */
  retentionDays: number;
  pendingShards: number;
  throttle: Required<ThrottleDeclaration>;
  /** What is allowed but probably not meant, one sentence each (the CDK app and `npm start` show them). */
  warnings: readonly string[];
  /** Providers whose secret already exists (secretArn or secretName), by provider. */
  existingSecrets: Readonly<Record<string, ExistingSecret>>;
}

/** A type is `<provider>.<eventType>`; a prefix ends in `.` or `*`. */
const FILTER_TYPE = /^[A-Za-z0-9_./:-]+\*?$/;

/** What is wrong with a filter, given the declared providers: nothing when empty. */
export function filterProblems(filter: SubscriberFilter, providers: readonly string[]): string[] {
  const problems: string[] = [];
  checkFilter('-', filter, providers, problems);
  return problems.map((p) => p.slice('-: '.length));
}

/** What resolveDeclaration() checks in a subscriber's filter. */
function checkFilter(
  what: string,
  filter: SubscriberFilter,
  providers: readonly string[],
  problems: string[],
): void {
  for (const provider of filter.providers ?? []) {
    if (!providers.includes(provider)) {
      problems.push(`${what}: filter names unknown provider "${provider}"`);
    }
  }
  for (const type of filter.types ?? []) {
    if (typeof type !== 'string' || !FILTER_TYPE.test(type) || type === '*') {
      problems.push(
        `${what}: filter type "${String(type)}" must be "<provider>.<event type>", or a prefix of one ending in "." or "*"`,
      );
      continue;
    }
    const [provider] = type.split('.');
    const named = filter.providers?.length ? filter.providers : providers;
    // A type names its provider first: one that can never arrive is a typo.
    if (type.includes('.') && provider && !named.includes(provider)) {
      problems.push(
        `${what}: filter type "${type}" can never match: its provider "${provider}" is not ${filter.providers?.length ? 'in the filter’s providers' : 'declared'}`,
      );
    }
  }
  // SNS counts every combination of the policy's values, and allows 150.
  const combinations =
    Math.max(1, filter.providers?.length ?? 0) * Math.max(1, filter.types?.length ?? 0);
  if (combinations > SNS_FILTER_COMBINATIONS) {
    problems.push(
      `${what}: the filter has ${combinations} combinations of providers and types; SNS allows ${SNS_FILTER_COMBINATIONS}`,
    );
  }
}

const SNS_FILTER_COMBINATIONS = 150;

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

/** What a filter policy matches on: the SNS message attributes of one event. */
export interface EventAttributes {
  readonly provider: string;
  /** The envelope's type, `<provider>.<eventType>`. */
  readonly type: string;
}

/** An SNS filter policy on message attributes, as toFilterPolicy() writes them. */
export type FilterPolicy = Readonly<Record<string, readonly unknown[]>>;

/**
 * Whether SNS delivers an event with these attributes under this filter policy
 * (`undefined`: no policy, everything): every attribute the policy names must
 * match one of its conditions, an exact string or `{ prefix }`. Those are the
 * conditions toFilterPolicy() writes; any other (anything-but, numeric, a
 * policy edited by hand) is refused rather than guessed at.
 */
export function matchesFilterPolicy(
  policy: FilterPolicy | undefined,
  event: EventAttributes,
): boolean {
  if (!policy) return true;
  return Object.entries(policy).every(([attribute, conditions]) => {
    const value = attribute === 'provider' || attribute === 'type' ? event[attribute] : undefined;
    if (value === undefined) {
      throw new Error(
        `the filter policy names the attribute "${attribute}", which events do not carry`,
      );
    }
    return conditions.some((c) => {
      if (typeof c === 'string') return c === value;
      const prefix = (c as { prefix?: unknown } | null)?.prefix;
      if (typeof prefix === 'string' && Object.keys(c as object).length === 1) {
        return value.startsWith(prefix);
      }
      throw new Error(
        `the filter policy condition ${JSON.stringify(c)} is neither a string nor { "prefix": … }`,
      );
    });
  });
}

/**
 * Whether SNS delivers an event with these attributes to a subscriber with this
 * filter: the filter's policy (toFilterPolicy), evaluated by matchesFilterPolicy.
 */
export function matchesFilter(filter: SubscriberFilter, event: EventAttributes): boolean {
  return matchesFilterPolicy(toFilterPolicy(filter), event);
}
