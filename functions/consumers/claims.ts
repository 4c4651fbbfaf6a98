import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { toEpochSeconds } from '../shared/clock.ts';
import { dynamo, type Item, isConditionFailure, N, num, S, str } from '../shared/dynamo.ts';

export type ClaimOutcome =
  | { readonly outcome: 'claimed' }
  | { readonly outcome: 'done' }
  | { readonly outcome: 'in_progress'; readonly leaseUntil: number };

export interface ClaimLease {
  readonly owner: string;
  /** Epoch milliseconds. */
  readonly until: number;
}

export const claimPk = (consumer: string, eventId: string): string =>
  `CLAIM#${consumer}#${eventId}`;

export type ClaimStatus = 'IN_PROGRESS' | 'DONE';

/** A claim as stored: what operators see of an event a consumer is working on, or failed on. */
export interface ClaimRecord {
  readonly consumer: string;
  readonly eventId: string;
  readonly status: ClaimStatus;
  readonly leaseOwner?: string;
  /** Epoch milliseconds; 0 once released. Absent when DONE. */
  readonly leaseUntil?: number;
  /** The last failure, `<name>: <message>`, cut to LAST_ERROR_MAX_CHARS. */
  readonly lastError?: string;
  /** Epoch milliseconds. */
  readonly lastErrorAt?: number;
  /** Epoch seconds (DynamoDB TTL). */
  readonly expiresAt: number;
}

/** How much of an error a released claim keeps: enough to read, never a whole payload. */
export const LAST_ERROR_MAX_CHARS = 500;

/** `<name>: <message>` of anything thrown, on one line, cut to LAST_ERROR_MAX_CHARS. */
export function describeFailure(error: unknown): string {
  const text =
    error instanceof Error ? `${error.name}: ${error.message}` : `thrown: ${String(error)}`;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > LAST_ERROR_MAX_CHARS ? `${line.slice(0, LAST_ERROR_MAX_CHARS - 1)}…` : line;
}

/*
 * The life of one (consumer, event id) claim, every arrow one conditional write:
 *
 *   (absent or expired) ──claim──▶ IN_PROGRESS, lease L ──complete by L──▶ DONE ──TTL──▶ (absent)
 *          ▲                             │
 *          ├─ release by L: lease L = 0 ─┤  (the effect failed: the message is retried;
 *          │                             │   the claim keeps lastError for operators)
 *          └── lease L lapsed: claim ────┘  (the consumer crashed mid-effect)
 *
 * A DONE claim is kept for the retention window: any copy of the event that
 * arrives meanwhile, from SNS, SQS or a replay, is acknowledged without effect.
 * A released claim is an abandoned one whose lease ended at once: the retried
 * message claims it again without waiting.
 */
const claimIsAbsent = 'attribute_not_exists(pk)';
const claimHasExpired = 'expiresAt < :nowSeconds';
const claimWasAbandoned = '(#status = :inProgress AND leaseUntil < :now)';
const claimIsMine = '#status = :inProgress AND leaseOwner = :owner';

export class ClaimStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #retentionSeconds: number;

  constructor(options: { client: DynamoDBClient; tableName: string; retentionSeconds: number }) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#retentionSeconds = options.retentionSeconds;
  }

  async claim(
    consumer: string,
    eventId: string,
    lease: ClaimLease,
    now: number,
    attempt = 0,
  ): Promise<ClaimOutcome> {
    try {
      await dynamo('claim', () =>
        this.#client.send(
          new PutItemCommand({
            TableName: this.#table,
            Item: {
              pk: S(claimPk(consumer, eventId)),
              consumer: S(consumer),
              eventId: S(eventId),
              status: S('IN_PROGRESS'),
              leaseOwner: S(lease.owner),
              leaseUntil: N(lease.until),
              claimedAt: N(now),
              expiresAt: N(toEpochSeconds(now) + this.#retentionSeconds),
            },
            ConditionExpression: `${claimIsAbsent} OR ${claimHasExpired} OR ${claimWasAbandoned}`,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':nowSeconds': N(toEpochSeconds(now)),
              ':now': N(now),
              ':inProgress': S('IN_PROGRESS'),
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { outcome: 'claimed' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Some emulators return no item with the failure: read it, consistently.
      const item = error.Item ?? (await this.#read(consumer, eventId));
      if (!item) {
        // Gone between the two calls: claim again, a bounded number of times.
        if (attempt < 2) return this.claim(consumer, eventId, lease, now, attempt + 1);
        return { outcome: 'in_progress', leaseUntil: now };
      }
      if (str(item, 'status') === 'DONE') return { outcome: 'done' };
      return { outcome: 'in_progress', leaseUntil: num(item, 'leaseUntil') ?? now };
    }
  }

  /** The claim of one event, read consistently; `undefined` when there is none. */
  async get(consumer: string, eventId: string): Promise<ClaimRecord | undefined> {
    const item = await this.#read(consumer, eventId);
    if (!item) return undefined;
    return {
      consumer: str(item, 'consumer') ?? consumer,
      eventId: str(item, 'eventId') ?? eventId,
      status: (str(item, 'status') ?? 'IN_PROGRESS') as ClaimStatus,
      leaseOwner: str(item, 'leaseOwner'),
      leaseUntil: num(item, 'leaseUntil'),
      lastError: str(item, 'lastError'),
      lastErrorAt: num(item, 'lastErrorAt'),
      expiresAt: num(item, 'expiresAt') ?? 0,
    };
  }

  async #read(consumer: string, eventId: string): Promise<Item | undefined> {
    const out = await dynamo('read', () =>
      this.#client.send(
        new GetItemCommand({
          TableName: this.#table,
          Key: { pk: S(claimPk(consumer, eventId)) },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item;
  }

  /** IN_PROGRESS → DONE, kept for the retention window. False if the lease was lost meanwhile. */
  async complete(consumer: string, eventId: string, owner: string, now: number): Promise<boolean> {
    try {
      await dynamo('complete', () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { pk: S(claimPk(consumer, eventId)) },
            UpdateExpression:
              'SET #status = :done, doneAt = :now, expiresAt = :expires REMOVE leaseUntil',
            ConditionExpression: claimIsMine,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':done': S('DONE'),
              ':inProgress': S('IN_PROGRESS'),
              ':owner': S(owner),
              ':now': N(now),
              ':expires': N(toEpochSeconds(now) + this.#retentionSeconds),
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
   * Gives back a claim whose effect failed: its lease ends at once, so the
   * retried message claims it without waiting, and the failure is kept on it
   * (`lastError`, `lastErrorAt`) for `hookonce dlq peek`, until the next claim.
   * False if the lease was lost.
   */
  async release(
    consumer: string,
    eventId: string,
    owner: string,
    failure?: { readonly error: unknown; readonly at: number },
  ): Promise<boolean> {
    const recorded: { update: string; values: Item } = failure
      ? {
          update: ', lastError = :error, lastErrorAt = :at',
          values: { ':error': S(describeFailure(failure.error)), ':at': N(failure.at) },
        }
      : { update: '', values: {} };
    try {
      await dynamo('release', () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { pk: S(claimPk(consumer, eventId)) },
            UpdateExpression: `SET leaseUntil = :zero${recorded.update}`,
            ConditionExpression: claimIsMine,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':zero': N(0),
              ':inProgress': S('IN_PROGRESS'),
              ':owner': S(owner),
              ...recorded.values,
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
}
