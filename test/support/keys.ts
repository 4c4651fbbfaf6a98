import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import nacl from 'tweetnacl';

/**
 * Key pairs for the asymmetric and JWT tests, made by libraries other than
 * hookonce's verifier: tweetnacl for Ed25519 (Discord's reference), starkbank-ecdsa
 * for ECDSA P-256 (what @sendgrid/eventwebhook verifies with).
 */

/** An Ed25519 key pair from a fixed seed: the same keys on every run. */
export function ed25519Pair(seedByte: number): {
  publicHex: string;
  secretKey: Uint8Array;
  privateKey: KeyObject;
  publicKey: KeyObject;
} {
  const seed = new Uint8Array(32).fill(seedByte);
  const pair = nacl.sign.keyPair.fromSeed(seed);
  const privateKey = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return {
    publicHex: Buffer.from(pair.publicKey).toString('hex'),
    secretKey: pair.secretKey,
    privateKey,
    publicKey: createPublicKey(privateKey),
  };
}

/** tweetnacl's detached Ed25519 signature of `message`, in hex. */
export const naclSignHex = (message: string | Buffer, secretKey: Uint8Array): string =>
  Buffer.from(nacl.sign.detached(Buffer.from(message), secretKey)).toString('hex');

/** The part of starkbank-ecdsa the tests use (it ships no types). */
interface Starkbank {
  PrivateKey: new (
    curve?: unknown,
    secret?: unknown,
  ) => {
    publicKey(): { toPem(): string; toDer(): string };
    toPem(): string;
  };
  Ecdsa: { sign(message: string, key: unknown): { toBase64(): string } };
}

/** starkbank-ecdsa, resolved beside @sendgrid/eventwebhook (which verifies with it). */
const starkbank = createRequire(createRequire(import.meta.url).resolve('@sendgrid/eventwebhook'))(
  'starkbank-ecdsa',
) as Starkbank;
const prime256v1 = (
  createRequire(createRequire(import.meta.url).resolve('@sendgrid/eventwebhook'))(
    'starkbank-ecdsa/ellipticcurve/curve',
  ) as { prime256v1: unknown }
).prime256v1;

/** A P-256 key pair made by starkbank-ecdsa: its public key as PEM and as base64 DER (SendGrid's form). */
export function starkbankP256(): {
  sign(message: string): string;
  publicPem: string;
  publicBase64Der: string;
} {
  const key = new starkbank.PrivateKey(prime256v1);
  const publicPem = key.publicKey().toPem();
  const der = createPublicKey(publicPem).export({ format: 'der', type: 'spki' });
  return {
    sign: (message) => starkbank.Ecdsa.sign(message, key).toBase64(),
    publicPem,
    publicBase64Der: der.toString('base64'),
  };
}
