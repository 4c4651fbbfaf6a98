import { createSecretKey, type KeyObject } from 'node:crypto';
import type { ResolvedHmac } from '../shared/declaration.ts';
import { ConfigError } from '../shared/errors.ts';
import {
  bodyDigest,
  checkSecretList,
  DIGEST_BYTES,
  decodeBase64,
  decodeHex,
  hmac,
  hmacChunks,
  MIN_SECRET_LENGTH,
  matchesOne,
  signedDigest,
  valueAt,
} from './common.ts';
import { nameDelivery } from './naming.ts';
import {
  planSignedRequest,
  readBodyTimestamp,
  readSignedRequest,
  type SignerValues,
  signedRequestKey,
  signRequest,
} from './signed-request.ts';
import { keyWithout, signerJson } from './template.ts';
import { type Provider, reject401, type Verdict } from './types.ts';

/**
 * Any HMAC signer, as declared: where the signature is (a header after a prefix
 * such as `sha256=`, or the items of a structured header such as `t=…,v1=…,v1=…`,
 * any one of which may match), the algorithm (sha1, sha256, sha512), the encoding
 * (hex, base64), how the secrets are written (raw text, hex, base64, `whsec_`),
 * where the signed timestamp is (a header, an item of the signature header, or a
 * field of the signed JSON body) and how it is written, and what is signed: a
 * template such as `{timestamp}.{body}` or `{method}{url}{body}` (template.ts). With
 * a timestamp the replay window applies; a timestamp in the body is read only once
 * the signature matched.
 *
 * The key of a delivery is taken only from what is signed: a JSON field of the
 * body, an id header the template signs (`{id}`), and otherwise a digest of the
 * signed content without its timestamp (the body's SHA-256 when the template signs
 * nothing else), with an unsigned id header kept for display and lookup. The
 * timestamp is left out: a sender's retry signs the same body at a new time, and
 * must stay the same delivery. A timestamp in the body is left out of the body's
 * digest where the raw body can be cut around its value (template.ts, bodyAround).
 */
export type HmacOptions = { name: string; maxBodyBytes: number } & Omit<ResolvedHmac, 'scheme'>;

type SecretEncoding = NonNullable<ResolvedHmac['secretEncoding']>;

const WHSEC = 'whsec_';
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Where a secret of each encoding comes from, for messages that never repeat it. */
const SECRET_HINTS: Readonly<Record<SecretEncoding, string>> = {
  raw: "an HMAC secret is the shared key exactly as the sender uses it (its UTF-8 bytes), without whitespace: copy it from where the sender's webhook settings show its signing secret",
  hex: 'this HMAC secret is declared hex (secretEncoding: "hex"): an even number of hex digits, at least 16 bytes',
  base64:
    'this HMAC secret is declared base64 (secretEncoding: "base64"): canonical base64 of at least 16 bytes, "=" padding optional',
  whsec: `this HMAC secret is declared "${WHSEC}" (secretEncoding: "whsec"): "${WHSEC}" followed by canonical base64 of at least 16 bytes, copied whole`,
};

/** The key bytes of a secret written in `encoding`, or undefined when it is not so written. */
export function decodeSecret(secret: string, encoding: SecretEncoding): Buffer | undefined {
  if (encoding === 'raw') return Buffer.from(secret, 'utf8');
  if (encoding === 'hex') return HEX.test(secret) ? Buffer.from(secret, 'hex') : undefined;
  if (encoding === 'whsec' && !secret.startsWith(WHSEC)) return undefined;
  const encoded = encoding === 'whsec' ? secret.slice(WHSEC.length) : secret;
  if (!BASE64.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64');
  const unpadded = (s: string) => s.replace(/=+$/, '');
  return unpadded(decoded.toString('base64')) === unpadded(encoded) ? decoded : undefined;
}

/**
 * The key bytes of a secret written in `encoding`, once it is well formed and
 * strong enough; throws a ConfigError (naming the provider, never the secret).
 */
export function hmacKey(provider: string, secret: string, encoding: SecretEncoding): Buffer {
  if (encoding === 'raw') checkSecretList(provider, [secret], SECRET_HINTS.raw);
  const key = decodeSecret(secret, encoding);
  if (!key) {
    throw new ConfigError(
      `a secret of provider "${provider}" is not written as declared: ${SECRET_HINTS[encoding]}`,
    );
  }
  if (key.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `a secret of provider "${provider}" holds fewer than ${MIN_SECRET_LENGTH} bytes, too weak to sign with: ${SECRET_HINTS[encoding]}`,
    );
  }
  return key;
}

function decodeSignature(
  text: string,
  encoding: 'hex' | 'base64',
  bytes: number,
): Buffer | undefined {
  return encoding === 'hex' ? decodeHex(text, bytes) : decodeBase64(text, bytes);
}

/**
 * The key of a delivery whose id is not signed, for a template that signs the body
 * alone: the SHA-256 of the body in hex, or, with a `timestampField`, of the body
 * without that field's value (keyWithout), as the verifier keys it.
 */
export function contentDeliveryId(body: Uint8Array, timestampField?: string): string {
  if (timestampField === undefined) return signedDigest(body);
  const value = valueAt(signerJson(body), timestampField);
  return value === undefined
    ? signedDigest(body)
    : keyWithout(body, timestampField, JSON.stringify(value));
}

export function hmacProvider(options: HmacOptions): Provider {
  const { name, maxBodyBytes, algorithm, encoding } = options;
  const secretEncoding = options.secretEncoding ?? 'raw';
  const bytes = DIGEST_BYTES[algorithm];
  const plan = planSignedRequest(
    options,
    `the ${encoding} of a ${bytes}-byte HMAC-${algorithm.toUpperCase()}`,
  );
  /**
   * Keys are kept as KeyObjects, made once per secret: Node's HMAC keyed by a
   * KeyObject is faster on small bodies than one keyed by text (B3). A secret that
   * does not decode (checked at cold start where secrets are known) verifies nothing.
   */
  const decode = (text: string) => decodeSignature(text, encoding, bytes);
  const keys = new Map<string, KeyObject | null>();
  const keyOf = (secret: string): KeyObject | null => {
    let key = keys.get(secret);
    if (key === undefined) {
      try {
        key = createSecretKey(hmacKey(name, secret, secretEncoding));
      } catch {
        key = null;
      }
      keys.set(secret, key);
    }
    return key;
  };

  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      if (secrets.length === 0) throw new ConfigError(`provider "${name}" has no secret`);
      for (const secret of secrets) hmacKey(name, secret, secretEncoding);
    },
    inspect(request, context): Verdict {
      const read = readSignedRequest(request, context, plan, decode);
      if ('kind' in read) return read;
      // Every part must match some active secret, every secret tried without an early exit;
      // the first that matches may sign a handshake's reply.
      let verifiedBy: KeyObject | undefined;
      let all = read.parts.length > 0;
      for (const part of read.parts) {
        let matched = false;
        for (const secret of context.secrets) {
          const key = keyOf(secret);
          if (key && matchesOne(part.signatures, hmacChunks(algorithm, key, part.content))) {
            matched = true;
            verifiedBy ??= key;
          }
        }
        if (!matched) all = false;
      }
      if (!all || !verifiedBy) {
        return reject401(
          'signature_mismatch',
          `${plan.where} does not match the ${options.signedContent} of this request with any active secret`,
        );
      }
      // A timestamp in the body is read only now: what is signed is the body.
      let timestamp: { readonly json: string } | undefined;
      if (plan.bodyTimestamp) {
        const checked = readBodyTimestamp(plan.bodyTimestamp, context);
        if ('kind' in checked) return checked;
        timestamp = checked;
      }
      const signingKey = verifiedBy;
      return nameDelivery(
        request,
        context,
        options,
        plan.covered,
        () => signedRequestKey(plan, read, () => bodyDigest(request, context), request, timestamp),
        plan.keptHeaders,
        (text) => hmac(algorithm, signingKey, text).toString(encoding),
      );
    },
  };
}

/**
 * The headers such a sender would send: the signature (with its prefix, or as a
 * structured header), and the timestamp and delivery id headers when the
 * declaration has them. `url` and `method` are what a template's {url}, {path} and
 * {method} read (default: POST to https://hooks.example.com/webhooks/hmac).
 */
export function signHmac(
  options: Omit<HmacOptions, 'name' | 'maxBodyBytes'>,
  values: SignerValues & { readonly secret: string },
): Record<string, string> {
  const key = decodeSecret(values.secret, options.secretEncoding ?? 'raw');
  if (!key) throw new ConfigError(SECRET_HINTS[options.secretEncoding ?? 'raw']);
  return signRequest(options, values, (content) =>
    hmac(options.algorithm, key, content).toString(options.encoding),
  );
}
