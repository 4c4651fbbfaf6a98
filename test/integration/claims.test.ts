import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ClaimStore,
  claimPk,
  DEFAULT_LEASE_MARGIN_MS,
  describeFailure,
  LAST_ERROR_MAX_BYTES,
  leaseOutliving,
  markDone,
} from '../../functions/consumers/claims.ts';
import { toEpochSeconds } from '../../functions/shared/clock.ts';
import { itemSize } from '../../functions/shared/dynamo.ts';
import { DependencyError } from '../../functions/shared/errors.ts';
import { backends, testDeclaration, useDynamo } from '../support/backends.ts';

const T0 = Date.UTC(2100, 0, 1);
const RETENTION_SECONDS = 7 * 24 * 3600;
const CONSUMER = 'billing';

let sequence = 0;
const newEventId = (): string => {
  sequence += 1;
  return `standard:msg_claim_${sequence}`;
};

describe.each(backends)('Class: ClaimStore (on %s)', (kind) => {
  const db = useDynamo(kind, testDeclaration('it-claims'));
  let claims: ClaimStore;

  const stored = async (eventId: string) => {
    const out = await db.client.send(
      new GetItemCommand({
        TableName: db.consumerTable,
        Key: { pk: { S: claimPk(CONSUMER, eventId) } },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  };

  beforeAll(() => {
    claims = new ClaimStore({
      client: db.client,
      tableName: db.consumerTable,
      retentionSeconds: RETENTION_SECONDS,
    });
  });

  describe('Method: claim', () => {
    it('claims an event nobody holds, as IN_PROGRESS under the lease', async () => {
      // Prepare
      const eventId = newEventId();

      // Act
      const result = await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);

      // Assess
      expect(result).toEqual({ outcome: 'claimed' });
      const item = await stored(eventId);
      expect(item?.status?.S).toBe('IN_PROGRESS');
      expect(item?.leaseOwner?.S).toBe('a');
      expect(item?.leaseUntil?.N).toBe(String(T0 + 5_000));
      expect(item?.expiresAt?.N).toBe(String(toEpochSeconds(T0) + RETENTION_SECONDS));
    });

    it('answers in_progress with the holder’s lease while that lease is live, up to its last millisecond', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);

      // Act
      const whileLive = await claims.claim(
        CONSUMER,
        eventId,
        { owner: 'b', until: T0 + 9_000 },
        T0 + 1_000,
      );
      const atTheEdge = await claims.claim(
        CONSUMER,
        eventId,
        { owner: 'b', until: T0 + 9_000 },
        T0 + 5_000,
      );

      // Assess
      expect(whileLive).toEqual({ outcome: 'in_progress', leaseUntil: T0 + 5_000 });
      expect(atTheEdge).toEqual({ outcome: 'in_progress', leaseUntil: T0 + 5_000 });
      expect((await stored(eventId))?.leaseOwner?.S).toBe('a');
    });

    it('lets another owner claim an event whose lease has lapsed (the holder crashed)', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);

      // Act
      const result = await claims.claim(
        CONSUMER,
        eventId,
        { owner: 'b', until: T0 + 15_000 },
        T0 + 5_001,
      );

      // Assess
      expect(result).toEqual({ outcome: 'claimed' });
      expect((await stored(eventId))?.leaseOwner?.S).toBe('b');
    });

    it('answers done for a completed event, however late the copy arrives within retention', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);
      await claims.complete(CONSUMER, eventId, 'a', T0 + 1_000);

      // Act
      const soon = await claims.claim(
        CONSUMER,
        eventId,
        { owner: 'b', until: T0 + 9_000 },
        T0 + 2_000,
      );
      const late = await claims.claim(
        CONSUMER,
        eventId,
        { owner: 'c', until: T0 + 86_400_000 },
        T0 + 86_000_000,
      );

      // Assess
      expect(soon).toEqual({ outcome: 'done' });
      expect(late).toEqual({ outcome: 'done' });
    });

    it('claims again a DONE event whose retention has passed', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);
      await claims.complete(CONSUMER, eventId, 'a', T0);
      const afterRetention = T0 + (RETENTION_SECONDS + 1) * 1000;

      // Act
      const result = await claims.claim(
        CONSUMER,
        eventId,
        { owner: 'b', until: afterRetention + 5_000 },
        afterRetention,
      );

      // Assess
      expect(result).toEqual({ outcome: 'claimed' });
    });

    it('lets exactly one of 200 concurrent claims of one event win', async () => {
      // Prepare
      const eventId = newEventId();

      // Act
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          claims.claim(CONSUMER, eventId, { owner: `owner-${i}`, until: T0 + 5_000 }, T0),
        ),
      );

      // Assess
      const winners = results.flatMap((r, i) => (r.outcome === 'claimed' ? [`owner-${i}`] : []));
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'in_progress')).toHaveLength(199);
      expect((await stored(eventId))?.leaseOwner?.S).toBe(winners[0]);
    });
  });

  describe('Method: get', () => {
    it('counts every claim of an event as an attempt, and keeps the last failure after the claim that follows it', async () => {
      // Prepare
      const eventId = 'evt_attempts';

      // Act
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 30_000 }, T0);
      const first = await claims.get(CONSUMER, eventId);
      await claims.release(CONSUMER, eventId, 'a', { error: new Error('boom'), at: T0 + 5 });
      await claims.claim(CONSUMER, eventId, { owner: 'b', until: T0 + 40_000 }, T0 + 10);
      const second = await claims.get(CONSUMER, eventId);
      await claims.complete(CONSUMER, eventId, 'b', T0 + 20);
      const done = await claims.get(CONSUMER, eventId);

      // Assess
      expect(first).toMatchObject({ status: 'IN_PROGRESS', attempts: 1 });
      expect(first?.lastError).toBe(undefined);
      expect(second).toMatchObject({
        status: 'IN_PROGRESS',
        attempts: 2,
        leaseOwner: 'b',
        lastError: 'Error: boom',
      });
      expect(done).toMatchObject({ status: 'DONE', attempts: 2, lastError: 'Error: boom' });
    });
  });

  describe('Method: complete', () => {
    it('marks DONE for the lease owner only, and keeps the claim for the retention window', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);

      // Act
      const byStranger = await claims.complete(CONSUMER, eventId, 'b', T0 + 1_000);
      const byOwner = await claims.complete(CONSUMER, eventId, 'a', T0 + 2_000);
      const strangerOnceDone = await claims.complete(CONSUMER, eventId, 'b', T0 + 3_000);

      // Assess
      expect(byStranger).toBe(false);
      expect(byOwner).toBe(true);
      expect(strangerOnceDone).toBe(false);
      const item = await stored(eventId);
      expect(item?.status?.S).toBe('DONE');
      expect(item?.leaseUntil).toBeUndefined();
      expect(item?.expiresAt?.N).toBe(String(toEpochSeconds(T0 + 2_000) + RETENTION_SECONDS));
    });

    it('succeeds again for its owner on a claim already DONE: a retry after an answer that never came', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);
      await claims.complete(CONSUMER, eventId, 'a', T0 + 1_000);

      // Act
      const retried = await claims.complete(CONSUMER, eventId, 'a', T0 + 1_200);

      // Assess
      expect(retried).toBe(true);
      expect((await claims.get(CONSUMER, eventId))?.status).toBe('DONE');
    });
  });

  describe('Function: markDone', () => {
    /** The real store, whose complete() fails with a DependencyError the first `failures` times. */
    const flaky = (failures: number) => {
      const calls: number[] = [];
      return {
        calls,
        store: {
          complete: (consumer: string, eventId: string, owner: string, now: number) => {
            calls.push(now);
            if (calls.length <= failures) {
              return Promise.reject(new DependencyError('dynamodb', 'DynamoDB complete failed'));
            }
            return claims.complete(consumer, eventId, owner, now);
          },
        },
      };
    };

    it('tries the done-mark again after a DynamoDB failure, waiting 100 ms, and marks DONE', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);
      const { calls, store } = flaky(1);
      const waits: number[] = [];
      let now = T0 + 1_000;

      // Act
      const kept = await markDone(store, { consumer: CONSUMER, eventId, owner: 'a' }, () => now++, {
        sleep: async (ms) => void waits.push(ms),
      });

      // Assess
      expect(kept).toBe(true);
      expect(calls).toEqual([T0 + 1_000, T0 + 1_001]);
      expect(waits).toEqual([100]);
      expect((await claims.get(CONSUMER, eventId))?.status).toBe('DONE');
    });

    it('gives up after its attempts, waits doubling, and throws the last DynamoDB failure', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);
      const { calls, store } = flaky(Number.POSITIVE_INFINITY);
      const waits: number[] = [];

      // Act
      const thrown = await markDone(
        store,
        { consumer: CONSUMER, eventId, owner: 'a' },
        () => T0 + 1_000,
        { attempts: 4, backoffMs: 50, sleep: async (ms) => void waits.push(ms) },
      ).catch((e: unknown) => e);

      // Assess
      expect(thrown).toBeInstanceOf(DependencyError);
      expect(calls).toHaveLength(4);
      expect(waits).toEqual([50, 100, 200]);
      expect((await claims.get(CONSUMER, eventId))?.status).toBe('IN_PROGRESS');
    });

    it('does not try again when the lease was lost: that is an answer', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);
      const { calls, store } = flaky(0);

      // Act
      const kept = await markDone(
        store,
        { consumer: CONSUMER, eventId, owner: 'someone-else' },
        () => T0 + 1_000,
        { sleep: async () => undefined },
      );

      // Assess
      expect(kept).toBe(false);
      expect(calls).toHaveLength(1);
    });
  });

  describe('Function: leaseOutliving', () => {
    it('ends the remaining time plus the margin after now: 30 s past the deadline by default', () => {
      expect(leaseOutliving('a', T0, 10_000)).toEqual({ owner: 'a', until: T0 + 40_000 });
      expect(DEFAULT_LEASE_MARGIN_MS).toBe(30_000);
      expect(leaseOutliving('a', T0, 10_000, 5_000).until).toBe(T0 + 15_000);
      // A deadline already past still leaves the margin.
      expect(leaseOutliving('a', T0, -2_000).until).toBe(T0 + 30_000);
    });
  });

  describe('Method: release', () => {
    it('gives the claim back for its owner only, so the retried message claims it at once', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 30_000 }, T0);

      // Act
      const byStranger = await claims.release(CONSUMER, eventId, 'b');
      const byOwner = await claims.release(CONSUMER, eventId, 'a');
      const retried = await claims.claim(
        CONSUMER,
        eventId,
        { owner: 'b', until: T0 + 40_000 },
        T0 + 1,
      );

      // Assess
      expect(byStranger).toBe(false);
      expect(byOwner).toBe(true);
      expect(retried).toEqual({ outcome: 'claimed' });
    });

    it('keeps the failure on the released claim, for operators, until the next claim', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 30_000 }, T0);
      const failure = new TypeError(`cannot read "amount"\n${'x'.repeat(2_000)}`);

      // Act
      await claims.release(CONSUMER, eventId, 'a', { error: failure, at: T0 + 5 });
      await claims.claim(CONSUMER, eventId, { owner: 'b', until: T0 + 40_000 }, T0 + 10);
      await claims.release(CONSUMER, eventId, 'b', { error: 'a string', at: T0 + 20 });
      const record = await claims.get(CONSUMER, eventId);

      // Assess
      expect(record).toMatchObject({
        status: 'IN_PROGRESS',
        leaseUntil: 0,
        attempts: 2,
        lastError: 'thrown: a string',
        lastErrorAt: T0 + 20,
      });
      const first = describeFailure(failure);
      expect(first.startsWith('TypeError: cannot read "amount" xxx')).toBe(true);
      expect(first.endsWith('x…')).toBe(true);
      expect(Buffer.byteLength(first)).toBe(LAST_ERROR_MAX_BYTES);
      expect(await claims.get(CONSUMER, newEventId())).toBeUndefined();
    });

    it('keeps a claim with the longest failure under a write unit (1 KB), however many bytes its characters take', async () => {
      // Prepare: an event id of GitHub's length (a SHA-256), a failure of 3-byte characters
      const eventId = `github:${'e'.repeat(64)}`;
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 30_000 }, T0);
      const failure = new Error(`montant refusé: ${'€'.repeat(3_000)}`);

      // Act
      await claims.release(CONSUMER, eventId, 'a', { error: failure, at: T0 + 5 });
      await claims.claim(CONSUMER, eventId, { owner: 'b', until: T0 + 40_000 }, T0 + 10);
      await claims.complete(CONSUMER, eventId, 'b', T0 + 20);
      const item = await stored(eventId);

      // Assess
      const lastError = item?.lastError?.S ?? '';
      expect(lastError.startsWith('Error: montant refusé: €€€')).toBe(true);
      expect(lastError.endsWith('€…')).toBe(true);
      // Cut between characters: 500 bytes at most, and no character lost to the cut but the last.
      expect(Buffer.byteLength(lastError)).toBeLessThanOrEqual(LAST_ERROR_MAX_BYTES);
      expect(Buffer.byteLength(lastError)).toBeGreaterThan(LAST_ERROR_MAX_BYTES - 3);
      expect(item?.status?.S).toBe('DONE');
      expect(itemSize(item ?? {})).toBeLessThan(1024);
    });

    it('never drops a DONE claim', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);
      await claims.complete(CONSUMER, eventId, 'a', T0 + 1_000);

      // Act
      const released = await claims.release(CONSUMER, eventId, 'a');

      // Assess
      expect(released).toBe(false);
      expect((await stored(eventId))?.status?.S).toBe('DONE');
    });
  });
});
