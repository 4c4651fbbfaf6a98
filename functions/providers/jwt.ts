import { createHash, verify } from 'node:crypto';
import type { JwtAlgorithm, ResolvedJwt } from '../shared/declaration.ts';
import { bodyDigest, decodeHex, isRecord, matchesAny, signedDigest } from './common.ts';
import { type JwtKey, parseJwtKeys } from './keys.ts';
import { keptHeaderNames, nameDelivery } from './naming.ts';
import { afterPrefix } from './token.ts';
import { type Provider, type Rejection, reject401, type Verdict } from './types.ts';

/**
 * A JWT (RFC 7519) in a header, `Authorization: Bearer …` by default, verified
 * with node:crypto against the public keys and JWKS document of the declaration
 * (nothing is fetched at run time). The token's `alg` must be one the declaration
 * allows, and the key's type decides the one algorithm it verifies: RS256 (RSA of
 * 2048 bits or more), ES256 (P-256) or EdDSA (Ed25519). `none` and the HS
 * algorithms are never accepted (a public key is no HMAC secret). A `kid` picks
 * the keys of that kid (keys without one are tried too). Then `exp`, `nbf` and
 * `iat` are checked against the clock with `toleranceSeconds` of skew, `iat`
 * against `maxAgeSeconds` when declared, `iss` and `aud` against the declared
 * lists, and a body-hash claim (Plaid's `request_body_sha256`) against the
 * body's SHA-256.
 *
 * The body is signed only through that claim. With it, a JSON field of the body
 * may key a delivery; a claim (`jti`) always may. Otherwise the key is the
 * body's SHA-256 (or, with `deliveryKey: 'token'`, that of the token's header and
 * claims, so each token is one delivery) and a declared id is kept for display.
 */
export type JwtOptions = { name: string; maxBodyBytes: number } & Omit<ResolvedJwt, 'scheme'>;

/** The longest token read: far above any provider's. */
export const MAX_TOKEN_CHARS = 16 * 1024;

/** base64url without padding; an empty signature (alg none) is read, then refused for its alg. */
const SEGMENT = /^[A-Za-z0-9_-]*$/;

/** The bytes of a base64url segment (RFC 7515: no padding), or undefined unless canonical. */
function decodeSegment(text: string): Buffer | undefined {
  if (!SEGMENT.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

/** A JSON object from a segment's bytes, or undefined. */
function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes of a signature of each algorithm, where fixed. */
const SIGNATURE_BYTES: Readonly<Partial<Record<JwtAlgorithm, number>>> = { ES256: 64, EdDSA: 64 };

function verifies(key: JwtKey, input: Buffer, signature: Buffer): boolean {
  try {
    switch (key.alg) {
      case 'RS256':
        return verify('sha256', input, key.key, signature);
      case 'ES256':
        return verify('sha256', input, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'EdDSA':
        return verify(null, input, key.key, signature);
    }
  } catch {
    return false;
  }
}

/** A NumericDate claim (seconds since the epoch): its value, undefined when absent, or a rejection. */
function numericDate(
  claims: Record<string, unknown>,
  name: string,
): number | undefined | Rejection {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return reject401(
      'malformed_timestamp',
      `the token's "${name}" claim must be seconds since the epoch`,
    );
  }
  return value;
}

const isRejection = (value: unknown): value is Rejection =>
  typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'reject';

/** The time claims against the clock: a rejection, or undefined when they all hold. */
function checkTimes(
  claims: Record<string, unknown>,
  options: JwtOptions,
  nowMs: number,
): Rejection | undefined {
  const now = nowMs / 1000;
  const skew = options.toleranceSeconds;
  const exp = numericDate(claims, 'exp');
  const nbf = numericDate(claims, 'nbf');
  const iat = numericDate(claims, 'iat');
  for (const value of [exp, nbf, iat]) if (isRejection(value)) return value;
  if (typeof exp === 'number' && now > exp + skew) {
    return reject401('timestamp_too_old', `the token expired more than ${skew} s ago`);
  }
  if (typeof nbf === 'number' && now < nbf - skew) {
    return reject401('timestamp_too_new', `the token is not valid yet: check the sender's clock`);
  }
  if (typeof iat === 'number' && iat > now + skew) {
    return reject401(
      'timestamp_too_new',
      `the token was issued more than ${skew} s in the future: check the sender's clock`,
    );
  }
  if (options.maxAgeSeconds !== undefined) {
    if (iat === undefined) {
      return reject401(
        'missing_timestamp',
        'the token has no "iat" claim, and its age must be known',
      );
    }
    if (typeof iat === 'number' && iat < now - options.maxAgeSeconds) {
      return reject401(
        'timestamp_too_old',
        `the token was issued more than ${options.maxAgeSeconds} s ago: a replay, or a clock far behind`,
      );
    }
  }
  return undefined;
}

export function jwtProvider(options: JwtOptions): Provider {
  const { name, maxBodyBytes, header, prefix } = options;
  const keys = parseJwtKeys(options, options.algorithms, `provider "${name}"`);
  const kept = keptHeaderNames(options, [header, 'authorization']);
  const noHeaders = new Set<string>();

  return {
    name,
    maxBodyBytes,
    secretless: true,
    checkSecrets() {
      // The keys are in the declaration, parsed above: there is no secret to check.
    },
    inspect(request, context): Verdict {
      const value = request.headers[header];
      if (!value) return reject401('missing_signature', `the ${header} header is missing`);
      const token = value.length <= MAX_TOKEN_CHARS ? afterPrefix(value, prefix) : undefined;
      const segments = token?.split('.') ?? [];
      const malformed = () =>
        reject401(
          'malformed_signature',
          `${header} must be ${prefix ? `"${prefix}" and ` : ''}a signed JWT (three base64url segments)`,
        );
      if (segments.length !== 3) return malformed();
      const [headerText = '', payloadText = '', signatureText = ''] = segments;
      const headerBytes = decodeSegment(headerText);
      const payloadBytes = decodeSegment(payloadText);
      const signature = decodeSegment(signatureText);
      const joseHeader = headerBytes && jsonObject(headerBytes);
      if (!joseHeader || !payloadBytes || !signature) return malformed();
      // No extension is understood, so a token that makes one critical is refused (RFC 7515, 4.1.11).
      if (joseHeader.crit !== undefined) return malformed();

      const alg = joseHeader.alg;
      if (typeof alg !== 'string' || !(options.algorithms as readonly string[]).includes(alg)) {
        return reject401(
          'algorithm_not_allowed',
          `the token's alg is not one this provider allows (${options.algorithms.join(', ')})`,
        );
      }
      const fixed = SIGNATURE_BYTES[alg as JwtAlgorithm];
      if (fixed !== undefined && signature.length !== fixed) return malformed();
      const kid = typeof joseHeader.kid === 'string' ? joseHeader.kid : undefined;
      const input = Buffer.from(`${headerText}.${payloadText}`);
      let matched = false;
      for (const key of keys) {
        if (key.alg !== alg) continue;
        if (kid !== undefined && key.kid !== undefined && key.kid !== kid) continue;
        if (verifies(key, input, signature)) matched = true;
      }
      if (!matched) {
        return reject401(
          'signature_mismatch',
          "the token's signature does not verify with any of the provider's keys for its alg and kid",
        );
      }

      const claims = jsonObject(payloadBytes);
      if (!claims) {
        return reject401(
          'malformed_signature',
          "the token's payload is not a JSON object of claims",
        );
      }
      const stale = checkTimes(claims, options, context.now);
      if (stale) return stale;
      if (
        options.issuer &&
        !(typeof claims.iss === 'string' && options.issuer.includes(claims.iss))
      ) {
        return reject401(
          'claim_mismatch',
          "the token's issuer (iss) is not one this provider accepts",
        );
      }
      if (options.audience) {
        const aud = claims.aud;
        const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
        if (!audiences.some((a) => typeof a === 'string' && options.audience?.includes(a))) {
          return reject401(
            'claim_mismatch',
            "the token's audience (aud) holds none this provider accepts",
          );
        }
      }
      if (options.bodyHashClaim !== undefined) {
        const claimed = claims[options.bodyHashClaim];
        const signedHash = typeof claimed === 'string' ? decodeHex(claimed, 32) : undefined;
        if (!signedHash) {
          return reject401(
            'malformed_signature',
            `the token has no "${options.bodyHashClaim}" claim holding the hex SHA-256 of the body`,
          );
        }
        const actual = createHash('sha256').update(request.rawBody).digest();
        if (!matchesAny([signedHash], [actual])) {
          return reject401(
            'signature_mismatch',
            `the body does not match the "${options.bodyHashClaim}" the token signs: check that nothing in front of hookonce re-encodes the body`,
          );
        }
      }
      return nameDelivery(
        request,
        context,
        options,
        { body: options.bodyHashClaim !== undefined, headers: noHeaders, claims },
        // The token's signed part, never its signature: an ECDSA signature has a second valid form.
        options.deliveryKey === 'token'
          ? () => signedDigest(input)
          : () => bodyDigest(request, context),
        kept,
      );
    },
  };
}
