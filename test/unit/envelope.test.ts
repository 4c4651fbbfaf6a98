import { describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../functions/deliveries/store.ts';
import { buildEnvelope, eventId, eventType, parseJson } from '../../functions/fanout/envelope.ts';

const RECEIVED_AT = Date.UTC(2100, 0, 1, 12, 30, 45, 678);

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

const envelopeOf = (r: DeliveryRecord) => buildEnvelope(r, r.payload && parseJson(r.payload));

describe('Module: envelope', () => {
  describe('Function: buildEnvelope', () => {
    it('names the event after its provider and delivery, in CloudEvents 1.0 fields', () => {
      // Prepare
      const r = record(Buffer.from('{"type":"invoice.paid"}'), 'application/json');

      // Act
      const event = envelopeOf(r);

      // Assess
      expect(event).toMatchObject({
        specversion: '1.0',
        id: 'standard:msg_env_1',
        source: 'hookonce/standard',
        type: 'standard.invoice.paid',
        time: '2100-01-01T12:30:45.678Z',
        provider: 'standard',
        deliveryid: 'msg_env_1',
      });
      expect(event.dataref).toBeUndefined();
    });

    it('carries a JSON body as a data object, typed application/json whatever the request said', () => {
      // Prepare
      const body = { type: 'invoice.paid', data: { id: 'in_1', amount: 4200, tags: ['a'] } };
      const r = record(Buffer.from(JSON.stringify(body)), 'text/plain');

      // Act
      const event = envelopeOf(r);

      // Assess
      expect(event.datacontenttype).toBe('application/json');
      expect(event.data).toEqual(body);
      expect(event.data_base64).toBeUndefined();
    });

    it('carries UTF-8 text that is no JSON as text, with the request’s content type', () => {
      // Prepare
      const r = record(
        Buffer.from('amount=4200&note=café ☕'),
        'application/x-www-form-urlencoded',
      );

      // Act
      const event = envelopeOf(r);

      // Assess
      expect(event.datacontenttype).toBe('application/x-www-form-urlencoded');
      expect(event.data).toBe('amount=4200&note=café ☕');
      expect(event.data_base64).toBeUndefined();
    });

    it('types text without a content type as application/octet-stream', () => {
      // Act
      const event = envelopeOf(record(Buffer.from('plain words')));

      // Assess
      expect(event.datacontenttype).toBe('application/octet-stream');
      expect(event.data).toBe('plain words');
    });

    it('carries bytes that are no UTF-8 as data_base64, and no data', () => {
      // Prepare
      const bytes = Uint8Array.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]);
      const r = record(bytes, 'application/octet-stream');

      // Act
      const event = envelopeOf(r);

      // Assess
      expect(event.data_base64).toBe(Buffer.from(bytes).toString('base64'));
      expect('data' in event).toBe(false);
      expect(event.datacontenttype).toBe('application/octet-stream');
    });

    it('yields the same JSON, byte for byte, every time it is built from the same record', () => {
      // Prepare
      const payload = '{"type":"invoice.paid","data":{"b":2,"a":1}}';
      const first = record(Buffer.from(payload), 'application/json');
      const copy = record(Buffer.from(payload), 'application/json');

      // Act
      const once = JSON.stringify(envelopeOf(first));
      const again = JSON.stringify(envelopeOf(first));
      const fromCopy = JSON.stringify(envelopeOf(copy));

      // Assess
      expect(again).toBe(once);
      expect(fromCopy).toBe(once);
    });
  });

  describe('Function: parseJson', () => {
    it.each([
      ['an object', '{"a":1}', { a: 1 }],
      ['null', 'null', null],
      ['a number', '42', 42],
    ])('parses %s', (_, text, value) => {
      // Act
      const parsed = parseJson(Buffer.from(text));

      // Assess
      expect(parsed).toEqual(value);
    });

    it.each([
      ['an empty body', Buffer.alloc(0)],
      ['text', Buffer.from('hello')],
      ['truncated JSON', Buffer.from('{"a":')],
      ['JSON with invalid UTF-8 inside a string', Buffer.from([0x22, 0xff, 0x22])],
    ])('answers undefined for %s', (_, bytes) => {
      // Act
      const parsed = parseJson(bytes);

      // Assess
      expect(parsed).toBeUndefined();
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
