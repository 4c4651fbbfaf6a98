import { asymmetricKeyProblem, jwtKeyProblems } from '../providers/keys.ts';
import { coversField } from '../providers/naming.ts';
import { PRESETS, type PresetName, type PresetOptions } from '../providers/presets.ts';
import {
  HEADER_NAME,
  ITEM_PATH,
  parseTemplate,
  type TemplatePart,
  writeTemplate,
} from '../providers/template.ts';
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
   * that changes the host or the path. Write it as it is configured in Twilio, with
   * its userinfo (`https://user:pass@host/…`) when it has one: the signature covers
   * the URL with it. hookonce does not check those credentials (the signature
   * authenticates the request), and this URL is configuration, not a secret.
   * @default the request's `<x-forwarded-proto>://<host><path>`
   */
  publicUrl?: string;
  /** The event type of every Twilio delivery (the envelope type is `<provider>.<eventType>`). @default 'twilio' */
  eventType?: string;
}

/** Where a delivery id is: a header, or a field of the JSON body (a dotted path). */
export type HmacDeliveryId = { header: string } | { jsonField: string };

/** A JWT's delivery id may also be one of its claims, e.g. `{ claim: 'jti' }`. */
export type JwtDeliveryId = HmacDeliveryId | { claim: string };

/** How a sender writes its signed timestamp. */
export type TimestampFormat = 'seconds' | 'milliseconds' | 'iso8601';

/**
 * A signature header of `key=value` items, such as `t=1700000000,v1=5257a8…,v1=9f1c…`:
 * any number of signature items (any one that verifies passes: senders list one
 * per active secret while rotating) and at most one timestamp item.
 */
export interface StructuredSignature {
  /** Between items. @default ',' */
  separator?: string;
  /** Between an item's key and its value. @default '=' */
  assignment?: string;
  /** The key of a signature item, e.g. `v1`. */
  signatureKey: string;
  /** The key of the signed timestamp item, e.g. `t`: the timestamp is then in this header. @default none */
  timestampKey?: string;
  /**
   * Between whole sets of items, when a sender rotating its secret sends one set per
   * secret, each with its own timestamp item (Persona's `t=…,v1=… t=…,v1=…`: `' '`).
   * Every set's timestamp must be the same. @default none: one set
   */
  setSeparator?: string;
}

/** A JSON value, as a handshake's reply. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/**
 * A member of a handshake's computed reply: the text of a field of the verified
 * body, or (`hmac` family only) the HMAC of that text keyed by the secret that
 * verified the request, in the provider's algorithm and encoding (Zoom's
 * `encryptedToken`).
 */
export type HandshakeReplyValue = { jsonField: string } | { hmacOfField: string };

/**
 * A provider's ping or handshake: a verified body whose field has this value is
 * answered at once, neither stored nor published. At most one of `reply`,
 * `replyText` and `replyObject`.
 */
export interface Handshake {
  /** The field of the JSON body (a dotted path), e.g. `type`. */
  jsonField: string;
  /** The value that makes it a handshake, e.g. `0`. */
  equals: string | number | boolean;
  /** The JSON answered with 200. @default none: the answer is 204 with no body */
  reply?: JsonValue;
  /** Answer 200 `text/plain` with the text of this field of the body (Twitch's `challenge`). */
  replyText?: { jsonField: string };
  /** Answer 200 with this JSON object, each member computed from the verified body (Zoom's `{ plainToken, encryptedToken }`). */
  replyObject?: Readonly<Record<string, HandshakeReplyValue>>;
}

/**
 * One fixed event type for the verified bodies whose field equals (or, with
 * `notEquals`, differs from) a value, before any other source: Twitch's revocations,
 * which carry the subscription's type but no event. Exactly one of `equals` and `notEquals`.
 */
export interface EventTypeWhen {
  /** The field of the JSON body (a dotted path). */
  jsonField: string;
  equals?: string | number | boolean;
  notEquals?: string | number | boolean;
  /** The event type of such a delivery. */
  eventType: string;
}

/** How every family names a delivery's event type, and answers a handshake. */
export interface EventTypeOptions {
  /** A field of the JSON body (a dotted path) that names the event type. Not with eventTypeHeader or eventType. */
  eventTypeField?: string;
  /**
   * A header that names the event type. Unless the signed content holds it
   * (`{header:<name>}`), it is unsigned: checked against a strict pattern and marked
   * `unsignedtype` in the envelope. Not with eventTypeField or eventType.
   */
  eventTypeHeader?: string;
  /** The event type of every delivery. @default 'webhook' when no source is declared */
  eventType?: string;
  /** A ping answered at once, e.g. Discord's `{ jsonField: 'type', equals: 0 }`. @default none */
  handshake?: Handshake;
  /** A fixed type for the bodies that match, before the source above (Twitch's revocations). @default none */
  eventTypeWhen?: EventTypeWhen;
}

/**
 * What the signature families (`hmac`, `asymmetric`) share: where the signature
 * and the signed timestamp are, and what is signed.
 */
export interface SignedRequestOptions extends EventTypeOptions {
  /** The header that carries the signature, e.g. `x-signature`. Not with signatureField. */
  header?: string;
  /**
   * The signature is in this field of the JSON body instead of a header (Adyen's
   * `notificationItems.*.NotificationRequestItem.additionalData.hmacSignature`): a
   * dotted path in which one `*` step stands for each element of an array, each
   * element then signed on its own and every one required to verify. Such a
   * signature cannot cover the body that holds it: the template signs fields of
   * the body (`{json:<path>}`) and nothing else of it. Not with header, prefix or
   * structured.
   * @default none: the signature is in `header`
   */
  signatureField?: string;
  /** Text before the signature in the header, e.g. `sha256=`; not with `structured`. @default '' */
  prefix?: string;
  /** The header holds `key=value` items (Stripe's `t=…,v1=…`) instead of one signature. @default none */
  structured?: StructuredSignature;
  /** The header that carries the signed timestamp; not with `structured.timestampKey`. Enables the replay window. @default none */
  timestampHeader?: string;
  /**
   * How the timestamp is written. With `timestampField` (hmac), `seconds` and
   * `milliseconds` are a JSON number of whole units and `iso8601` a JSON string.
   * @default 'seconds'
   */
  timestampFormat?: TimestampFormat;
  /** Accepted clock skew of the timestamp, both directions; only with a timestamp. @default 300 */
  toleranceSeconds?: number;
  /**
   * What is signed: a template of `{body}` (the raw body, exactly once), `{timestamp}`
   * (the signed timestamp), `{id}` (the delivery id header), `{method}`, `{url}` (the
   * URL called, with its query string), `{path}` (the path and query string) and
   * `{header:<name>}` (a header's value) and `{json:<path>}` (a field of the JSON
   * body as text, '' when absent; a `*` step is the element being verified), with
   * any text between them.
   * @default '{timestamp}.{body}' with a timestamp, else '{body}'
   */
  signedContent?: string;
  /**
   * The URL the sender signs as `{url}`, without query string (the request's own
   * query string is appended): set it behind a custom domain or a proxy that
   * changes the host or path. Only with `{url}`.
   * @default the request's `<x-forwarded-proto>://<host><path>`
   */
  publicUrl?: string;
  /**
   * Where the delivery id is: a header, or a field of the JSON body (a dotted path).
   * A header keys deliveries only when the template signs it (`{id}`).
   * @default none: a digest of the signed content, so identical bodies count as one delivery (content-based dedup)
   */
  deliveryId?: HmacDeliveryId;
}

/** Any HMAC signer: the header, the algorithm, the encoding and what is signed are declared. */
export interface HmacProvider extends SignedRequestOptions {
  scheme: 'hmac';
  algorithm: 'sha1' | 'sha256' | 'sha512';
  encoding: 'hex' | 'base64';
  /**
   * The signed timestamp is this field of the JSON body (a dotted path), signed with
   * the body (Linear's `webhookTimestamp`), instead of a header: the template signs
   * `{body}` and no `{timestamp}`. It is read once the signature matched, written as
   * `timestampFormat` says, and checked against ±`toleranceSeconds` as a header's
   * timestamp is (401 `missing_timestamp`, `malformed_timestamp`,
   * `timestamp_too_old`, `timestamp_too_new`). A sender whose timestamp is in the
   * body must put a fresh one in each retry, so a delivery keyed by a digest of the
   * body (no signed id) is keyed without that value: the SHA-256 of the body's bytes
   * before and after it, when the body holds the field's member (its last step)
   * exactly once and writes the value as JSON writes it; else of the whole body.
   * Not with `timestampHeader`, `structured.timestampKey` or `signatureField`.
   * @default none
   */
  timestampField?: string;
  /**
   * How the secrets are written: `raw` (the key is the secret's UTF-8 bytes, as
   * GitHub and Stripe use them, `whsec_` included), `hex` or `base64` (the key is the
   * decoded bytes), `whsec` (`whsec_` then base64, as Svix and Standard Webhooks).
   * @default 'raw'
   */
  secretEncoding?: 'raw' | 'hex' | 'base64' | 'whsec';
}

/**
 * A sender that signs with a private key (Ed25519, or ECDSA P-256 with SHA-256):
 * hookonce holds its public keys, given here, in the declaration; such a provider
 * has no secret (no Secrets Manager secret, no HOOKONCE_SECRET_<NAME>).
 */
export interface AsymmetricProvider extends SignedRequestOptions {
  scheme: 'asymmetric';
  algorithm: 'ed25519' | 'ecdsa-p256-sha256';
  /** How the signature is written in the header. */
  encoding: 'hex' | 'base64';
  /** ECDSA only: DER (most senders), or `raw` r‖s (64 bytes, IEEE P1363). @default 'der' */
  signatureFormat?: 'der' | 'raw';
  /**
   * The sender's public keys: PEM (`-----BEGIN PUBLIC KEY-----`), or the base64 of the
   * DER SubjectPublicKeyInfo; an Ed25519 key may also be its 32 bytes in hex or
   * base64. List two while the sender rotates its key.
   */
  publicKeys: readonly string[];
}

/**
 * A shared token in a header (`X-Gitlab-Token: …`, `Authorization: Bearer …`),
 * compared in constant time with each active secret. Nothing is signed: the key
 * of a delivery is the SHA-256 of its body.
 */
export interface TokenProvider extends EventTypeOptions {
  scheme: 'token';
  /** The header that carries the token. */
  header: string;
  /** Text before the token, matched without regard to case, e.g. `Bearer `. @default '' */
  prefix?: string;
  /** A header or a JSON field with the provider's id: kept for display, never the key (nothing is signed). */
  deliveryId?: HmacDeliveryId;
}

/**
 * HTTP Basic authentication (`Authorization: Basic …`): each active secret is
 * `username:password`, compared in constant time. Nothing is signed: the key of a
 * delivery is the SHA-256 of its body.
 */
export interface BasicProvider extends EventTypeOptions {
  scheme: 'basic';
  /** A header or a JSON field with the provider's id: kept for display, never the key (nothing is signed). */
  deliveryId?: HmacDeliveryId;
}

/** The JWT algorithms hookonce verifies: never `none`, never an HS algorithm. */
export type JwtAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

/** One key of a JWKS document (RFC 7517), as a provider publishes it. */
export interface JsonWebKeyEntry {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  [member: string]: unknown;
}

/**
 * A JWT in a header, verified against public keys or a JWKS document given here
 * (never fetched at run time); such a provider has no secret.
 */
export interface JwtProvider extends EventTypeOptions {
  scheme: 'jwt';
  /** The header that carries the token. @default 'authorization' */
  header?: string;
  /** Text before the token, matched without regard to case. @default 'Bearer ' for authorization, else '' */
  prefix?: string;
  /** The algorithms a token may use; its `alg` must be one of them. */
  algorithms: readonly JwtAlgorithm[];
  /** Public keys, PEM or base64 DER SubjectPublicKeyInfo. At least one of publicKeys and jwks. */
  publicKeys?: readonly string[];
  /** A JWKS document, `{ keys: [...] }`, copied from the provider. At least one of publicKeys and jwks. */
  jwks?: { keys: readonly JsonWebKeyEntry[] };
  /** The accepted `iss` values. @default any issuer */
  issuer?: string | readonly string[];
  /** The accepted `aud` values: the token's audience must hold one. @default any audience */
  audience?: string | readonly string[];
  /** Clock skew allowed on `exp`, `nbf` and `iat`. @default 300 */
  toleranceSeconds?: number;
  /**
   * A token issued (`iat`) more than this long ago is refused, and one without `iat`
   * too: a replay window, like a signed timestamp's. @default none
   */
  maxAgeSeconds?: number;
  /**
   * A claim holding the hex SHA-256 of the body (Plaid's `request_body_sha256`): the
   * body must match it. Without one, the token does not sign the body. @default none
   */
  bodyHashClaim?: string;
  /** A claim (`{ claim: 'jti' }`), a header or a JSON field. Keys deliveries when signed (a claim; a field with bodyHashClaim). */
  deliveryId?: JwtDeliveryId;
  /**
   * What keys a delivery whose id is not signed: the SHA-256 of the body, or of the
   * token's signed part (header and claims), so that each token is one delivery: for
   * a sender that sends byte-identical bodies as distinct notifications (Plaid).
   * @default 'body'
   */
  deliveryKey?: 'body' | 'token';
}

export type ProviderScheme =
  | StandardWebhooksProvider
  | StripeProvider
  | GithubProvider
  | ShopifyProvider
  | SlackProvider
  | TwilioProvider
  | HmacProvider
  | AsymmetricProvider
  | TokenProvider
  | BasicProvider
  | JwtProvider;

export type SchemeName = ProviderScheme['scheme'];

export const SCHEMES: readonly SchemeName[] = [
  'standard-webhooks',
  'stripe',
  'github',
  'shopify',
  'slack',
  'twilio',
  'hmac',
  'asymmetric',
  'token',
  'basic',
  'jwt',
];

/**
 * A named preset (functions/providers/presets.ts): a family's options for one
 * sender, with what only you know (keys, ids) and any override beside it, e.g.
 * `{ preset: 'discord', publicKeys: ['…'] }`.
 */
export type PresetProvider = {
  [P in PresetName]: { preset: P; scheme?: never } & Partial<
    Omit<Extract<ProviderScheme, { scheme: (typeof PRESETS)[P]['scheme'] }>, 'scheme'>
  >;
}[PresetName];

export type ProviderDeclaration = (ProviderScheme | PresetProvider) & {
  /** Largest accepted body in bytes; bigger is answered 413. @default DEFAULT_MAX_BODY_BYTES */
  maxBodyBytes?: number;
  /**
   * On AWS, an existing Secrets Manager secret that holds this provider's JSON list
   * of active secrets, by its complete ARN (ending in the six random characters).
   * The stack then creates none for this provider and grants the ingest function
   * read access to this one only. Not with secretName, and not for a scheme whose
   * keys are in the declaration (asymmetric, jwt).
   * @default a secret the stack creates, starting as `[]`
   */
  secretArn?: string;
  /**
   * Days a delivery's key is kept: a copy within them is a duplicate. A scheme that
   * signs no timestamp (github, shopify, twilio, hmac and asymmetric without a
   * timestamp, token, basic, jwt without maxAgeSeconds) takes a replayed request
   * again once its key is gone, so it keeps keys longer.
   * @default the declaration's retentionDays; at least 30 for a scheme that signs no timestamp
   */
  retentionDays?: number;
  /** The same as secretArn, by the secret's name in this account and region. */
  secretName?: string;
  /**
   * Answers Meta's GET subscription check on `GET /webhooks/<provider>`
   * (`hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`): the challenge is
   * echoed as text/plain when the verify token matches. The verify token is a
   * `verify:<token>` entry in the provider's secret list (the same source as its
   * signing secret), never a signing secret itself. Not for a scheme whose keys are
   * in the declaration (asymmetric, jwt). @default false (the meta preset: true)
   */
  subscriptionCheck?: boolean;
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
    // A preset's own unsigned id is documented with the preset: only a declared one is warned of.
    const idFromPreset = resolved?.preset !== undefined && !('deliveryId' in p);
    if (resolved)
      warnings.push(...providerWarnings(`provider "${provider}"`, resolved, idFromPreset));
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
export function signsTimestamp(p: ResolvedProvider): boolean {
  switch (p.scheme) {
    case 'standard-webhooks':
    case 'stripe':
    case 'slack':
      return true;
    case 'hmac':
    case 'asymmetric':
      return (
        p.timestampHeader !== undefined ||
        p.structured?.timestampKey !== undefined ||
        (p.scheme === 'hmac' && p.timestampField !== undefined)
      );
    case 'jwt':
      return p.maxAgeSeconds !== undefined;
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
    case 'asymmetric': {
      if (p.deliveryId === undefined) return false;
      if (!('jsonField' in p.deliveryId)) return p.signedContent.includes('{id}');
      const { parts } = parseTemplate(p.signedContent);
      const body = parts.some((part) => 'field' in part && part.field === 'body');
      const fields = parts.flatMap((part) => ('json' in part ? [part.json] : []));
      return coversField(
        { body, headers: new Set(), ...(fields.length > 0 ? { fields } : {}) },
        p.deliveryId.jsonField,
      );
    }
    case 'jwt':
      return (
        p.deliveryId !== undefined &&
        ('claim' in p.deliveryId || ('jsonField' in p.deliveryId && p.bodyHashClaim !== undefined))
      );
    default:
      return false;
  }
}

/**
 * Whether a provider's active secrets come from a secret source (Secrets Manager,
 * HOOKONCE_SECRET_<NAME>). The public keys of `asymmetric` and `jwt` are in the
 * declaration instead: not secret, checked at synth and at cold start.
 */
export function usesSecrets(p: ResolvedProvider | ProviderScheme): boolean {
  return p.scheme !== 'asymmetric' && p.scheme !== 'jwt';
}

/** What is allowed but probably not meant: said at synth and at `npm start`, never fatal. */
function providerWarnings(what: string, p: ResolvedProvider, idFromPreset = false): string[] {
  const warnings: string[] = [];
  const id = 'deliveryId' in p && !idFromPreset ? p.deliveryId : undefined;
  if ((p.scheme === 'hmac' || p.scheme === 'asymmetric') && id && 'header' in id) {
    if (!p.signedContent.includes('{id}')) {
      warnings.push(
        `${what}: the delivery id header "${id.header}" is not in signedContent, so the signature does not cover it: deliveries are keyed by the SHA-256 of the body and the header is kept for display only. If the sender signs its id, add {id} to signedContent.`,
      );
    }
  }
  if (
    (p.scheme === 'hmac' || p.scheme === 'asymmetric') &&
    p.signatureField !== undefined &&
    id &&
    'jsonField' in id &&
    !signsDeliveryId(p)
  ) {
    warnings.push(
      `${what}: the delivery id field "${id.jsonField}" is not one of the body fields signedContent signs ({json:…}), so the signature does not cover it: deliveries are keyed by the SHA-256 of the signed fields and the id is kept for display only.`,
    );
  }
  if ((p.scheme === 'token' || p.scheme === 'basic') && id) {
    warnings.push(
      `${what}: scheme "${p.scheme}" signs nothing, so the declared delivery id cannot key a delivery: deliveries are keyed by the SHA-256 of the body and the id is kept for display only.`,
    );
  }
  if (p.scheme === 'jwt' && id && !signsDeliveryId(p)) {
    warnings.push(
      `${what}: the token does not sign the declared delivery id (use a claim, or a JSON field with bodyHashClaim): deliveries are keyed by the SHA-256 of the body and the id is kept for display only.`,
    );
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
  /** The preset the provider was declared with, for display. */
  preset?: PresetName;
  /** Answers the GET subscription check (see ProviderDeclaration.subscriptionCheck). */
  subscriptionCheck?: true;
}

/** A provider with every default filled in: JSON-serializable, it travels to the ingest function in HOOKONCE_PROVIDERS. */
export type ResolvedProvider =
  | (ResolvedCommon & { scheme: 'standard-webhooks'; toleranceSeconds: number })
  | (ResolvedCommon & { scheme: 'stripe'; toleranceSeconds: number })
  | (ResolvedCommon & { scheme: 'github' })
  | (ResolvedCommon & { scheme: 'shopify' })
  | (ResolvedCommon & { scheme: 'slack'; toleranceSeconds: number })
  | (ResolvedCommon & { scheme: 'twilio'; publicUrl?: string; eventType: string })
  | (ResolvedCommon & ResolvedHmac)
  | (ResolvedCommon & ResolvedAsymmetric)
  | (ResolvedCommon & ResolvedToken)
  | (ResolvedCommon & ResolvedBasic)
  | (ResolvedCommon & ResolvedJwt);

/** Event type options resolved: header names lower-cased; absent options stay absent. */
export interface ResolvedEventType {
  eventTypeField?: string;
  eventTypeHeader?: string;
  eventType?: string;
  handshake?: Handshake;
  eventTypeWhen?: EventTypeWhen;
}

/**
 * The signature families' options resolved: header names lower-cased, the template
 * filled in and written canonically (`{header:<timestampHeader>}` is `{timestamp}`,
 * `{header:<id header>}` is `{id}`), a structured header's separators filled in.
 * Options not declared stay absent (a timestamp is then whole seconds).
 */
export interface ResolvedSignedRequest extends ResolvedEventType {
  /** The signature header; absent when the signature is in the body (signatureField). */
  header?: string;
  signatureField?: string;
  prefix: string;
  structured?: Required<Omit<StructuredSignature, 'timestampKey' | 'setSeparator'>> &
    Pick<StructuredSignature, 'timestampKey' | 'setSeparator'>;
  timestampHeader?: string;
  timestampFormat?: TimestampFormat;
  toleranceSeconds?: number;
  signedContent: string;
  publicUrl?: string;
  deliveryId?: HmacDeliveryId;
}

/** The generic HMAC scheme resolved. */
export interface ResolvedHmac extends ResolvedSignedRequest {
  scheme: 'hmac';
  algorithm: HmacProvider['algorithm'];
  encoding: HmacProvider['encoding'];
  timestampField?: string;
  secretEncoding?: NonNullable<HmacProvider['secretEncoding']>;
}

export interface ResolvedAsymmetric extends ResolvedSignedRequest {
  scheme: 'asymmetric';
  algorithm: AsymmetricProvider['algorithm'];
  encoding: AsymmetricProvider['encoding'];
  signatureFormat?: NonNullable<AsymmetricProvider['signatureFormat']>;
  publicKeys: readonly string[];
}

export interface ResolvedToken extends ResolvedEventType {
  scheme: 'token';
  header: string;
  prefix: string;
  deliveryId?: HmacDeliveryId;
}

export interface ResolvedBasic extends ResolvedEventType {
  scheme: 'basic';
  deliveryId?: HmacDeliveryId;
}

export interface ResolvedJwt extends ResolvedEventType {
  scheme: 'jwt';
  header: string;
  prefix: string;
  algorithms: readonly JwtAlgorithm[];
  publicKeys?: readonly string[];
  jwks?: { keys: readonly JsonWebKeyEntry[] };
  issuer?: readonly string[];
  audience?: readonly string[];
  toleranceSeconds: number;
  maxAgeSeconds?: number;
  bodyHashClaim?: string;
  deliveryId?: JwtDeliveryId;
  deliveryKey?: 'body' | 'token';
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
  'subscriptionCheck',
];

const EVENT_TYPE_OPTIONS = [
  'eventTypeField',
  'eventTypeHeader',
  'eventType',
  'handshake',
  'eventTypeWhen',
];
const SIGNED_REQUEST_OPTIONS = [
  'header',
  'prefix',
  'signatureField',
  'structured',
  'timestampHeader',
  'timestampFormat',
  'toleranceSeconds',
  'signedContent',
  'publicUrl',
  'deliveryId',
  ...EVENT_TYPE_OPTIONS,
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
    'secretEncoding',
    'timestampField',
    ...SIGNED_REQUEST_OPTIONS.slice(2),
  ],
  asymmetric: [
    'header',
    'prefix',
    'algorithm',
    'encoding',
    'signatureFormat',
    'publicKeys',
    ...SIGNED_REQUEST_OPTIONS.slice(2),
  ],
  token: ['header', 'prefix', 'deliveryId', ...EVENT_TYPE_OPTIONS],
  basic: ['deliveryId', ...EVENT_TYPE_OPTIONS],
  jwt: [
    'header',
    'prefix',
    'algorithms',
    'publicKeys',
    'jwks',
    'issuer',
    'audience',
    'toleranceSeconds',
    'maxAgeSeconds',
    'bodyHashClaim',
    'deliveryId',
    'deliveryKey',
    ...EVENT_TYPE_OPTIONS,
  ],
};

/** A dotted path into a JSON body: `id`, `event.type`. */
const JSON_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
const EVENT_TYPE = /^[A-Za-z0-9_./:-]{1,128}$/;
/** A JWT claim name. */
const CLAIM = /^[A-Za-z0-9_.:$-]{1,64}$/;
/** The largest handshake reply, as JSON. */
const MAX_REPLY_BYTES = 4096;

function resolveProvider(
  what: string,
  declared: ProviderDeclaration,
  problems: string[],
  defaultRetentionDays: number,
): ResolvedProvider | undefined {
  const expanded = expandPreset(what, declared, problems);
  if (!expanded) return undefined;
  const { preset, presetRetentionDays, declaration: p } = expanded;
  const resolved = resolveScheme(what, p, problems);
  if (!resolved) return undefined;
  // A preset's retentionDays (its sender's retry window) is a floor under the default.
  const retentionDays =
    p.retentionDays ??
    Math.max(
      signsTimestamp(resolved as ResolvedProvider)
        ? defaultRetentionDays
        : Math.max(defaultRetentionDays, NO_TIMESTAMP_RETENTION_DAYS),
      presetRetentionDays ?? 0,
    );
  checkInt(problems, `${what}: retentionDays`, retentionDays, 1, 365);
  const check = p.subscriptionCheck;
  if (check !== undefined && typeof check !== 'boolean') {
    problems.push(`${what}: subscriptionCheck must be true or false`);
  } else if (check && (resolved.scheme === 'asymmetric' || resolved.scheme === 'jwt')) {
    problems.push(
      `${what}: subscriptionCheck reads its verify token from the secret list, and a ${resolved.scheme} provider has none`,
    );
  }
  return {
    ...resolved,
    ...(preset ? { preset } : {}),
    retentionDays,
    ...(check === true ? { subscriptionCheck: true } : {}),
  } as ResolvedProvider;
}

/**
 * A preset's options under the declared ones (which add keys and ids, or
 * override): the declaration of its family, as if written out. The preset's own
 * retentionDays comes back apart: a floor under the default, not a declared value.
 */
function expandPreset(
  what: string,
  p: ProviderDeclaration,
  problems: string[],
):
  | {
      preset?: PresetName;
      presetRetentionDays?: number;
      declaration: ProviderScheme & ProviderDeclaration;
    }
  | undefined {
  if (!('preset' in p) || p.preset === undefined) {
    return { declaration: p as ProviderScheme & ProviderDeclaration };
  }
  const { preset, ...rest } = p as { preset: unknown } & Record<string, unknown>;
  if (typeof preset !== 'string' || !Object.hasOwn(PRESETS, preset)) {
    problems.push(
      `${what}: unknown preset "${String(preset)}"; use one of ${Object.keys(PRESETS)
        .map((n) => `"${n}"`)
        .join(', ')}`,
    );
    return undefined;
  }
  if (rest.scheme !== undefined) {
    problems.push(
      `${what}: a preset sets the scheme ("${PRESETS[preset as PresetName].scheme}"): leave scheme out`,
    );
    return undefined;
  }
  const { retentionDays: presetRetentionDays, ...options } = PRESETS[
    preset as PresetName
  ] as PresetOptions;
  return {
    preset: preset as PresetName,
    ...(presetRetentionDays !== undefined ? { presetRetentionDays } : {}),
    declaration: { ...options, ...rest } as unknown as ProviderScheme & ProviderDeclaration,
  };
}

function resolveScheme(
  what: string,
  p: ProviderScheme & ProviderDeclaration,
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
  if (!usesSecrets(p) && (p.secretArn !== undefined || p.secretName !== undefined)) {
    problems.push(
      `${what}: scheme "${p.scheme}" takes no secret (its public keys are in the declaration): remove ${p.secretArn !== undefined ? 'secretArn' : 'secretName'}`,
    );
  }
  const maxBodyBytes = p.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  checkInt(problems, `${what}: maxBodyBytes`, maxBodyBytes, 1, DEFAULT_MAX_BODY_BYTES);
  const tolerance = (value: number | undefined): number => {
    const seconds = value ?? DEFAULT_TOLERANCE_SECONDS;
    checkInt(problems, `${what}: toleranceSeconds`, seconds, 1, 3600);
    return seconds;
  };
  const check = new Checks(what, problems);

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
      return { maxBodyBytes, ...resolveHmac(check, p, tolerance) };
    case 'asymmetric':
      return { maxBodyBytes, ...resolveAsymmetric(check, p, tolerance) };
    case 'token':
      return { maxBodyBytes, ...resolveToken(check, p) };
    case 'basic':
      return {
        maxBodyBytes,
        scheme: 'basic',
        ...(resolveIds(check, p.deliveryId, false) as { deliveryId?: HmacDeliveryId }),
        ...resolveEventType(check, p, { signatureHeader: 'authorization' }),
      };
    case 'jwt':
      return { maxBodyBytes, ...resolveJwt(check, p, tolerance) };
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
    // A URL's userinfo may hold a password: the message shows the URL without it.
    const shown = publicUrl.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1…@');
    problems.push(`${what}: publicUrl must be an http(s) URL, got "${shown}"`);
  } else if (publicUrl.includes('?') || publicUrl.includes('#')) {
    problems.push(
      `${what}: publicUrl must not hold a query string or fragment: the request's own query string is appended to it`,
    );
  }
}

/** The checks the families' options share; each records a problem and answers the resolved value. */
class Checks {
  readonly what: string;
  readonly problems: string[];

  constructor(what: string, problems: string[]) {
    this.what = what;
    this.problems = problems;
  }

  problem(text: string): void {
    this.problems.push(`${this.what}: ${text}`);
  }

  /** An HTTP header name, lower-cased. */
  header(name: unknown, option: string): string | undefined {
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
      this.problem(`${option} must be an HTTP header name, got "${String(name)}"`);
      return undefined;
    }
    return name.toLowerCase();
  }

  /** A JSON field or dotted path. */
  path(value: unknown, option: string): string | undefined {
    if (typeof value !== 'string' || !JSON_PATH.test(value)) {
      this.problem(
        `${option} must be a JSON field or a dotted path such as "event.type", got "${String(value)}"`,
      );
      return undefined;
    }
    return value;
  }

  /** One of `values`. */
  oneOf<T extends string>(value: unknown, values: readonly T[], option: string): T {
    if (!(values as readonly unknown[]).includes(value)) {
      const list = values.map((v) => `"${v}"`);
      const words =
        list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list.at(-1)}` : (list[0] ?? '');
      this.problem(`${option} must be ${words}, got "${String(value)}"`);
    }
    return value as T;
  }

  /** Text of at most `max` characters (a prefix, a separator). */
  text(value: unknown, option: string, min: number, max: number): string {
    if (typeof value !== 'string' || value.length < min || value.length > max) {
      this.problem(
        `${option} must be text of ${min > 0 ? `${min} to ` : 'at most '}${max} characters`,
      );
      return '';
    }
    return value;
  }
}

/** Where the delivery id is, resolved; `claims` allows `{ claim }` (JWT). */
function resolveIds(
  check: Checks,
  deliveryId: JwtDeliveryId | undefined,
  claims: boolean,
): { deliveryId?: JwtDeliveryId } {
  if (deliveryId === undefined) return {};
  const d = (deliveryId ?? {}) as { header?: unknown; jsonField?: unknown; claim?: unknown };
  const given = [d.header, d.jsonField, d.claim].filter((v) => v !== undefined).length;
  if (given !== 1 || (!claims && d.claim !== undefined)) {
    check.problem(
      `deliveryId is either { header } or { jsonField }${claims ? ' or { claim }' : ''}`,
    );
    return {};
  }
  if (d.header !== undefined)
    return { deliveryId: { header: check.header(d.header, 'deliveryId.header') ?? '' } };
  if (d.jsonField !== undefined) {
    return { deliveryId: { jsonField: check.path(d.jsonField, 'deliveryId.jsonField') ?? '' } };
  }
  if (typeof d.claim !== 'string' || !CLAIM.test(d.claim)) {
    check.problem(`deliveryId.claim must be a claim name such as "jti", got "${String(d.claim)}"`);
  }
  return { deliveryId: { claim: String(d.claim) } };
}

/** The event type source and the handshake, resolved. */
function resolveEventType(
  check: Checks,
  p: EventTypeOptions,
  headers: { signatureHeader?: string; hmac?: boolean },
): ResolvedEventType {
  const resolved: ResolvedEventType = {};
  const sources = [p.eventTypeField, p.eventTypeHeader, p.eventType].filter((v) => v !== undefined);
  if (sources.length > 1) {
    check.problem('name the event type by one of eventTypeField, eventTypeHeader and eventType');
  }
  if (p.eventTypeField !== undefined) {
    resolved.eventTypeField = check.path(p.eventTypeField, 'eventTypeField');
  }
  if (p.eventTypeHeader !== undefined) {
    resolved.eventTypeHeader = check.header(p.eventTypeHeader, 'eventTypeHeader');
    if (resolved.eventTypeHeader && resolved.eventTypeHeader === headers.signatureHeader) {
      check.problem(
        'eventTypeHeader cannot be the header that carries the signature or credentials',
      );
    }
  }
  if (p.eventType !== undefined) {
    if (typeof p.eventType !== 'string' || !EVENT_TYPE.test(p.eventType)) {
      check.problem(
        `eventType must be 1 to 128 letters, digits and _ . / : -, got "${String(p.eventType)}"`,
      );
    }
    resolved.eventType = p.eventType;
  }
  if (p.handshake !== undefined) {
    const h = (p.handshake ?? {}) as Partial<Handshake>;
    const jsonField = check.path(h.jsonField, 'handshake.jsonField');
    if (!['string', 'number', 'boolean'].includes(typeof h.equals)) {
      check.problem('handshake.equals must be a string, a number or a boolean');
    }
    let replyBytes = 0;
    try {
      replyBytes = h.reply === undefined ? 0 : Buffer.byteLength(JSON.stringify(h.reply) ?? '');
    } catch {
      replyBytes = Number.POSITIVE_INFINITY;
    }
    if (replyBytes > MAX_REPLY_BYTES) {
      check.problem(`handshake.reply must be JSON of at most ${MAX_REPLY_BYTES} bytes`);
    }
    const replies = [h.reply, h.replyText, h.replyObject].filter((r) => r !== undefined).length;
    if (replies > 1) {
      check.problem('a handshake answers with one of reply, replyText and replyObject');
    }
    let replyText: Handshake['replyText'];
    if (h.replyText !== undefined) {
      const field = check.path(h.replyText?.jsonField, 'handshake.replyText.jsonField');
      replyText = { jsonField: field ?? '' };
    }
    let replyObject: Record<string, HandshakeReplyValue> | undefined;
    if (h.replyObject !== undefined) {
      const members = Object.entries((h.replyObject ?? {}) as Record<string, unknown>);
      if (
        h.replyObject === null ||
        typeof h.replyObject !== 'object' ||
        members.length === 0 ||
        members.length > 8
      ) {
        check.problem('handshake.replyObject must be an object of 1 to 8 members');
      }
      replyObject = {};
      for (const [name, value] of members) {
        const v = (value ?? {}) as { jsonField?: unknown; hmacOfField?: unknown };
        const what = `handshake.replyObject.${name}`;
        if ((v.jsonField === undefined) === (v.hmacOfField === undefined)) {
          check.problem(`${what} is either { jsonField } or { hmacOfField }`);
        } else if (v.jsonField !== undefined) {
          replyObject[name] = { jsonField: check.path(v.jsonField, `${what}.jsonField`) ?? '' };
        } else {
          if (!headers.hmac) {
            check.problem(
              `${what}.hmacOfField needs a shared secret to sign with: only scheme "hmac" has one`,
            );
          }
          replyObject[name] = {
            hmacOfField: check.path(v.hmacOfField, `${what}.hmacOfField`) ?? '',
          };
        }
      }
    }
    resolved.handshake = {
      jsonField: jsonField ?? '',
      equals: h.equals as Handshake['equals'],
      ...(h.reply !== undefined ? { reply: h.reply } : {}),
      ...(replyText ? { replyText } : {}),
      ...(replyObject ? { replyObject } : {}),
    };
  }
  if (p.eventTypeWhen !== undefined) {
    const w = (p.eventTypeWhen ?? {}) as Partial<EventTypeWhen>;
    const jsonField = check.path(w.jsonField, 'eventTypeWhen.jsonField');
    const hasEquals = w.equals !== undefined;
    const hasNot = w.notEquals !== undefined;
    const value = hasEquals ? w.equals : w.notEquals;
    if (hasEquals === hasNot || !['string', 'number', 'boolean'].includes(typeof value)) {
      check.problem(
        'eventTypeWhen takes exactly one of equals and notEquals, a string, a number or a boolean',
      );
    }
    if (typeof w.eventType !== 'string' || !EVENT_TYPE.test(w.eventType)) {
      check.problem(
        `eventTypeWhen.eventType must be 1 to 128 letters, digits and _ . / : -, got "${String(w.eventType)}"`,
      );
    }
    resolved.eventTypeWhen = {
      jsonField: jsonField ?? '',
      ...(hasEquals ? { equals: w.equals as string } : { notEquals: w.notEquals as string }),
      eventType: String(w.eventType),
    };
  }
  return resolved;
}

/** What `hmac` and `asymmetric` share: the signature header, the timestamp, the template, the names. */
function resolveSignedRequest(
  check: Checks,
  p: SignedRequestOptions,
  tolerance: (value: number | undefined) => number,
  hmac = false,
  timestampField?: unknown,
): ResolvedSignedRequest & { timestampField?: string } {
  const inBody = p.signatureField !== undefined;
  let signatureHeader = '';
  let star: string | undefined;
  if (inBody) {
    if (p.header !== undefined) {
      check.problem('the signature is in header or in signatureField (the body), not both');
    }
    if (p.prefix !== undefined || p.structured !== undefined) {
      check.problem('prefix and structured describe a signature header: not with signatureField');
    }
    const field = p.signatureField;
    const steps = typeof field === 'string' ? field.split('.') : [];
    if (
      typeof field !== 'string' ||
      !ITEM_PATH.test(field) ||
      steps.filter((step) => step === '*').length > 1 ||
      steps.at(-1) === '*'
    ) {
      check.problem(
        `signatureField must be a dotted path into the JSON body, with at most one "*" step (each element of an array), got "${String(field)}"`,
      );
    } else if (steps.includes('*')) {
      star = steps.slice(0, steps.indexOf('*') + 1).join('.');
    }
  } else {
    signatureHeader = check.header(p.header, 'header') ?? '';
  }
  const prefix = check.text(p.prefix ?? '', 'prefix', 0, 64);
  const resolved: ResolvedSignedRequest & { timestampField?: string } = {
    ...(inBody ? { signatureField: p.signatureField } : { header: signatureHeader }),
    prefix,
    signedContent: '',
  };

  let timestampKey: string | undefined;
  if (p.structured !== undefined) {
    const st = (p.structured ?? {}) as Partial<StructuredSignature>;
    const separator = check.text(st.separator ?? ',', 'structured.separator', 1, 4);
    const assignment = check.text(st.assignment ?? '=', 'structured.assignment', 1, 4);
    if (separator && separator === assignment) {
      check.problem('structured.separator and structured.assignment must differ');
    }
    const key = (option: string, value: unknown): string => {
      const text = check.text(value, option, 1, 32);
      if (text && (text.includes(separator) || text.includes(assignment) || /\s/.test(text))) {
        check.problem(`${option} must not hold whitespace, the separator or the assignment`);
      }
      return text;
    };
    const signatureKey = key('structured.signatureKey', st.signatureKey);
    resolved.structured = { separator, assignment, signatureKey };
    if (st.setSeparator !== undefined) {
      const between = check.text(st.setSeparator, 'structured.setSeparator', 1, 4);
      if (between && (between === separator || between === assignment)) {
        check.problem('structured.setSeparator must differ from the separator and the assignment');
      }
      if (between && (signatureKey.includes(between) || st.timestampKey?.includes(between))) {
        check.problem('structured.setSeparator must not appear in the signature or timestamp key');
      }
      if (st.timestampKey === undefined) {
        check.problem(
          'structured.setSeparator needs structured.timestampKey: each set carries its timestamp',
        );
      }
      resolved.structured.setSeparator = between;
    }
    if (st.timestampKey !== undefined) {
      timestampKey = key('structured.timestampKey', st.timestampKey);
      if (timestampKey && timestampKey === signatureKey) {
        check.problem('structured.timestampKey and structured.signatureKey must differ');
      }
      resolved.structured.timestampKey = timestampKey;
    }
    if (prefix) {
      check.problem(
        'prefix and structured exclude each other: a structured header names its signatures by signatureKey',
      );
    }
  }

  // A header's timestamp is signed by the template ({timestamp}); a body's, with {body}.
  const headerTimestamp = p.timestampHeader !== undefined || timestampKey !== undefined;
  const hasTimestamp = headerTimestamp || timestampField !== undefined;
  if (p.timestampHeader !== undefined) {
    resolved.timestampHeader = check.header(p.timestampHeader, 'timestampHeader');
    if (timestampKey !== undefined) {
      check.problem(
        'the timestamp is in timestampHeader or in the signature header (structured.timestampKey), not both',
      );
    }
  }
  if (timestampField !== undefined) {
    const field = check.path(timestampField, 'timestampField');
    if (field !== undefined) resolved.timestampField = field;
    if (headerTimestamp) {
      check.problem(
        `the timestamp is in the body (timestampField) or in a header (${p.timestampHeader !== undefined ? 'timestampHeader' : 'structured.timestampKey'}), not both`,
      );
    }
    if (inBody) {
      check.problem(
        'timestampField is signed with the body, and a signature in the body (signatureField) signs only fields of it',
      );
    }
  }
  if (hasTimestamp) {
    resolved.toleranceSeconds = tolerance(p.toleranceSeconds);
    if (p.timestampFormat !== undefined) {
      resolved.timestampFormat = check.oneOf(
        p.timestampFormat,
        ['seconds', 'milliseconds', 'iso8601'] as const,
        'timestampFormat',
      );
    }
  } else {
    const where = hmac
      ? 'a timestampHeader (or structured.timestampKey, or timestampField)'
      : 'a timestampHeader (or structured.timestampKey)';
    if (p.toleranceSeconds !== undefined) {
      check.problem(`toleranceSeconds needs ${where} to measure`);
    }
    if (p.timestampFormat !== undefined) {
      check.problem(`timestampFormat needs ${where}`);
    }
  }
  if (resolved.timestampHeader && !inBody && resolved.timestampHeader === signatureHeader) {
    check.problem('timestampHeader and header must be different headers');
  }

  Object.assign(resolved, resolveIds(check, p.deliveryId, false));
  Object.assign(
    resolved,
    resolveEventType(check, p, inBody ? { hmac } : { signatureHeader, hmac }),
  );
  const idHeader =
    resolved.deliveryId && 'header' in resolved.deliveryId ? resolved.deliveryId.header : undefined;

  // The template, written canonically: a timestamp or id header named as {header:…} is {timestamp} or {id}.
  const template = p.signedContent ?? (headerTimestamp ? '{timestamp}.{body}' : '{body}');
  if (typeof template !== 'string') {
    check.problem('signedContent must be text');
    return resolved;
  }
  const { parts, unknown } = parseTemplate(template);
  for (const name of unknown) {
    check.problem(
      `signedContent knows {body}, {timestamp}, {id}, {method}, {url}, {path} and {header:<name>}, not {${name}}${name.startsWith('json:') ? ': {json:<path>} takes a dotted path into the JSON body' : ''}`,
    );
  }
  const canonical: TemplatePart[] = parts.map((part) => {
    if ('header' in part && part.header === resolved.timestampHeader) return { field: 'timestamp' };
    if ('header' in part && part.header === idHeader) return { field: 'id' };
    return part;
  });
  resolved.signedContent = writeTemplate(canonical);
  const fields = canonical.flatMap((part) => ('field' in part ? [part.field] : []));
  const jsonFields = canonical.flatMap((part) => ('json' in part ? [part.json] : []));
  if (inBody) {
    if (fields.includes('body')) {
      check.problem(
        'signedContent cannot hold {body} when the signature is in the body (signatureField): sign its fields with {json:<path>}',
      );
    }
    if (jsonFields.length === 0) {
      check.problem(
        'signedContent must sign fields of the body ({json:<path>}) when the signature is in the body (signatureField)',
      );
    }
  } else if (fields.filter((n) => n === 'body').length !== 1) {
    check.problem('signedContent must hold {body} exactly once');
  }
  for (const path of jsonFields) {
    const stars = path.split('.').filter((step) => step === '*').length;
    if (stars > 0 && (star === undefined || stars > 1 || !path.startsWith(`${star}.`))) {
      check.problem(
        `{json:${path}}: a "*" step is the element being verified, so it is only for the array of signatureField${star ? ` ("${star}")` : ''}`,
      );
    }
  }
  if (fields.includes('timestamp') && timestampField !== undefined) {
    check.problem(
      'signedContent cannot hold {timestamp} with timestampField: the body timestamp is signed as part of {body}',
    );
  } else if (fields.includes('timestamp') && !headerTimestamp) {
    check.problem(
      'signedContent uses {timestamp}, so set timestampHeader (or structured.timestampKey)',
    );
  }
  if (headerTimestamp && !fields.includes('timestamp')) {
    check.problem(
      `signedContent must hold {timestamp} when ${p.timestampHeader !== undefined ? 'timestampHeader' : 'structured.timestampKey'} is set, or the timestamp is not signed and proves nothing`,
    );
  }
  if (fields.includes('id') && !idHeader) {
    check.problem('signedContent uses {id}, so set deliveryId: { header }');
  }
  if (canonical.some((part) => 'header' in part && part.header === signatureHeader)) {
    check.problem('signedContent cannot hold the signature header itself');
  }
  if (p.publicUrl !== undefined) {
    if (!fields.includes('url')) check.problem('publicUrl is only used by {url} in signedContent');
    checkPublicUrl(check.what, p.publicUrl, check.problems);
    resolved.publicUrl = p.publicUrl;
  }
  return resolved;
}

function resolveHmac(
  check: Checks,
  p: HmacProvider,
  tolerance: (value: number | undefined) => number,
): ResolvedHmac {
  const shared = resolveSignedRequest(check, p, tolerance, true, p.timestampField);
  const resolved: ResolvedHmac = {
    scheme: 'hmac',
    ...shared,
    algorithm: check.oneOf(p.algorithm, ['sha1', 'sha256', 'sha512'] as const, 'algorithm'),
    encoding: check.oneOf(p.encoding, ['hex', 'base64'] as const, 'encoding'),
  };
  if (p.secretEncoding !== undefined) {
    resolved.secretEncoding = check.oneOf(
      p.secretEncoding,
      ['raw', 'hex', 'base64', 'whsec'] as const,
      'secretEncoding',
    );
  }
  return resolved;
}

function resolveAsymmetric(
  check: Checks,
  p: AsymmetricProvider,
  tolerance: (value: number | undefined) => number,
): ResolvedAsymmetric {
  const shared = resolveSignedRequest(check, p, tolerance);
  const algorithm = check.oneOf(
    p.algorithm,
    ['ed25519', 'ecdsa-p256-sha256'] as const,
    'algorithm',
  );
  const resolved: ResolvedAsymmetric = {
    scheme: 'asymmetric',
    ...shared,
    algorithm,
    encoding: check.oneOf(p.encoding, ['hex', 'base64'] as const, 'encoding'),
    publicKeys: [],
  };
  if (p.signatureFormat !== undefined) {
    if (algorithm !== 'ecdsa-p256-sha256') {
      check.problem('signatureFormat is for ECDSA only: an Ed25519 signature is always 64 bytes');
    }
    resolved.signatureFormat = check.oneOf(
      p.signatureFormat,
      ['der', 'raw'] as const,
      'signatureFormat',
    );
  }
  if (!Array.isArray(p.publicKeys) || p.publicKeys.length === 0) {
    check.problem("publicKeys must list at least one of the sender's public keys");
  } else {
    resolved.publicKeys = [...p.publicKeys];
    if (algorithm === 'ed25519' || algorithm === 'ecdsa-p256-sha256') {
      p.publicKeys.forEach((key, i) => {
        const problem = asymmetricKeyProblem(key, algorithm);
        if (problem) check.problem(`publicKeys[${i}] ${problem}`);
      });
    }
  }
  return resolved;
}

function resolveToken(check: Checks, p: TokenProvider): ResolvedToken {
  const header = check.header(p.header, 'header') ?? '';
  const resolved: ResolvedToken = {
    scheme: 'token',
    header,
    prefix: check.text(p.prefix ?? '', 'prefix', 0, 64),
    ...(resolveIds(check, p.deliveryId, false) as { deliveryId?: HmacDeliveryId }),
    ...resolveEventType(check, p, { signatureHeader: header }),
  };
  if (
    resolved.deliveryId &&
    'header' in resolved.deliveryId &&
    resolved.deliveryId.header === header
  ) {
    check.problem('deliveryId.header cannot be the header that carries the token');
  }
  return resolved;
}

const JWT_ALGORITHMS: readonly JwtAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

function resolveJwt(
  check: Checks,
  p: JwtProvider,
  tolerance: (value: number | undefined) => number,
): ResolvedJwt {
  const header = check.header(p.header ?? 'authorization', 'header') ?? '';
  const prefix = check.text(
    p.prefix ?? (header === 'authorization' ? 'Bearer ' : ''),
    'prefix',
    0,
    64,
  );
  const algorithms: JwtAlgorithm[] = [];
  if (!Array.isArray(p.algorithms) || p.algorithms.length === 0) {
    check.problem(
      `algorithms must list the token algorithms to accept: ${JWT_ALGORITHMS.join(', ')}`,
    );
  } else {
    for (const alg of p.algorithms as readonly unknown[]) {
      if ((JWT_ALGORITHMS as readonly unknown[]).includes(alg)) {
        if (!algorithms.includes(alg as JwtAlgorithm)) algorithms.push(alg as JwtAlgorithm);
      } else if (typeof alg === 'string' && /^(none|HS\d+)$/i.test(alg)) {
        check.problem(
          `algorithms cannot hold "${alg}": hookonce verifies tokens with public keys only, never "none" nor an HMAC (a public key would become the HMAC secret)`,
        );
      } else {
        check.problem(`algorithms holds "${String(alg)}"; use ${JWT_ALGORITHMS.join(', ')}`);
      }
    }
  }
  const resolved: ResolvedJwt = {
    scheme: 'jwt',
    header,
    prefix,
    algorithms,
    toleranceSeconds: tolerance(p.toleranceSeconds),
    ...(resolveIds(check, p.deliveryId, true) as { deliveryId?: JwtDeliveryId }),
    ...resolveEventType(check, p, { signatureHeader: header }),
  };
  if (p.publicKeys === undefined && p.jwks === undefined) {
    check.problem('give the public keys that verify the tokens: publicKeys, jwks, or both');
  }
  if (p.publicKeys !== undefined) {
    if (!Array.isArray(p.publicKeys) || p.publicKeys.length === 0) {
      check.problem('publicKeys must list at least one public key');
    } else {
      resolved.publicKeys = [...p.publicKeys];
    }
  }
  if (p.jwks !== undefined) {
    if (!p.jwks || !Array.isArray(p.jwks.keys) || p.jwks.keys.length === 0) {
      check.problem('jwks must be a JWKS document, { keys: [...] }, with at least one key');
    } else {
      resolved.jwks = { keys: p.jwks.keys.map((k) => ({ ...k })) };
    }
  }
  if (algorithms.length > 0 && (resolved.publicKeys || resolved.jwks)) {
    for (const problem of jwtKeyProblems(resolved, algorithms)) check.problem(problem);
  }
  const names = (value: unknown, option: string): string[] | undefined => {
    const list = typeof value === 'string' ? [value] : value;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      !list.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 512)
    ) {
      check.problem(`${option} must be a non-empty string or a list of them`);
      return undefined;
    }
    return [...list];
  };
  if (p.issuer !== undefined) resolved.issuer = names(p.issuer, 'issuer');
  if (p.audience !== undefined) resolved.audience = names(p.audience, 'audience');
  if (p.maxAgeSeconds !== undefined) {
    checkInt(check.problems, `${check.what}: maxAgeSeconds`, p.maxAgeSeconds, 1, 86400);
    resolved.maxAgeSeconds = p.maxAgeSeconds;
  }
  if (p.deliveryKey !== undefined) {
    resolved.deliveryKey = check.oneOf(p.deliveryKey, ['body', 'token'] as const, 'deliveryKey');
  }
  if (p.bodyHashClaim !== undefined) {
    if (typeof p.bodyHashClaim !== 'string' || !CLAIM.test(p.bodyHashClaim)) {
      check.problem(
        `bodyHashClaim must be a claim name such as "request_body_sha256", got "${String(p.bodyHashClaim)}"`,
      );
    }
    resolved.bodyHashClaim = p.bodyHashClaim;
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
