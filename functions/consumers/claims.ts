import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { toEpochSeconds } from '../shared/clock.ts';
import { dynamo, type Item, isConditionFailure, N, num, S, str } from '../shared/dynamo.ts';
import { DependencyError, describeFailure } from '../shared/errors.ts';

export type ClaimOutcome =
  | { readonly outcome: 'claimed' }
  | { readonly outcome: 'done' }
  | { readonly outcome: 'in_progress'; readonly leaseUntil: number };

export interface ClaimLease {
  readonly owner: string;
  /** Epoch milliseconds. */
  readonly until: number;
}

/**
 * How long a claim is held past the deadline of the invocation that took it.
 * Lambda stops an invocation at its deadline, so a lease of the remaining time
 * plus this margin outlives every write the invocation can still make: no copy
 * of the event can claim it while the effect may be running. The margin covers
 * a write sent just before the deadline that lands after it, and clocks of two
 * hosts that disagree. It costs a crashed invocation's events nothing: SQS
 * brings a message back only after its visibility timeout (by default six times
 * the function's timeout), by which time the lease has lapsed.
 */
export const DEFAULT_LEASE_MARGIN_MS = 30_000;

/** A lease that outlives an invocation with `remainingMs` left at `now`. */
export const leaseOutliving = (
  owner: string,
  now: number,
  remainingMs: number,
  marginMs = DEFAULT_LEASE_MARGIN_MS,
): ClaimLease => ({ owner, until: now + Math.max(0, remainingMs) + marginMs });

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
  /** How many times the event was claimed: 1 for an effect that ran once; more after failures or lost leases. */
  readonly attempts: number;
  /** The last failure, `<name>: <message>`, cut to LAST_ERROR_MAX_BYTES. */
  readonly lastError?: string;
  /** Epoch milliseconds. */
  readonly lastErrorAt?: number;
  /** Epoch seconds (DynamoDB TTL). */
  readonly expiresAt: number;
}

// The guard's failures and the sweeper's are described alike (functions/shared/errors.ts).
export { describeFailure, LAST_ERROR_MAX_BYTES } from '../shared/errors.ts';

/*
 * The life of one (consumer, event id) claim, every arrow one conditional write:
 *
 *   (absent or expired) ──claim──▶ IN_PROGRESS, lease L ──complete by L──▶ DONE ──TTL──▶ (absent)
 *          ▲                             │
 *          ├─ release by L: lease L = 0 ─┤  (the effect failed: the message is retried;
 *          │                             │   the claim keeps lastError for operators)
 *          └── lease L lapsed: claim ────┘  (the consumer crashed mid-effect)
 *
 * The lease L outlives the invocation that claimed (leaseOutliving), so a
 * lapsed lease means that invocation is over. A DONE claim is kept for the
 * retention window: any copy of the event that arrives meanwhile, from SNS, SQS
 * or a replay, is acknowledged without effect. A released claim is an abandoned
 * one whose lease ended at once: the retried message claims it again without
 * waiting.
 */
const claimIsAbsent = 'attribute_not_exists(pk)';
const claimHasExpired = 'expiresAt < :nowSeconds';
const claimWasAbandoned = '(#status = :inProgress AND leaseUntil < :now)';
const claimIsMine = '#status = :inProgress AND leaseOwner = :owner';
/** A done-mark tried again after its first attempt landed unseen finds the claim already DONE by its owner. */
const claimIsMineOrDoneByMe = 'leaseOwner = :owner AND #status IN (:inProgress, :done)';

/** The claim store as the guard and once() use it: a seam for tests to inject failures. */
export type ClaimStorePort = Pick<ClaimStore, 'claim' | 'complete' | 'release'>;

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
          // An update, not a put: `attempts` counts every claim of the event, and the
          // last failure stays readable while the event is tried again.
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { pk: S(claimPk(consumer, eventId)) },
            UpdateExpression:
              'SET #consumer = :consumer, #eventId = :eventId, #status = :inProgress, ' +
              'leaseOwner = :owner, leaseUntil = :until, claimedAt = :now, expiresAt = :expires ' +
              'ADD attempts :one REMOVE doneAt',
            ConditionExpression: `${claimIsAbsent} OR ${claimHasExpired} OR ${claimWasAbandoned}`,
            ExpressionAttributeNames: {
              '#status': 'status',
              '#consumer': 'consumer',
              '#eventId': 'eventId',
            },
            ExpressionAttributeValues: {
              ':nowSeconds': N(toEpochSeconds(now)),
              ':now': N(now),
              ':inProgress': S('IN_PROGRESS'),
              ':consumer': S(consumer),
              ':eventId': S(eventId),
              ':owner': S(lease.owner),
              ':until': N(lease.until),
              ':expires': N(toEpochSeconds(now) + this.#retentionSeconds),
              ':one': N(1),
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
      attempts: num(item, 'attempts') ?? 0,
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

  /**
   * IN_PROGRESS → DONE, kept for the retention window. False if the lease was
   * lost meanwhile. Idempotent for its owner: marking a claim it already marked
   * DONE succeeds again (a retry after an answer that never arrived).
   */
  async complete(consumer: string, eventId: string, owner: string, now: number): Promise<boolean> {
    try {
      await dynamo('complete', () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: { pk: S(claimPk(consumer, eventId)) },
            UpdateExpression:
              'SET #status = :done, doneAt = :now, expiresAt = :expires REMOVE leaseUntil',
            ConditionExpression: claimIsMineOrDoneByMe,
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
   * (`lastError`, `lastErrorAt`) for `hookonce dlq peek` and the console, until the next failure.
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

/** How a done-mark that failed on a dependency is tried again before the caller gives up on it. */
export interface DoneMarkRetry {
  /** Attempts in all, the first one included. @default 3 */
  readonly attempts?: number;
  /** The wait before the second attempt; it doubles before each next one. @default 100 */
  readonly backoffMs?: number;
  /** How to wait: tests pass one that returns at once. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_DONE_MARK_RETRY: Required<DoneMarkRetry> = {
  attempts: 3,
  backoffMs: 100,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Marks a claim DONE, trying again after a DependencyError (DynamoDB throttled,
 * timed out or unreachable beyond the SDK's own retries) with a doubling wait.
 * The effect has run by now: a done-mark that lands keeps every later copy of
 * the event from running it again. A lost lease (false) is an answer, not a
 * failure, and is not retried; the last DependencyError is thrown.
 */
export async function markDone(
  claims: Pick<ClaimStore, 'complete'>,
  claim: { readonly consumer: string; readonly eventId: string; readonly owner: string },
  now: () => number,
  retry: DoneMarkRetry = {},
  onRetry: (error: DependencyError, attempt: number) => void = () => undefined,
): Promise<boolean> {
  const { attempts, backoffMs, sleep } = { ...DEFAULT_DONE_MARK_RETRY, ...retry };
  for (let attempt = 1; ; attempt++) {
    try {
      return await claims.complete(claim.consumer, claim.eventId, claim.owner, now());
    } catch (error) {
      if (!(error instanceof DependencyError) || attempt >= attempts) throw error;
      onRetry(error, attempt);
      await sleep(backoffMs * 2 ** (attempt - 1));
    }
  }
}
