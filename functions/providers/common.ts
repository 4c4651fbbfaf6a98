import { createHash, createHmac, hash, type KeyObject } from 'node:crypto';
import { ConfigError } from '../shared/errors.ts';
import { safeEqual } from './compare.ts';
import { type Rejection, reject401, type VerifyContext, type WebhookRequest } from './types.ts';

/**
 * Small pieces every verifier shares. None of them throws on any input: a
 * verifier turns whatever arrives into a verdict.
 */

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** Bytes of each algorithm's digest: a signature of another length is malformed, not wrong. */
export const DIGEST_BYTES: Readonly<Record<HmacAlgorithm, number>> = {
  sha1: 20,
  sha256: 32,
  sha512: 64,
};

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SECONDS = /^\d{1,15}$/;

/** The bytes of `text` when it is exactly `bytes` bytes in hex (either case); otherwise undefined. */
export function decodeHex(text: string, bytes: number): Buffer | undefined {
  if (text.length !== bytes * 2 || !HEX.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}

/**
 * The bytes of `text` when it is the canonical, padded base64 of exactly `bytes`
 * bytes; otherwise undefined. Node's decoder skips what it cannot read and ignores
 * stray trailing bits, so the text is re-encoded and compared: a truncated or
 * garbled signature is called malformed instead of being compared as something else.
 */
export function decodeBase64(text: string, bytes: number): Buffer | undefined {
  if (text.length !== Math.ceil(bytes / 3) * 4 || !BASE64.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  if (decoded.length !== bytes || decoded.toString('base64') !== text) return undefined;
  return decoded;
}

/**
 * HMAC of the concatenated parts, each fed in turn (nothing is copied), the key
 * taken as the UTF-8 bytes of `secret` (or raw bytes, or a KeyObject).
 */
export function hmac(
  algorithm: HmacAlgorithm,
  secret: string | Uint8Array | KeyObject,
  ...parts: ReadonlyArray<string | Uint8Array>
): Buffer {
  const mac = createHmac(algorithm, secret);
  for (const part of parts) mac.update(part);
  // The digest as 'binary' (latin1) text, one character per byte, copied into a pooled
  // Buffer: cheaper than digest()'s own Buffer, which Node allocates outside its pool (B3).
  return Buffer.from(mac.digest('binary'), 'binary');
}

/** hmac() of content given as its pieces, in order (an array: nothing is spread or copied). */
export function hmacChunks(
  algorithm: HmacAlgorithm,
  key: KeyObject,
  chunks: ReadonlyArray<string | Uint8Array>,
): Buffer {
  const mac = createHmac(algorithm, key);
  for (let i = 0; i < chunks.length; i++) mac.update(chunks[i] as string | Uint8Array);
  return Buffer.from(mac.digest('binary'), 'binary');
}

/** matchesAny with one expected value: every candidate compared in constant time, no early exit. */
export function matchesOne(candidates: readonly Uint8Array[], expected: Uint8Array): boolean {
  let matched = false;
  for (let i = 0; i < candidates.length; i++) {
    if (safeEqual(candidates[i] as Uint8Array, expected)) matched = true;
  }
  return matched;
}

/**
 * True when any candidate equals any expected value. Every pair is compared, in
 * constant time and without an early exit, so timing tells neither which secret
 * nor which signature matched.
 */
export function matchesAny(
  candidates: readonly Uint8Array[],
  expected: readonly Uint8Array[],
): boolean {
  let matched = false;
  for (const e of expected) {
    for (const c of candidates) {
      if (safeEqual(c, e)) matched = true;
    }
  }
  return matched;
}

/**
 * Checks a signed timestamp header (whole seconds since the epoch) against the
 * replay window, ±`toleranceSeconds` around `nowMs`. Answers the rejection, or
 * undefined when the timestamp is inside the window.
 */
export function checkTimestamp(
  value: string | undefined,
  options: { what: string; nowMs: number; toleranceSeconds: number },
): Rejection | undefined {
  const { what, nowMs, toleranceSeconds } = options;
  if (value === undefined || value === '') {
    return reject401('missing_timestamp', `${what} is missing`);
  }
  if (!SECONDS.test(value)) {
    return reject401('malformed_timestamp', `${what} must be whole seconds since the epoch`);
  }
  const timestamp = Number(value);
  const nowSeconds = Math.floor(nowMs / 1000);
  if (timestamp < nowSeconds - toleranceSeconds) {
    return reject401(
      'timestamp_too_old',
      `${what} is more than ${toleranceSeconds} s in the past: a replay, or a clock far behind`,
    );
  }
  if (timestamp > nowSeconds + toleranceSeconds) {
    return reject401(
      'timestamp_too_new',
      `${what} is more than ${toleranceSeconds} s in the future: check the sender's clock`,
    );
  }
  return undefined;
}

/** How a sender writes its signed timestamp: whole seconds, milliseconds, or an ISO 8601 date and time. */
export type TimestampFormat = 'seconds' | 'milliseconds' | 'iso8601';

const MILLISECONDS = /^\d{1,18}$/;
const ISO_8601 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of a timestamp written in `format`; undefined when it is not written so. */
export function timestampMs(value: string, format: TimestampFormat): number | undefined {
  if (format === 'seconds') return SECONDS.test(value) ? Number(value) * 1000 : undefined;
  if (format === 'milliseconds') return MILLISECONDS.test(value) ? Number(value) : undefined;
  const parts = ISO_8601.exec(value);
  if (!parts) return undefined;
  const [, dateTime = '', fraction = '', zone = ''] = parts;
  // Date.parse reads milliseconds: nanoseconds (Twitch) are cut, not rounded.
  const ms = Date.parse(`${dateTime}.${fraction.slice(0, 3).padEnd(3, '0')}${zone}`);
  return Number.isNaN(ms) ? undefined : ms;
}

const FORMAT_WORDS: Readonly<Record<TimestampFormat, string>> = {
  seconds: 'whole seconds since the epoch',
  milliseconds: 'whole milliseconds since the epoch',
  iso8601: 'an ISO 8601 date and time with its zone (2100-01-01T00:00:00Z)',
};

/**
 * checkTimestamp for any TimestampFormat: whole seconds are checked exactly as
 * checkTimestamp does, the other formats to the millisecond.
 */
export function checkTimestampIn(
  value: string | undefined,
  format: TimestampFormat,
  options: { what: string; nowMs: number; toleranceSeconds: number },
): Rejection | undefined {
  if (format === 'seconds') return checkTimestamp(value, options);
  const { what, nowMs, toleranceSeconds } = options;
  if (value === undefined || value === '') {
    return reject401('missing_timestamp', `${what} is missing`);
  }
  const at = timestampMs(value, format);
  if (at === undefined) {
    return reject401('malformed_timestamp', `${what} must be ${FORMAT_WORDS[format]}`);
  }
  if (at < nowMs - toleranceSeconds * 1000) {
    return reject401(
      'timestamp_too_old',
      `${what} is more than ${toleranceSeconds} s in the past: a replay, or a clock far behind`,
    );
  }
  if (at > nowMs + toleranceSeconds * 1000) {
    return reject401(
      'timestamp_too_new',
      `${what} is more than ${toleranceSeconds} s in the future: check the sender's clock`,
    );
  }
  return undefined;
}

/**
 * The bytes of `text` when it is canonical base64 (padded, or without its `=`
 * padding) of 1 to `maxBytes` bytes; otherwise undefined. For values of no fixed
 * length, such as a DER signature.
 */
export function decodeBase64Up(text: string, maxBytes: number): Buffer | undefined {
  if (text.length === 0 || text.length > Math.ceil(maxBytes / 3) * 4 || !BASE64.test(text)) {
    return undefined;
  }
  const decoded = Buffer.from(text, 'base64');
  const unpadded = (s: string) => s.replace(/=+$/, '');
  if (decoded.length === 0 || unpadded(decoded.toString('base64')) !== unpadded(text)) {
    return undefined;
  }
  return decoded;
}

/** The bytes of `text` when it is hex (either case) of 1 to `maxBytes` bytes; otherwise undefined. */
export function decodeHexUp(text: string, maxBytes: number): Buffer | undefined {
  if (text.length === 0 || text.length % 2 !== 0 || text.length > maxBytes * 2 || !HEX.test(text)) {
    return undefined;
  }
  return Buffer.from(text, 'hex');
}

/** The headers of `names` that are present: what a delivery keeps. Never pass a signature header. */
export function keepHeaders(
  headers: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value !== undefined) kept[name] = value;
  }
  return kept;
}

/**
 * The key of a delivery whose provider does not sign its delivery id: the
 * SHA-256 (hex) of the signed content, so only what the provider signed decides
 * which delivery a request is. A provider's redelivery (same content) is the
 * same key; a signed request sent again under another id header is too.
 */
export function signedDigest(...parts: ReadonlyArray<string | Uint8Array>): string {
  // One piece is hashed in one call (crypto.hash), cheaper than a Hash object.
  const [only] = parts;
  if (parts.length === 1 && only !== undefined) return hash('sha256', only, 'hex');
  const sha256 = createHash('sha256');
  for (const part of parts) sha256.update(part);
  return sha256.digest('hex');
}

/** The SHA-256 of the body: the key of a scheme that signs the body alone. Computed once per request. */
export const bodyDigest = (request: WebhookRequest, context: VerifyContext): string =>
  context.bodySha256?.() ?? signedDigest(request.rawBody);

/**
 * An event type read from a header the signature does not cover: the type when
 * it matches the scheme's strict pattern, `fallback` when the header is absent,
 * undefined when it is present but malformed.
 */
export function unsignedEventType(
  value: string | undefined,
  pattern: RegExp,
  fallback: string,
): string | undefined {
  if (value === undefined || value === '') return fallback;
  return pattern.test(value) ? value : undefined;
}

/** A JSON object (not an array, not null). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const INDEX = /^(?:0|[1-9]\d{0,5})$/;

/** Paths split once: the declared ones are few, and a verifier reads them on every request. */
const STEPS = new Map<string, readonly string[]>();
const MAX_CACHED_PATHS = 1024;

/** The steps of a dotted path, split once per path (up to MAX_CACHED_PATHS of them). */
export function pathSteps(path: string): readonly string[] {
  let steps = STEPS.get(path);
  if (steps === undefined) {
    steps = path.split('.');
    if (STEPS.size < MAX_CACHED_PATHS) STEPS.set(path, steps);
  }
  return steps;
}

/**
 * The value at a dotted path (`event.type`) of a parsed JSON body; undefined when
 * any step is missing. A step of digits into an array is an index
 * (`notificationItems.0.NotificationRequestItem.eventCode`). With `item`, the
 * path's first `*` step stands for that index (`notificationItems.*.…`, the
 * element being verified), as if the path were written with it.
 */
export function valueAt(body: unknown, path: string, item?: number): unknown {
  const steps = pathSteps(path);
  const star = item === undefined ? -1 : steps.indexOf('*');
  let value: unknown = body;
  for (let i = 0; i < steps.length; i++) {
    const step = i === star ? String(item) : (steps[i] as string);
    if (Array.isArray(value) && INDEX.test(step)) {
      value = value[Number(step)];
      if (value === undefined) return undefined;
      continue;
    }
    if (!isRecord(value) || !Object.hasOwn(value, step)) return undefined;
    value = value[step];
  }
  return value;
}

/** A JSON value usable as a name: a non-empty string, or a whole number written as one. */
export function asName(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

/** The fewest characters a shared secret may have: anything shorter is refused at cold start. */
export const MIN_SECRET_LENGTH = 16;

/**
 * The cold-start check most schemes share: at least one secret, each one
 * acceptable to `isValid` (by default: some text without whitespace) and at
 * least MIN_SECRET_LENGTH characters long. `hint` says where the provider shows
 * the right value; no message ever repeats a secret.
 */
export function checkSecretList(
  provider: string,
  secrets: readonly string[],
  hint: string,
  isValid: (secret: string) => boolean = (secret) => secret.length > 0 && !/\s/.test(secret),
): void {
  if (secrets.length === 0) throw new ConfigError(`provider "${provider}" has no secret`);
  for (const secret of secrets) {
    if (!isValid(secret)) throw new ConfigError(hint);
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(
        `a secret of provider "${provider}" is shorter than ${MIN_SECRET_LENGTH} characters, too weak to sign with: ${hint}`,
      );
    }
  }
}
