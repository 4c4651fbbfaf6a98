import { claimPk } from '../functions/consumers/claims.ts';
import { PAYLOAD_PREFIX } from '../functions/deliveries/payloads.ts';
import type { SubscriberFilter } from '../functions/shared/declaration.ts';

/**
 * The keys a subscriber's consumer may claim, as IAM `StringLike` patterns on
 * `dynamodb:LeadingKeys`, made with the same claimPk() the claims are written
 * with:
 *
 * - the guard's claims, `CLAIM#<subscriber>#<event id>`;
 * - once()'s claims, whose scope is `<subscriber>.once` by default, or any
 *   `<subscriber>.<name>` scope: `CLAIM#<subscriber>.<name>#<key>`.
 *
 * Subscriber names hold only lower-case letters, digits and dashes, so neither
 * pattern reaches another subscriber's claims (`billing` never matches
 * `billing-eu`), and neither holds an IAM wildcard of its own.
 */
export function ownClaimKeyPatterns(subscriber: string): string[] {
  return [claimPk(subscriber, '*'), claimPk(`${subscriber}.*`, '*')];
}

/** Every claim of every subscriber: a consumer's own effects may use any other key. */
export const ANY_CLAIM_KEY_PATTERN = claimPk('*', '*');

/**
 * The payload objects a consumer may read, relative to the bucket: those of
 * the providers its filter admits (payloadObjectKey() puts the provider right
 * after the prefix), or every payload when the filter names no provider.
 */
export function payloadObjectPatterns(filter: SubscriberFilter): string[] {
  const providers = filter.providers ?? [];
  if (providers.length === 0) return [`${PAYLOAD_PREFIX}*`];
  return [...new Set(providers)].sort().map((provider) => `${PAYLOAD_PREFIX}${provider}/*`);
}
