import { describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../functions/deliveries/store.ts';
import { keepNewest, listLines, listScanInput, table } from '../../infra/cli/listing.ts';

const T0 = Date.UTC(2100, 0, 1);

const delivery = (
  deliveryId: string,
  receivedAt: number,
  more: Partial<DeliveryRecord> = {},
): DeliveryRecord => ({
  provider: 'stripe',
  deliveryId,
  eventType: 'invoice.paid',
  payloadSha256: '',
  headers: {},
  status: 'PUBLISHED',
  receivedAt,
  attempts: 1,
  expiresAt: T0 / 1000 + 86_400,
  ...more,
});

describe('Module: hookonce deliveries list', () => {
  describe('Function: listScanInput', () => {
    it('scans delivery items within their retention, projecting no payload', () => {
      const input = listScanInput({ limit: 20 }, T0 + 1_500);
      expect(input).toEqual({
        FilterExpression: 'begins_with(pk, :delivery) AND expiresAt > :nowSeconds',
        ProjectionExpression:
          'pk, providerDeliveryId, eventType, #status, receivedAt, attempts, expiresAt',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':delivery': { S: 'DELIVERY#' },
          ':nowSeconds': { N: String(T0 / 1000 + 1) },
        },
      });
    });

    it('puts the provider (the start of the key) and status filters in the scan, as values', () => {
      const input = listScanInput({ provider: 'stripe', status: 'FAILED', limit: 5 }, T0);
      expect(input.FilterExpression).toBe(
        'begins_with(pk, :delivery) AND expiresAt > :nowSeconds AND #status = :status',
      );
      expect(input.ExpressionAttributeValues).toMatchObject({
        ':delivery': { S: 'DELIVERY#stripe#' },
        ':status': { S: 'FAILED' },
      });
    });
  });

  describe('Function: keepNewest', () => {
    it('keeps the newest, newest first, whatever order the pages come in', () => {
      let kept: DeliveryRecord[] = [];
      kept = keepNewest(kept, [delivery('a', T0 + 1), delivery('d', T0 + 4)], 3);
      kept = keepNewest(kept, [delivery('b', T0 + 2), delivery('c', T0 + 3)], 3);
      kept = keepNewest(kept, [delivery('z', T0)], 3);
      expect(kept.map((d) => d.deliveryId)).toEqual(['d', 'c', 'b']);
    });

    it('orders deliveries received in the same millisecond by provider and id', () => {
      const kept = keepNewest(
        [],
        [
          delivery('b', T0),
          delivery('a', T0, { provider: 'stripe' }),
          delivery('c', T0, { provider: 'github' }),
        ],
        10,
      );
      expect(kept.map((d) => `${d.provider}:${d.deliveryId}`)).toEqual([
        'github:c',
        'stripe:a',
        'stripe:b',
      ]);
    });
  });

  describe('Function: listLines', () => {
    it('prints an aligned table: received, provider, id, type, status, attempts', () => {
      const lines = listLines(
        {
          scanned: 7,
          matched: 2,
          newest: [
            delivery('evt_2', T0 + 61_000, { status: 'RECEIVED', attempts: 2 }),
            delivery('evt_1', T0, { eventType: 'charge.succeeded' }),
          ],
        },
        { limit: 20 },
        'the local runtime (.hookonce/local.json)',
      );
      expect(lines).toEqual([
        'deliveries on the local runtime (.hookonce/local.json): 2 (7 items scanned)',
        '  received              provider  delivery id  type                     status     attempts',
        '  2100-01-01T00:01:01Z  stripe    evt_2        stripe.invoice.paid      RECEIVED   2',
        '  2100-01-01T00:00:00Z  stripe    evt_1        stripe.charge.succeeded  PUBLISHED  1',
      ]);
    });

    it("adds the provider's id where it is not the key, and says how many it left out", () => {
      const lines = listLines(
        {
          scanned: 1,
          matched: 3,
          newest: [
            delivery('9f86d081', T0, {
              provider: 'github',
              eventType: 'push',
              providerDeliveryId: '72d3162e-cc78',
            }),
          ],
        },
        { provider: 'github', status: 'PUBLISHED', limit: 1 },
        'stack Hookonce (eu-west-1)',
      );
      expect(lines).toEqual([
        'deliveries (of github, PUBLISHED) on stack Hookonce (eu-west-1): the newest 1 of 3 (1 item scanned)',
        "  received              provider  delivery id  provider's id  type         status     attempts",
        '  2100-01-01T00:00:00Z  github    9f86d081     72d3162e-cc78  github.push  PUBLISHED  1',
      ]);
    });

    it('prints only the heading when nothing matches', () => {
      expect(listLines({ scanned: 0, matched: 0, newest: [] }, { limit: 20 }, 'x')).toEqual([
        'deliveries on x: 0 (0 items scanned)',
      ]);
    });
  });

  describe('Function: table', () => {
    it('pads every column but the last to its widest cell', () => {
      expect(
        table([
          ['a', 'bb', 'c'],
          ['ccc', 'd', 'eeee'],
        ]),
      ).toEqual(['a    bb  c', 'ccc  d   eeee']);
    });
  });
});
