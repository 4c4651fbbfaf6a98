import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimStore } from '../../functions/consumers/claims.ts';
import { DeliveryStore, deliveryPk, type NewDelivery } from '../../functions/deliveries/store.ts';
import { backends, dynamoClientFor, testDeclaration, useDynamo } from '../support/backends.ts';
import { type CapacityMeter, meterCapacity } from '../support/capacity.ts';

const T0 = Date.UTC(2100, 0, 1);
const RETENTION_SECONDS = 7 * 24 * 3600;
const SHARDS = 16;
/** Lambda request ids, as the ingest and consumer functions take their leases under. */
const INGEST_INVOCATION = '3f2b9c1e-7a4d-4e8b-9c0f-5d6e7a8b9c0d';
const CONSUMER_INVOCATION = 'c81d4fae-0b6e-4d2a-8f3c-2a9e1b7d6c54';

/** A Stripe event of 2.2 KB, pretty-printed as Stripe sends its events. */
const BODY = readFileSync(
  join(import.meta.dirname, '../fixtures/payloads/stripe-payment_intent.succeeded.json'),
);

/** The delivery the ingest function makes of that event: Stripe signs its event id. */
const stripeDelivery = (deliveryId: string): NewDelivery => ({
  provider: 'stripe',
  deliveryId,
  eventType: 'payment_intent.succeeded',
  payload: BODY,
  payloadSha256: createHash('sha256').update(BODY).digest('hex'),
  contentType: 'application/json; charset=utf-8',
  headers: {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
  },
});

/*
 * What each write of a typical delivery costs, as the emulators count DynamoDB's
 * write units (one per KB of the item, rounded up; an update counts the larger of
 * the item before and after it). Both emulators report it when asked
 * (ReturnConsumedCapacity), so every figure below is reported, never assumed.
 */
describe.each(backends)('DynamoDB write units of a typical delivery (on %s)', (kind) => {
  const db = useDynamo(kind, testDeclaration('it-capacity'));
  /**
   * What a write of the sparse pending index costs, as reported: DynamoDB Local
   * reports each index's units, dynalite none.
   */
  const pendingIndexUnit = kind === 'dynamodb-local' ? { pending: 1 } : {};
  let client: DynamoDBClient;
  let meter: CapacityMeter;
  let deliveries: DeliveryStore;
  let claims: ClaimStore;

  beforeAll(() => {
    client = dynamoClientFor(db.emulator);
    meter = meterCapacity(client);
    deliveries = new DeliveryStore({
      client,
      tableName: db.deliveriesTable,
      pendingShards: SHARDS,
      retentionSeconds: RETENTION_SECONDS,
    });
    claims = new ClaimStore({
      client,
      tableName: db.consumerTable,
      retentionSeconds: RETENTION_SECONDS,
    });
  });
  afterAll(() => client?.destroy());

  it('costs one write unit to claim a delivery with a 2 KB JSON body, and one to mark it published', async () => {
    // Prepare
    const delivery = stripeDelivery('evt_3QkTq2HookonceBench0001');
    expect(BODY.length).toBeGreaterThan(2048);
    meter.take();

    // Act
    const claim = await deliveries.claim(
      delivery,
      { owner: INGEST_INVOCATION, until: T0 + 30_000 },
      T0,
    );
    const claimed = meter.take();
    const marked = await deliveries.markPublished(delivery, INGEST_INVOCATION, T0 + 40);
    const mark = meter.take();

    // Assess
    expect(claim.claimed).toBe(true);
    expect(marked).toBe(true);
    expect(claimed.map((c) => [c.command, c.ok, c.table, c.indexes])).toEqual([
      ['PutItem', true, 1, pendingIndexUnit],
    ]);
    expect(mark.map((c) => [c.command, c.ok, c.table, c.indexes])).toEqual([
      ['UpdateItem', true, 1, pendingIndexUnit],
    ]);
  });

  it('writes the pending index one unit for an item of two: it projects the keys only', async () => {
    // Prepare: a 3.4 KB GitHub push, keyed by the SHA-256 of what GitHub signs
    const body = readFileSync(join(import.meta.dirname, '../fixtures/payloads/github-push.json'));
    const delivery: NewDelivery = {
      provider: 'github',
      deliveryId: createHash('sha256').update(body).digest('hex'),
      providerDeliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      eventType: 'push',
      unsignedEventType: true,
      payload: body,
      payloadSha256: createHash('sha256').update(body).digest('hex'),
      contentType: 'application/json',
      headers: {
        'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        'x-github-event': 'push',
        'x-github-hook-id': '292430182',
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/044aadd',
      },
    };
    meter.take();

    // Act
    await deliveries.claim(delivery, { owner: INGEST_INVOCATION, until: T0 + 30_000 }, T0);
    const claimed = meter.take();

    // Assess
    expect(claimed.map((c) => [c.command, c.ok, c.table, c.indexes])).toEqual([
      ['PutItem', true, 2, pendingIndexUnit],
    ]);
  });

  it('costs one write unit when a copy of a published delivery fails its conditional claim', async () => {
    // Prepare
    const delivery = stripeDelivery('evt_3QkTq2HookonceBench0002');
    const lease = { owner: INGEST_INVOCATION, until: T0 + 30_000 };
    await deliveries.claim(delivery, lease, T0);
    await deliveries.markPublished(delivery, INGEST_INVOCATION, T0 + 40);
    meter.take();

    // Act
    const copy = await deliveries.claim(
      delivery,
      { ...lease, owner: CONSUMER_INVOCATION },
      T0 + 500,
    );
    const refused = meter.take();

    // Assess
    expect(copy.claimed).toBe(false);
    // The refused PutItem is the only write (an emulator that returns no item with
    // the failure has it read after, consistently).
    const writes = refused.filter((c) => c.command !== 'GetItem');
    expect(writes.map((c) => [c.command, c.ok])).toEqual([['PutItem', false]]);
    // A failed condition comes back as an error, with no capacity reported; DynamoDB
    // bills it by the size of the existing item (at least 1 unit), which is what
    // writing that item costs: measured on a copy of it.
    const existing = await existingItem(client, db.deliveriesTable, delivery);
    meter.take();
    await client.send(new PutItemCommand({ TableName: db.deliveriesTable, Item: existing }));
    expect(meter.take().map((c) => [c.command, c.table])).toEqual([['PutItem', 1]]);
  });

  it('costs one write unit to claim an event in a consumer, and one to mark it done', async () => {
    // Prepare
    const eventId = 'stripe:evt_3QkTq2HookonceBench0003';
    meter.take();

    // Act
    const claim = await claims.claim(
      'billing',
      eventId,
      { owner: CONSUMER_INVOCATION, until: T0 + 60_000 },
      T0,
    );
    const claimed = meter.take();
    const done = await claims.complete('billing', eventId, CONSUMER_INVOCATION, T0 + 80);
    const completed = meter.take();

    // Assess
    expect(claim.outcome).toBe('claimed');
    expect(done).toBe(true);
    expect(claimed.map((c) => [c.command, c.ok, c.table])).toEqual([['UpdateItem', true, 1]]);
    expect(completed.map((c) => [c.command, c.ok, c.table])).toEqual([['UpdateItem', true, 1]]);
  });

  it('costs one write unit per write of a consumer claim that keeps the longest failure', async () => {
    // Prepare: a failure of 3-byte characters, far longer than what is kept of it
    const eventId = 'stripe:evt_3QkTq2HookonceBench0004';
    const lease = { owner: CONSUMER_INVOCATION, until: T0 + 60_000 };
    await claims.claim('billing', eventId, lease, T0);
    meter.take();

    // Act
    await claims.release('billing', eventId, CONSUMER_INVOCATION, {
      error: new Error(`montant refusé: ${'€'.repeat(3_000)}`),
      at: T0 + 5,
    });
    await claims.claim('billing', eventId, { ...lease, owner: INGEST_INVOCATION }, T0 + 10);
    await claims.complete('billing', eventId, INGEST_INVOCATION, T0 + 20);
    const writes = meter.take();

    // Assess
    expect(writes.map((c) => [c.command, c.ok, c.table])).toEqual([
      ['UpdateItem', true, 1],
      ['UpdateItem', true, 1],
      ['UpdateItem', true, 1],
    ]);
  });
});

/** The item as stored, under another key of the same length: its copy is billed as it is. */
async function existingItem(
  client: DynamoDBClient,
  table: string,
  delivery: NewDelivery,
): Promise<Record<string, AttributeValue>> {
  const pk = deliveryPk(delivery);
  const out = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }),
  );
  if (!out.Item) throw new Error(`no item ${pk}`);
  return { ...out.Item, pk: { S: `${pk.slice(0, -1)}X` } };
}
