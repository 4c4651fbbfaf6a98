import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BODY_FORMAT, decodeBody, encodeBody, frameBody } from '../../functions/deliveries/body.ts';
import {
  type DeliveryRecord,
  deliveryItem,
  fromItem,
  pendingShard,
} from '../../functions/deliveries/store.ts';
import { type Item, itemSize, writeUnits } from '../../functions/shared/dynamo.ts';

const SEED = 20261124;
const SHARDS = 16;
const RECEIVED_AT = Date.UTC(2100, 0, 1);

const fixture = (name: string): Buffer =>
  readFileSync(join(import.meta.dirname, '../fixtures/payloads', name));

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const STRIPE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
};

/** A delivery as the ingest function claims it: RECEIVED, under a Lambda request id's lease. */
function received(payload: Uint8Array, more: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    provider: 'stripe',
    deliveryId: 'evt_3QkTq2HookonceBench0001',
    eventType: 'payment_intent.succeeded',
    payload,
    payloadSha256: sha256(payload),
    contentType: STRIPE_HEADERS['content-type'],
    headers: STRIPE_HEADERS,
    status: 'RECEIVED',
    receivedAt: RECEIVED_AT,
    leaseOwner: '3f2b9c1e-7a4d-4e8b-9c0f-5d6e7a8b9c0d',
    leaseUntil: RECEIVED_AT + 30_000,
    attempts: 1,
    expiresAt: RECEIVED_AT / 1000 + 7 * 86_400,
    ...more,
  };
}

describe('Function: itemSize', () => {
  it('counts names and values as DynamoDB bills them: UTF-8 strings, raw binary, numbers by digit pairs', () => {
    // Prepare
    const item: Item = {
      pk: { S: 'DELIVERY#stripe#evt_1' }, // 2 + 21
      note: { S: 'é' }, // 4 + 2
      body: { B: new Uint8Array(100) }, // 4 + 100
      at: { N: '4102444800000' }, // 2 + 6 digit pairs (04 10 24 44 80, 00 dropped) + 1
      n: { N: '120' }, // 1 + 2 pairs (01 20) + 1
      ok: { BOOL: true }, // 2 + 1
      headers: { M: { a: { S: 'xy' } } }, // 7 + 3 + (1 + 1 + 2)
    };

    // Act
    const size = itemSize(item);

    // Assess
    expect(size).toBe(23 + 6 + 104 + (2 + 6) + (1 + 3) + 3 + (7 + 3 + 4));
  });

  it('bills a write unit per started KB, and at least one', () => {
    expect([0, 1, 1024, 1025, 2048, 2049].map(writeUnits)).toEqual([1, 1, 1, 2, 2, 3]);
  });
});

describe('Module: body', () => {
  it('reads back every frame it writes, headers and bytes alike', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }), fc.string()),
        fc.uint8Array({ maxLength: 4096 }),
        (headers, payload) => {
          const decoded = decodeBody(encodeBody(frameBody({ headers, payload })));
          expect(decoded.headers).toEqual(headers);
          expect(Buffer.from(decoded.payload).equals(Buffer.from(payload))).toBe(true);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('compresses a JSON body with brotli, to about a third of its size', () => {
    // Prepare
    const payload = fixture('stripe-payment_intent.succeeded.json');

    // Act
    const body = encodeBody(frameBody({ headers: STRIPE_HEADERS, payload }));

    // Assess
    expect(body[0]).toBe(BODY_FORMAT.brotli);
    expect(body.length).toBeLessThan(payload.length * 0.4);
  });

  it('keeps the frame as it is when compressing would not make it smaller: a tiny or a random body', () => {
    for (const payload of [Buffer.from('{}'), randomBytes(600)]) {
      // Act
      const frame = frameBody({ headers: {}, payload });
      const body = encodeBody(frame);

      // Assess
      expect(body[0]).toBe(BODY_FORMAT.plain);
      expect(body.length).toBe(frame.length + 1);
      expect(Buffer.from(decodeBody(body).payload).equals(payload)).toBe(true);
    }
  });

  it('refuses a format it does not know, and a frame without its line of headers', () => {
    expect(() => decodeBody(Uint8Array.of(7, 1, 2))).toThrow(/unknown format \(7\)/);
    expect(() => decodeBody(Uint8Array.of(BODY_FORMAT.plain, 0x7b, 0x7d))).toThrow(
      /without its line of headers/,
    );
    const noNewline = brotliCompressSync(Buffer.from('{}'));
    expect(() => decodeBody(Buffer.concat([Buffer.of(BODY_FORMAT.brotli), noNewline]))).toThrow(
      /without its line of headers/,
    );
  });
});

describe('Function: deliveryItem', () => {
  it('keeps the key, the state, the event type and the compressed body: the provider and id are in the key', () => {
    // Prepare
    const record = received(fixture('stripe-payment_intent.succeeded.json'));

    // Act
    const item = deliveryItem(record, SHARDS);

    // Assess
    expect(Object.keys(item).sort()).toEqual([
      'attempts',
      'body',
      'eventType',
      'expiresAt',
      'leaseOwner',
      'leaseUntil',
      'pendingShard',
      'pk',
      'receivedAt',
      'status',
    ]);
    expect(item.pk).toEqual({ S: 'DELIVERY#stripe#evt_3QkTq2HookonceBench0001' });
    expect(item.pendingShard).toEqual({ S: pendingShard(record, SHARDS) });
  });

  it('makes an item of one write unit of a 2.2 KB Stripe event with its headers', () => {
    // Prepare
    const payload = fixture('stripe-payment_intent.succeeded.json');
    expect(payload.length).toBeGreaterThan(2048);

    // Act
    const item = deliveryItem(received(payload), SHARDS);

    // Assess
    expect(itemSize(item)).toBeLessThanOrEqual(1024);
  });

  it('compresses harder only when the fast compression leaves the item just over a write unit', () => {
    // Prepare: the 2.2 KB Stripe event, and its first 1,200 bytes
    const payload = fixture('stripe-payment_intent.succeeded.json');
    const frame = frameBody({ headers: STRIPE_HEADERS, payload });
    const fast = encodeBody(frame);

    // Act
    const near = deliveryItem(received(payload), SHARDS);
    const small = deliveryItem(received(payload.subarray(0, 1200)), SHARDS);

    // Assess: the fast body alone would make two units of the first
    const { body, ...rest } = near;
    expect(writeUnits(itemSize(rest) + fast.length)).toBe(2);
    expect(body?.B?.length).toBeLessThan(fast.length);
    expect(writeUnits(itemSize(near))).toBe(1);
    // A body well inside a unit keeps its fast compression.
    const smallFrame = frameBody({ headers: STRIPE_HEADERS, payload: payload.subarray(0, 1200) });
    expect(Buffer.from(small.body?.B ?? []).equals(encodeBody(smallFrame))).toBe(true);
  });

  it('keeps the body’s hash and its S3 URI, and no bytes, for a body kept in S3', () => {
    // Prepare
    const record = received(new Uint8Array(0), {
      payload: undefined,
      payloadRef: 's3://bucket/payloads/stripe/abc/def',
      payloadSha256: 'f'.repeat(64),
    });

    // Act
    const item = deliveryItem(record, SHARDS);
    const back = fromItem(item);

    // Assess
    expect(item.payloadRef).toEqual({ S: 's3://bucket/payloads/stripe/abc/def' });
    expect(item.payloadSha256).toEqual({ S: 'f'.repeat(64) });
    expect(back.payload).toBeUndefined();
    expect(back.payloadRef).toBe('s3://bucket/payloads/stripe/abc/def');
    expect(back.payloadSha256).toBe('f'.repeat(64));
    expect(back.headers).toEqual(STRIPE_HEADERS);
  });

  it('keeps the content type apart only when it is not the kept content-type header', () => {
    // Prepare
    const payload = Buffer.from('{"a":1}');

    // Act
    const same = deliveryItem(received(payload), SHARDS);
    const other = deliveryItem(
      received(payload, { headers: {}, contentType: 'text/plain' }),
      SHARDS,
    );

    // Assess
    expect(same.contentType).toBeUndefined();
    expect(fromItem(same).contentType).toBe('application/json; charset=utf-8');
    expect(other.contentType).toEqual({ S: 'text/plain' });
    expect(fromItem(other).contentType).toBe('text/plain');
  });
});

describe('Function: fromItem', () => {
  it('reads back the record deliveryItem wrote, the body’s hash computed from its bytes', () => {
    // Prepare
    const record = received(fixture('github-push.json'), {
      provider: 'github',
      deliveryId: 'a'.repeat(64),
      providerDeliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      unsignedEventType: true,
      eventType: 'push',
      contentType: 'application/json',
      headers: { 'x-github-event': 'push', 'content-type': 'application/json' },
    });

    // Act
    const back = fromItem(deliveryItem(record, SHARDS));

    // Assess
    expect({ ...back, payload: Buffer.from(back.payload ?? []) }).toEqual({
      ...record,
      payload: Buffer.from(record.payload ?? []),
      payloadRef: undefined,
      publishedAt: undefined,
      publishFailures: undefined,
      lastError: undefined,
      lastErrorAt: undefined,
      failedAt: undefined,
    });
  });

  it('reads an item of the format before, as deployed tables still hold them, the same', () => {
    // Prepare: as the claim of the format before wrote it: provider and id as
    // attributes, the raw body, the headers as a map, the hash, the content type
    const payload = fixture('stripe-payment_intent.succeeded.json');
    const record = received(payload);
    const old: Item = {
      pk: { S: 'DELIVERY#stripe#evt_3QkTq2HookonceBench0001' },
      provider: { S: 'stripe' },
      deliveryId: { S: 'evt_3QkTq2HookonceBench0001' },
      eventType: { S: 'payment_intent.succeeded' },
      status: { S: 'RECEIVED' },
      payloadSha256: { S: sha256(payload) },
      headers: {
        M: {
          'content-type': { S: STRIPE_HEADERS['content-type'] },
          'user-agent': { S: STRIPE_HEADERS['user-agent'] },
        },
      },
      receivedAt: { N: String(RECEIVED_AT) },
      attempts: { N: '1' },
      expiresAt: { N: String(record.expiresAt) },
      payload: { B: payload },
      contentType: { S: STRIPE_HEADERS['content-type'] },
      leaseOwner: { S: record.leaseOwner ?? '' },
      leaseUntil: { N: String(record.leaseUntil) },
      pendingShard: { S: pendingShard(record, SHARDS) },
    };

    // Act
    const back = fromItem(old);
    const again = fromItem(deliveryItem(record, SHARDS));

    // Assess
    expect(back).toEqual(again);
    expect(back).toMatchObject({ provider: 'stripe', headers: STRIPE_HEADERS, attempts: 1 });
    expect(Buffer.from(back.payload ?? []).equals(payload)).toBe(true);
    // What the format before cost: three write units where the new one costs one.
    expect([writeUnits(itemSize(old)), writeUnits(itemSize(deliveryItem(record, SHARDS)))]).toEqual(
      [3, 1],
    );
  });

  it('reads what a listing projects, without the body: the provider and id from the key', () => {
    // Act
    const record = fromItem({
      pk: { S: 'DELIVERY#shopify#abc#def' },
      eventType: { S: 'orders/create' },
      status: { S: 'PUBLISHED' },
      receivedAt: { N: String(RECEIVED_AT) },
    });

    // Assess
    expect(record).toMatchObject({
      provider: 'shopify',
      deliveryId: 'abc#def',
      eventType: 'orders/create',
      headers: {},
      payloadSha256: '',
    });
    expect(record.payload).toBeUndefined();
  });
});
