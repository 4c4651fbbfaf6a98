import { createHash, createHmac } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacProvider, signHmac } from '../../functions/providers/hmac.ts';
import {
  type HmacProvider,
  type ResolvedHmac,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import {
  changeOneByte,
  changeOneCharacter,
  expect401,
  expectNoLeak,
  inspectWith,
  jsonObject,
  NOW_SECONDS,
  SEED,
  secrets,
} from '../support/providers.ts';

const SECRET = 'hookonce-hmac-unit-secret';
const OLD_SECRET = 'hookonce-hmac-old-secret';

/** A generic signer declared as a user would, resolved as the ingest function receives it. */
function declared(options: Omit<HmacProvider, 'scheme'>) {
  const resolved = resolveDeclaration({
    providers: { acme: { scheme: 'hmac', ...options } },
    subscribers: {},
  }).providers.acme as ResolvedHmac & { maxBodyBytes: number };
  return { config: resolved, provider: hmacProvider({ name: 'acme', ...resolved }) };
}

/** The default declaration's generic signer: x-signature, sha256 hex over "{timestamp}.{body}". */
const { config: DEFAULT, provider } = declared({
  header: 'x-signature',
  algorithm: 'sha256',
  encoding: 'hex',
  timestampHeader: 'x-timestamp',
  deliveryId: { header: 'x-delivery-id' },
  eventTypeField: 'type',
});

/** The oracle: the HMAC the declaration describes, written out with node:crypto. */
const expectedHex = (secret: string, timestamp: number | string, body: string | Buffer) =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');

const BODY = JSON.stringify({ type: 'order.shipped', data: { order: 'o_1', carrier: 'ups' } });

/** Where the id header is not signed, the SHA-256 of the body keys a delivery. */
const keyOf = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

const inspect = (
  headers: Record<string, string | undefined>,
  body: string | Buffer = BODY,
  secretsList: readonly string[] = [SECRET],
  p = provider,
) => inspectWith(p, { headers, body, secrets: secretsList });

const signedHeaders = (
  body: string | Buffer = BODY,
  secret = SECRET,
  timestamp: number | string = NOW_SECONDS,
  id = 'dlv_1',
): Record<string, string | undefined> => ({
  'x-signature': expectedHex(secret, timestamp, body),
  'x-timestamp': String(timestamp),
  'x-delivery-id': id,
  'content-type': 'application/json',
});

describe('Class: HmacProvider', () => {
  describe('Method: inspect', () => {
    it('accepts a delivery signed as declared, keyed by its body where the id header is not signed, named by its type field', () => {
      // Act
      const verdict = inspect(signedHeaders());

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: keyOf(BODY),
        providerDeliveryId: 'dlv_1',
        eventType: 'order.shipped',
        keptHeaders: {
          'content-type': 'application/json',
          'x-timestamp': String(NOW_SECONDS),
          'x-delivery-id': 'dlv_1',
        },
      });
    });

    it('keys a signed request sent again under a fresh, unsigned id header as the same delivery', () => {
      // Act
      const first = inspect(signedHeaders(BODY, SECRET, NOW_SECONDS, 'dlv_1'));
      const replayed = inspect(signedHeaders(BODY, SECRET, NOW_SECONDS, 'dlv_forged'));

      // Assess
      expect(replayed).toMatchObject({
        kind: 'accept',
        deliveryId: keyOf(BODY),
        providerDeliveryId: 'dlv_forged',
      });
      expect(first).toMatchObject({ kind: 'accept', deliveryId: keyOf(BODY) });
    });

    it('keys a retry signed at a new timestamp by the same body, so it stays the same delivery', () => {
      // Act
      const retry = inspect(signedHeaders(BODY, SECRET, NOW_SECONDS - 60, 'dlv_1'));

      // Assess
      expect(retry).toMatchObject({ kind: 'accept', deliveryId: keyOf(BODY) });
    });

    it('keys a delivery by its id header when the template signs {id}', () => {
      // Prepare
      const { provider: signsId } = declared({
        header: 'x-signature',
        algorithm: 'sha256',
        encoding: 'hex',
        timestampHeader: 'x-timestamp',
        signedContent: '{id}.{timestamp}.{body}',
        deliveryId: { header: 'x-delivery-id' },
      });
      const signature = (id: string) =>
        createHmac('sha256', SECRET).update(`${id}.${NOW_SECONDS}.`).update(BODY).digest('hex');
      const headers = (id: string, signed = id) => ({
        'x-signature': signature(signed),
        'x-timestamp': String(NOW_SECONDS),
        'x-delivery-id': id,
      });

      // Act
      const verdict = inspect(headers('dlv_signed'), BODY, [SECRET], signsId);
      const swapped = inspect(headers('dlv_other', 'dlv_signed'), BODY, [SECRET], signsId);

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', deliveryId: 'dlv_signed' });
      expect(verdict).not.toHaveProperty('providerDeliveryId');
      expect(swapped).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('verifies GitHub deliveries when declared as GitHub signs (oracle: @octokit/webhooks-methods)', async () => {
      // Prepare
      const { provider: asGithub } = declared({
        header: 'X-Hub-Signature-256',
        prefix: 'sha256=',
        algorithm: 'sha256',
        encoding: 'hex',
        deliveryId: { header: 'X-GitHub-Delivery' },
        eventTypeField: 'action',
      });
      const body = JSON.stringify({ action: 'opened', number: 1 });

      // Act
      const verdict = inspect(
        { 'x-hub-signature-256': await octokitSign(SECRET, body), 'x-github-delivery': 'guid-1' },
        body,
        [SECRET],
        asGithub,
      );

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: keyOf(body),
        providerDeliveryId: 'guid-1',
        eventType: 'opened',
      });
    });

    it("verifies Slack's published example when declared as Slack signs", () => {
      // Prepare
      const { provider: asSlack } = declared({
        header: 'x-slack-signature',
        prefix: 'v0=',
        algorithm: 'sha256',
        encoding: 'hex',
        timestampHeader: 'x-slack-request-timestamp',
        signedContent: 'v0:{timestamp}:{body}',
      });
      const body =
        'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';

      // Act
      const verdict = inspectWith(asSlack, {
        headers: {
          'x-slack-signature':
            'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
          'x-slack-request-timestamp': '1531420618',
        },
        body,
        secrets: ['8f742231b10e8888abcd99yyyzzz85a5'],
        now: 1531420618_000,
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it.each([
      ['sha1', 'hex'],
      ['sha1', 'base64'],
      ['sha256', 'base64'],
      ['sha512', 'hex'],
      ['sha512', 'base64'],
    ] as const)('verifies %s signatures in %s', (algorithm, encoding) => {
      // Prepare
      const { provider: p } = declared({ header: 'x-sig', algorithm, encoding });
      const signature = createHmac(algorithm, SECRET).update(BODY).digest(encoding);

      // Act
      const verdict = inspect({ 'x-sig': signature }, BODY, [SECRET], p);

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('signs the delivery id too when the template says {id}', () => {
      // Prepare
      const { provider: p } = declared({
        header: 'x-sig',
        algorithm: 'sha256',
        encoding: 'base64',
        timestampHeader: 'x-ts',
        deliveryId: { header: 'x-id' },
        signedContent: '{id}.{timestamp}.{body}',
      });
      const signature = (id: string) =>
        createHmac('sha256', SECRET).update(`${id}.${NOW_SECONDS}.${BODY}`).digest('base64');
      const headers = (id: string | undefined, signedId: string) => ({
        'x-sig': signature(signedId),
        'x-ts': String(NOW_SECONDS),
        'x-id': id,
      });

      // Act
      const good = inspect(headers('msg_1', 'msg_1'), BODY, [SECRET], p);
      const swapped = inspect(headers('msg_2', 'msg_1'), BODY, [SECRET], p);
      const missing = inspect(headers(undefined, 'msg_1'), BODY, [SECRET], p);

      // Assess
      expect(good).toMatchObject({ kind: 'accept', deliveryId: 'msg_1' });
      expect(swapped).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
      expect(missing).toMatchObject({ kind: 'reject', status: 400, code: 'missing_delivery_id' });
    });

    it('takes the id from a JSON field, a dotted path, when declared so', () => {
      // Prepare
      const { provider: p } = declared({
        header: 'x-sig',
        algorithm: 'sha256',
        encoding: 'hex',
        deliveryId: { jsonField: 'meta.id' },
      });
      const sign = (body: string) => ({
        'x-sig': createHmac('sha256', SECRET).update(body).digest('hex'),
      });
      const bodies = ['{"meta":{"id":"evt_9"}}', '{"meta":{"id":42}}', '{"meta":{}}', 'not json'];

      // Act
      const verdicts = bodies.map((body) => inspect(sign(body), body, [SECRET], p));

      // Assess
      expect(verdicts[0]).toMatchObject({
        kind: 'accept',
        deliveryId: 'evt_9',
        eventType: 'webhook',
      });
      expect(verdicts[1]).toMatchObject({ kind: 'accept', deliveryId: '42' });
      expect(verdicts[2]).toMatchObject({
        kind: 'reject',
        status: 400,
        code: 'missing_delivery_id',
      });
      expect(verdicts[3]).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_body' });
    });

    it('names a delivery without an id by the SHA-256 of its body: identical bodies are one delivery', () => {
      // Prepare
      const { provider: p } = declared({ header: 'x-sig', algorithm: 'sha256', encoding: 'hex' });
      const sign = (body: string) => ({
        'x-sig': createHmac('sha256', SECRET).update(body).digest('hex'),
      });
      const other = `${BODY}\n`;

      // Act
      const first = inspect(sign(BODY), BODY, [SECRET], p);
      const again = inspect(sign(BODY), BODY, [SECRET], p);
      const different = inspect(sign(other), other, [SECRET], p);

      // Assess
      const sha = createHash('sha256').update(BODY).digest('hex');
      expect(first).toMatchObject({ kind: 'accept', deliveryId: sha });
      expect(again).toMatchObject({ kind: 'accept', deliveryId: sha });
      expect(different).toMatchObject({ kind: 'accept' });
      expect((different as { deliveryId: string }).deliveryId).not.toBe(sha);
    });

    it('rejects a correctly signed body that is not JSON when a type field is declared', () => {
      // Prepare
      const body = 'plain text';

      // Act
      const verdict = inspect(signedHeaders(body), body);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_body' });
    });

    it('rejects a correctly signed delivery without its id header with 400 missing_delivery_id', () => {
      // Act
      const verdict = inspect({ ...signedHeaders(), 'x-delivery-id': undefined });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'missing_delivery_id' });
    });

    it.each([
      ['the new secret', SECRET],
      ['the old secret', OLD_SECRET],
    ])('accepts a delivery signed with %s while two secrets are active (rotation)', (_, signer) => {
      // Act
      const verdict = inspect(signedHeaders(BODY, signer), BODY, [SECRET, OLD_SECRET]);

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it.each([
      ['300 s old', 'accept', -300],
      ['300 s ahead', 'accept', 300],
      ['301 s old', 'timestamp_too_old', -301],
      ['301 s ahead', 'timestamp_too_new', 301],
    ])('treats a delivery %s as %s', (_, outcome, offset) => {
      // Act
      const verdict = inspect(signedHeaders(BODY, SECRET, NOW_SECONDS + offset));

      // Assess
      if (outcome === 'accept') expect(verdict).toMatchObject({ kind: 'accept' });
      else expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: outcome });
    });

    const good = expectedHex(SECRET, NOW_SECONDS, BODY);
    it.each([
      ['no signature', { 'x-signature': undefined }, 'missing_signature'],
      ['no timestamp', { 'x-timestamp': undefined }, 'missing_timestamp'],
      ['a timestamp in ISO 8601', { 'x-timestamp': '2100-01-01T00:00:00Z' }, 'malformed_timestamp'],
      ['a truncated signature', { 'x-signature': good.slice(0, 62) }, 'malformed_signature'],
      [
        'base64 for a hex signer',
        { 'x-signature': Buffer.from(good, 'hex').toString('base64') },
        'malformed_signature',
      ],
      ['an unexpected prefix', { 'x-signature': `sha256=${good}` }, 'malformed_signature'],
      ['another timestamp', { 'x-timestamp': String(NOW_SECONDS - 1) }, 'signature_mismatch'],
    ])('rejects a delivery with %s as %s', (_, change, code) => {
      // Act
      const verdict = inspect({ ...signedHeaders(), ...change });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code });
    });

    it('requires the declared prefix, and accepts the signature after it', () => {
      // Prepare
      const { provider: p } = declared({
        header: 'x-sig',
        prefix: 'sha1=',
        algorithm: 'sha1',
        encoding: 'hex',
      });
      const digest = createHmac('sha1', SECRET).update(BODY).digest('hex');

      // Act
      const withPrefix = inspect({ 'x-sig': `sha1=${digest}` }, BODY, [SECRET], p);
      const without = inspect({ 'x-sig': digest }, BODY, [SECRET], p);

      // Assess
      expect(withPrefix).toMatchObject({ kind: 'accept' });
      expect(without).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
      expect((without as { message: string }).message).toContain('"sha1="');
    });

    it('never puts the expected signature or the secret in a rejection', () => {
      // Act
      const verdicts = [
        inspect(signedHeaders(BODY, 'not-our-secret')),
        inspect(signedHeaders(), `${BODY} `),
        inspect({ ...signedHeaders(), 'x-signature': good.slice(0, 10) }),
      ];

      // Assess
      for (const verdict of verdicts) expectNoLeak(verdict, good, SECRET);
    });

    it('accepts what the declared HMAC signs, for any body, secret and timestamp within tolerance', () => {
      fc.assert(
        fc.property(
          jsonObject(),
          secrets(),
          fc.integer({ min: -300, max: 300 }),
          (data, secret, offset) => {
            // Prepare
            const body = JSON.stringify({ type: 'thing.happened', data });

            // Act
            const verdict = inspect(signedHeaders(body, secret, NOW_SECONDS + offset), body, [
              secret,
            ]);

            // Assess
            expect(verdict).toMatchObject({ kind: 'accept', eventType: 'thing.happened' });
          },
        ),
        { seed: SEED, numRuns: 200 },
      );
    });

    it('rejects any single change to the body, the signature, the timestamp or the secret with a 401', () => {
      fc.assert(
        fc.property(
          jsonObject(),
          fc.constantFrom('body', 'signature', 'timestamp', 'secret'),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
          secrets().filter((s) => s !== SECRET),
          (data, what, position, pick, shift, otherSecret) => {
            // Prepare
            const body = JSON.stringify({ type: 't', data });
            const headers = signedHeaders(body);
            const signature = headers['x-signature'] ?? '';
            const changed = {
              body: () => inspect(headers, changeOneByte(body, position, pick + 1)),
              signature: () =>
                inspect(
                  { ...headers, 'x-signature': changeOneCharacter(signature, position, pick) },
                  body,
                ),
              timestamp: () =>
                inspect({ ...headers, 'x-timestamp': String(NOW_SECONDS + shift) }, body),
              secret: () => inspect(signedHeaders(body, otherSecret), body),
            }[what];

            // Act
            const verdict = changed();

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 400 },
      );
    });

    it('answers any headers and body whatsoever with a verdict, never a throw', () => {
      fc.assert(
        fc.property(
          fc.option(fc.string()),
          fc.option(fc.string()),
          fc.uint8Array({ maxLength: 256 }),
          (signature, timestamp, body) => {
            // Act
            const verdict = inspect(
              {
                'x-signature': signature ?? undefined,
                'x-timestamp': timestamp ?? undefined,
                'x-delivery-id': 'dlv_fuzz',
              },
              Buffer.from(body),
            );

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Function: signHmac', () => {
    it('signs as the declaration says: the oracle HMAC, the timestamp and the id headers', () => {
      // Act
      const headers = signHmac(DEFAULT, {
        secret: SECRET,
        body: BODY,
        timestamp: NOW_SECONDS,
        id: 'dlv_7',
      });

      // Assess
      expect(headers).toEqual({
        'x-signature': expectedHex(SECRET, NOW_SECONDS, BODY),
        'x-timestamp': String(NOW_SECONDS),
        'x-delivery-id': 'dlv_7',
      });
    });

    it('writes the prefix and the encoding of the declaration', () => {
      // Prepare
      const { config } = declared({
        header: 'x-sig',
        prefix: 'sha512=',
        algorithm: 'sha512',
        encoding: 'base64',
      });

      // Act
      const headers = signHmac(config, { secret: SECRET, body: BODY });

      // Assess
      expect(headers).toEqual({
        'x-sig': `sha512=${createHmac('sha512', SECRET).update(BODY).digest('base64')}`,
      });
    });
  });

  describe('Method: checkSecrets', () => {
    it.each([
      ['an empty list', []],
      ['an empty secret', ['']],
      ['a secret with a tab', ['a\tb']],
    ])('rejects %s with a ConfigError', (_, list) => {
      // Act
      const check = () => provider.checkSecrets(list);

      // Assess
      expect(check).toThrow(ConfigError);
    });
  });
});
