import {
  DeleteItemCommand,
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

/*
 * The life of one (consumer, event id) claim, every arrow one conditional write:
 *
 *   (absent or expired) ──claim──▶ IN_PROGRESS, lease L ──complete by L──▶ DONE ──TTL──▶ (absent)
 *          ▲                             │
 *          ├───── release by L ──────────┤  (the effect failed: the message is retried)
 *          └── lease L lapsed: claim ────┘  (the consumer crashed mid-effect)
 *
 * A DONE claim is kept for the retention window: any copy of the event that
 * arrives meanwhile, from SNS, SQS or a replay, is acknowledged without effect.
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

  /** Drops a claim whose effect failed, so the retried message can claim it at once. */
  async release(consumer: string, eventId: string, owner: string): Promise<boolean> {
    try {
      await dynamo('release', () =>
        this.#client.send(
          new DeleteItemCommand({
            TableName: this.#table,
            Key: { pk: S(claimPk(consumer, eventId)) },
            ConditionExpression: claimIsMine,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':inProgress': S('IN_PROGRESS'), ':owner': S(owner) },
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
