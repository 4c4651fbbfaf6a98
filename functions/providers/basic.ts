import type { ResolvedBasic } from '../shared/declaration.ts';
import { ConfigError } from '../shared/errors.ts';
import { bodyDigest, decodeBase64Up, MIN_SECRET_LENGTH, matchesAny } from './common.ts';
import { keptHeaderNames, nameDelivery } from './naming.ts';
import { afterPrefix, credentialDigest, MAX_CREDENTIALS_CHARS, secretDigests } from './token.ts';
import { type Provider, reject401, type Verdict } from './types.ts';

/**
 * HTTP Basic authentication (RFC 7617): `Authorization: Basic <base64 of
 * username:password>`. Each active secret is `username:password`; the request
 * passes when its credentials equal one of them, compared as SHA-256 digests in
 * constant time. As with a token, nothing is signed: the key of a delivery is the
 * SHA-256 of its body and a declared id is kept for display only.
 */
export type BasicOptions = { name: string; maxBodyBytes: number } & Omit<ResolvedBasic, 'scheme'>;

const HEADER = 'authorization';
const PREFIX = 'Basic ';

/** What is wrong with a `username:password` secret, or undefined. Never repeats it. */
function secretProblem(secret: string): string | undefined {
  const colon = secret.indexOf(':');
  if (colon <= 0) return 'is not "username:password" with a username';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(secret)) return 'holds a control character';
  if (secret.length - colon - 1 < MIN_SECRET_LENGTH) {
    return `has a password shorter than ${MIN_SECRET_LENGTH} characters, too weak`;
  }
  return undefined;
}

export function basicProvider(options: BasicOptions): Provider {
  const { name, maxBodyBytes } = options;
  const digestsOf = secretDigests();
  const kept = keptHeaderNames(options, [HEADER]);
  const covered = { body: false, headers: new Set<string>() };
  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      if (secrets.length === 0) throw new ConfigError(`provider "${name}" has no secret`);
      for (const secret of secrets) {
        const problem = secretProblem(secret);
        if (problem) {
          throw new ConfigError(
            `a secret of provider "${name}" ${problem}: each secret is the "username:password" the sender is configured with (a password of ${MIN_SECRET_LENGTH} characters or more, e.g. \`openssl rand -hex 16\`)`,
          );
        }
      }
    },
    inspect(request, context): Verdict {
      const value = request.headers[HEADER];
      if (!value) return reject401('missing_credentials', 'the Authorization header is missing');
      const encoded =
        value.length <= MAX_CREDENTIALS_CHARS ? afterPrefix(value, PREFIX) : undefined;
      const credentials = encoded ? decodeBase64Up(encoded, MAX_CREDENTIALS_CHARS) : undefined;
      if (!credentials?.includes(0x3a)) {
        return reject401(
          'malformed_credentials',
          'Authorization must be "Basic " and the base64 of username:password',
        );
      }
      if (!matchesAny([credentialDigest(credentials)], digestsOf(context.secrets))) {
        return reject401(
          'credentials_mismatch',
          'the username and password match no active secret of this provider',
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

/** The Authorization header such a sender would send for a `username:password` secret. */
export function signBasic(secret: string): Record<string, string> {
  return { [HEADER]: `${PREFIX}${Buffer.from(secret, 'utf8').toString('base64')}` };
}
