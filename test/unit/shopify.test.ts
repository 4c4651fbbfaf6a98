import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shopify, signShopify } from '../../functions/providers/shopify.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import {
  changeOneByte,
  changeOneCharacter,
  expect401,
  expectNoLeak,
  inspectWith,
  jsonObject,
  SEED,
  secrets,
} from '../support/providers.ts';

/**
 * Shopify publishes its algorithm, not a library: the base64 of the HMAC-SHA256 of
 * the raw body, keyed with the app's client secret. The oracle below is that
 * sentence written with node:crypto, and the fixed vectors were made with
 * `printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64`.
 */
const shopifyHmac = (secret: string, body: string | Buffer): string =>
  createHmac('sha256', secret).update(body).digest('base64');

const VECTORS = [
  {
    secret: 'hush',
    body: '{"id":820982911946154508,"email":"jon@example.com","total_price":"199.65","currency":"USD"}',
    hmac: 'k3dZ92rbgSmMjWj4UA7yqjl/0wVrEgc4ASdG2UehYic=',
  },
  {
    secret: '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',
    body: '{"id":4242,"note":"Crème brûlée – 2 × €4,20"}',
    hmac: 'QIea9aeotub+YVAU3YgAdzWiC0qkObzOgZpfwgxm3UY=',
  },
];

const SECRET = 'hookonce-shopify-unit-secret';
const OLD_SECRET = 'hookonce-shopify-old-secret';
const provider = shopify({ name: 'shopify', maxBodyBytes: 200 * 1024 });
const ORDER = JSON.stringify({
  id: 450789469,
  email: 'jon@example.com',
  total_price: '199.65',
});
const EVENT_ID = '5ab8e6d1-3c2f-4e8a-9b7d-2f1e0c9a8b7d';
const WEBHOOK_ID = 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043';

/** Shopify signs the body alone: it, not the id headers, keys a delivery. */
const keyOf = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

const headersOf = (
  signature: string | undefined,
  ids: { event?: string; webhook?: string } = {},
) => ({
  'x-shopify-hmac-sha256': signature,
  'x-shopify-topic': 'orders/create',
  'x-shopify-shop-domain': 'hookonce-test.myshopify.com',
  'x-shopify-event-id': 'event' in ids ? ids.event : EVENT_ID,
  'x-shopify-webhook-id': 'webhook' in ids ? ids.webhook : WEBHOOK_ID,
  'x-shopify-triggered-at': '2100-01-01T00:00:00.000000Z',
  'x-shopify-api-version': '2025-10',
  'content-type': 'application/json',
});

const inspect = (
  signature: string | undefined,
  body: string | Buffer = ORDER,
  options: { secrets?: readonly string[]; ids?: { event?: string; webhook?: string } } = {},
) =>
  inspectWith(provider, {
    headers: headersOf(signature, options.ids),
    body,
    secrets: options.secrets ?? [SECRET],
  });

describe('Class: ShopifyProvider', () => {
  describe('Method: inspect', () => {
    it("accepts a delivery signed per Shopify's algorithm, keyed by the SHA-256 of the body, X-Shopify-Event-Id kept as the provider's id", () => {
      // Act
      const verdict = inspect(shopifyHmac(SECRET, ORDER));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: keyOf(ORDER),
        providerDeliveryId: EVENT_ID,
        eventType: 'orders/create',
        unsignedEventType: true,
        keptHeaders: {
          'x-shopify-topic': 'orders/create',
          'x-shopify-shop-domain': 'hookonce-test.myshopify.com',
          'x-shopify-event-id': EVENT_ID,
          'x-shopify-webhook-id': WEBHOOK_ID,
          'x-shopify-triggered-at': '2100-01-01T00:00:00.000000Z',
          'x-shopify-api-version': '2025-10',
          'content-type': 'application/json',
        },
      });
    });

    it.each(VECTORS)('verifies the fixed vector keyed "$secret"', ({ secret, body, hmac }) => {
      // Act
      const verdict = inspect(hmac, body, { secrets: [secret] });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('falls back to X-Shopify-Webhook-Id when there is no X-Shopify-Event-Id', () => {
      // Act
      const verdict = inspect(shopifyHmac(SECRET, ORDER), ORDER, { ids: { event: undefined } });

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: keyOf(ORDER),
        providerDeliveryId: WEBHOOK_ID,
      });
    });

    it('keys a signed request sent again under fresh id headers as the same delivery', () => {
      // Act
      const first = inspect(shopifyHmac(SECRET, ORDER));
      const replayed = inspect(shopifyHmac(SECRET, ORDER), ORDER, {
        ids: { event: 'another-event-id', webhook: 'another-webhook-id' },
      });

      // Assess
      expect(replayed).toMatchObject({ kind: 'accept', providerDeliveryId: 'another-event-id' });
      expect(replayed.kind === 'accept' && replayed.deliveryId).toBe(
        first.kind === 'accept' && first.deliveryId,
      );
    });

    it.each([
      ['no slash', 'orders'],
      ['upper case', 'Orders/Create'],
      ['a space', 'orders/create now'],
      ['a right-to-left override', 'orders/\u202ecreate'],
      ['four parts', 'a/b/c/d'],
    ])(
      'refuses an X-Shopify-Topic with %s as malformed_event_type (it is not signed)',
      (_, topic) => {
        // Act
        const verdict = inspectWith(provider, {
          headers: { ...headersOf(shopifyHmac(SECRET, ORDER)), 'x-shopify-topic': topic },
          body: ORDER,
          secrets: [SECRET],
        });

        // Assess
        expect(verdict).toMatchObject({
          kind: 'reject',
          status: 400,
          code: 'malformed_event_type',
        });
      },
    );

    it('rejects a correctly signed delivery with neither id header with 400 missing_delivery_id', () => {
      // Act
      const verdict = inspect(shopifyHmac(SECRET, ORDER), ORDER, {
        ids: { event: undefined, webhook: undefined },
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'missing_delivery_id' });
    });

    it.each([
      ['the new secret', SECRET],
      ['the old secret', OLD_SECRET],
    ])('accepts a delivery signed with %s while two secrets are active (rotation)', (_, signer) => {
      // Act
      const verdict = inspect(shopifyHmac(signer, ORDER), ORDER, { secrets: [SECRET, OLD_SECRET] });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('rejects a missing X-Shopify-Hmac-Sha256 as missing_signature', () => {
      // Act
      const verdict = inspect(undefined);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'missing_signature' });
    });

    const good = shopifyHmac(SECRET, ORDER);
    it.each([
      ['hex instead of base64', createHmac('sha256', SECRET).update(ORDER).digest('hex')],
      ['a truncated signature', good.slice(0, 40)],
      ['the signature without its padding', good.slice(0, -1)],
      ['base64url', createHmac('sha256', SECRET).update(ORDER).digest('base64url')],
      ['a prefix', `sha256=${good}`],
      ['the base64 of 20 bytes', createHmac('sha1', SECRET).update(ORDER).digest('base64')],
    ])('rejects %s as malformed_signature', (_, signature) => {
      // Act
      const verdict = inspect(signature);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('rejects a signature made with another secret as signature_mismatch', () => {
      // Act
      const verdict = inspect(shopifyHmac('not-our-secret', ORDER));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('never puts the expected signature or the secret in a rejection', () => {
      // Act
      const verdicts = [
        inspect(shopifyHmac('not-our-secret', ORDER)),
        inspect(good, `${ORDER} `),
        inspect(good.slice(0, 20)),
      ];

      // Assess
      for (const verdict of verdicts) expectNoLeak(verdict, good, SECRET);
    });

    it("accepts what Shopify's algorithm signs, for any body and secret", () => {
      fc.assert(
        fc.property(jsonObject(), secrets(), (payload, secret) => {
          // Prepare
          const body = JSON.stringify(payload);

          // Act
          const verdict = inspect(shopifyHmac(secret, body), body, { secrets: [secret] });

          // Assess
          expect(verdict).toMatchObject({
            kind: 'accept',
            deliveryId: keyOf(body),
            providerDeliveryId: EVENT_ID,
          });
        }),
        { seed: SEED, numRuns: 200 },
      );
    });

    it('rejects any single change to the body, the signature or the secret with a 401', () => {
      fc.assert(
        fc.property(
          jsonObject(),
          fc.constantFrom('body', 'signature', 'secret'),
          fc.nat(),
          fc.nat(),
          secrets().filter((s) => s !== SECRET),
          (payload, what, position, pick, otherSecret) => {
            // Prepare
            const body = JSON.stringify(payload);
            const signature = shopifyHmac(SECRET, body);
            const changed = {
              body: () => inspect(signature, changeOneByte(body, position, pick + 1)),
              signature: () => inspect(changeOneCharacter(signature, position, pick), body),
              secret: () => inspect(shopifyHmac(otherSecret, body), body),
            }[what];

            // Act
            const verdict = changed();

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 400 },
      );
    });

    it('answers any header and body whatsoever with a verdict, never a throw', () => {
      fc.assert(
        fc.property(fc.option(fc.string()), fc.uint8Array({ maxLength: 256 }), (header, body) => {
          // Act
          const verdict = inspect(header ?? undefined, Buffer.from(body));

          // Assess
          expect401(verdict);
        }),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Method: inspect, with the unprefixed Shopify-* headers of newer deliveries', () => {
    /** The headers of an event webhook, which Shopify names without the "X-". */
    const unprefixed = (signature: string | undefined, topic = 'orders/create') => ({
      'shopify-hmac-sha256': signature,
      'shopify-topic': topic,
      'shopify-shop-domain': 'hookonce-test.myshopify.com',
      'shopify-event-id': EVENT_ID,
      'shopify-webhook-id': WEBHOOK_ID,
      'shopify-triggered-at': '2100-01-01T00:00:00.000000Z',
      'shopify-api-version': '2025-10',
      'content-type': 'application/json',
    });
    const inspectUnprefixed = (
      headers: Record<string, string | undefined>,
      body: string | Buffer = ORDER,
    ) => inspectWith(provider, { headers, body, secrets: [SECRET] });

    it('accepts a delivery whose headers all lack the "X-", keyed by the SHA-256 of the body', () => {
      // Act
      const verdict = inspectUnprefixed(unprefixed(shopifyHmac(SECRET, ORDER)));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: keyOf(ORDER),
        providerDeliveryId: EVENT_ID,
        eventType: 'orders/create',
        unsignedEventType: true,
        keptHeaders: {
          'shopify-topic': 'orders/create',
          'shopify-shop-domain': 'hookonce-test.myshopify.com',
          'shopify-event-id': EVENT_ID,
          'shopify-webhook-id': WEBHOOK_ID,
          'shopify-triggered-at': '2100-01-01T00:00:00.000000Z',
          'shopify-api-version': '2025-10',
          'content-type': 'application/json',
        },
      });
    });

    it('keys the same body alike under either naming: the same delivery', () => {
      // Act
      const prefixed = inspect(shopifyHmac(SECRET, ORDER));
      const bare = inspectUnprefixed(unprefixed(shopifyHmac(SECRET, ORDER)));

      // Assess
      expect(prefixed).toMatchObject({ kind: 'accept', deliveryId: keyOf(ORDER) });
      expect(bare).toMatchObject({ kind: 'accept', deliveryId: keyOf(ORDER) });
    });

    it('falls back to Shopify-Webhook-Id when there is no event id under either naming', () => {
      // Act
      const verdict = inspectUnprefixed({
        ...unprefixed(shopifyHmac(SECRET, ORDER)),
        'shopify-event-id': undefined,
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', providerDeliveryId: WEBHOOK_ID });
    });

    it('checks the X-Shopify-Hmac-Sha256 when both namings are sent: the unprefixed one is ignored', () => {
      // Prepare
      const good = shopifyHmac(SECRET, ORDER);
      const bad = shopifyHmac(OLD_SECRET, ORDER);

      // Act
      const xWinsGood = inspectUnprefixed({
        ...unprefixed(bad),
        ...headersOf(good),
      });
      const xWinsBad = inspectUnprefixed({
        ...unprefixed(good),
        ...headersOf(bad),
      });

      // Assess
      expect(xWinsGood).toMatchObject({ kind: 'accept', deliveryId: keyOf(ORDER) });
      expect(xWinsBad).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('reads the type and the id from the X- headers when both namings are sent', () => {
      // Act
      const verdict = inspectUnprefixed({
        ...unprefixed(shopifyHmac(SECRET, ORDER), 'app/uninstalled'),
        'shopify-event-id': 'unprefixed-event-id',
        ...headersOf(shopifyHmac(SECRET, ORDER)),
      });

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        eventType: 'orders/create',
        providerDeliveryId: EVENT_ID,
      });
    });

    it('falls back to the unprefixed header when the X- one is empty', () => {
      // Act
      const verdict = inspectUnprefixed({
        ...unprefixed(shopifyHmac(SECRET, ORDER)),
        'x-shopify-hmac-sha256': '',
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('rejects a request with neither HMAC header as missing_signature', () => {
      // Act
      const verdict = inspectUnprefixed(unprefixed(undefined));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'missing_signature' });
    });

    it('refuses a malformed Shopify-Topic as malformed_event_type', () => {
      // Act
      const verdict = inspectUnprefixed(unprefixed(shopifyHmac(SECRET, ORDER), 'Orders Create'));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_event_type' });
    });

    it('rejects any single change to the body, the Shopify-Hmac-Sha256 or the secret with a 401', () => {
      fc.assert(
        fc.property(
          jsonObject(),
          fc.constantFrom('body', 'signature', 'secret'),
          fc.nat(),
          fc.nat(),
          secrets().filter((s) => s !== SECRET),
          (payload, what, position, pick, otherSecret) => {
            // Prepare
            const body = JSON.stringify(payload);
            const signature = shopifyHmac(SECRET, body);
            const changed = {
              body: () =>
                inspectUnprefixed(unprefixed(signature), changeOneByte(body, position, pick + 1)),
              signature: () =>
                inspectUnprefixed(unprefixed(changeOneCharacter(signature, position, pick)), body),
              secret: () => inspectUnprefixed(unprefixed(shopifyHmac(otherSecret, body)), body),
            }[what];

            // Act
            const verdict = changed();

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });

    it('answers any pair of HMAC headers and any body with a verdict, never a throw', () => {
      fc.assert(
        fc.property(
          fc.option(fc.string()),
          fc.option(fc.string()),
          fc.uint8Array({ maxLength: 256 }),
          (prefixed, bare, body) => {
            // Act
            const verdict = inspectUnprefixed(
              {
                'x-shopify-hmac-sha256': prefixed ?? undefined,
                'shopify-hmac-sha256': bare ?? undefined,
                'shopify-topic': 'orders/create',
                'shopify-event-id': EVENT_ID,
              },
              Buffer.from(body),
            );

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Function: signShopify', () => {
    it.each(VECTORS)('reproduces the fixed vector keyed "$secret"', ({ secret, body, hmac }) => {
      // Act
      const headers = signShopify({ secret, body });

      // Assess
      expect(headers).toEqual({ 'x-shopify-hmac-sha256': hmac });
    });
  });

  describe('Method: checkSecrets', () => {
    it.each([
      ['an empty list', []],
      ['an empty secret', ['']],
      ['a secret with a newline', ['abc\n']],
    ])('rejects %s with a ConfigError', (_, list) => {
      // Act
      const check = () => provider.checkSecrets(list);

      // Assess
      expect(check).toThrow(ConfigError);
    });

    it('accepts client secrets', () => {
      // Act
      const check = () => provider.checkSecrets([SECRET, VECTORS[1]?.secret ?? '']);

      // Assess
      expect(check).not.toThrow();
    });
  });
});
