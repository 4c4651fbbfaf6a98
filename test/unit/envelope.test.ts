import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPayload, readEvent, withData } from '../../functions/consumers/payload.ts';
import type { DeliveryRecord } from '../../functions/deliveries/store.ts';
import {
  encodeEvent,
  eventId,
  eventType,
  parseJson,
  SQS_REFUSED,
} from '../../functions/fanout/envelope.ts';

const RECEIVED_AT = Date.UTC(2100, 0, 1, 12, 30, 45, 678);
const SEED = 20261202;

function record(payload: Uint8Array, contentType?: string): DeliveryRecord {
  return {
    provider: 'standard',
    deliveryId: 'msg_env_1',
    eventType: 'invoice.paid',
    payload,
    payloadSha256: '',
    contentType,
    headers: {},
    status: 'RECEIVED',
    receivedAt: RECEIVED_AT,
    attempts: 1,
    expiresAt: 0,
  };
}

const messageOf = (payload: Uint8Array | string, contentType = 'application/json') =>
  encodeEvent(record(typeof payload === 'string' ? Buffer.from(payload) : payload, contentType))
    .message;

/** What a subscriber reads: the message text parsed as JSON. */
const parsed = (message: string) => JSON.parse(message) as Record<string, unknown>;

describe('Module: envelope', () => {
  describe('Function: encodeEvent', () => {
    it('names the event after its provider and delivery, in CloudEvents 1.0 fields', () => {
      // Act
      const event = encodeEvent(record(Buffer.from('{"type":"invoice.paid"}'), 'application/json'));

      // Assess
      expect(event).toMatchObject({
        id: 'standard:msg_env_1',
        provider: 'standard',
        type: 'standard.invoice.paid',
      });
      expect(parsed(event.message)).toEqual({
        specversion: '1.0',
        id: 'standard:msg_env_1',
        source: 'hookonce/standard',
        type: 'standard.invoice.paid',
        time: '2100-01-01T12:30:45.678Z',
        datacontenttype: 'application/json',
        provider: 'standard',
        deliveryid: 'msg_env_1',
        data: { type: 'invoice.paid' },
      });
    });

    it.each([
      ['a 64-bit integer', '{"id":820982911946154508}'],
      ['a decimal with its trailing zero', '{"amount":1.50,"rate":1e2}'],
      ['a top-level JSON string', '"just a string"'],
      ['duplicate keys, in their order', '{"b":1,"a":2,"b":3}'],
      ['whitespace and escapes as written', ' {\n\t"note" : "caf\\u00e9 ☕ \\ud83d\\ude00"\n} '],
      ['a top-level number', '42'],
    ])(
      'splices %s into the message as written, and loadPayload gives those bytes back',
      async (_, body) => {
        // Act
        const message = messageOf(body);

        // Assess
        expect(message.endsWith(`,"data":${body}}`)).toBe(true);
        expect(parsed(message).data).toEqual(JSON.parse(body));
        expect(Buffer.from(await loadPayload(message)).toString('utf8')).toBe(body);
      },
    );

    it('keeps a 64-bit integer whole in the message text, where a parse and stringify rounds it', () => {
      // Act
      const message = messageOf('{"id":820982911946154508}');

      // Assess
      expect(message).toContain('820982911946154508');
      expect(JSON.stringify(JSON.parse('{"id":820982911946154508}'))).toContain(
        '820982911946154500',
      );
    });

    it('carries a form body as data_base64, with the request’s content type', async () => {
      // Prepare
      const body = 'amount=4200&note=caf%C3%A9+%E2%98%95';

      // Act
      const message = messageOf(body, 'application/x-www-form-urlencoded');

      // Assess
      const event = parsed(message);
      expect(event.datacontenttype).toBe('application/x-www-form-urlencoded');
      expect(event.data_base64).toBe(Buffer.from(body).toString('base64'));
      expect('data' in event).toBe(false);
      expect(Buffer.from(await loadPayload(message)).toString('utf8')).toBe(body);
    });

    it('types a body without a content type as application/octet-stream', () => {
      // Act
      const event = parsed(encodeEvent(record(Buffer.from('plain words'))).message);

      // Assess
      expect(event.datacontenttype).toBe('application/octet-stream');
      expect(event.data_base64).toBe(Buffer.from('plain words').toString('base64'));
    });

    it('carries bytes that are no UTF-8 as data_base64, and no data', async () => {
      // Prepare
      const bytes = Uint8Array.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]);

      // Act
      const message = messageOf(bytes, 'application/octet-stream');

      // Assess
      expect(parsed(message).data_base64).toBe(Buffer.from(bytes).toString('base64'));
      expect('data' in parsed(message)).toBe(false);
      expect(Buffer.from(await loadPayload(message))).toEqual(Buffer.from(bytes));
    });

    it('carries JSON that starts with a byte-order mark as data_base64, so the mark is not lost', async () => {
      // Prepare
      const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]);

      // Act
      const message = messageOf(bytes);

      // Assess
      expect(parsed(message).data_base64).toBe(bytes.toString('base64'));
      expect(Buffer.from(await loadPayload(message))).toEqual(bytes);
    });

    it('carries JSON holding U+FFFF, which SQS refuses, as data_base64: the message is one SQS takes', async () => {
      // Prepare
      const body = '{"name":"\uffff\ufffe"}';

      // Act
      const message = messageOf(body);

      // Assess
      expect(SQS_REFUSED.test(message)).toBe(false);
      expect(Buffer.from(await loadPayload(message)).toString('utf8')).toBe(body);
    });

    it('escapes U+FFFE, U+FFFF and controls in the envelope’s own fields, as SQS requires', () => {
      // Prepare
      const r: DeliveryRecord = {
        ...record(Buffer.from('{}'), 'application/json'),
        eventType: 'odd\uffff\ufffe\u0001\ud800',
      };

      // Act
      const { message } = encodeEvent(r);

      // Assess
      expect(SQS_REFUSED.test(message)).toBe(false);
      expect(parsed(message).type).toBe('standard.odd\uffff\ufffe\u0001\ud800');
    });

    it('names the provider’s own unsigned id and an unsigned type, and omits both otherwise', () => {
      // Prepare
      const github: DeliveryRecord = {
        ...record(Buffer.from('{}'), 'application/json'),
        provider: 'github',
        deliveryId: 'a'.repeat(64),
        providerDeliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        eventType: 'push',
        unsignedEventType: true,
      };

      // Act
      const event = parsed(encodeEvent(github).message);
      const plain = parsed(messageOf('{}'));

      // Assess
      expect(event).toMatchObject({
        id: `github:${'a'.repeat(64)}`,
        deliveryid: 'a'.repeat(64),
        providerdeliveryid: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        unsignedtype: true,
      });
      expect('providerdeliveryid' in plain).toBe(false);
      expect('unsignedtype' in plain).toBe(false);
    });

    it('points to a payload kept in S3 with dataref, and carries no data', () => {
      // Prepare
      const r: DeliveryRecord = {
        ...record(Buffer.from('{}'), 'application/json'),
        payload: undefined,
        payloadRef: 's3://bucket/payloads/standard/x/y',
      };

      // Act
      const event = parsed(encodeEvent(r).message);

      // Assess
      expect(event.dataref).toBe('s3://bucket/payloads/standard/x/y');
      expect('data' in event).toBe(false);
      expect('data_base64' in event).toBe(false);
    });

    it('yields the same text, byte for byte, every time it is encoded from the same record', () => {
      // Prepare
      const payload = '{"type":"invoice.paid","data":{"b":2,"a":1}}';

      // Act
      const once = messageOf(payload);
      const again = messageOf(payload);
      const hinted = encodeEvent(record(Buffer.from(payload), 'application/json'), {
        isJson: true,
      }).message;

      // Assess
      expect(again).toBe(once);
      expect(hinted).toBe(once);
    });

    it('for any body, writes a message that parses, that SQS takes, and that gives the exact bytes back', async () => {
      // Prepare
      const bodies = fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.string({ unit: 'binary', maxLength: 64 }).map((s) => Buffer.from(s, 'utf8')),
        fc.json().map((s) => Buffer.from(s, 'utf8')),
        fc
          .tuple(fc.json(), fc.constantFrom('\uffff', '\ufffe', '\u0085', '\u202e'))
          .map(([s, c]) => Buffer.from(`[${JSON.stringify(c)},${s}]`, 'utf8')),
      );

      // Act & Assess
      await fc.assert(
        fc.asyncProperty(bodies, async (body) => {
          const message = messageOf(body);
          expect(SQS_REFUSED.test(message)).toBe(false);
          expect(() => JSON.parse(message)).not.toThrow();
          expect(Buffer.from(await loadPayload(message))).toEqual(Buffer.from(body));
        }),
        { seed: SEED, numRuns: 200 },
      );
    });
  });

  describe('Function: loadPayload', () => {
    it('refuses an event parsed without its message text, instead of giving other bytes', async () => {
      // Prepare
      const event = JSON.parse(messageOf('{"a":1.50}'));

      // Act
      const loading = loadPayload(event);

      // Assess
      await expect(loading).rejects.toThrow(/exact bytes/);
    });

    it('gives the exact bytes of an event read with readEvent', async () => {
      // Prepare
      const event = readEvent(messageOf('{"a":1.50}'));
      if (!event) throw new Error('not an envelope');

      // Act
      const bytes = await loadPayload(event);

      // Assess
      expect(Buffer.from(bytes).toString('utf8')).toBe('{"a":1.50}');
    });
  });

  describe('Function: withData', () => {
    it('fills data from data_base64: parsed for JSON, text for a form', async () => {
      // Prepare
      const bom = readEvent(messageOf(Buffer.from('\ufeff{"a":1}')));
      const form = readEvent(messageOf('a=1&b=2', 'application/x-www-form-urlencoded'));
      if (!bom || !form) throw new Error('not an envelope');

      // Act
      const fromBom = await withData(bom);
      const fromForm = await withData(form);

      // Assess
      expect(fromBom.data).toEqual({ a: 1 });
      expect(fromForm.data).toBe('a=1&b=2');
      expect(Buffer.from(await loadPayload(fromBom)).subarray(0, 3)).toEqual(
        Buffer.from([0xef, 0xbb, 0xbf]),
      );
    });
  });

  describe('Function: parseJson', () => {
    it.each([
      ['an object', '{"a":1}', { a: 1 }],
      ['null', 'null', null],
      ['a number', '42', 42],
    ])('parses %s', (_, text, value) => {
      // Act
      const value2 = parseJson(Buffer.from(text));

      // Assess
      expect(value2).toEqual(value);
    });

    it.each([
      ['an empty body', Buffer.alloc(0)],
      ['text', Buffer.from('hello')],
      ['truncated JSON', Buffer.from('{"a":')],
      ['JSON with invalid UTF-8 inside a string', Buffer.from([0x22, 0xff, 0x22])],
    ])('answers undefined for %s', (_, bytes) => {
      // Act
      const value = parseJson(bytes);

      // Assess
      expect(value).toBeUndefined();
    });
  });

  describe('Function: eventId and eventType', () => {
    it('join the provider to the delivery id and to the event type', () => {
      // Act
      const id = eventId('github', 'abc-123');
      const type = eventType('github', 'push');

      // Assess
      expect(id).toBe('github:abc-123');
      expect(type).toBe('github.push');
    });
  });
});
