import { hash } from 'node:crypto';
import type { PayloadStore } from '../deliveries/payloads.ts';
import type { DeliveryRecord, DeliveryStore, Lease, NewDelivery } from '../deliveries/store.ts';
import { type EncodedEvent, encodeEvent, eventId, parseJson } from '../fanout/envelope.ts';
import { type EventPublisher, SNS_MAX_MESSAGE_BYTES } from '../fanout/publisher.ts';
import { checkSubscription, splitSecrets } from '../providers/subscription.ts';
import type { Provider, Verdict, WebhookRequest } from '../providers/types.ts';
import type { Clock } from '../shared/clock.ts';
import { DependencyError } from '../shared/errors.ts';
import { errorFields, type LogFields, type Logger } from '../shared/log.ts';
import { METRIC, type MetricsPort, noMetrics, Tally } from '../shared/metrics.ts';
import type { SecretSource } from '../shared/secrets.ts';
import {
  accepted,
  acknowledged,
  duplicate,
  type HttpResponse,
  problem,
  retryAfter,
} from './responses.ts';

export interface IngestRequest extends WebhookRequest {
  /** The `{provider}` path segment. */
  readonly provider: string;
  /** Unique per invocation: the owner of the lease this invocation takes. */
  readonly invocationId: string;
  /** What the Lambda has left; the lease never outlives the invocation by much. */
  readonly remainingTimeMs: number;
}

export interface LeasePolicy {
  /** Kept back from the remaining time for the answer to get out. */
  readonly marginMs: number;
  readonly floorMs: number;
  readonly ceilingMs: number;
}

export const DEFAULT_LEASE: LeasePolicy = { marginMs: 500, floorMs: 2_000, ceilingMs: 30_000 };

/** Seconds a provider is asked to wait after a 503. */
export const OUTAGE_RETRY_AFTER_SECONDS = 2;

/** Far under DynamoDB's 2,048-byte key limit, which also holds the prefix and the provider name. */
export const MAX_DELIVERY_ID_BYTES = 1024;

/** The longest event type accepted: far above any provider's names. */
export const MAX_EVENT_TYPE_BYTES = 256;

/**
 * What an id or an event type may not hold: C0 and C1 controls, DEL, the
 * bidirectional embedding, override and isolate characters (which make a log line
 * or a console show something else than what is there), the noncharacters U+FFFE
 * and U+FFFF, and lone surrogates.
 */
const REFUSED_IN_NAMES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffe\uffff]|\p{Cs}/u;

/** A delivery id or an event type fit to key, log and show: 1 to `maxBytes` bytes, none of REFUSED_IN_NAMES. */
export function isUsableName(value: string, maxBytes: number): boolean {
  return value.length > 0 && Buffer.byteLength(value) <= maxBytes && !REFUSED_IN_NAMES.test(value);
}

/** Room left under SNS's limit for the message attributes. */
const MAX_ENVELOPE_BYTES = SNS_MAX_MESSAGE_BYTES - 1024;

export type DeliveryStorePort = Pick<
  DeliveryStore,
  'claim' | 'takeOver' | 'markPublished' | 'release'
>;

/** The request names nothing of itself in an answer: a 404 says no more than this. */
const UNKNOWN_PROVIDER_MESSAGE =
  'no provider of that name is configured: check the URL, POST /webhooks/<provider> with a declared provider';

export interface IngestDeps {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly secrets: SecretSource;
  readonly deliveries: DeliveryStorePort;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Counts of what happened, as EMF (functions/shared/metrics.ts): carried by
   * the request's last log line when the port can fold them into it (emf()),
   * else written by the port. @default noMetrics
   */
  readonly metrics?: MetricsPort;
  /** Where bodies too large to carry inline go. */
  readonly payloads: PayloadStore;
  readonly lease?: LeasePolicy;
  /** Bodies above this go to the payload store. @default DEFAULT_INLINE_PAYLOAD_BYTES */
  readonly inlinePayloadBytes?: number;
}

/**
 * Bodies above this are kept in S3 rather than in the item: well under
 * DynamoDB's 400 KB item limit and SNS's 256 KiB message limit.
 */
export const DEFAULT_INLINE_PAYLOAD_BYTES = 96 * 1024;

const fresh = (delivery: NewDelivery, now: number): DeliveryRecord => ({
  ...delivery,
  status: 'RECEIVED',
  receivedAt: now,
  attempts: 1,
  expiresAt: 0,
});

/**
 * How a request ended, as the `outcome` of its last log line: `published` (a new
 * delivery, stored and published: 202), `taken_over` (a stalled one finished: 202),
 * `duplicate` (200), `in_progress` (409 with Retry-After), `rejected` (4xx, with its
 * `reason`), `answered` (a provider's handshake, such as Slack's url_verification),
 * `unavailable` (503 with Retry-After) and `error` (500, a bug). A verdict with an
 * `acknowledgement` (Slack's slash commands and interactions) has its published,
 * taken-over and duplicate outcomes answered with it instead (an empty 200).
 */
export type RequestOutcome =
  | 'published'
  | 'taken_over'
  | 'duplicate'
  | 'in_progress'
  | 'rejected'
  | 'answered'
  | 'unavailable'
  | 'error';

export function leaseFor(request: IngestRequest, now: number, policy: LeasePolicy): Lease {
  const span = Math.min(
    policy.ceilingMs,
    Math.max(policy.floorMs, request.remainingTimeMs - policy.marginMs),
  );
  return { owner: request.invocationId, until: now + span };
}

/**
 * The ingest core: verify, claim, publish, mark (docs/architecture.md, How it works).
 * Every answer is one of the HTTP contract (docs/architecture.md); only an unexpected
 * bug escapes as an exception, after its counts are written.
 */
export async function ingest(request: IngestRequest, deps: IngestDeps): Promise<HttpResponse> {
  const tally = new Tally();
  try {
    return await handle(request, deps, tally);
  } catch (error) {
    // No line ends this request here (the handler logs the bug): its counts go out on their own.
    tally.writeApart(deps.metrics ?? noMetrics);
    throw error;
  }
}

async function handle(
  request: IngestRequest,
  deps: IngestDeps,
  metrics: Tally,
): Promise<HttpResponse> {
  const started = deps.clock.now();
  /**
   * Every request ends with exactly one line, and writes no other at INFO: the
   * line carries its `outcome`, the HTTP `status`, the time taken (`ms`) and
   * the request's metrics (EMF, folded in by the metrics port). The console's
   * timeline and `hookonce tail` read these lines (CloudWatch Logs Insights on
   * AWS), so a webhook costs no write beyond this one line. Being the carrier of
   * the metrics, it is written whatever the log level.
   */
  const answer = (
    logger: Logger,
    level: 'info' | 'warn' | 'error',
    message: string,
    response: HttpResponse,
    fields: LogFields & { outcome: RequestOutcome },
  ): HttpResponse => {
    const ended = deps.clock.now();
    logger[level](message, {
      ...fields,
      status: response.statusCode,
      ms: ended - started,
      ...metrics.fields(deps.metrics ?? noMetrics, ended),
    });
    return response;
  };
  const provider = deps.providers.get(request.provider);
  if (!provider) {
    // No provider dimension: the name is whatever the request put in the path.
    metrics.count(METRIC.rejected, { reason: 'unknown_provider' });
    return answer(
      deps.log,
      'warn',
      'rejected',
      problem(404, 'unknown_provider', UNKNOWN_PROVIDER_MESSAGE),
      { outcome: 'rejected', reason: 'unknown_provider' },
    );
  }
  const log = deps.log.child({ provider: provider.name });
  const dims = { provider: provider.name };
  const subscribing = request.method === 'GET' && provider.subscriptionCheck === true;
  if (request.method !== 'POST' && !subscribing) {
    metrics.count(METRIC.rejected, { ...dims, reason: 'method_not_allowed' });
    const allow = provider.subscriptionCheck ? 'GET, POST' : 'POST';
    return answer(
      log,
      'warn',
      'rejected',
      problem(
        405,
        'method_not_allowed',
        `this provider takes ${allow.replace(', ', ' and ')} only`,
        { allow },
      ),
      { outcome: 'rejected', reason: 'method_not_allowed' },
    );
  }
  if (!subscribing) metrics.count(METRIC.received, dims);
  if (request.rawBody.length > provider.maxBodyBytes) {
    metrics.count(METRIC.rejected, { ...dims, reason: 'payload_too_large' });
    return answer(
      log,
      'warn',
      'rejected',
      problem(413, 'payload_too_large', `the body is larger than ${provider.maxBodyBytes} bytes`),
      { outcome: 'rejected', reason: 'payload_too_large', bytes: request.rawBody.length },
    );
  }

  let secrets: readonly string[];
  try {
    secrets = await deps.secrets.get(provider.name);
  } catch (error) {
    metrics.count(METRIC.unavailable, { ...dims, dependency: 'secrets' });
    return answer(log, 'error', 'secrets unavailable', unavailable('secrets'), {
      ...errorFields(error),
      outcome: 'unavailable',
      dependency: 'secrets',
    });
  }

  if (subscribing) {
    // Meta's GET subscription check: answered at once, neither stored nor published.
    const result = checkSubscription(request.rawQueryString, splitSecrets(secrets).verifyTokens);
    if (!result.ok) {
      metrics.count(METRIC.rejected, { ...dims, reason: result.code });
      return answer(log, 'warn', 'rejected', problem(result.status, result.code, result.message), {
        outcome: 'rejected',
        reason: result.code,
      });
    }
    const reply = {
      statusCode: 200,
      headers: { 'content-type': 'text/plain' },
      body: result.challenge,
    };
    return answer(log, 'info', 'subscription check answered', reply, { outcome: 'answered' });
  }

  const now = deps.clock.now();
  let parsed: unknown;
  let isParsed = false;
  const json = (): unknown => {
    if (!isParsed) {
      parsed = parseJson(request.rawBody);
      isParsed = true;
    }
    return parsed;
  };
  let sha256: string | undefined;
  const bodySha256 = (): string => {
    sha256 ??= hash('sha256', request.rawBody, 'hex');
    return sha256;
  };
  const verdict = provider.inspect(request, { secrets, now, json, bodySha256 });
  if (verdict.kind === 'reject') {
    metrics.count(METRIC.rejected, { ...dims, reason: verdict.code });
    // 401 is a missing or forged signature or a stale timestamp: what the spike alarm watches.
    if (verdict.status === 401) metrics.count(METRIC.signatureRejected, dims);
    return answer(log, 'warn', 'rejected', problem(verdict.status, verdict.code, verdict.message), {
      outcome: 'rejected',
      reason: verdict.code,
    });
  }
  if (verdict.kind === 'reply') {
    const reply = {
      statusCode: verdict.statusCode,
      headers: { 'content-type': verdict.contentType },
      body: verdict.body,
    };
    return answer(log, 'info', 'answered without publishing', reply, { outcome: 'answered' });
  }

  const malformed = malformedName(verdict);
  if (malformed) {
    metrics.count(METRIC.rejected, { ...dims, reason: malformed.error });
    return answer(log, 'warn', 'rejected', problem(400, malformed.error, malformed.message), {
      outcome: 'rejected',
      reason: malformed.error,
    });
  }

  const id = eventId(provider.name, verdict.deliveryId);
  // A stored delivery, new or duplicate, is answered as its sender wants, else with hookonce's JSON.
  const ack = verdict.acknowledgement;
  const answerNew = ack ? () => acknowledged(ack) : () => accepted(id);
  const answerAgain = ack ? () => acknowledged(ack) : () => duplicate(id);
  const dlog = log.child({
    deliveryId: verdict.deliveryId,
    ...(verdict.providerDeliveryId !== undefined
      ? { providerDeliveryId: verdict.providerDeliveryId }
      : {}),
    eventType: verdict.eventType,
  });
  const inline: NewDelivery = {
    provider: provider.name,
    deliveryId: verdict.deliveryId,
    ...(verdict.providerDeliveryId !== undefined
      ? { providerDeliveryId: verdict.providerDeliveryId }
      : {}),
    eventType: verdict.eventType,
    ...(verdict.unsignedEventType ? { unsignedEventType: true as const } : {}),
    payload: request.rawBody,
    contentType: request.headers['content-type'],
    headers: verdict.keptHeaders,
  };
  const lease = leaseFor(request, now, deps.lease ?? DEFAULT_LEASE);
  const inlineLimit = deps.inlinePayloadBytes ?? DEFAULT_INLINE_PAYLOAD_BYTES;

  // The envelope of a new delivery is encoded once: checked for size, then published as is.
  // A body small enough to carry is checked to be JSON once (a large one is never parsed here).
  let isJson: boolean | undefined;
  let delivery = inline;
  let envelope: EncodedEvent | undefined;
  if (request.rawBody.length <= inlineLimit) {
    isJson = json() !== undefined;
    envelope = encodeEvent(fresh(inline, now), { isJson });
    if (Buffer.byteLength(envelope.message) > MAX_ENVELOPE_BYTES) envelope = undefined;
  }

  let holder: DeliveryRecord | undefined;
  try {
    if (!envelope) {
      // Too large to carry: the body goes to S3 first, so a stored delivery always has its payload.
      const payloadSha256 = bodySha256();
      const payloadRef = await deps.payloads.put(
        inline,
        payloadSha256,
        request.rawBody,
        inline.contentType,
      );
      delivery = { ...inline, payload: undefined, payloadRef, payloadSha256 };
      envelope = encodeEvent(fresh(delivery, now));
      dlog.debug('payload offloaded', { bytes: request.rawBody.length });
    }
    const published = envelope;
    const claim = await deps.deliveries.claim(delivery, lease, now, provider.retentionSeconds);
    if (claim.claimed) {
      holder = claim.record;
      dlog.debug('claimed', {
        leaseUntil: lease.until,
        offloaded: delivery.payloadRef !== undefined,
      });
      await publishAndMark(holder, lease.owner, deps, published);
      metrics.count(METRIC.published, dims);
      return answer(dlog, 'info', 'accepted', answerNew(), { outcome: 'published' });
    }

    const existing = claim.existing;
    if (delivery.payloadRef !== undefined && delivery.payloadRef !== existing.payloadRef) {
      // Stored for a claim that was refused: nothing will ever read it.
      await discard(delivery.payloadRef, deps, dlog);
    }
    const sameBody = existing.payloadSha256 === bodySha256();
    // A provider that renders each attempt again (Stripe's pending_webhooks) sends
    // another body under the same signed id: the first body wins, and the request's
    // line says so (at WARN).
    const level = sameBody ? 'info' : 'warn';
    const changed = sameBody ? {} : { payloadChanged: true };
    if (!sameBody) metrics.count(METRIC.payloadChanged, dims);
    if (existing.status === 'PUBLISHED') {
      metrics.count(METRIC.duplicate, dims);
      return answer(dlog, level, 'duplicate', answerAgain(), { outcome: 'duplicate', ...changed });
    }
    const leaseLeftMs = (existing.leaseUntil ?? 0) - now;
    if (leaseLeftMs >= 0) {
      metrics.count(METRIC.inProgress, dims);
      return answer(dlog, level, 'in progress elsewhere', inProgress(leaseLeftMs), {
        outcome: 'in_progress',
        leaseLeftMs,
        ...changed,
      });
    }
    const taken = await deps.deliveries.takeOver(delivery, lease, now);
    if (!taken) {
      metrics.count(METRIC.inProgress, dims);
      // Lost the race for it just now: the winner is at work.
      return answer(dlog, level, 'in progress elsewhere', inProgress(1_000), {
        outcome: 'in_progress',
        ...changed,
      });
    }
    holder = taken;
    // From the stored record, first receivedAt and first body: the envelope a first attempt would have sent.
    await publishAndMark(holder, lease.owner, deps, encodeEvent(taken, sameBody ? { isJson } : {}));
    metrics.count(METRIC.published, dims);
    metrics.count(METRIC.takenOver, dims);
    return answer(dlog, level, 'accepted', answerNew(), {
      outcome: 'taken_over',
      attempts: taken.attempts,
      ...changed,
    });
  } catch (error) {
    if (!(error instanceof DependencyError)) throw error;
    metrics.count(METRIC.unavailable, { ...dims, dependency: error.dependency });
    if (holder) {
      // Best effort: a lease given back lets the provider's retry finish at once.
      await deps.deliveries.release(holder, lease.owner).catch(() => false);
    }
    return answer(dlog, 'error', 'dependency failed', unavailable(error.dependency), {
      ...errorFields(error),
      outcome: 'unavailable',
      dependency: error.dependency,
    });
  }
}

/** The 400 a verdict's names earn, if any: ids and types are keyed, logged and shown. */
function malformedName(
  verdict: Extract<Verdict, { kind: 'accept' }>,
): { error: 'malformed_delivery_id' | 'malformed_event_type'; message: string } | undefined {
  const idMessage = `the delivery id must be 1 to ${MAX_DELIVERY_ID_BYTES} bytes of printable text, without control or bidirectional-override characters`;
  if (!isUsableName(verdict.deliveryId, MAX_DELIVERY_ID_BYTES)) {
    return { error: 'malformed_delivery_id', message: idMessage };
  }
  if (
    verdict.providerDeliveryId !== undefined &&
    !isUsableName(verdict.providerDeliveryId, MAX_DELIVERY_ID_BYTES)
  ) {
    return { error: 'malformed_delivery_id', message: idMessage };
  }
  if (!isUsableName(verdict.eventType, MAX_EVENT_TYPE_BYTES)) {
    return {
      error: 'malformed_event_type',
      message: `the event type must be 1 to ${MAX_EVENT_TYPE_BYTES} bytes of printable text, without control or bidirectional-override characters`,
    };
  }
  return undefined;
}

/** Deletes a payload object no delivery refers to; a failure only leaves it to the bucket's lifecycle rule. */
async function discard(uri: string, deps: IngestDeps, log: Logger): Promise<void> {
  try {
    await deps.payloads.delete(uri);
  } catch (error) {
    log.warn('could not delete an unreferenced payload; the lifecycle rule removes it', {
      ...errorFields(error),
    });
  }
}

async function publishAndMark(
  record: DeliveryRecord,
  owner: string,
  deps: IngestDeps,
  event: EncodedEvent,
): Promise<void> {
  await deps.publisher.publish(event);
  const marked = await deps.deliveries.markPublished(record, owner, deps.clock.now());
  if (!marked) {
    // Our lease lapsed and another invocation took over: it publishes too (at least once).
    deps.log.warn('lease lost before marking published', {
      provider: record.provider,
      deliveryId: record.deliveryId,
    });
  }
}

function inProgress(leaseLeftMs: number): HttpResponse {
  return problem(
    409,
    'in_progress',
    'another request is processing this delivery; retry after the Retry-After seconds',
    retryAfter(leaseLeftMs / 1000),
  );
}

function unavailable(dependency: string): HttpResponse {
  return problem(
    503,
    'dependency_unavailable',
    `a dependency (${dependency}) is unavailable; nothing was lost, retry later`,
    retryAfter(OUTAGE_RETRY_AFTER_SECONDS),
  );
}
