import { createHash } from 'node:crypto';
import { safeEqual } from './compare.ts';

/**
 * Meta's GET subscription check (Graph API webhooks: Pages, Instagram, WhatsApp):
 * `GET <callback>?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<random>`
 * must be answered 200 with the challenge as the plain-text body. The verify token
 * is one the user chose, kept in the provider's secret list as `verify:<token>`
 * beside the signing secret; nothing of the request is stored or published.
 */

/** The prefix that marks a verify token in a provider's secret list. */
export const VERIFY_TOKEN_PREFIX = 'verify:';

/** The longest challenge echoed: Meta's are short numbers. */
export const MAX_CHALLENGE_LENGTH = 128;

const CHALLENGE = /^[A-Za-z0-9]+$/;

/** The signing secrets and the verify tokens of one secret list. */
export function splitSecrets(secrets: readonly string[]): {
  signing: string[];
  verifyTokens: string[];
} {
  const signing: string[] = [];
  const verifyTokens: string[] = [];
  for (const secret of secrets) {
    if (secret.startsWith(VERIFY_TOKEN_PREFIX)) {
      const token = secret.slice(VERIFY_TOKEN_PREFIX.length);
      if (token.length > 0) verifyTokens.push(token);
    } else signing.push(secret);
  }
  return { signing, verifyTokens };
}

export type SubscriptionCheckResult =
  | { readonly ok: true; readonly challenge: string }
  | {
      readonly ok: false;
      readonly status: 400 | 403;
      readonly code:
        | 'malformed_challenge'
        | 'wrong_mode'
        | 'verify_token_mismatch'
        | 'no_verify_token';
      readonly message: string;
    };

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * Checks a GET subscription request against the active verify tokens. The token is
 * compared in constant time (as SHA-256 digests, so its length leaks nothing
 * either); the challenge is echoed only if it is 1 to MAX_CHALLENGE_LENGTH letters
 * and digits.
 */
export function checkSubscription(
  rawQueryString: string,
  verifyTokens: readonly string[],
): SubscriptionCheckResult {
  const query = new URLSearchParams(rawQueryString);
  if (verifyTokens.length === 0) {
    return {
      ok: false,
      status: 403,
      code: 'no_verify_token',
      message: `no verify token is set: add "${VERIFY_TOKEN_PREFIX}<token>" to the provider's secrets`,
    };
  }
  if (query.get('hub.mode') !== 'subscribe') {
    return {
      ok: false,
      status: 403,
      code: 'wrong_mode',
      message: 'hub.mode must be "subscribe"',
    };
  }
  const given = digest(query.get('hub.verify_token') ?? '');
  let matched = false;
  // Every token is compared, whichever matches: the time taken says nothing of which.
  for (const token of verifyTokens) {
    if (safeEqual(given, digest(token))) matched = true;
  }
  if (!matched || !query.has('hub.verify_token')) {
    return {
      ok: false,
      status: 403,
      code: 'verify_token_mismatch',
      message: 'hub.verify_token is not the verify token set for this provider',
    };
  }
  const challenge = query.get('hub.challenge') ?? '';
  if (challenge.length > MAX_CHALLENGE_LENGTH || !CHALLENGE.test(challenge)) {
    return {
      ok: false,
      status: 400,
      code: 'malformed_challenge',
      message: `hub.challenge must be 1 to ${MAX_CHALLENGE_LENGTH} letters and digits`,
    };
  }
  return { ok: true, challenge };
}
