/**
 * What the console's pages and JSON endpoints show, read from the target: one
 * delivery with its payload, envelope, state and each subscriber's claim; each
 * subscriber's queues and consumer counts; the providers. The pages render
 * these; `/api/…` answers them as JSON.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { claimPk } from '../../functions/consumers/claims.ts';
import { readS3Payload } from '../../functions/deliveries/payloads.ts';
import type { DeliveryRecord, StoredDelivery } from '../../functions/deliveries/store.ts';
import { encodeEvent, eventId } from '../../functions/fanout/envelope.ts';
import {
  type FilterPolicy,
  matchesFilterPolicy,
  type ResolvedProvider,
  signsDeliveryId,
  toFilterPolicy,
} from '../../functions/shared/declaration.ts';
import { num, str } from '../../functions/shared/dynamo.ts';
import { findDeliveries } from '../cli/lookup.ts';
import { contentTypeOf } from '../cli/send.ts';
import { liveFilterPolicy, type Target } from '../cli/target.ts';
import type { ConsumerCounts } from './activity.ts';
import type { ConsoleOptions } from './options.ts';

/** Bytes of a payload shown as text on the page; the download link has all of it. */
export const PAYLOAD_TEXT_MAX = 256 * 1024;

export interface PayloadView {
  readonly bytes: number;
  readonly sha256: string;
  readonly contentType?: string;
  /** `item`: in the delivery's item; `s3`: offloaded (payloadRef). */
  readonly source: 'item' | 's3';
  readonly ref?: string;
  /** The payload as UTF-8 text (cut at PAYLOAD_TEXT_MAX), when it is text. */
  readonly text?: string;
  readonly truncated?: boolean;
  /** The payload in base64, when it is not UTF-8 text. */
  readonly base64?: string;
  /** Why the payload cannot be shown (no S3 client, S3 failed). */
  readonly unavailable?: string;
}

/** A subscriber's claim on one event, as the guard left it in the consumer table. */
export interface ClaimView {
  /**
   * `none`: no claim (not received yet, filtered out, or expired); `done`: applied;
   * `in_progress`: a consumer holds the lease now; `failed`: the last attempt failed
   * and gave the lease back (the message is retried, or waits in the DLQ);
   * `abandoned`: the lease lapsed without a recorded failure (a crash or a timeout).
   */
  readonly state: 'none' | 'done' | 'in_progress' | 'failed' | 'abandoned';
  readonly leaseOwner?: string;
  readonly leaseUntil?: number;
  /** How many times the event was claimed (the guard counts each claim). */
  readonly attempts?: number;
  readonly claimedAt?: number;
  readonly doneAt?: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly expiresAt?: number;
}

export interface SubscriberMatch {
  readonly name: string;
  /** The filter policy SNS applies (read from the subscription; the declared one if that failed). */
  readonly policy: FilterPolicy | null;
  /** Where the policy was read: `subscription`, or `declaration` with policyError saying why. */
  readonly policySource: 'subscription' | 'declaration';
  readonly policyError?: string;
  /** Whether SNS delivers this event to the subscriber's queue. */
  readonly matches: boolean;
  readonly claim: ClaimView;
}

export interface DeliveryView {
  readonly eventId: string;
  readonly provider: string;
  readonly deliveryId: string;
  readonly providerDeliveryId?: string;
  /** The provider's event type (`invoice.paid`). */
  readonly eventType: string;
  /** The envelope's type (`stripe.invoice.paid`). */
  readonly type: string;
  readonly unsignedEventType: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: PayloadView;
  /** The CloudEvents message subscribers receive, exactly. */
  readonly envelope: string;
  readonly state: {
    readonly status: string;
    readonly attempts: number;
    readonly leaseOwner?: string;
    readonly leaseUntil?: number;
    readonly receivedAt: number;
    readonly publishedAt?: number;
    readonly publishFailures?: number;
    readonly lastError?: string;
    readonly lastErrorAt?: number;
    readonly failedAt?: number;
    readonly expiresAt: number;
  };
  readonly subscribers: readonly SubscriberMatch[];
  /** `npx hookonce send …` that sends this payload again, signed by the CLI; never a secret. */
  readonly sendCommand: string;
  /** The file name the payload downloads as, which sendCommand names. */
  readonly fileName: string;
}

export interface DeliveryLookupView {
  readonly provider: string;
  readonly id: string;
  readonly by: 'key' | 'provider id';
  readonly deliveries: readonly DeliveryView[];
}

const MINUTE = 60_000;

/** Filter policies SNS applies, read from the subscriptions and kept a minute. */
export class PolicyCache {
  readonly #target: Target;
  readonly #now: () => number;
  readonly #declared: (name: string) => FilterPolicy | undefined;
  readonly #cache = new Map<
    string,
    { at: number; policy: FilterPolicy | undefined; error?: string }
  >();

  constructor(
    target: Target,
    now: () => number,
    declared: (name: string) => FilterPolicy | undefined,
  ) {
    this.#target = target;
    this.#now = now;
    this.#declared = declared;
  }

  async get(subscriber: string): Promise<{
    policy: FilterPolicy | undefined;
    source: 'subscription' | 'declaration';
    error?: string;
  }> {
    const now = this.#now();
    let hit = this.#cache.get(subscriber);
    if (!hit || now - hit.at >= MINUTE || now < hit.at) {
      try {
        hit = { at: now, policy: await liveFilterPolicy(this.#target, subscriber) };
      } catch (error) {
        hit = { at: now, policy: undefined, error: (error as Error).message };
      }
      this.#cache.set(subscriber, hit);
    }
    return hit.error === undefined
      ? { policy: hit.policy, source: 'subscription' }
      : { policy: this.#declared(subscriber), source: 'declaration', error: hit.error };
  }

  forget(): void {
    this.#cache.clear();
  }
}

/** A claim of the guard (functions/consumers/claims.ts), read consistently. */
export async function readClaim(
  target: Target,
  subscriber: string,
  event: string,
  now: number,
): Promise<ClaimView> {
  const out = await target.dynamodb.send(
    new GetItemCommand({
      TableName: target.consumerTable,
      Key: { pk: { S: claimPk(subscriber, event) } },
      ConsistentRead: true,
    }),
  );
  const item = out.Item;
  if (!item) return { state: 'none' };
  const expiresAt = num(item, 'expiresAt');
  // DynamoDB deletes expired items lazily; the guard counts one as absent.
  if (expiresAt !== undefined && expiresAt * 1000 <= now) return { state: 'none' };
  const leaseUntil = num(item, 'leaseUntil');
  const lastError = str(item, 'lastError');
  const status = str(item, 'status');
  const state: ClaimView['state'] =
    status === 'DONE'
      ? 'done'
      : leaseUntil !== undefined && leaseUntil > now
        ? 'in_progress'
        : lastError !== undefined
          ? 'failed'
          : 'abandoned';
  const fields = {
    leaseOwner: str(item, 'leaseOwner'),
    leaseUntil,
    attempts: num(item, 'attempts'),
    claimedAt: num(item, 'claimedAt'),
    doneAt: num(item, 'doneAt'),
    lastError,
    lastErrorAt: num(item, 'lastErrorAt'),
    expiresAt,
  };
  return {
    state,
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

async function payloadOf(record: StoredDelivery, options: ConsoleOptions): Promise<PayloadView> {
  const base = {
    sha256: record.payloadSha256,
    ...(record.contentType !== undefined ? { contentType: record.contentType } : {}),
  };
  let bytes: Uint8Array | undefined = record.payload;
  let source: PayloadView['source'] = 'item';
  let unavailable: string | undefined;
  if (record.payloadRef !== undefined) {
    source = 's3';
    if (!options.s3) {
      unavailable = `kept in S3 at ${record.payloadRef}; this console reads no S3`;
    } else {
      try {
        bytes = await readS3Payload(options.s3, record.payloadRef);
      } catch (error) {
        unavailable = `kept in S3 at ${record.payloadRef}, which could not be read: ${describe(error)}`;
      }
    }
  }
  const ref = record.payloadRef !== undefined ? { ref: record.payloadRef } : {};
  if (!bytes) {
    return { ...base, ...ref, source, bytes: 0, unavailable: unavailable ?? 'no payload stored' };
  }
  const shown = bytes.subarray(0, PAYLOAD_TEXT_MAX);
  const truncated = bytes.length > PAYLOAD_TEXT_MAX;
  try {
    // A cut may split a character: decode what is whole.
    const text = truncated
      ? new TextDecoder('utf-8').decode(shown).replace(/\uFFFD$/, '')
      : utf8.decode(shown);
    if (!truncated) utf8.decode(bytes);
    return { ...base, ...ref, source, bytes: bytes.length, text, truncated };
  } catch {
    return {
      ...base,
      ...ref,
      source,
      bytes: bytes.length,
      base64: Buffer.from(shown).toString('base64'),
      truncated,
    };
  }
}

/** The raw bytes of a delivery's payload, for its download link. */
export async function payloadBytes(
  record: DeliveryRecord,
  options: ConsoleOptions,
): Promise<Uint8Array | undefined> {
  if (record.payloadRef === undefined) return record.payload;
  if (!options.s3) return undefined;
  return readS3Payload(options.s3, record.payloadRef);
}

const describe = (error: unknown): string =>
  error instanceof Error
    ? `${error.name}: ${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`
    : String(error);

/** A value as a POSIX shell reads it back: as it is when that is safe, else single-quoted. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value) && !value.startsWith('-')) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** What the payload of a delivery downloads as: `<provider>-<id>.<extension>`. */
export function payloadFileName(record: DeliveryRecord): string {
  const id = (record.providerDeliveryId ?? record.deliveryId)
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .replace(/^[_-]+|_+$/g, '')
    .slice(0, 64);
  const type = (record.contentType ?? '').toLowerCase();
  const extension = /json/.test(type)
    ? 'json'
    : /x-www-form-urlencoded/.test(type)
      ? 'form'
      : /xml/.test(type)
        ? 'xml'
        : 'txt';
  return `${record.provider}-${id || 'payload'}.${extension}`;
}

/**
 * `npx hookonce send <provider> --file <payload> …`: sends the same payload again,
 * signed by the CLI with the secret it finds (never one written here), under the
 * same delivery id where the provider's signature covers it, and the same type
 * where the provider carries it in a header.
 */
export function sendCommandFor(record: DeliveryRecord, provider: ResolvedProvider): string {
  const file = payloadFileName(record);
  const parts = [
    'npx',
    'hookonce',
    'send',
    shellQuote(record.provider),
    '--file',
    shellQuote(file),
  ];
  const id = signsDeliveryId(provider) ? record.deliveryId : record.providerDeliveryId;
  const hmacWithoutId = provider.scheme === 'hmac' && provider.deliveryId === undefined;
  if (id !== undefined && !hmacWithoutId) parts.push('--id', shellQuote(id));
  if (provider.scheme === 'github' || provider.scheme === 'shopify') {
    parts.push('--type', shellQuote(record.eventType));
  }
  if (record.contentType && contentTypeOf(file) !== record.contentType) {
    parts.push('--content-type', shellQuote(record.contentType));
  }
  return parts.join(' ');
}

/** One delivery, found by its key or by the provider's own id, with everything the page shows. */
export async function deliveryLookup(
  options: ConsoleOptions,
  policies: PolicyCache,
  provider: string,
  id: string,
  now: number,
): Promise<DeliveryLookupView | undefined> {
  const declared = Object.hasOwn(options.declaration.providers, provider)
    ? options.declaration.providers[provider]
    : undefined;
  if (!declared) return undefined;
  const lookup = await findDeliveries(options.target, provider, id, { segments: 4 });
  const deliveries = await Promise.all(
    lookup.found.map((record) => deliveryView(options, policies, record, declared, now)),
  );
  return { provider, id, by: lookup.by, deliveries };
}

async function deliveryView(
  options: ConsoleOptions,
  policies: PolicyCache,
  record: StoredDelivery,
  provider: ResolvedProvider,
  now: number,
): Promise<DeliveryView> {
  const id = eventId(record.provider, record.deliveryId);
  const attributes = { provider: record.provider, type: `${record.provider}.${record.eventType}` };
  const subscribers = await Promise.all(
    Object.keys(options.declaration.subscribers).map(async (name): Promise<SubscriberMatch> => {
      const { policy, source, error } = await policies.get(name);
      let matches: boolean;
      let policyError = error;
      try {
        matches = matchesFilterPolicy(policy, attributes);
      } catch (e) {
        matches = false;
        policyError = (e as Error).message;
      }
      return {
        name,
        policy: policy ?? null,
        policySource: source,
        ...(policyError !== undefined ? { policyError } : {}),
        matches,
        claim: await readClaim(options.target, name, id, now),
      };
    }),
  );
  const state = {
    status: record.status,
    attempts: record.attempts,
    leaseOwner: record.leaseOwner,
    leaseUntil: record.leaseUntil,
    receivedAt: record.receivedAt,
    publishedAt: record.publishedAt,
    publishFailures: record.publishFailures,
    lastError: record.lastError,
    lastErrorAt: record.lastErrorAt,
    failedAt: record.failedAt,
    expiresAt: record.expiresAt,
  };
  return {
    eventId: id,
    provider: record.provider,
    deliveryId: record.deliveryId,
    ...(record.providerDeliveryId !== undefined
      ? { providerDeliveryId: record.providerDeliveryId }
      : {}),
    eventType: record.eventType,
    type: attributes.type,
    unsignedEventType: record.unsignedEventType === true,
    headers: record.headers,
    payload: await payloadOf(record, options),
    envelope: encodeEvent(record).message,
    state: Object.fromEntries(
      Object.entries(state).filter(([, v]) => v !== undefined),
    ) as DeliveryView['state'],
    subscribers,
    sendCommand: sendCommandFor(record, provider),
    fileName: payloadFileName(record),
  };
}

export interface QueueDepths {
  /** Messages waiting in the subscriber's queue. */
  readonly waiting: number;
  /** Messages a consumer has received and not yet deleted. */
  readonly inFlight: number;
  /** Messages in its DLQ, waiting or being read. */
  readonly dead: number;
}

export interface SubscriberView {
  readonly name: string;
  readonly policy: FilterPolicy | null;
  readonly policySource: 'subscription' | 'declaration';
  readonly policyError?: string;
  readonly consumer: string;
  readonly maxReceiveCount: number;
  readonly queues?: QueueDepths;
  /** Why the queues could not be read. */
  readonly queuesError?: string;
  /** The consumer's outcomes in the last hour. */
  readonly lastHour: ConsumerCounts;
}

async function depth(target: Target, queueUrl: string): Promise<[number, number]> {
  const out = await target.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return [
    Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  ];
}

const HOUR = 3_600_000;

export async function subscriberViews(
  options: ConsoleOptions,
  policies: PolicyCache,
  now: number,
): Promise<SubscriberView[]> {
  const counts = await options.consumers.counts(now - HOUR, now).catch(() => ({}));
  return Promise.all(
    Object.entries(options.declaration.subscribers).map(async ([name, s]) => {
      const { policy, source, error } = await policies.get(name);
      const pair = Object.hasOwn(options.target.subscribers, name)
        ? options.target.subscribers[name]
        : undefined;
      let queues: QueueDepths | undefined;
      let queuesError: string | undefined;
      if (!pair) {
        queuesError = `${options.target.description} has no queue for ${name}`;
      } else {
        try {
          const [[waiting, inFlight], [deadWaiting, deadReading]] = await Promise.all([
            depth(options.target, pair.queueUrl),
            depth(options.target, pair.dlqUrl),
          ]);
          queues = { waiting, inFlight, dead: deadWaiting + deadReading };
        } catch (e) {
          queuesError = describe(e);
        }
      }
      const lastHour = (counts as Record<string, ConsumerCounts>)[name] ?? {
        succeeded: 0,
        failed: 0,
      };
      return {
        name,
        policy: policy ?? null,
        policySource: source,
        ...(error !== undefined ? { policyError: error } : {}),
        consumer: s.consumer.entry,
        maxReceiveCount: s.maxReceiveCount,
        ...(queues ? { queues } : {}),
        ...(queuesError !== undefined ? { queuesError } : {}),
        lastHour,
      };
    }),
  );
}

/** The declared filter policy of a subscriber (what the CDK app and the local runtime subscribe with). */
export const declaredPolicy =
  (options: ConsoleOptions) =>
  (name: string): FilterPolicy | undefined => {
    const s = Object.hasOwn(options.declaration.subscribers, name)
      ? options.declaration.subscribers[name]
      : undefined;
    return s ? toFilterPolicy(s.filter) : undefined;
  };
