import { createHash } from 'node:crypto';
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { toEpochSeconds } from '../shared/clock.ts';
import {
  B,
  bytes,
  dynamo,
  type Item,
  isConditionFailure,
  itemSize,
  N,
  num,
  S,
  str,
  strMap,
  WRITE_UNIT_BYTES,
  writeUnits,
} from '../shared/dynamo.ts';
import { describeFailure } from '../shared/errors.ts';
import { decodeBody, encodeBody, frameBody, STRONG_QUALITY } from './body.ts';

export type DeliveryStatus = 'RECEIVED' | 'PUBLISHED' | 'FAILED';

export interface DeliveryKey {
  readonly provider: string;
  readonly deliveryId: string;
}

export interface NewDelivery extends DeliveryKey {
  /**
   * The provider's own delivery id, kept for display and lookup where its
   * signature does not cover it (the key is then a digest of what is signed).
   */
  readonly providerDeliveryId?: string;
  readonly eventType: string;
  /** The event type came from a header the signature does not cover. */
  readonly unsignedEventType?: true;
  /** The raw body, when it is small enough to live in the item. */
  readonly payload?: Uint8Array;
  /** Where the raw body lives when it was too large for the item (an S3 URI). */
  readonly payloadRef?: string;
  /**
   * The body's SHA-256 (hex): on every record read back, and on a new one whose
   * body goes to S3 (it names the object). Ingest hashes an inline body only when
   * it must: to key a delivery by it, or to compare it with a stored one.
   */
  readonly payloadSha256?: string;
  readonly contentType?: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface DeliveryRecord extends NewDelivery {
  readonly status: DeliveryStatus;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
  readonly leaseOwner?: string;
  /** Epoch milliseconds; present while RECEIVED. */
  readonly leaseUntil?: number;
  readonly attempts: number;
  readonly publishedAt?: number;
  /** Publishes the sweeper tried and failed; at its cap the delivery is parked FAILED. */
  readonly publishFailures?: number;
  /** The last failure to publish it, `<name>: <message> (<cause>)`. */
  readonly lastError?: string;
  /** Epoch milliseconds. */
  readonly lastErrorAt?: number;
  /** Epoch milliseconds: when the sweeper parked it; present while FAILED. */
  readonly failedAt?: number;
  /** Epoch seconds (DynamoDB TTL). */
  readonly expiresAt: number;
}

/** A delivery as read back from its item: the body's SHA-256 always known. */
export interface StoredDelivery extends DeliveryRecord {
  readonly payloadSha256: string;
}

/** A failed publish, as the sweeper records it. */
export interface PublishFailure {
  readonly error: unknown;
  /** Epoch milliseconds. */
  readonly at: number;
}

export interface Lease {
  readonly owner: string;
  /** Epoch milliseconds. */
  readonly until: number;
}

export type ClaimResult =
  | { readonly claimed: true; readonly record: DeliveryRecord }
  | { readonly claimed: false; readonly existing: StoredDelivery };

export const PENDING_INDEX = 'pending';

export const deliveryPk = (key: DeliveryKey): string =>
  `DELIVERY#${key.provider}#${key.deliveryId}`;

/**
 * What the key of every delivery of `provider` starts with, or of every delivery
 * at all: what a Scan filters on with `begins_with(pk, …)`, since the provider is
 * no attribute of its own.
 */
export const deliveryPkPrefix = (provider?: string): string =>
  provider === undefined ? 'DELIVERY#' : `DELIVERY#${provider}#`;

/** The inverse of deliveryPk: provider names hold no `#`, delivery ids may. */
export function parseDeliveryPk(pk: string): DeliveryKey | undefined {
  const match = /^DELIVERY#([^#]+)#(.+)$/s.exec(pk);
  return match?.[1] && match[2] ? { provider: match[1], deliveryId: match[2] } : undefined;
}

/**
 * `PENDING#<n>`: spreads the sparse index over shards so no GSI partition runs
 * hot (every delivery writes the index twice; one partition takes about 1,000
 * writes a second).
 */
export function pendingShard(key: DeliveryKey, shards: number): string {
  const n = createHash('sha256').update(deliveryPk(key)).digest().readUInt32BE(0) % shards;
  return `PENDING#${n}`;
}

/*
 * The life of one delivery id, every arrow one conditional write:
 *
 *   (absent or expired) ──claim──▶ RECEIVED, lease A ──markPublished by A──▶ PUBLISHED ──TTL──▶ (absent)
 *                                      │   ▲
 *                  lease A has lapsed  │   │ release by A (on failure) sets the lease to 0
 *                                      ▼   │
 *                                  takeOver by B ──▶ RECEIVED, lease B ──markPublished by B──▶ …
 *
 *   RECEIVED, lease B, whose publish by the sweeper B failed:
 *     ├─ deferAfterFailure by B, below the cap ──▶ RECEIVED, lease until a later retry time
 *     │                                            (behind the newer deliveries of its shard)
 *     └─ park by B, at the cap ──▶ FAILED ──TTL──▶ (absent)
 *                                    │
 *                                    └─ takeOver (a provider's retry) ──▶ RECEIVED, lease C ──▶ …
 *
 * Only RECEIVED deliveries are in the sparse pending index: a FAILED one leaves
 * it, so it holds no place in its shard's page, and is kept for the retention
 * window from when it was parked, for operators (`hookonce deliveries failed`).
 * A revived delivery keeps its count of failures: if the sweeper fails on it
 * once more, it is parked again. TTL deletes lazily, so an item whose
 * expiresAt has passed counts as absent.
 */
const deliveryIsAbsent = 'attribute_not_exists(pk)';
const deliveryHasExpired = 'expiresAt < :nowSeconds';
const leaseHasLapsed = '#status = :received AND leaseUntil < :now';
const deliveryIsParked = '#status = :failed';
const leaseIsMine = '#status = :received AND leaseOwner = :owner';

export interface DeliveryStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  pendingShards: number;
  retentionSeconds: number;
}

export class DeliveryStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #shards: number;
  readonly #retentionSeconds: number;

  constructor(options: DeliveryStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#shards = options.pendingShards;
    this.#retentionSeconds = options.retentionSeconds;
  }

  /**
   * One PutItem: creates the delivery unless a live record holds its id, which it
   * then returns. The record is kept `retentionSeconds` (the provider's window).
   */
  async claim(
    delivery: NewDelivery,
    lease: Lease,
    now: number,
    retentionSeconds = this.#retentionSeconds,
  ): Promise<ClaimResult> {
    const record: DeliveryRecord = {
      ...delivery,
      status: 'RECEIVED',
      receivedAt: now,
      leaseOwner: lease.owner,
      leaseUntil: lease.until,
      attempts: 1,
      expiresAt: toEpochSeconds(now) + retentionSeconds,
    };
    const item = deliveryItem(record, this.#shards);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await dynamo('claim', () =>
          this.#client.send(
            new PutItemCommand({
              TableName: this.#table,
              Item: item,
              ConditionExpression: `${deliveryIsAbsent} OR ${deliveryHasExpired}`,
              ExpressionAttributeValues: { ':nowSeconds': N(toEpochSeconds(now)) },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
        return { claimed: true, record };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // Some emulators return no item with the failure: read it, consistently.
        const existing = error.Item ? fromItem(error.Item) : await this.get(delivery);
        // Gone between the two calls (TTL or a test clean-up): claim again.
        if (existing) return { claimed: false, existing };
      }
    }
    throw new Error(`delivery ${deliveryPk(delivery)} neither claimable nor readable`);
  }

  /**
   * Takes over a RECEIVED delivery whose lease has lapsed, or revives a FAILED
   * one (a provider's retry of a parked delivery): RECEIVED under the new
   * lease, back in the pending index. `undefined` if someone else holds it.
   * The sweeper passes `revive: false`: it is done with a parked delivery, even
   * when the index, eventually consistent, still lists it for a moment.
   */
  async takeOver(
    key: DeliveryKey,
    lease: Lease,
    now: number,
    options: { readonly revive?: boolean } = {},
  ): Promise<DeliveryRecord | undefined> {
    const revive = options.revive ?? true;
    try {
      const out = await dynamo('take-over', () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { pk: S(deliveryPk(key)) },
            UpdateExpression:
              'SET #status = :received, leaseOwner = :owner, leaseUntil = :until, pendingShard = :shard ' +
              'ADD attempts :one REMOVE failedAt',
            ConditionExpression: revive
              ? `(${leaseHasLapsed}) OR ${deliveryIsParked}`
              : leaseHasLapsed,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':owner': S(lease.owner),
              ':until': N(lease.until),
              ':shard': S(pendingShard(key, this.#shards)),
              ':now': N(now),
              ':received': S('RECEIVED'),
              ...(revive ? { ':failed': S('FAILED') } : {}),
              ':one': N(1),
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return out.Attributes ? fromItem(out.Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** RECEIVED → PUBLISHED, only while the caller still holds the lease. Leaves the pending index. */
  async markPublished(key: DeliveryKey, owner: string, now: number): Promise<boolean> {
    try {
      await dynamo('mark published', () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { pk: S(deliveryPk(key)) },
            UpdateExpression:
              'SET #status = :published, publishedAt = :now REMOVE pendingShard, leaseUntil',
            ConditionExpression: leaseIsMine,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':published': S('PUBLISHED'),
              ':received': S('RECEIVED'),
              ':owner': S(owner),
              ':now': N(now),
            },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Gives the lease up at once after a failure, so the provider's retry can take over without waiting. */
  async release(key: DeliveryKey, owner: string): Promise<boolean> {
    try {
      await dynamo('release', () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { pk: S(deliveryPk(key)) },
            UpdateExpression: 'SET leaseUntil = :zero',
            ConditionExpression: leaseIsMine,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':zero': N(0),
              ':received': S('RECEIVED'),
              ':owner': S(owner),
            },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * After a failed publish, by the lease holder: counts the failure, keeps it,
   * and moves the lease to `retryAt`. The pending index is sorted by lease, so
   * the delivery goes behind every newer one of its shard, and the sweeper
   * comes back to it only then. False if the lease was lost.
   */
  async deferAfterFailure(
    key: DeliveryKey,
    owner: string,
    failure: PublishFailure,
    retryAt: number,
  ): Promise<boolean> {
    return this.#recordFailure('defer after failure', key, owner, failure, {
      update: 'SET leaseUntil = :retryAt',
      values: { ':retryAt': N(retryAt) },
    });
  }

  /**
   * RECEIVED → FAILED, by the lease holder, after the last publish it may try:
   * out of the pending index, so it no longer holds a place in its shard's
   * page, with the failure kept, and kept itself for the retention window from
   * now. Only a provider's retry (takeOver) brings it back. False if the lease
   * was lost.
   */
  async park(key: DeliveryKey, owner: string, failure: PublishFailure): Promise<boolean> {
    return this.#recordFailure('park', key, owner, failure, {
      update: 'SET #status = :failed, failedAt = :at, expiresAt = :expires',
      remove: ' REMOVE pendingShard, leaseUntil',
      values: {
        ':failed': S('FAILED'),
        ':expires': N(toEpochSeconds(failure.at) + this.#retentionSeconds),
      },
    });
  }

  async #recordFailure(
    what: string,
    key: DeliveryKey,
    owner: string,
    failure: PublishFailure,
    change: { update: string; remove?: string; values: Item },
  ): Promise<boolean> {
    try {
      await dynamo(what, () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { pk: S(deliveryPk(key)) },
            UpdateExpression:
              `${change.update}, lastError = :error, lastErrorAt = :at ` +
              `ADD publishFailures :one${change.remove ?? ''}`,
            ConditionExpression: leaseIsMine,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':received': S('RECEIVED'),
              ':owner': S(owner),
              ':error': S(describeFailure(failure.error)),
              ':at': N(failure.at),
              ':one': N(1),
              ...change.values,
            },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * The deliveries of one shard of the sparse pending index whose lease ended
   * before `before` (epoch ms), oldest first. The index is eventually
   * consistent: a key found here may already be PUBLISHED, which the take-over
   * condition then refuses.
   */
  async pending(shard: number, before: number, limit: number): Promise<DeliveryKey[]> {
    const out = await dynamo('query pending', () =>
      this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: PENDING_INDEX,
          KeyConditionExpression: 'pendingShard = :shard AND leaseUntil < :before',
          ExpressionAttributeValues: { ':shard': S(`PENDING#${shard}`), ':before': N(before) },
          Limit: limit,
        }),
      ),
    );
    return (out.Items ?? []).flatMap((item) => {
      const key = parseDeliveryPk(str(item, 'pk') ?? '');
      return key ? [key] : [];
    });
  }

  get shards(): number {
    return this.#shards;
  }

  async get(key: DeliveryKey): Promise<StoredDelivery | undefined> {
    const out = await dynamo('read', () =>
      this.#client.send(
        new GetItemCommand({
          TableName: this.#table,
          Key: { pk: S(deliveryPk(key)) },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }
}

/**
 * How far over a write unit the fast compression may leave an item for the
 * strong one to be tried, as a share of the compressed body: STRONG_QUALITY
 * makes a body about 7 % smaller, at most 12 % on the measured bodies
 * (test/bench/compression.ts); beyond that it cannot save the unit.
 */
const STRONG_REACH = 0.15;

/**
 * The largest frame the strong compression is tried on: those that may make
 * an item of one or two write units. It costs a few milliseconds per KB, spent
 * only where it saves a unit on both the claim and the mark.
 */
const STRONG_MAX_FRAME_BYTES = 4 * 1024;

const NO_BYTES = new Uint8Array(0);

/**
 * The item a delivery is stored as (docs/architecture.md, The deliveries table).
 * Only what the state machine, the indexes, TTL and the readers' filters use is
 * an attribute of its own; the provider and the delivery id are in the key;
 * the kept headers and the raw body travel together in `body`, compressed
 * (functions/deliveries/body.ts). The body's SHA-256 is kept only for a body in
 * S3: an inline one is hashed again when read. The content type is kept apart
 * only when it is not the kept `content-type` header.
 */
export function deliveryItem(record: DeliveryRecord, shards: number): Item {
  const item: Item = {
    pk: S(deliveryPk(record)),
    status: S(record.status),
    eventType: S(record.eventType),
    receivedAt: N(record.receivedAt),
    attempts: N(record.attempts),
    expiresAt: N(record.expiresAt),
  };
  if (record.providerDeliveryId !== undefined) {
    item.providerDeliveryId = S(record.providerDeliveryId);
  }
  if (record.unsignedEventType) item.unsignedEventType = { BOOL: true };
  if (record.contentType !== undefined && record.contentType !== record.headers['content-type']) {
    item.contentType = S(record.contentType);
  }
  if (record.payloadRef !== undefined) {
    if (record.payloadSha256 === undefined) {
      throw new Error(`delivery ${deliveryPk(record)} is kept in S3 without its body's SHA-256`);
    }
    item.payloadRef = S(record.payloadRef);
    item.payloadSha256 = S(record.payloadSha256);
  }
  if (record.leaseOwner !== undefined) item.leaseOwner = S(record.leaseOwner);
  if (record.status === 'RECEIVED' && record.leaseUntil !== undefined) {
    item.leaseUntil = N(record.leaseUntil);
    item.pendingShard = S(pendingShard(record, shards));
  }
  const inline = record.payloadRef === undefined ? (record.payload ?? NO_BYTES) : NO_BYTES;
  const frame = frameBody({ headers: record.headers, payload: inline });
  const fast = encodeBody(frame);
  item.body = B(fast);
  const size = itemSize(item);
  const units = writeUnits(size);
  const over = size - (units - 1) * WRITE_UNIT_BYTES;
  if (units > 1 && frame.length <= STRONG_MAX_FRAME_BYTES && over <= fast.length * STRONG_REACH) {
    const strong = encodeBody(frame, STRONG_QUALITY);
    if (writeUnits(size - fast.length + strong.length) < units) item.body = B(strong);
  }
  return item;
}

/**
 * A delivery record from its item, or from the part of it a projection read.
 * Items of either format are read: the one deliveryItem writes, and the one
 * before it (provider and delivery id as attributes, the raw body in `payload`,
 * the headers as a map, the body's SHA-256 always), which deployed tables hold
 * for the retention window.
 */
export function fromItem(item: Item): StoredDelivery {
  const key = parseDeliveryPk(str(item, 'pk') ?? '');
  const body = bytes(item, 'body');
  const received = body ? decodeBody(body) : undefined;
  const headers = received?.headers ?? strMap(item, 'headers');
  const payloadRef = str(item, 'payloadRef');
  const payload = payloadRef === undefined && received ? received.payload : bytes(item, 'payload');
  const payloadSha256 =
    str(item, 'payloadSha256') ??
    (payload ? createHash('sha256').update(payload).digest('hex') : '');
  const record: StoredDelivery = {
    provider: str(item, 'provider') ?? key?.provider ?? '',
    deliveryId: str(item, 'deliveryId') ?? key?.deliveryId ?? '',
    eventType: str(item, 'eventType') ?? '',
    ...(item.providerDeliveryId?.S !== undefined
      ? { providerDeliveryId: item.providerDeliveryId.S }
      : {}),
    ...(item.unsignedEventType?.BOOL ? { unsignedEventType: true as const } : {}),
    status: (str(item, 'status') ?? 'RECEIVED') as DeliveryStatus,
    payload,
    payloadRef,
    payloadSha256,
    contentType: str(item, 'contentType') ?? headers['content-type'],
    headers,
    receivedAt: num(item, 'receivedAt') ?? 0,
    leaseOwner: str(item, 'leaseOwner'),
    leaseUntil: num(item, 'leaseUntil'),
    attempts: num(item, 'attempts') ?? 0,
    publishedAt: num(item, 'publishedAt'),
    publishFailures: num(item, 'publishFailures'),
    lastError: str(item, 'lastError'),
    lastErrorAt: num(item, 'lastErrorAt'),
    failedAt: num(item, 'failedAt'),
    expiresAt: num(item, 'expiresAt') ?? 0,
  };
  return record;
}
