import fc from 'fast-check';
import { expect } from 'vitest';
import { parseJson } from '../../functions/fanout/envelope.ts';
import type { Provider, Verdict, WebhookRequest } from '../../functions/providers/types.ts';

/** The fixed seed of every property test: a failure replays the same way everywhere. */
export const SEED = 20_261_123;
/** A fixed "now" far from the real clock, so no test depends on when it runs. */
export const NOW = Date.UTC(2100, 0, 1);
export const NOW_SECONDS = NOW / 1000;

export interface InspectInput {
  headers: Record<string, string | undefined>;
  body: string | Buffer;
  secrets: readonly string[];
  now?: number;
  /** @default 'POST' */
  method?: string;
  rawQueryString?: string;
  rawPath?: string;
  domainName?: string;
}

/** Runs a provider's verifier on one request, as the ingest core would. */
export function inspectWith(provider: Provider, input: InspectInput): Verdict {
  const rawBody = typeof input.body === 'string' ? Buffer.from(input.body) : input.body;
  const request: WebhookRequest = {
    method: input.method ?? 'POST',
    headers: input.headers,
    rawBody,
    rawQueryString: input.rawQueryString ?? '',
    rawPath: input.rawPath ?? `/webhooks/${provider.name}`,
    domainName: input.domainName ?? 'hooks.example.com',
  };
  return provider.inspect(request, {
    secrets: input.secrets,
    now: input.now ?? NOW,
    json: () => parseJson(rawBody),
  });
}

/**
 * Runs the verifier with a body parser that records whether it was called: the
 * signature must be checked before anything reads the body.
 */
export function parsedBeforeVerdict(provider: Provider, input: InspectInput): boolean {
  const rawBody = typeof input.body === 'string' ? Buffer.from(input.body) : input.body;
  let parsed = false;
  provider.inspect(
    {
      method: input.method ?? 'POST',
      headers: input.headers,
      rawBody,
      rawQueryString: input.rawQueryString ?? '',
      rawPath: input.rawPath ?? `/webhooks/${provider.name}`,
      domainName: input.domainName ?? 'hooks.example.com',
    },
    {
      secrets: input.secrets,
      now: input.now ?? NOW,
      json: () => {
        parsed = true;
        return parseJson(rawBody);
      },
    },
  );
  return parsed;
}

/** The 401 reason codes a verifier may answer. */
export const SIGNATURE_FAILURES = [
  'missing_signature',
  'malformed_signature',
  'signature_mismatch',
  'missing_timestamp',
  'malformed_timestamp',
  'timestamp_too_old',
  'timestamp_too_new',
  'missing_credentials',
  'malformed_credentials',
  'credentials_mismatch',
  'algorithm_not_allowed',
  'claim_mismatch',
] as const;

/** Asserts a 401 whose code is one of `codes` (any 401 code when omitted). */
export function expect401(verdict: Verdict, codes: readonly string[] = SIGNATURE_FAILURES): void {
  expect(verdict.kind).toBe('reject');
  if (verdict.kind !== 'reject') return;
  expect(verdict.status).toBe(401);
  expect(codes).toContain(verdict.code);
}

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));

/**
 * `text` with the character at `position` (modulo its length) replaced by another
 * printable character that is a different letter in any case: for a hex signature
 * `a`→`A` would be the same signature, not a change.
 */
export function changeOneCharacter(text: string, position: number, pick: number): string {
  const i = position % text.length;
  const original = text[i] ?? '';
  const others = PRINTABLE.filter(
    (c) => c.toLowerCase() !== original.toLowerCase() && c !== original,
  );
  const replacement = others[pick % others.length] ?? '#';
  return text.slice(0, i) + replacement + text.slice(i + 1);
}

/** `body` with one byte (at `position`, modulo its length) XOR-ed with a non-zero `mask`. */
export function changeOneByte(body: string | Buffer, position: number, mask: number): Buffer {
  const changed = Buffer.from(body);
  const i = position % changed.length;
  changed[i] = (changed[i] ?? 0) ^ (mask & 0xff || 1);
  return changed;
}

/** A JSON object body with a string field or two, as providers send. */
export const jsonObject = (): fc.Arbitrary<Record<string, unknown>> =>
  fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue(), { maxKeys: 6 });

/** Ids as providers write them: letters, digits, `_ - . :`. */
export const deliveryIds = (): fc.Arbitrary<string> => fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);

/** Secrets of printable characters without whitespace, as long as checkSecrets takes (16 and more). */
export const secrets = (): fc.Arbitrary<string> => fc.stringMatching(/^[!-~]{16,48}$/);

/** Asserts that a rejection never carries the expected signature nor the secret. */
export function expectNoLeak(verdict: Verdict, ...secretTexts: string[]): void {
  expect(verdict.kind).toBe('reject');
  const text = JSON.stringify(verdict);
  for (const secret of secretTexts) expect(text).not.toContain(secret);
}
