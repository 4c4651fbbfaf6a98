import { type KeyObject, sign, verify } from 'node:crypto';
import type { ResolvedAsymmetric } from '../shared/declaration.ts';
import { bodyDigest, decodeBase64, decodeBase64Up, decodeHex, decodeHexUp } from './common.ts';
import { parseAsymmetricKey } from './keys.ts';
import { nameDelivery } from './naming.ts';
import {
  planSignedRequest,
  readSignedRequest,
  type SignerValues,
  signedRequestKey,
  signRequest,
} from './signed-request.ts';
import { joinContent } from './template.ts';
import { type Provider, reject401, type Verdict } from './types.ts';

/**
 * A sender that signs with a private key: Ed25519, or ECDSA on P-256 with SHA-256
 * (DER or raw r‖s signatures), hex or base64, over a template of the request
 * (template.ts), in a plain or structured header (signed-request.ts). hookonce
 * holds only the sender's public keys, from the declaration: not secret, they are
 * parsed when the function starts, so a bad key fails the cold start with the
 * provider named. Any offered signature that verifies with any listed key passes
 * (a sender rotating its key). Names follow the same rules as `hmac`.
 */
export type AsymmetricOptions = { name: string; maxBodyBytes: number } & Omit<
  ResolvedAsymmetric,
  'scheme'
>;

const ED25519_SIGNATURE_BYTES = 64;
/** An ECDSA P-256 signature: r‖s is 64 bytes, DER at most 72. */
const P256_RAW_BYTES = 64;
const P256_DER_MAX_BYTES = 72;

/**
 * Whether `bytes` is shaped as a DER ECDSA signature, SEQUENCE { INTEGER r,
 * INTEGER s }, each integer 1 to 33 bytes: anything else is malformed, not a
 * signature that happens not to match.
 */
function isDerSignature(bytes: Uint8Array): boolean {
  if (bytes.length < 8 || bytes[0] !== 0x30 || bytes[1] !== bytes.length - 2) return false;
  let at = 2;
  for (let i = 0; i < 2; i++) {
    if (bytes[at] !== 0x02) return false;
    const length = bytes[at + 1] ?? 0;
    if (length < 1 || length > 33) return false;
    at += 2 + length;
  }
  return at === bytes.length;
}

/** Decodes one offered signature of this algorithm and format; undefined when it is none. */
function signatureDecoder(options: AsymmetricOptions): (text: string) => Buffer | undefined {
  const hex = options.encoding === 'hex';
  if (options.algorithm === 'ed25519' || options.signatureFormat === 'raw') {
    const bytes = options.algorithm === 'ed25519' ? ED25519_SIGNATURE_BYTES : P256_RAW_BYTES;
    return (text) => (hex ? decodeHex(text, bytes) : decodeBase64(text, bytes));
  }
  return (text) => {
    const bytes = hex
      ? decodeHexUp(text, P256_DER_MAX_BYTES)
      : decodeBase64Up(text, P256_DER_MAX_BYTES);
    return bytes && isDerSignature(bytes) ? bytes : undefined;
  };
}

/** What the algorithm's signatures look like, for messages. */
function signatureWords(options: AsymmetricOptions): string {
  if (options.algorithm === 'ed25519')
    return `the ${options.encoding} of a 64-byte Ed25519 signature`;
  return options.signatureFormat === 'raw'
    ? `the ${options.encoding} of a 64-byte ECDSA P-256 signature (r‖s)`
    : `the ${options.encoding} of a DER ECDSA P-256 signature`;
}

/** Whether `signature` is `key`'s over `content`; never throws. */
function verifies(
  options: AsymmetricOptions,
  key: KeyObject,
  content: Uint8Array,
  signature: Buffer,
): boolean {
  try {
    if (options.algorithm === 'ed25519') return verify(null, content, key, signature);
    const dsaEncoding = options.signatureFormat === 'raw' ? 'ieee-p1363' : 'der';
    return verify('sha256', content, { key, dsaEncoding }, signature);
  } catch {
    return false;
  }
}

export function asymmetricProvider(options: AsymmetricOptions): Provider {
  const { name, maxBodyBytes } = options;
  const keys = options.publicKeys.map((text, i) =>
    parseAsymmetricKey(text, options.algorithm, `provider "${name}": publicKeys[${i}]`),
  );
  const plan = planSignedRequest(options, signatureWords(options));
  const decode = signatureDecoder(options);

  return {
    name,
    maxBodyBytes,
    secretless: true,
    checkSecrets() {
      // The public keys are in the declaration, parsed above: there is no secret to check.
    },
    inspect(request, context): Verdict {
      const read = readSignedRequest(request, context, plan, decode);
      if ('kind' in read) return read;
      // Every offered signature against every key, without an early exit; every part must verify.
      let all = true;
      for (const part of read.parts) {
        const content = joinContent(part.content);
        let matched = false;
        for (const signature of part.signatures) {
          for (const key of keys) {
            if (verifies(options, key, content, signature)) matched = true;
          }
        }
        if (!matched) all = false;
      }
      if (!all) {
        return reject401(
          'signature_mismatch',
          `${plan.where} does not verify the ${options.signedContent} of this request with any of the sender's public keys`,
        );
      }
      return nameDelivery(
        request,
        context,
        options,
        plan.covered,
        () => signedRequestKey(plan, read, () => bodyDigest(request, context), request),
        plan.keptHeaders,
      );
    },
  };
}

/**
 * Signs as such a sender does, for tests and the CLI: `privateKey` is a node:crypto
 * private key of the declared algorithm. Answers the signature header (and the
 * timestamp and id headers the declaration names).
 */
export function signAsymmetric(
  options: Omit<AsymmetricOptions, 'name' | 'maxBodyBytes' | 'publicKeys'>,
  values: SignerValues & { readonly privateKey: KeyObject },
): Record<string, string> {
  return signRequest(options, values, (content) =>
    (options.algorithm === 'ed25519'
      ? sign(null, content, values.privateKey)
      : sign('sha256', content, {
          key: values.privateKey,
          dsaEncoding: options.signatureFormat === 'raw' ? 'ieee-p1363' : 'der',
        })
    ).toString(options.encoding),
  );
}
