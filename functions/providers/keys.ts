import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { JsonWebKeyEntry, JwtAlgorithm } from '../shared/declaration.ts';
import { ConfigError } from '../shared/errors.ts';

/**
 * Public keys as senders publish them, read with node:crypto: PEM, the base64 of a
 * DER SubjectPublicKeyInfo, an Ed25519 key's 32 raw bytes (hex or base64), an
 * uncompressed P-256 point, or a JWK. The declaration checks them at synth
 * (asymmetricKeyProblem, jwtKeyProblems); the verifiers parse them again at cold
 * start, where a bad key fails the start with the provider named.
 */

export type AsymmetricAlgorithm = 'ed25519' | 'ecdsa-p256-sha256';

/** DER prefixes that wrap a raw key into a SubjectPublicKeyInfo. */
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const SPKI_P256 = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

const HEX_32 = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** What a key must be, in words, for messages. */
const EXPECTED: Readonly<Record<AsymmetricAlgorithm, string>> = {
  ed25519:
    'an Ed25519 public key: PEM, the base64 of its DER SubjectPublicKeyInfo, or its 32 bytes in hex or base64',
  'ecdsa-p256-sha256':
    'a P-256 (prime256v1) public key: PEM, or the base64 of its DER SubjectPublicKeyInfo',
};

const privateKeyProblem = (text: string): string | undefined =>
  /PRIVATE KEY/.test(text)
    ? "is a private key: give the sender's public key, and keep the private key with the sender"
    : undefined;

/** The key a text holds, whatever its form; undefined when it holds none. */
function readKey(text: string, algorithm: AsymmetricAlgorithm | 'any'): KeyObject | undefined {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('-----BEGIN')) return createPublicKey(trimmed);
    if (algorithm === 'ed25519' && HEX_32.test(trimmed)) {
      const der = Buffer.concat([SPKI_ED25519, Buffer.from(trimmed, 'hex')]);
      return createPublicKey({ key: der, format: 'der', type: 'spki' });
    }
    if (!BASE64.test(trimmed)) return undefined;
    const bytes = Buffer.from(trimmed, 'base64');
    if (algorithm === 'ed25519' && bytes.length === 32) {
      return createPublicKey({
        key: Buffer.concat([SPKI_ED25519, bytes]),
        format: 'der',
        type: 'spki',
      });
    }
    if (algorithm === 'ecdsa-p256-sha256' && bytes.length === 65 && bytes[0] === 0x04) {
      return createPublicKey({
        key: Buffer.concat([SPKI_P256, bytes]),
        format: 'der',
        type: 'spki',
      });
    }
    return createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

const isEd25519 = (key: KeyObject): boolean => key.asymmetricKeyType === 'ed25519';
const isP256 = (key: KeyObject): boolean =>
  key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';

/** What is wrong with a key for `algorithm`, in words after "publicKeys[i] "; undefined when nothing is. */
export function asymmetricKeyProblem(
  text: unknown,
  algorithm: AsymmetricAlgorithm,
): string | undefined {
  if (typeof text !== 'string' || text.trim() === '') return `must be ${EXPECTED[algorithm]}`;
  const secret = privateKeyProblem(text);
  if (secret) return secret;
  const key = readKey(text, algorithm);
  const fits = key && (algorithm === 'ed25519' ? isEd25519(key) : isP256(key));
  return fits ? undefined : `is not ${EXPECTED[algorithm]}`;
}

/** The node:crypto key of a public key text; throws a ConfigError naming `what` when it holds none. */
export function parseAsymmetricKey(
  text: string,
  algorithm: AsymmetricAlgorithm,
  what: string,
): KeyObject {
  const problem = asymmetricKeyProblem(text, algorithm);
  const key = problem ? undefined : readKey(text, algorithm);
  if (!key) throw new ConfigError(`${what} ${problem ?? `is not ${EXPECTED[algorithm]}`}`);
  return key;
}

/** A key a JWT may be verified with. */
export interface JwtKey {
  readonly key: KeyObject;
  /** The one algorithm the key verifies: its type decides (RSA: RS256, P-256: ES256, Ed25519: EdDSA). */
  readonly alg: JwtAlgorithm;
  readonly kid?: string;
}

/** The least RSA modulus accepted, in bits. */
const MIN_RSA_BITS = 2048;

/** The JWT algorithm a key serves, or why it serves none. */
function jwtAlgorithmOf(key: KeyObject): JwtAlgorithm | string {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits >= MIN_RSA_BITS
      ? 'RS256'
      : `is an RSA key of ${bits} bits, fewer than ${MIN_RSA_BITS}`;
  }
  if (isP256(key)) return 'ES256';
  if (isEd25519(key)) return 'EdDSA';
  return 'is neither an RSA, a P-256 nor an Ed25519 public key';
}

const ALG_OF_JWK_KTY: Readonly<Record<string, string>> = {
  RSA: 'RS256',
  EC: 'ES256',
  OKP: 'EdDSA',
};

/** Reads every configured key; answers the keys and the problems, one sentence each. */
function readJwtKeys(
  options: { publicKeys?: readonly string[]; jwks?: { keys: readonly JsonWebKeyEntry[] } },
  algorithms: readonly JwtAlgorithm[],
): { keys: JwtKey[]; problems: string[] } {
  const keys: JwtKey[] = [];
  const problems: string[] = [];
  const admit = (what: string, key: KeyObject, kid: string | undefined, declaredAlg?: unknown) => {
    const alg = jwtAlgorithmOf(key);
    if (alg !== 'RS256' && alg !== 'ES256' && alg !== 'EdDSA') {
      problems.push(`${what} ${alg}`);
      return;
    }
    if (declaredAlg !== undefined && declaredAlg !== alg) {
      problems.push(`${what} says alg "${String(declaredAlg)}" but is a key for ${alg}`);
      return;
    }
    if (!algorithms.includes(alg)) {
      problems.push(`${what} is a key for ${alg}, which algorithms does not allow`);
      return;
    }
    keys.push({ key, alg, ...(kid !== undefined ? { kid } : {}) });
  };
  (options.publicKeys ?? []).forEach((text, i) => {
    const what = `publicKeys[${i}]`;
    if (typeof text !== 'string' || text.trim() === '') {
      problems.push(`${what} must be a PEM or base64 DER public key`);
      return;
    }
    const secret = privateKeyProblem(text);
    const key = secret ? undefined : readKey(text, 'any');
    if (!key) {
      problems.push(`${what} ${secret ?? 'is not a PEM or base64 DER public key'}`);
      return;
    }
    admit(what, key, undefined);
  });
  (options.jwks?.keys ?? []).forEach((jwk, i) => {
    const what = `jwks.keys[${i}]${typeof jwk?.kid === 'string' ? ` (kid "${jwk.kid}")` : ''}`;
    if (jwk === null || typeof jwk !== 'object' || typeof jwk.kty !== 'string') {
      problems.push(`${what} must be a JWK object with a "kty"`);
      return;
    }
    if ('d' in jwk) {
      problems.push(`${what} holds a private key ("d"): keep only the public members`);
      return;
    }
    if (jwk.use !== undefined && jwk.use !== 'sig') {
      problems.push(
        `${what} has use "${String(jwk.use)}": only signing keys ("sig") verify tokens`,
      );
      return;
    }
    if (jwk.kid !== undefined && typeof jwk.kid !== 'string') {
      problems.push(`${what} has a kid that is not a string`);
      return;
    }
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      problems.push(
        `${what} is not a usable ${ALG_OF_JWK_KTY[jwk.kty] ? `${jwk.kty} key` : 'key (kty must be RSA, EC or OKP)'}`,
      );
      return;
    }
    admit(what, key, jwk.kid, jwk.alg);
  });
  return { keys, problems };
}

/** What is wrong with a JWT provider's keys, one sentence each: none when all verify with an allowed algorithm. */
export function jwtKeyProblems(
  options: { publicKeys?: readonly string[]; jwks?: { keys: readonly JsonWebKeyEntry[] } },
  algorithms: readonly JwtAlgorithm[],
): string[] {
  return readJwtKeys(options, algorithms).problems;
}

/** A JWT provider's keys; throws a ConfigError naming `what` and every problem. */
export function parseJwtKeys(
  options: { publicKeys?: readonly string[]; jwks?: { keys: readonly JsonWebKeyEntry[] } },
  algorithms: readonly JwtAlgorithm[],
  what: string,
): JwtKey[] {
  const { keys, problems } = readJwtKeys(options, algorithms);
  if (problems.length > 0) throw new ConfigError(`${what}: ${problems.join('; ')}`);
  if (keys.length === 0) throw new ConfigError(`${what}: no public key to verify tokens with`);
  return keys;
}
