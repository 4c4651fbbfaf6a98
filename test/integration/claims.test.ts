import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ClaimStore,
  claimPk,
  describeFailure,
  LAST_ERROR_MAX_CHARS,
} from '../../functions/consumers/claims.ts';
import { toEpochSeconds } from '../../functions/shared/clock.ts';
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

  describe('Method: complete', () => {
    it('marks DONE for the lease owner only, and keeps the claim for the retention window', async () => {
      // Prepare
      const eventId = newEventId();
      await claims.claim(CONSUMER, eventId, { owner: 'a', until: T0 + 5_000 }, T0);

      // Act
      const byStranger = await claims.complete(CONSUMER, eventId, 'b', T0 + 1_000);
      const byOwner = await claims.complete(CONSUMER, eventId, 'a', T0 + 2_000);
      const twice = await claims.complete(CONSUMER, eventId, 'a', T0 + 3_000);

      // Assess
      expect(byStranger).toBe(false);
      expect(byOwner).toBe(true);
      expect(twice).toBe(false);
      const item = await stored(eventId);
      expect(item?.status?.S).toBe('DONE');
      expect(item?.leaseUntil).toBeUndefined();
      expect(item?.expiresAt?.N).toBe(String(toEpochSeconds(T0 + 2_000) + RETENTION_SECONDS));
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
        lastError: 'thrown: a string',
        lastErrorAt: T0 + 20,
      });
      const first = describeFailure(failure);
      expect(first.startsWith('TypeError: cannot read "amount" xxx')).toBe(true);
      expect(first).toHaveLength(LAST_ERROR_MAX_CHARS);
      expect(await claims.get(CONSUMER, newEventId())).toBeUndefined();
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
