import { createHash } from 'node:crypto';
import type { ResolvedToken } from '../shared/declaration.ts';
import { bodyDigest, checkSecretList, matchesAny } from './common.ts';
import { keptHeaderNames, nameDelivery } from './naming.ts';
import { type Provider, reject401, type Verdict } from './types.ts';

/**
 * A shared token in a header (`X-Gitlab-Token: …`, `Authorization: Bearer …`):
 * the request passes when the token equals one of the active secrets (list two
 * while rotating). The compare is on SHA-256 digests, in constant time and
 * without an early exit, so timing tells neither the token's length nor which
 * secret matched.
 *
 * A token signs nothing: it proves who sent the request, not what it holds.
 * So nothing in the request can key it (docs/security.md): the key of a delivery
 * is the SHA-256 of its body, which still makes a sender's retry of the same body
 * a duplicate, and a declared id is kept for display only. No timestamp is
 * signed: a copy is refused only while its key is kept (30 days by default).
 */
export type TokenOptions = { name: string; maxBodyBytes: number } & Omit<ResolvedToken, 'scheme'>;

/** The longest credentials header read: far above any token. */
export const MAX_CREDENTIALS_CHARS = 4096;

/** The SHA-256 of a credential's UTF-8 bytes: what the constant-time compare compares. */
export const credentialDigest = (credential: string | Uint8Array): Buffer =>
  createHash('sha256').update(credential).digest();

/** The digests of the active secrets, made once per secret. */
export function secretDigests(): (secrets: readonly string[]) => Buffer[] {
  const digests = new Map<string, Buffer>();
  return (secrets) =>
    secrets.map((secret) => {
      let digest = digests.get(secret);
      if (!digest) {
        digest = credentialDigest(secret);
        digests.set(secret, digest);
      }
      return digest;
    });
}

/** The value of a credentials header after its prefix (matched without regard to case); undefined when the prefix is not there. */
export function afterPrefix(value: string, prefix: string): string | undefined {
  if (value.length < prefix.length) return undefined;
  if (value.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return undefined;
  return value.slice(prefix.length).trim();
}

export function tokenProvider(options: TokenOptions): Provider {
  const { name, maxBodyBytes, header, prefix } = options;
  const digestsOf = secretDigests();
  const kept = keptHeaderNames(options, [header, 'authorization']);
  const covered = { body: false, headers: new Set<string>() };
  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      checkSecretList(
        name,
        secrets,
        "a token is the text the sender puts in its header, exactly (without the prefix), without whitespace: copy it from the sender's webhook settings, or make one with `openssl rand -hex 32` and give it to the sender",
      );
    },
    inspect(request, context): Verdict {
      const value = request.headers[header];
      if (!value) return reject401('missing_credentials', `the ${header} header is missing`);
      const token = value.length <= MAX_CREDENTIALS_CHARS ? afterPrefix(value, prefix) : undefined;
      if (!token) {
        return reject401(
          'malformed_credentials',
          `${header} must be ${prefix ? `"${prefix}" and ` : ''}the token`,
        );
      }
      if (!matchesAny([credentialDigest(token)], digestsOf(context.secrets))) {
        return reject401(
          'credentials_mismatch',
          `${header} does not hold any active token of this provider`,
        );
      }
      return nameDelivery(
        request,
        context,
        options,
        covered,
        () => bodyDigest(request, context),
        kept,
      );
    },
  };
}

/** The header such a sender would send. */
export function signToken(
  options: Pick<TokenOptions, 'header' | 'prefix'>,
  token: string,
): Record<string, string> {
  return { [options.header]: `${options.prefix}${token}` };
}
