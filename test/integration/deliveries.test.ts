import { createHash } from 'node:crypto';
import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DeliveryStore,
  deliveryPk,
  type NewDelivery,
  PENDING_INDEX,
  pendingShard,
} from '../../functions/deliveries/store.ts';
import { toEpochSeconds } from '../../functions/shared/clock.ts';
import { DELIVERIES_TABLE } from '../../infra/tables.ts';
import { backends, testDeclaration, useDynamo } from '../support/backends.ts';

const T0 = Date.UTC(2100, 0, 1);
const RETENTION_SECONDS = 7 * 24 * 3600;
const SHARDS = 16;

let sequence = 0;
function newDelivery(
  body = '{"type":"invoice.paid","data":{"id":"in_1"}}',
): NewDelivery & { readonly payloadSha256: string } {
  sequence += 1;
  const deliveryId = `msg_store_${sequence}`;
  return {
    provider: 'standard',
    deliveryId,
    eventType: 'invoice.paid',
    payload: Buffer.from(body),
    payloadSha256: createHash('sha256').update(body).digest('hex'),
    contentType: 'application/json',
    headers: { 'webhook-id': deliveryId, 'content-type': 'application/json' },
  };
}

describe.each(backends)('Class: DeliveryStore (on %s)', (kind) => {
  const db = useDynamo(kind, testDeclaration('it-deliveries'));
  let store: DeliveryStore;

  /** The delivery keys in one shard of the sparse pending index. */
  const pendingIn = async (shard: string): Promise<string[]> => {
    const out = await db.client.send(
      new QueryCommand({
        TableName: db.deliveriesTable,
        IndexName: PENDING_INDEX,
        KeyConditionExpression: '#shard = :shard',
        ExpressionAttributeNames: { '#shard': DELIVERIES_TABLE.pendingIndex.partitionKey },
        ExpressionAttributeValues: { ':shard': { S: shard } },
      }),
    );
    return (out.Items ?? []).map((item) => item.pk?.S ?? '');
  };

  const keyOf = (d: NewDelivery) => ({ provider: d.provider, deliveryId: d.deliveryId });
  const shardOf = (d: NewDelivery) => Number(pendingShard(d, SHARDS).slice('PENDING#'.length));

  beforeAll(() => {
    store = new DeliveryStore({
      client: db.client,
      tableName: db.deliveriesTable,
      pendingShards: SHARDS,
      retentionSeconds: RETENTION_SECONDS,
    });
  });

  describe('Method: claim', () => {
    it('creates a RECEIVED record with its lease, one attempt and expiresAt, listed in the pending index', async () => {
      // Prepare
      const delivery = newDelivery();
      const lease = { owner: 'invocation-a', until: T0 + 10_000 };

      // Act
      const result = await store.claim(delivery, lease, T0);

      // Assess
      expect(result.claimed).toBe(true);
      const stored = await store.get(delivery);
      expect(stored).toMatchObject({
        provider: 'standard',
        deliveryId: delivery.deliveryId,
        eventType: 'invoice.paid',
        status: 'RECEIVED',
        payloadSha256: delivery.payloadSha256,
        contentType: 'application/json',
        headers: delivery.headers,
        receivedAt: T0,
        leaseOwner: 'invocation-a',
        leaseUntil: T0 + 10_000,
        attempts: 1,
        expiresAt: toEpochSeconds(T0) + RETENTION_SECONDS,
      });
      expect(Buffer.from(stored?.payload ?? []).toString()).toBe(
        Buffer.from(delivery.payload ?? []).toString(),
      );
      expect(await pendingIn(pendingShard(delivery, SHARDS))).toContain(deliveryPk(delivery));
    });

    it('returns the existing record, unchanged, to a second claim of the same id', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'invocation-a', until: T0 + 10_000 }, T0);

      // Act
      const second = await store.claim(
        delivery,
        { owner: 'invocation-b', until: T0 + 20_000 },
        T0 + 1_000,
      );

      // Assess
      expect(second.claimed).toBe(false);
      if (second.claimed) return;
      expect(second.existing).toMatchObject({
        deliveryId: delivery.deliveryId,
        status: 'RECEIVED',
        leaseOwner: 'invocation-a',
        leaseUntil: T0 + 10_000,
        receivedAt: T0,
        attempts: 1,
        payloadSha256: delivery.payloadSha256,
      });
      expect((await store.get(delivery))?.leaseOwner).toBe('invocation-a');
    });

    it('keeps a record until its expiresAt second and lets it be claimed again after it', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'invocation-a', until: T0 + 10_000 }, T0);
      const expiresAtMs = (toEpochSeconds(T0) + RETENTION_SECONDS) * 1000;

      // Act
      const atExpiry = await store.claim(
        delivery,
        { owner: 'invocation-b', until: expiresAtMs + 10_000 },
        expiresAtMs,
      );
      const after = await store.claim(
        delivery,
        { owner: 'invocation-c', until: expiresAtMs + 11_000 },
        expiresAtMs + 1_000,
      );

      // Assess
      expect(atExpiry.claimed).toBe(false);
      expect(after.claimed).toBe(true);
      expect(await store.get(delivery)).toMatchObject({
        leaseOwner: 'invocation-c',
        receivedAt: expiresAtMs + 1_000,
        attempts: 1,
        expiresAt: toEpochSeconds(expiresAtMs + 1_000) + RETENTION_SECONDS,
      });
    });

    it('lets exactly one of 200 concurrent claims of one id win', async () => {
      // Prepare
      const delivery = newDelivery();

      // Act
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          store.claim(delivery, { owner: `invocation-${i}`, until: T0 + 10_000 }, T0),
        ),
      );

      // Assess
      const winners = results.flatMap((r, i) => (r.claimed ? [`invocation-${i}`] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) {
        if (!r.claimed) expect(r.existing.leaseOwner).toBe(winners[0]);
      }
      expect((await store.get(delivery))?.leaseOwner).toBe(winners[0]);
    });
  });

  describe('Method: takeOver', () => {
    it('fails while the lease is live, and succeeds with a new owner and one more attempt once it has lapsed', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'invocation-a', until: T0 + 5_000 }, T0);
      const next = { owner: 'invocation-b', until: T0 + 15_000 };

      // Act
      const whileLive = await store.takeOver(delivery, next, T0 + 4_999);
      const atTheEdge = await store.takeOver(delivery, next, T0 + 5_000);
      const lapsed = await store.takeOver(delivery, next, T0 + 5_001);

      // Assess
      expect(whileLive).toBeUndefined();
      expect(atTheEdge).toBeUndefined();
      expect(lapsed).toMatchObject({
        status: 'RECEIVED',
        leaseOwner: 'invocation-b',
        leaseUntil: T0 + 15_000,
        attempts: 2,
        receivedAt: T0,
      });
      expect(await store.get(delivery)).toMatchObject({
        leaseOwner: 'invocation-b',
        attempts: 2,
      });
    });

    it('never takes over a PUBLISHED delivery', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'invocation-a', until: T0 + 5_000 }, T0);
      await store.markPublished(delivery, 'invocation-a', T0 + 1_000);

      // Act
      const taken = await store.takeOver(
        delivery,
        { owner: 'invocation-b', until: T0 + 20_000 },
        T0 + 10_000,
      );

      // Assess
      expect(taken).toBeUndefined();
      expect((await store.get(delivery))?.status).toBe('PUBLISHED');
    });
  });

  describe('Method: markPublished', () => {
    it('succeeds only for the lease owner, and takes the delivery out of the pending index', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'invocation-a', until: T0 + 5_000 }, T0);
      const shard = pendingShard(delivery, SHARDS);

      // Act
      const byStranger = await store.markPublished(delivery, 'invocation-b', T0 + 1_000);
      const pendingAfterStranger = await pendingIn(shard);
      const byOwner = await store.markPublished(delivery, 'invocation-a', T0 + 2_000);

      // Assess
      expect(byStranger).toBe(false);
      expect(pendingAfterStranger).toContain(deliveryPk(delivery));
      expect(byOwner).toBe(true);
      const stored = await store.get(delivery);
      expect(stored).toMatchObject({ status: 'PUBLISHED', publishedAt: T0 + 2_000 });
      expect(stored?.leaseUntil).toBeUndefined();
      expect(await pendingIn(shard)).not.toContain(deliveryPk(delivery));
    });

    it('fails for an owner whose lease was taken over', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'invocation-a', until: T0 + 5_000 }, T0);
      await store.takeOver(delivery, { owner: 'invocation-b', until: T0 + 20_000 }, T0 + 6_000);

      // Act
      const late = await store.markPublished(delivery, 'invocation-a', T0 + 7_000);

      // Assess
      expect(late).toBe(false);
      expect((await store.get(delivery))?.status).toBe('RECEIVED');
    });
  });

  describe('Method: deferAfterFailure', () => {
    it('counts the failure, keeps it, and moves the lease to the retry time, still pending, for its owner only', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'sweeper-a', until: T0 + 30_000 }, T0);
      const failure = {
        error: new Error('SNS publish failed', { cause: new Error('NotFound: no topic') }),
        at: T0 + 1_000,
      };

      // Act
      const byStranger = await store.deferAfterFailure(delivery, 'sweeper-b', failure, T0 + 9_999);
      const byOwner = await store.deferAfterFailure(delivery, 'sweeper-a', failure, T0 + 61_000);
      const again = await store.deferAfterFailure(delivery, 'sweeper-a', failure, T0 + 121_000);

      // Assess
      expect(byStranger).toBe(false);
      expect([byOwner, again]).toEqual([true, true]);
      expect(await store.get(delivery)).toMatchObject({
        status: 'RECEIVED',
        leaseOwner: 'sweeper-a',
        leaseUntil: T0 + 121_000,
        publishFailures: 2,
        lastError: 'Error: SNS publish failed (Error: NotFound: no topic)',
        lastErrorAt: T0 + 1_000,
      });
      expect(await pendingIn(pendingShard(delivery, SHARDS))).toContain(deliveryPk(delivery));
      expect(await store.pending(shardOf(delivery), T0 + 121_000, 100)).not.toContainEqual(
        keyOf(delivery),
      );
      expect(await store.pending(shardOf(delivery), T0 + 121_001, 100)).toContainEqual(
        keyOf(delivery),
      );
    });
  });

  describe('Method: park', () => {
    it('makes the delivery FAILED for its owner only, out of the pending index, kept for the retention from now', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'sweeper-a', until: T0 + 30_000 }, T0);
      const at = T0 + 4 * 3_600_000;
      const failure = { error: new Error('SNS publish failed'), at };

      // Act
      const byStranger = await store.park(delivery, 'sweeper-b', failure);
      const byOwner = await store.park(delivery, 'sweeper-a', failure);
      const twice = await store.park(delivery, 'sweeper-a', failure);

      // Assess
      expect([byStranger, byOwner, twice]).toEqual([false, true, false]);
      const parked = await store.get(delivery);
      expect(parked).toMatchObject({
        status: 'FAILED',
        failedAt: at,
        publishFailures: 1,
        lastError: 'Error: SNS publish failed',
        lastErrorAt: at,
        receivedAt: T0,
        expiresAt: toEpochSeconds(at) + RETENTION_SECONDS,
      });
      expect(parked?.leaseUntil).toBeUndefined();
      expect(await pendingIn(pendingShard(delivery, SHARDS))).not.toContain(deliveryPk(delivery));
    });
  });

  describe('Method: takeOver, of a FAILED delivery', () => {
    it('revives it for one caller: RECEIVED under the new lease, back in the pending index, its failures kept', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'sweeper-a', until: T0 + 30_000 }, T0);
      await store.park(delivery, 'sweeper-a', { error: new Error('down'), at: T0 + 1_000 });

      // Act
      const [first, second] = await Promise.all([
        store.takeOver(delivery, { owner: 'retry-1', until: T0 + 12_000 }, T0 + 2_000),
        store.takeOver(delivery, { owner: 'retry-2', until: T0 + 12_000 }, T0 + 2_000),
      ]);

      // Assess
      const revived = [first, second].filter((r) => r !== undefined);
      expect(revived).toHaveLength(1);
      expect(revived[0]).toMatchObject({
        status: 'RECEIVED',
        leaseUntil: T0 + 12_000,
        attempts: 2,
        publishFailures: 1,
        lastError: 'Error: down',
      });
      expect(revived[0]?.failedAt).toBeUndefined();
      expect(await pendingIn(pendingShard(delivery, SHARDS))).toContain(deliveryPk(delivery));
      const owner = revived[0]?.leaseOwner as string;
      expect(await store.markPublished(delivery, owner, T0 + 3_000)).toBe(true);
    });

    it('leaves it FAILED when asked not to revive (the sweeper, whatever a lagging index lists)', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'sweeper-a', until: T0 + 30_000 }, T0);
      await store.park(delivery, 'sweeper-a', { error: new Error('down'), at: T0 + 1_000 });

      // Act
      const taken = await store.takeOver(
        delivery,
        { owner: 'sweeper-b', until: T0 + 40_000 },
        T0 + 10_000,
        { revive: false },
      );

      // Assess
      expect(taken).toBeUndefined();
      expect((await store.get(delivery))?.status).toBe('FAILED');
    });
  });

  describe('Method: release', () => {
    it('sets the lease to 0 for its owner only, so a take-over succeeds at once', async () => {
      // Prepare
      const delivery = newDelivery();
      await store.claim(delivery, { owner: 'invocation-a', until: T0 + 30_000 }, T0);

      // Act
      const byStranger = await store.release(delivery, 'invocation-b');
      const byOwner = await store.release(delivery, 'invocation-a');
      const taken = await store.takeOver(
        delivery,
        { owner: 'invocation-b', until: T0 + 40_000 },
        T0 + 1,
      );

      // Assess
      expect(byStranger).toBe(false);
      expect(byOwner).toBe(true);
      expect(taken).toMatchObject({ leaseOwner: 'invocation-b', attempts: 2 });
    });
  });

  describe('Items of the format before (deployed tables hold them for the retention window)', () => {
    /** A delivery as the claim before this format stored it, then parked by the sweeper. */
    const parkedOldItem = (delivery: ReturnType<typeof newDelivery>) => ({
      pk: { S: deliveryPk(delivery) },
      provider: { S: delivery.provider },
      deliveryId: { S: delivery.deliveryId },
      eventType: { S: delivery.eventType },
      status: { S: 'FAILED' },
      payloadSha256: { S: delivery.payloadSha256 },
      headers: {
        M: Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k, { S: v }])),
      },
      receivedAt: { N: String(T0) },
      attempts: { N: '1' },
      expiresAt: { N: String(toEpochSeconds(T0) + RETENTION_SECONDS) },
      payload: { B: delivery.payload ?? new Uint8Array(0) },
      contentType: { S: delivery.contentType ?? '' },
      leaseOwner: { S: 'sweeper-a' },
      publishFailures: { N: '10' },
      lastError: { S: 'Error: down' },
      lastErrorAt: { N: String(T0 + 1_000) },
      failedAt: { N: String(T0 + 1_000) },
    });

    it('reads one the same, and revives, publishes and reads it again', async () => {
      // Prepare
      const delivery = newDelivery('{"type":"invoice.paid","data":{"id":"in_old"}}');
      await db.client.send(
        new PutItemCommand({ TableName: db.deliveriesTable, Item: parkedOldItem(delivery) }),
      );

      // Act
      const before = await store.get(delivery);
      const revived = await store.takeOver(
        delivery,
        { owner: 'retry-1', until: T0 + 12_000 },
        T0 + 2_000,
      );
      const marked = await store.markPublished(delivery, 'retry-1', T0 + 3_000);
      const after = await store.get(delivery);

      // Assess
      const same = {
        provider: 'standard',
        deliveryId: delivery.deliveryId,
        eventType: 'invoice.paid',
        payloadSha256: delivery.payloadSha256,
        contentType: 'application/json',
        headers: delivery.headers,
        receivedAt: T0,
      };
      expect(before).toMatchObject({
        ...same,
        status: 'FAILED',
        attempts: 1,
        publishFailures: 10,
        failedAt: T0 + 1_000,
      });
      expect(Buffer.from(before?.payload ?? []).toString()).toBe(
        '{"type":"invoice.paid","data":{"id":"in_old"}}',
      );
      expect(revived).toMatchObject({ ...same, status: 'RECEIVED', attempts: 2 });
      expect(marked).toBe(true);
      expect(after).toMatchObject({ ...same, status: 'PUBLISHED', publishedAt: T0 + 3_000 });
      expect(Buffer.from(after?.payload ?? []).equals(Buffer.from(delivery.payload ?? []))).toBe(
        true,
      );
    });

    it('answers a copy of one as a duplicate, the stored body compared with the copy’s', async () => {
      // Prepare
      const delivery = newDelivery();
      await db.client.send(
        new PutItemCommand({
          TableName: db.deliveriesTable,
          Item: { ...parkedOldItem(delivery), status: { S: 'PUBLISHED' } },
        }),
      );

      // Act
      const copy = await store.claim(delivery, { owner: 'invocation-b', until: T0 + 20_000 }, T0);

      // Assess
      expect(copy.claimed).toBe(false);
      if (copy.claimed) return;
      expect(copy.existing).toMatchObject({
        provider: 'standard',
        deliveryId: delivery.deliveryId,
        status: 'PUBLISHED',
        payloadSha256: delivery.payloadSha256,
      });
    });
  });
});
