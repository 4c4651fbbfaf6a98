import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { ConfigError } from '../shared/errors.ts';
import { checkTimestamp, decodeBase64, hmac, isRecord, keepHeaders, matchesAny } from './common.ts';
import { type Provider, reject400, reject401, type Verdict } from './types.ts';

/**
 * Standard Webhooks (https://www.standardwebhooks.com), both signature kinds:
 *   webhook-signature: v1,<base64 HMAC-SHA256> v1a,<base64 Ed25519> …
 * over "id.timestamp.body". `v1` signatures verify with `whsec_<base64 key>` secrets,
 * `v1a` signatures with `whpk_<base64 of the 32-byte Ed25519 public key>` keys. The
 * active list may mix both while a sender moves from one to the other; a sender
 * rotating its key lists a signature per key, and any one that verifies is enough.
 *
 * Svix, the specification's origin, names the same three headers `svix-id`,
 * `svix-timestamp` and `svix-signature`, and every Svix library reads either name.
 * So does this verifier, header by header as Svix's do: the `svix-` one when it is
 * present and not empty, else the `webhook-` one. The choice cannot be abused: the
 * signature that is checked covers the id and the timestamp that were read, and the
 * id is the key whichever name carried it.
 */
export const STANDARD_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

/** The Svix names of the same headers. */
export const SVIX_HEADERS = {
  id: 'svix-id',
  timestamp: 'svix-timestamp',
  signature: 'svix-signature',
} as const;

/** A header under its Svix name (when present and not empty), else its Standard Webhooks name. */
function eitherHeader(
  headers: Readonly<Record<string, string | undefined>>,
  which: keyof typeof STANDARD_HEADERS,
): string | undefined {
  return headers[SVIX_HEADERS[which]] || headers[STANDARD_HEADERS[which]];
}

const SECRET_PREFIX = 'whsec_';
const PUBLIC_KEY_PREFIX = 'whpk_';
const PRIVATE_KEY_PREFIX = 'whsk_';
const ED25519_KEY_BYTES = 32;
/** A v1 signature is the base64 of a 32-byte HMAC-SHA256, a v1a one of a 64-byte Ed25519 signature. */
const HMAC_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const KEPT_HEADERS = [
  'webhook-id',
  'webhook-timestamp',
  'svix-id',
  'svix-timestamp',
  'content-type',
  'user-agent',
];

/** DER prefixes that turn a raw Ed25519 key into SPKI (public) or PKCS#8 (private) for node:crypto. */
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * A `v1` key is kept as a KeyObject: Node's HMAC keyed by a KeyObject is several
 * times faster on small bodies than one keyed by a Buffer (measured by B3).
 */
type VerifyingKey =
  | { readonly kind: 'v1'; readonly key: KeyObject }
  | { readonly kind: 'v1a'; readonly key: KeyObject };

function base64Body(secret: string, prefix: string, what: string): Buffer {
  const encoded = secret.slice(prefix.length);
  if (encoded.length === 0 || !BASE64.test(encoded)) {
    throw new ConfigError(`${what} is "${prefix}" followed by base64`);
  }
  return Buffer.from(encoded, 'base64');
}

export function decodeStandardSecret(secret: string): Buffer {
  const prefix = secret.startsWith(SECRET_PREFIX) ? SECRET_PREFIX : '';
  return base64Body(secret, prefix, 'a Standard Webhooks secret');
}

/** A `whpk_` key as a node:crypto public key. */
export function decodeStandardPublicKey(key: string): KeyObject {
  const raw = base64Body(key, PUBLIC_KEY_PREFIX, 'a Standard Webhooks public key');
  if (raw.length !== ED25519_KEY_BYTES) {
    throw new ConfigError(
      `a Standard Webhooks public key is "${PUBLIC_KEY_PREFIX}" and the base64 of a ${ED25519_KEY_BYTES}-byte Ed25519 key`,
    );
  }
  try {
    return createPublicKey({
      key: Buffer.concat([SPKI_ED25519, raw]),
      format: 'der',
      type: 'spki',
    });
  } catch {
    throw new ConfigError('a Standard Webhooks public key does not hold a usable Ed25519 key');
  }
}

/** The fewest bytes a `whsec_` key may hold: a shorter one is refused at cold start. */
const MIN_SECRET_BYTES = 16;
const SECRET_WHERE =
  'copy it whole from where the sender shows the signing secret of this endpoint (its webhook or endpoint settings)';

/**
 * The HMAC key a `whsec_` secret (or bare base64 key) holds, once it is known to be
 * canonical base64 (re-encoding the key gives the same text back, so nothing was
 * dropped, cut or re-padded on the way) of at least MIN_SECRET_BYTES bytes.
 */
function strongSecretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (encoded.length === 0 || !BASE64.test(encoded) || key.toString('base64') !== encoded) {
    throw new ConfigError(
      `a Standard Webhooks secret is "${SECRET_PREFIX}" followed by canonical base64 ("=" padding included): ${SECRET_WHERE}`,
    );
  }
  if (key.length < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `a Standard Webhooks secret holds at least ${MIN_SECRET_BYTES} bytes (${Math.ceil(MIN_SECRET_BYTES / 3) * 4} base64 characters after "${SECRET_PREFIX}"): ${SECRET_WHERE}`,
    );
  }
  return key;
}

function parseVerifyingKey(secret: string): VerifyingKey {
  if (secret.startsWith(PRIVATE_KEY_PREFIX)) {
    throw new ConfigError(
      `"${PRIVATE_KEY_PREFIX}" is the sender's private key: give hookonce the "${PUBLIC_KEY_PREFIX}" public key instead, and keep the private key with the sender`,
    );
  }
  if (secret.startsWith(PUBLIC_KEY_PREFIX)) {
    return { kind: 'v1a', key: decodeStandardPublicKey(secret) };
  }
  return { kind: 'v1', key: createSecretKey(strongSecretKey(secret)) };
}

/** The bytes a Standard Webhooks signature covers. */
const signedContent = (id: string, timestamp: string, body: Uint8Array): Buffer =>
  Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]);

export function standardWebhooks(options: {
  name: string;
  maxBodyBytes: number;
  toleranceSeconds: number;
}): Provider {
  const { name, maxBodyBytes, toleranceSeconds } = options;
  const keys = new Map<string, VerifyingKey>();
  const keyOf = (secret: string): VerifyingKey => {
    let key = keys.get(secret);
    if (!key) {
      key = parseVerifyingKey(secret);
      keys.set(secret, key);
    }
    return key;
  };
  /** Secrets were checked at cold start where they are known; one that fails later verifies nothing. */
  const usableKey = (secret: string): VerifyingKey | undefined => {
    try {
      return keyOf(secret);
    } catch {
      return undefined;
    }
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
      const signatureHeader = eitherHeader(headers, 'signature');
      if (!signatureHeader) {
        return reject401(
          'missing_signature',
          'the webhook-signature (or svix-signature) header is missing',
        );
      }
      const id = eitherHeader(headers, 'id');
      if (!id) {
        return reject400('missing_delivery_id', 'the webhook-id (or svix-id) header is missing');
      }
      const timestampHeader = eitherHeader(headers, 'timestamp');
      const stale = checkTimestamp(timestampHeader, {
        what: 'webhook-timestamp (or svix-timestamp)',
        nowMs: context.now,
        toleranceSeconds,
      });
      if (stale) return stale;
      const timestamp = timestampHeader ?? '';

      const v1: Buffer[] = [];
      const v1a: Buffer[] = [];
      for (const part of signatureHeader.split(' ')) {
        const comma = part.indexOf(',');
        if (comma < 0) continue;
        const version = part.slice(0, comma);
        // Only the canonical base64 of the right length counts: a truncated, garbled or
        // re-padded signature is called malformed, not compared as something else.
        const encoded = part.slice(comma + 1);
        if (version === 'v1') {
          const signature = decodeBase64(encoded, HMAC_BYTES);
          if (signature) v1.push(signature);
        } else if (version === 'v1a') {
          const signature = decodeBase64(encoded, ED25519_SIGNATURE_BYTES);
          if (signature) v1a.push(signature);
        }
      }
      if (v1.length === 0 && v1a.length === 0) {
        return reject401(
          'malformed_signature',
          'webhook-signature holds no "v1,<base64 of 32 bytes>" nor "v1a,<base64 of 64 bytes>" signature',
        );
      }

      // HMAC over the parts as they are (no copy of the body); Ed25519 needs them joined.
      const prefix = `${id}.${timestamp}.`;
      let signed: Buffer | undefined;
      const expectedV1: Buffer[] = [];
      let verifiedV1a = false;
      for (const secret of context.secrets) {
        const key = usableKey(secret);
        if (key?.kind === 'v1') {
          if (v1.length > 0) expectedV1.push(hmac('sha256', key.key, prefix, rawBody));
        } else if (key?.kind === 'v1a' && v1a.length > 0) {
          signed ??= signedContent(id, timestamp, rawBody);
          for (const signature of v1a) {
            if (verify(null, signed, key.key, signature)) verifiedV1a = true;
          }
        }
      }
      const matched = matchesAny(v1, expectedV1) || verifiedV1a;
      if (!matched) {
        return reject401(
          'signature_mismatch',
          'no webhook-signature matches the body with any active secret or public key',
        );
      }

      const body = context.json();
      if (body === undefined) return reject400('malformed_body', 'the body is not valid JSON');
      const type = isRecord(body) && typeof body.type === 'string' ? body.type : 'webhook';
      return {
        kind: 'accept',
        deliveryId: id,
        eventType: type,
        keptHeaders: keepHeaders(headers, KEPT_HEADERS),
      };
    },
  };
}

/**
 * Signs as a Standard Webhooks sender does, for the CLI: a `whsec_` secret (or bare
 * base64 key) gives a `v1` signature, a `whsk_` private key (base64 of the 32-byte
 * Ed25519 seed, or of the 64-byte seed and public key) a `v1a` one. Answers the
 * value of the webhook-signature header.
 */
export function signStandardWebhook(options: {
  secret: string;
  id: string;
  /** Whole seconds since the epoch. */
  timestamp: number;
  body: Uint8Array | string;
}): string {
  const { secret, id, timestamp } = options;
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
  const signed = signedContent(id, String(timestamp), body);
  if (secret.startsWith(PRIVATE_KEY_PREFIX)) {
    const raw = base64Body(secret, PRIVATE_KEY_PREFIX, 'a Standard Webhooks private key');
    if (raw.length !== ED25519_KEY_BYTES && raw.length !== 2 * ED25519_KEY_BYTES) {
      throw new ConfigError(
        `a Standard Webhooks private key is "${PRIVATE_KEY_PREFIX}" and the base64 of a 32-byte Ed25519 seed (or 64 bytes: seed and public key)`,
      );
    }
    const key = createPrivateKey({
      key: Buffer.concat([PKCS8_ED25519, raw.subarray(0, ED25519_KEY_BYTES)]),
      format: 'der',
      type: 'pkcs8',
    });
    return `v1a,${sign(null, signed, key).toString('base64')}`;
  }
  if (secret.startsWith(PUBLIC_KEY_PREFIX)) {
    throw new ConfigError(
      `a "${PUBLIC_KEY_PREFIX}" public key cannot sign: use the "${PRIVATE_KEY_PREFIX}" private key it belongs to, or a "${SECRET_PREFIX}" secret`,
    );
  }
  const key = decodeStandardSecret(secret);
  if (key.length === 0) throw new ConfigError('a Standard Webhooks secret is empty');
  return `v1,${hmac('sha256', key, signed).toString('base64')}`;
}
