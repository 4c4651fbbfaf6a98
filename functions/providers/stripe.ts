import {
  asName,
  checkSecretList,
  checkTimestamp,
  decodeHex,
  hmac,
  isRecord,
  keepHeaders,
  matchesAny,
} from './common.ts';
import { type Provider, reject400, reject401, type Verdict } from './types.ts';

/**
 * Stripe (https://docs.stripe.com/webhooks#verify-manually):
 *   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">[,v1=…][,v0=…]
 * keyed with the endpoint's signing secret exactly as shown (`whsec_…`, prefix
 * included). While a secret is being rolled Stripe sends one `v1` per active
 * secret; any match is enough. `v0` (test-mode legacy) signatures are ignored.
 * The delivery id is the event's `id` (`evt_…`, the same on every retry) and the
 * event type its `type`.
 */
export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';

const SECRET_PREFIX = 'whsec_';
const SIGNATURE_BYTES = 32;
const KEPT_HEADERS = ['content-type', 'user-agent'];

export function stripe(options: {
  name: string;
  maxBodyBytes: number;
  toleranceSeconds: number;
}): Provider {
  const { name, maxBodyBytes, toleranceSeconds } = options;
  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      checkSecretList(
        name,
        secrets,
        `a Stripe signing secret starts with "${SECRET_PREFIX}" and has no whitespace (Dashboard → Developers → Webhooks → your endpoint → Signing secret)`,
        (secret) =>
          secret.startsWith(SECRET_PREFIX) &&
          secret.length > SECRET_PREFIX.length &&
          !/\s/.test(secret),
      );
    },
    inspect(request, context): Verdict {
      const header = request.headers[STRIPE_SIGNATURE_HEADER];
      if (!header) return reject401('missing_signature', 'the Stripe-Signature header is missing');

      const timestamps: string[] = [];
      const v1: string[] = [];
      for (const item of header.split(',')) {
        const eq = item.indexOf('=');
        if (eq < 0) continue;
        const key = item.slice(0, eq).trim();
        const value = item.slice(eq + 1).trim();
        if (key === 't') timestamps.push(value);
        else if (key === 'v1') v1.push(value);
      }
      if (timestamps.length !== 1) {
        return reject401(
          'malformed_signature',
          'Stripe-Signature must hold exactly one t=<timestamp>',
        );
      }
      const timestamp = timestamps[0] ?? '';
      const stale = checkTimestamp(timestamp, {
        what: 'the t= timestamp of Stripe-Signature',
        nowMs: context.now,
        toleranceSeconds,
      });
      if (stale) return stale;

      const candidates = v1
        .map((s) => decodeHex(s, SIGNATURE_BYTES))
        .filter((s): s is Buffer => s !== undefined);
      if (candidates.length === 0) {
        return reject401(
          'malformed_signature',
          'Stripe-Signature holds no v1=<64 hex digits> signature',
        );
      }
      const expected = context.secrets.map((secret) =>
        hmac('sha256', secret, `${timestamp}.`, request.rawBody),
      );
      if (!matchesAny(candidates, expected)) {
        return reject401(
          'signature_mismatch',
          'no v1 signature matches the raw body with any active signing secret: check the secret of this endpoint, and that nothing in front of hookonce re-encodes the body',
        );
      }

      const event = context.json();
      if (!isRecord(event)) {
        return reject400('malformed_body', 'the body is not a JSON Stripe event');
      }
      const id = asName(event.id);
      if (!id) return reject400('missing_delivery_id', 'the Stripe event has no "id"');
      return {
        kind: 'accept',
        deliveryId: id,
        eventType: typeof event.type === 'string' && event.type ? event.type : 'webhook',
        keptHeaders: keepHeaders(request.headers, KEPT_HEADERS),
      };
    },
  };
}

/** The Stripe-Signature header Stripe would send for `body` at `timestamp` (whole seconds). */
export function signStripe(options: {
  secret: string;
  timestamp: number;
  body: Uint8Array | string;
}): Record<string, string> {
  const signature = hmac('sha256', options.secret, `${options.timestamp}.`, options.body);
  return { [STRIPE_SIGNATURE_HEADER]: `t=${options.timestamp},v1=${signature.toString('hex')}` };
}
