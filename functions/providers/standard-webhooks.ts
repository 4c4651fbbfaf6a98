import { createHmac } from 'node:crypto';
import { ConfigError } from '../shared/errors.ts';
import { safeEqual } from './compare.ts';
import { type Provider, reject400, reject401, type Verdict } from './types.ts';

/**
 * Standard Webhooks, symmetric `v1` signatures:
 *   webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> [v1,<…> …]
 * Secrets are `whsec_<base64 key>`; several may be active while one is rotated out.
 */
const PREFIX = 'whsec_';
const SIGNATURE_BYTES = 32;
/** The base64 of a 32-byte HMAC-SHA256, padded as the spec and its libraries write it. */
const V1_SIGNATURE = /^[A-Za-z0-9+/]{43}=$/;
const KEPT_HEADERS = ['webhook-id', 'webhook-timestamp', 'content-type', 'user-agent'];

export function decodeStandardSecret(secret: string): Buffer {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  if (encoded.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new ConfigError('a Standard Webhooks secret is "whsec_" followed by base64');
  }
  return Buffer.from(encoded, 'base64');
}

export function standardWebhooks(options: {
  name: string;
  maxBodyBytes: number;
  toleranceSeconds: number;
}): Provider {
  const { name, maxBodyBytes, toleranceSeconds } = options;
  const keys = new Map<string, Buffer>();
  const keyOf = (secret: string): Buffer => {
    let key = keys.get(secret);
    if (!key) {
      key = decodeStandardSecret(secret);
      keys.set(secret, key);
    }
    return key;
  };

  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      if (secrets.length === 0) throw new ConfigError(`provider "${name}" has no secret`);
      for (const s of secrets) keyOf(s);
    },
    inspect(request, context): Verdict {
      const { headers, rawBody } = request;
      const signatureHeader = headers['webhook-signature'];
      if (!signatureHeader) {
        return reject401('missing_signature', 'the webhook-signature header is missing');
      }
      const id = headers['webhook-id'];
      if (!id) return reject400('missing_delivery_id', 'the webhook-id header is missing');
      const timestampHeader = headers['webhook-timestamp'];
      if (!timestampHeader) {
        return reject401('missing_timestamp', 'the webhook-timestamp header is missing');
      }
      if (!/^\d{1,15}$/.test(timestampHeader)) {
        return reject401(
          'malformed_timestamp',
          'webhook-timestamp must be whole seconds since the epoch',
        );
      }
      const timestamp = Number(timestampHeader);
      const nowSeconds = Math.floor(context.now / 1000);
      if (timestamp < nowSeconds - toleranceSeconds) {
        return reject401(
          'timestamp_too_old',
          `webhook-timestamp is more than ${toleranceSeconds} s in the past`,
        );
      }
      if (timestamp > nowSeconds + toleranceSeconds) {
        return reject401(
          'timestamp_too_new',
          `webhook-timestamp is more than ${toleranceSeconds} s in the future`,
        );
      }

      const candidates: Buffer[] = [];
      for (const part of signatureHeader.split(' ')) {
        const comma = part.indexOf(',');
        if (comma < 0 || part.slice(0, comma) !== 'v1') continue;
        // Node's base64 decoder skips what it cannot read: check the form first, so a
        // truncated or garbled signature is called malformed, not a wrong secret.
        const encoded = part.slice(comma + 1);
        if (V1_SIGNATURE.test(encoded)) candidates.push(Buffer.from(encoded, 'base64'));
      }
      if (candidates.length === 0) {
        return reject401(
          'malformed_signature',
          'webhook-signature holds no "v1,<base64 of 32 bytes>" signature',
        );
      }

      const signed = Buffer.concat([Buffer.from(`${id}.${timestampHeader}.`), rawBody]);
      let matched = false;
      for (const secret of context.secrets) {
        const expected = createHmac('sha256', keyOf(secret)).update(signed).digest();
        for (const candidate of candidates) {
          // No early exit: every pair is compared so timing does not tell which secret matched.
          if (candidate.length === SIGNATURE_BYTES && safeEqual(candidate, expected))
            matched = true;
        }
      }
      if (!matched) {
        return reject401(
          'signature_mismatch',
          'no webhook-signature matches the body with any active secret',
        );
      }

      const body = context.json();
      if (body === undefined) return reject400('malformed_body', 'the body is not valid JSON');
      const type =
        body !== null &&
        typeof body === 'object' &&
        typeof (body as { type?: unknown }).type === 'string'
          ? (body as { type: string }).type
          : 'webhook';
      const keptHeaders: Record<string, string> = {};
      for (const h of KEPT_HEADERS) {
        const v = headers[h];
        if (v !== undefined) keptHeaders[h] = v;
      }
      return { kind: 'accept', deliveryId: id, eventType: type, keptHeaders };
    },
  };
}
