import { timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality of two byte strings. A length difference answers false
 * at once (the length of a signature is no secret) instead of throwing as
 * `timingSafeEqual` does.
 */
export function safeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
