import {
  bodyDigest,
  checkSecretList,
  decodeBase64,
  hmac,
  keepHeaders,
  matchesAny,
  unsignedEventType,
} from './common.ts';
import { type Provider, reject400, reject401, type Verdict } from './types.ts';

/**
 * Shopify (https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook):
 *   X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>
 * keyed with the app's client secret. Only the body is signed: X-Shopify-Event-Id
 * (else X-Shopify-Webhook-Id, kept across retries), X-Shopify-Topic and
 * X-Shopify-Triggered-At are not. So the key of a delivery is the SHA-256 of the
 * body, with the provider's id kept for display and lookup; the topic
 * (`orders/create`) must match a strict pattern and is marked unsigned. No
 * timestamp is signed, so a replay is refused for as long as its key is kept
 * (the provider's retention, 30 days by default).
 *
 * Newer Shopify deliveries (event webhooks) name the same headers without the `X-`:
 * `Shopify-Hmac-Sha256`, `Shopify-Topic`, `Shopify-Event-Id`, `Shopify-Webhook-Id`,
 * `Shopify-Triggered-At`, … Either naming is read; when a request carries both forms
 * of a header, the `X-Shopify-` one (present and not empty) wins and the other is
 * ignored. Nothing is lost by that: the key is the body's digest whichever header
 * was read, and the signature that is checked decides alone whether the body passes.
 */
export const SHOPIFY_HEADERS = {
  signature: 'x-shopify-hmac-sha256',
  eventId: 'x-shopify-event-id',
  webhookId: 'x-shopify-webhook-id',
  topic: 'x-shopify-topic',
  shopDomain: 'x-shopify-shop-domain',
} as const;

/** The unprefixed form of an `x-shopify-…` header name: `shopify-…`. */
export const unprefixedShopifyHeader = (name: string): string => name.slice('x-'.length);

/** A Shopify header under either naming: the `X-Shopify-` form when present and not empty, else the `Shopify-` form. */
function shopifyHeader(
  headers: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  return headers[name] || headers[unprefixedShopifyHeader(name)];
}

const SIGNATURE_BYTES = 32;
/** Shopify's topics: `orders/create`, `app/uninstalled`, `customers/data_request`, … */
const TOPIC = /^[a-z][a-z0-9_]{0,63}(?:\/[a-z][a-z0-9_]{0,63}){1,2}$/;
const KEPT_HEADERS = [
  'x-shopify-topic',
  'x-shopify-shop-domain',
  'x-shopify-event-id',
  'x-shopify-webhook-id',
  'x-shopify-triggered-at',
  'x-shopify-api-version',
];
const KEPT_HEADER_NAMES = [
  ...KEPT_HEADERS,
  ...KEPT_HEADERS.map(unprefixedShopifyHeader),
  'content-type',
];

export function shopify(options: { name: string; maxBodyBytes: number }): Provider {
  const { name, maxBodyBytes } = options;
  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      checkSecretList(
        name,
        secrets,
        "a Shopify secret is the app's client secret (Partner Dashboard → Apps → your app → Client credentials), without whitespace",
      );
    },
    inspect(request, context): Verdict {
      const { headers } = request;
      const header = shopifyHeader(headers, SHOPIFY_HEADERS.signature);
      if (!header) {
        return reject401(
          'missing_signature',
          'the X-Shopify-Hmac-Sha256 (or Shopify-Hmac-Sha256) header is missing',
        );
      }
      const candidate = decodeBase64(header, SIGNATURE_BYTES);
      if (!candidate) {
        return reject401(
          'malformed_signature',
          'X-Shopify-Hmac-Sha256 (or Shopify-Hmac-Sha256) must be the base64 of 32 bytes',
        );
      }
      const expected = context.secrets.map((secret) => hmac('sha256', secret, request.rawBody));
      if (!matchesAny([candidate], expected)) {
        return reject401(
          'signature_mismatch',
          "X-Shopify-Hmac-Sha256 (or Shopify-Hmac-Sha256) does not match the body with any active secret: check the app's client secret",
        );
      }

      const id =
        shopifyHeader(headers, SHOPIFY_HEADERS.eventId) ||
        shopifyHeader(headers, SHOPIFY_HEADERS.webhookId);
      if (!id) {
        return reject400(
          'missing_delivery_id',
          'neither X-Shopify-Event-Id nor X-Shopify-Webhook-Id (with or without the "X-") is present',
        );
      }
      const topic = unsignedEventType(
        shopifyHeader(headers, SHOPIFY_HEADERS.topic),
        TOPIC,
        'webhook',
      );
      if (!topic) {
        return reject400(
          'malformed_event_type',
          'X-Shopify-Topic (or Shopify-Topic) must be a Shopify topic such as orders/create',
        );
      }
      return {
        kind: 'accept',
        deliveryId: bodyDigest(request, context),
        providerDeliveryId: id,
        eventType: topic,
        unsignedEventType: true,
        keptHeaders: keepHeaders(headers, KEPT_HEADER_NAMES),
      };
    },
  };
}

/** The X-Shopify-Hmac-Sha256 header Shopify would send for `body`. */
export function signShopify(options: {
  secret: string;
  body: Uint8Array | string;
}): Record<string, string> {
  return {
    [SHOPIFY_HEADERS.signature]: hmac('sha256', options.secret, options.body).toString('base64'),
  };
}
