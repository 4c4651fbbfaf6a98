import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import nacl from 'tweetnacl';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { parseJson } from '../../functions/fanout/envelope.ts';
import {
  signStandardWebhook,
  standardWebhooks,
} from '../../functions/providers/standard-webhooks.ts';
import type { Verdict } from '../../functions/providers/types.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import { OTHER_SECRET, signStandard, standardSecret, TEST_SECRET } from '../support/backends.ts';
import { changeOneByte, changeOneCharacter, expect401 } from '../support/providers.ts';

const NOW = Date.UTC(2100, 0, 1);
const NOW_SECONDS = NOW / 1000;
const SEED = 20_261_123;
const provider = standardWebhooks({
  name: 'standard',
  maxBodyBytes: 200 * 1024,
  toleranceSeconds: 300,
});
const BODY = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1', amount: 4200 } });

function inspect(
  headers: Record<string, string | undefined>,
  body: string | Buffer,
  options: { secrets?: readonly string[]; now?: number } = {},
): Verdict {
  const rawBody = typeof body === 'string' ? Buffer.from(body) : body;
  return provider.inspect(
    {
      headers,
      method: 'POST',
      rawBody,
      rawQueryString: '',
      rawPath: '/webhooks/standard',
      domainName: 'hooks.example.com',
    },
    {
      secrets: options.secrets ?? [TEST_SECRET],
      now: options.now ?? NOW,
      json: () => parseJson(rawBody),
    },
  );
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

/** The oracle's signature alone, without its `v1,`. */
const expectedSignature = (id: string, at: number, body: string, secret = TEST_SECRET): string =>
  new Webhook(secret).sign(id, new Date(at), body).slice('v1,'.length);

/** A signed delivery whose webhook-signature header is replaced by `signature`. */
const withSignature = (signature: string | undefined, id = 'msg_1', body = BODY) => ({
  ...signStandard({ id, at: NOW, body }),
  'webhook-signature': signature,
});

describe('Class: StandardWebhooksProvider', () => {
  describe('Method: inspect', () => {
    it('accepts a delivery signed by the Standard Webhooks library, named by webhook-id and the body’s type', () => {
      // Prepare
      const headers = signStandard({ id: 'msg_1', at: NOW, body: BODY });

      // Act
      const verdict = inspect(headers, BODY);

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'msg_1',
        eventType: 'invoice.paid',
        keptHeaders: {
          'webhook-id': 'msg_1',
          'webhook-timestamp': String(NOW / 1000),
          'content-type': 'application/json',
        },
      });
    });

    it.each([
      ['no type', '{"data":{"id":"in_1"}}'],
      ['a type that is no string', '{"type":42}'],
      ['an array', '[1,2,3]'],
      ['null', 'null'],
    ])('names the event "webhook" when the body has %s', (_, body) => {
      // Prepare
      const headers = signStandard({ id: 'msg_2', at: NOW, body });

      // Act
      const verdict = inspect(headers, body);

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', deliveryId: 'msg_2', eventType: 'webhook' });
    });

    it.each([
      ['the new secret', TEST_SECRET],
      ['the old secret', OTHER_SECRET],
    ])('accepts a delivery signed with %s while two secrets are active (rotation)', (_, signer) => {
      // Prepare
      const headers = signStandard({ id: 'msg_3', at: NOW, body: BODY, secret: signer });

      // Act
      const verdict = inspect(headers, BODY, { secrets: [TEST_SECRET, OTHER_SECRET] });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', deliveryId: 'msg_3' });
    });

    it('accepts a header with several v1 signatures when only one of them matches, wherever it is', () => {
      // Prepare
      const stranger = standardSecret('a-third-secret-that-nobody-holds');
      const good = expectedSignature('msg_4', NOW, BODY);
      const bad1 = expectedSignature('msg_4', NOW, BODY, OTHER_SECRET);
      const bad2 = expectedSignature('msg_4', NOW, BODY, stranger);

      // Act
      const verdicts = [
        `v1,${good} v1,${bad1} v1,${bad2}`,
        `v1,${bad1} v1,${good} v1,${bad2}`,
        `v1,${bad1} v1,${bad2} v1,${good}`,
      ].map((signature) => inspect(withSignature(signature, 'msg_4'), BODY));

      // Assess
      for (const verdict of verdicts) expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('ignores signatures of versions it does not know', () => {
      // Prepare
      const good = expectedSignature('msg_5', NOW, BODY);

      // Act
      const besideV1 = inspect(withSignature(`v2,${good} v1a,${good} v1,${good}`, 'msg_5'), BODY);
      const alone = inspect(withSignature(`v2,${good} v1a,${good}`, 'msg_5'), BODY);

      // Assess
      expect(besideV1).toMatchObject({ kind: 'accept' });
      expect(alone).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('calls a header mismatched, not malformed, when one of its signatures is well formed', () => {
      // Prepare
      const forged = expectedSignature('msg_1', NOW, BODY, OTHER_SECRET);

      // Act
      const verdict = inspect(withSignature(`v1,garbage v1,${forged}`), BODY);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('rejects a signature made with another secret as signature_mismatch', () => {
      // Prepare
      const headers = signStandard({ id: 'msg_6', at: NOW, body: BODY, secret: OTHER_SECRET });

      // Act
      const verdict = inspect(headers, BODY);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('rejects a body changed by one byte as signature_mismatch', () => {
      // Prepare
      const headers = signStandard({ id: 'msg_7', at: NOW, body: BODY });
      const changed = Buffer.from(BODY);
      changed[changed.indexOf('4200')] = '5'.charCodeAt(0);

      // Act
      const verdict = inspect(headers, changed);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    const good = expectedSignature('msg_1', NOW, BODY);
    it.each([
      ['a truncated signature', `v1,${good.slice(0, 30)}`],
      ['a signature missing its last character', `v1,${good.slice(0, -1)}`],
      ['base64 of 31 bytes', `v1,${Buffer.alloc(31, 7).toString('base64')}`],
      ['base64 of 33 bytes', `v1,${Buffer.alloc(33, 7).toString('base64')}`],
      [
        'base64 of 64 bytes',
        `v1,${Buffer.concat([Buffer.from(good, 'base64'), Buffer.from(good, 'base64')]).toString('base64')}`,
      ],
      ['garbage', 'v1,this-is-not:base64!'],
      ['base64url instead of base64', `v1,${Buffer.from(good, 'base64').toString('base64url')}x`],
      ['an empty signature', 'v1,'],
      ['padding only', 'v1,===='],
      ['no version', good],
    ])('rejects %s as malformed_signature', (_, signature) => {
      // Act
      const verdict = inspect(withSignature(signature), BODY);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('rejects a missing webhook-signature with 401 missing_signature', () => {
      // Act
      const verdict = inspect(withSignature(undefined), BODY);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'missing_signature' });
    });

    it('rejects a missing webhook-id with 400 missing_delivery_id', () => {
      // Prepare
      const headers = {
        ...signStandard({ id: 'msg_8', at: NOW, body: BODY }),
        'webhook-id': undefined,
      };

      // Act
      const verdict = inspect(headers, BODY);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'missing_delivery_id' });
    });

    it('rejects a missing webhook-timestamp with 401 missing_timestamp', () => {
      // Prepare
      const headers = {
        ...signStandard({ id: 'msg_9', at: NOW, body: BODY }),
        'webhook-timestamp': undefined,
      };

      // Act
      const verdict = inspect(headers, BODY);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'missing_timestamp' });
    });

    it.each(['soon', '4102444800.5', '-4102444800', '4.1e9', ' 4102444800', '0x10'])(
      'rejects the webhook-timestamp "%s" with 401 malformed_timestamp',
      (timestamp) => {
        // Prepare
        const headers = {
          ...signStandard({ id: 'msg_10', at: NOW, body: BODY }),
          'webhook-timestamp': timestamp,
        };

        // Act
        const verdict = inspect(headers, BODY);

        // Assess
        expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_timestamp' });
      },
    );

    it.each([
      ['exactly 300 s old', -300, { kind: 'accept' }],
      ['301 s old', -301, { kind: 'reject', status: 401, code: 'timestamp_too_old' }],
      ['exactly 300 s ahead', 300, { kind: 'accept' }],
      ['301 s ahead', 301, { kind: 'reject', status: 401, code: 'timestamp_too_new' }],
      ['an hour old', -3600, { kind: 'reject', status: 401, code: 'timestamp_too_old' }],
    ])('judges a signature %s by the injected clock', (_, offsetSeconds, expected) => {
      // Prepare
      const headers = signStandard({ id: 'msg_11', at: NOW + offsetSeconds * 1000, body: BODY });

      // Act
      const verdict = inspect(headers, BODY);

      // Assess
      expect(verdict).toMatchObject(expected);
    });

    it('rejects a validly signed body that is not JSON with 400 malformed_body', () => {
      // Prepare
      const body = 'amount=4200&currency=eur';
      const headers = signStandard({ id: 'msg_12', at: NOW, body });

      // Act
      const verdict = inspect(headers, body);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_body' });
    });

    it('checks the signature before it parses the body', () => {
      // Prepare
      const headers = signStandard({ id: 'msg_13', at: NOW, body: BODY, secret: OTHER_SECRET });
      let parsed = false;

      // Act
      provider.inspect(
        {
          headers,
          method: 'POST',
          rawBody: Buffer.from(BODY),
          rawQueryString: '',
          rawPath: '/webhooks/standard',
          domainName: 'hooks.example.com',
        },
        {
          secrets: [TEST_SECRET],
          now: NOW,
          json: () => {
            parsed = true;
            return JSON.parse(BODY);
          },
        },
      );

      // Assess
      expect(parsed).toBe(false);
    });

    it('never puts the expected signature or the secret in a rejection', () => {
      // Prepare
      const expected = expectedSignature('msg_1', NOW, BODY);
      const forged = signStandard({ id: 'msg_1', at: NOW, body: BODY, secret: OTHER_SECRET });
      const cases: Verdict[] = [
        inspect(forged, BODY),
        inspect(withSignature(`v1,${expected.slice(0, 20)}`), BODY),
        inspect(withSignature(`v1,${expected}`), `${BODY} `),
        inspect(signStandard({ id: 'msg_1', at: NOW - 301_000, body: BODY }), BODY),
      ];

      // Assess
      for (const verdict of cases) {
        expect(verdict.kind).toBe('reject');
        const text = JSON.stringify(verdict);
        expect(text).not.toContain(expected);
        expect(text).not.toContain(TEST_SECRET.slice('whsec_'.length));
      }
    });

    it('accepts what the oracle signs, for any JSON body, id and timestamp within tolerance', () => {
      fc.assert(
        fc.property(
          fc.json(),
          fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
          fc.integer({ min: 1_000_000_000, max: 4_000_000_000 }),
          fc.integer({ min: 0, max: 999 }),
          fc.integer({ min: -300, max: 300 }),
          (body, id, nowSeconds, nowMillis, offset) => {
            // Prepare
            const headers = signStandard({ id, at: (nowSeconds + offset) * 1000, body });

            // Act
            const verdict = inspect(headers, body, { now: nowSeconds * 1000 + nowMillis });

            // Assess
            expect(verdict).toMatchObject({ kind: 'accept', deliveryId: id });
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });

    it('rejects any single change to the body, the signature, the timestamp or the secret with a 401', () => {
      fc.assert(
        fc.property(
          fc.json(),
          fc.constantFrom('body', 'signature', 'timestamp', 'secret'),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
          fc.stringMatching(/^[A-Za-z0-9]{24,40}$/),
          (body, what, position, pick, shift, otherKey) => {
            // Prepare
            const headers = signStandard({ id: 'msg_p1', at: NOW, body });
            const signature = headers['webhook-signature'] ?? '';
            const changed = {
              body: () => inspect(headers, changeOneByte(body, position, pick + 1)),
              signature: () =>
                inspect(
                  {
                    ...headers,
                    'webhook-signature': `v1,${changeOneCharacter(signature.slice(3), position, pick)}`,
                  },
                  body,
                ),
              timestamp: () =>
                inspect({ ...headers, 'webhook-timestamp': String(NOW_SECONDS + shift) }, body),
              secret: () =>
                inspect(
                  signStandard({ id: 'msg_p1', at: NOW, body, secret: standardSecret(otherKey) }),
                  body,
                ),
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

    it('rejects any single-byte change of a signed body', () => {
      fc.assert(
        fc.property(
          fc.json(),
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (body, position, flip) => {
            // Prepare
            const headers = signStandard({ id: 'msg_prop', at: NOW, body });
            const changed = Buffer.from(body);
            const i = position % changed.length;
            changed[i] = (changed[i] ?? 0) ^ flip;

            // Act
            const verdict = inspect(headers, changed);

            // Assess
            expect(verdict).toMatchObject({ kind: 'reject', code: 'signature_mismatch' });
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Method: checkSecrets', () => {
    it('accepts whsec_ secrets and bare base64 keys', () => {
      // Act
      const check = () =>
        provider.checkSecrets([
          TEST_SECRET,
          OTHER_SECRET,
          Buffer.from('a-bare-key-of-24-bytes!!').toString('base64'),
        ]);

      // Assess
      expect(check).not.toThrow();
    });

    it('accepts a key of exactly 16 bytes, and refuses one of 15 saying how many it needs', () => {
      // Prepare
      const short = `whsec_${Buffer.alloc(15, 7).toString('base64')}`;

      // Act
      const accept = () =>
        provider.checkSecrets([`whsec_${Buffer.alloc(16, 7).toString('base64')}`]);
      const error = thrownBy(() => provider.checkSecrets([short]));

      // Assess
      expect(accept).not.toThrow();
      expect(error).toBeInstanceOf(ConfigError);
      expect(String(error)).toContain('at least 16 bytes');
      expect(String(error)).toContain('signing secret of this endpoint');
      expect(String(error)).not.toContain(short.slice('whsec_'.length));
    });

    it.each([
      [
        'without its "=" padding',
        `whsec_${Buffer.alloc(16, 7).toString('base64').replace(/=+$/, '')}`,
      ],
      ['with stray bits after the last byte', `whsec_${'A'.repeat(21)}B==`],
      ['in the base64url alphabet', `whsec_${Buffer.alloc(18, 0xfb).toString('base64url')}`],
    ])(
      'refuses a key of 16 bytes or more written %s: only canonical base64 is taken',
      (_, secret) => {
        // Act
        const error = thrownBy(() => provider.checkSecrets([secret]));

        // Assess
        expect(Buffer.from(secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(
          16,
        );
        expect(error).toBeInstanceOf(ConfigError);
        expect(String(error)).toContain('canonical base64');
        expect(String(error)).toContain('signing secret of this endpoint');
        expect(String(error)).not.toContain(secret.slice('whsec_'.length));
      },
    );

    it('verifies nothing with a key it refuses, should one reach it without the cold-start check', () => {
      // Prepare
      const weak = standardSecret('fifteen-bytes!!');
      const headers = signStandard({ id: 'msg_weak', at: NOW, body: BODY, secret: weak });

      // Act
      const verdict = inspect(headers, BODY, { secrets: [weak] });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', code: 'signature_mismatch' });
    });

    it.each([
      ['"whsec_" alone', 'whsec_'],
      ['a space inside', 'whsec_c2VjcmV0 c2VjcmV0'],
      ['characters outside base64', 'whsec_not*base64!'],
      ['too much padding', 'whsec_c2VjcmV0==='],
      ['an empty string', ''],
    ])('rejects a secret with %s with a ConfigError', (_, secret) => {
      // Act
      const check = () => provider.checkSecrets([TEST_SECRET, secret]);

      // Assess
      expect(check).toThrow(ConfigError);
    });

    it('never repeats the malformed secret in its error', () => {
      // Prepare
      const secret = 'whsec_ab*cd-leaked?';

      // Act
      const error = thrownBy(() => provider.checkSecrets([secret]));

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect(String(error)).not.toContain('ab*cd-leaked');
    });

    it('rejects an empty list of secrets', () => {
      // Act
      const check = () => provider.checkSecrets([]);

      // Assess
      expect(check).toThrow(ConfigError);
    });
  });
});

/** The v1a oracle: TweetNaCl's Ed25519, an implementation independent of node:crypto. */
const keyPair = (seedByte: number) => nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(seedByte));
const KEYS = keyPair(7);
const OTHER_KEYS = keyPair(8);
const whpk = (keys: nacl.SignKeyPair) => `whpk_${Buffer.from(keys.publicKey).toString('base64')}`;
const whsk = (keys: nacl.SignKeyPair) => `whsk_${Buffer.from(keys.secretKey).toString('base64')}`;
const PUBLIC_KEY = whpk(KEYS);

/** A v1a signature made by TweetNaCl over "id.timestamp.body". */
function v1a(id: string, at: number, body: string | Buffer, keys = KEYS): string {
  const signed = Buffer.concat([Buffer.from(`${id}.${Math.floor(at / 1000)}.`), Buffer.from(body)]);
  return `v1a,${Buffer.from(nacl.sign.detached(signed, keys.secretKey)).toString('base64')}`;
}

const asymmetric = (
  signature: string | undefined,
  options: { id?: string; at?: number; body?: string | Buffer; keys?: readonly string[] } = {},
) => {
  const at = options.at ?? NOW;
  return inspect(
    {
      'content-type': 'application/json',
      'webhook-id': options.id ?? 'msg_a1',
      'webhook-timestamp': String(Math.floor(at / 1000)),
      'webhook-signature': signature,
    },
    options.body ?? BODY,
    { secrets: options.keys ?? [PUBLIC_KEY] },
  );
};

describe('Class: StandardWebhooksProvider, asymmetric v1a signatures', () => {
  describe('Method: inspect', () => {
    it('accepts a v1a signature made by TweetNaCl with the whpk_ public key it belongs to', () => {
      // Act
      const verdict = asymmetric(v1a('msg_a1', NOW, BODY));

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: 'msg_a1',
        eventType: 'invoice.paid',
      });
    });

    it('accepts v1 and v1a deliveries while whsec_ secrets and whpk_ keys are active together', () => {
      // Prepare
      const keys = [TEST_SECRET, PUBLIC_KEY];

      // Act
      const symmetric = inspect(signStandard({ id: 'msg_a2', at: NOW, body: BODY }), BODY, {
        secrets: keys,
      });
      const signedAsymmetric = asymmetric(v1a('msg_a1', NOW, BODY), { keys });

      // Assess
      expect(symmetric).toMatchObject({ kind: 'accept' });
      expect(signedAsymmetric).toMatchObject({ kind: 'accept' });
    });

    it.each([
      ['the new key', KEYS],
      ['the old key', OTHER_KEYS],
    ])(
      'accepts a v1a delivery signed with %s while two public keys are active (rotation)',
      (_, keys) => {
        // Act
        const verdict = asymmetric(v1a('msg_a1', NOW, BODY, keys), {
          keys: [PUBLIC_KEY, whpk(OTHER_KEYS)],
        });

        // Assess
        expect(verdict).toMatchObject({ kind: 'accept' });
      },
    );

    it('accepts a header whose v1a verifies beside a v1 and a v1a that do not', () => {
      // Prepare
      const header = [
        signStandard({ id: 'msg_a1', at: NOW, body: BODY, secret: OTHER_SECRET })[
          'webhook-signature'
        ],
        v1a('msg_a1', NOW, BODY, OTHER_KEYS),
        v1a('msg_a1', NOW, BODY),
      ].join(' ');

      // Act
      const verdict = asymmetric(header, { keys: [TEST_SECRET, PUBLIC_KEY] });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it.each([
      ['another key pair', v1a('msg_a1', NOW, BODY, OTHER_KEYS), [PUBLIC_KEY]],
      ['the right key but only whsec_ secrets active', v1a('msg_a1', NOW, BODY), [TEST_SECRET]],
      ['another webhook-id', v1a('msg_other', NOW, BODY), [PUBLIC_KEY]],
    ])('rejects a v1a signature from %s as signature_mismatch', (_, signature, keys) => {
      // Act
      const verdict = asymmetric(signature, { keys });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    const good = v1a('msg_a1', NOW, BODY).slice('v1a,'.length);
    it.each([
      ['a truncated v1a', `v1a,${good.slice(0, 80)}`],
      ['the base64 of 63 bytes', `v1a,${Buffer.alloc(63, 1).toString('base64')}`],
      ['the base64 of 65 bytes', `v1a,${Buffer.alloc(65, 1).toString('base64')}`],
      ['a v1a written as v1', `v1,${good}`],
    ])('rejects %s as malformed_signature', (_, signature) => {
      // Act
      const verdict = asymmetric(signature);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('rejects a v1a timestamp outside the tolerance like a v1 one', () => {
      // Act
      const old = asymmetric(v1a('msg_a1', NOW - 301_000, BODY), { at: NOW - 301_000 });
      const ahead = asymmetric(v1a('msg_a1', NOW + 301_000, BODY), { at: NOW + 301_000 });

      // Assess
      expect(old).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_old' });
      expect(ahead).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_new' });
    });

    it('rejects any single change to the body, the signature, the timestamp or the key with a 401', () => {
      fc.assert(
        fc.property(
          fc.json(),
          fc.constantFrom('body', 'signature', 'timestamp', 'key'),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
          fc.integer({ min: 9, max: 255 }),
          (body, what, position, pick, shift, seedByte) => {
            // Prepare
            const signature = v1a('msg_p', NOW, body);
            const changed = {
              body: () =>
                asymmetric(signature, {
                  id: 'msg_p',
                  body: changeOneByte(body, position, pick + 1),
                }),
              signature: () =>
                asymmetric(`v1a,${changeOneCharacter(signature.slice(4), position, pick)}`, {
                  id: 'msg_p',
                  body,
                }),
              timestamp: () => asymmetric(signature, { id: 'msg_p', body, at: NOW + shift * 1000 }),
              key: () =>
                asymmetric(v1a('msg_p', NOW, body, keyPair(seedByte)), { id: 'msg_p', body }),
            }[what];

            // Act
            const verdict = changed();

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 150 },
      );
    });
  });

  describe('Method: checkSecrets', () => {
    it('accepts a mix of whsec_ secrets and whpk_ public keys', () => {
      // Act
      const check = () => provider.checkSecrets([TEST_SECRET, PUBLIC_KEY, whpk(OTHER_KEYS)]);

      // Assess
      expect(check).not.toThrow();
    });

    it.each([
      ['a whpk_ key of 31 bytes', `whpk_${Buffer.alloc(31, 1).toString('base64')}`, '32-byte'],
      ['a whpk_ key that is not base64', 'whpk_not*base64', 'base64'],
      ['a whsk_ private key', whsk(KEYS), 'private key'],
    ])('rejects %s with a ConfigError that says what is expected', (_, key, expected) => {
      // Act
      const error = thrownBy(() => provider.checkSecrets([key]));

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect(String(error)).toContain(expected);
      expect(String(error)).not.toContain(key.slice(5, 25));
    });
  });
});

describe('Class: StandardWebhooksProvider, Svix header names', () => {
  /** The headers Svix sends, signed by the svix package (the oracle). */
  const svixHeaders = (id: string, at: number, body: string, secret = TEST_SECRET) => ({
    'svix-id': id,
    'svix-timestamp': String(Math.floor(at / 1000)),
    'svix-signature': new SvixWebhook(secret).sign(id, new Date(at), body),
    'content-type': 'application/json',
  });

  it('accepts a delivery signed by svix under the svix-* names, keyed by svix-id', () => {
    // Act
    const verdict = inspect(svixHeaders('msg_svix1', NOW, BODY), BODY);

    // Assess
    expect(verdict).toEqual({
      kind: 'accept',
      deliveryId: 'msg_svix1',
      eventType: 'invoice.paid',
      keptHeaders: {
        'svix-id': 'msg_svix1',
        'svix-timestamp': String(NOW_SECONDS),
        'content-type': 'application/json',
      },
    });
  });

  it('keys the same message alike under either naming: a duplicate', () => {
    // Prepare
    const svix = svixHeaders('msg_same', NOW, BODY);

    // Act
    const bySvix = inspect(svix, BODY);
    const byStandard = inspect(
      {
        'webhook-id': svix['svix-id'],
        'webhook-timestamp': svix['svix-timestamp'],
        'webhook-signature': svix['svix-signature'],
      },
      BODY,
    );

    // Assess
    expect(bySvix).toMatchObject({ kind: 'accept', deliveryId: 'msg_same' });
    expect(byStandard).toMatchObject({ kind: 'accept', deliveryId: 'msg_same' });
  });

  it('reads the svix-* header first when both names are sent, as the svix library does', () => {
    // Prepare
    const svix = svixHeaders('msg_svix', NOW, BODY);
    const other = signStandard({ id: 'msg_other', at: NOW, body: BODY });
    const both = { ...other, ...svix };

    // Act
    const verdict = inspect(both, BODY);
    const oracle = () => new SvixWebhook(TEST_SECRET).verify(BODY, both);

    // Assess
    expect(verdict).toMatchObject({ kind: 'accept', deliveryId: 'msg_svix' });
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    expect(oracle).not.toThrow();
  });

  it('refuses a svix-signature that does not cover the svix-id read with it (ids cannot be mixed in)', () => {
    // Prepare: a valid webhook-* delivery, and a forged svix-id beside it.
    const headers = { ...signStandard({ id: 'msg_real', at: NOW, body: BODY }), 'svix-id': 'x' };

    // Act
    const verdict = inspect(headers, BODY);

    // Assess
    expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
  });

  it('falls back to the webhook-* header when the svix-* one is empty', () => {
    // Act
    const verdict = inspect(
      { ...signStandard({ id: 'msg_e', at: NOW, body: BODY }), 'svix-signature': '' },
      BODY,
    );

    // Assess
    expect(verdict).toMatchObject({ kind: 'accept', deliveryId: 'msg_e' });
  });

  it('agrees with the svix library on every signed message it accepts, and on each single change', () => {
    // Prepare: svix checks the timestamp against its own clock; it reads NOW.
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });

    fc.assert(
      fc.property(
        fc.json(),
        fc.stringMatching(/^msg_[A-Za-z0-9]{1,30}$/),
        fc.constantFrom('none', 'body', 'signature', 'id', 'timestamp', 'secret'),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
        (body, id, what, position, pick, shift) => {
          // Prepare
          const signed = svixHeaders(id, NOW, body);
          const signature = signed['svix-signature'].slice('v1,'.length);
          const bytes = Buffer.from(body);
          const [headers, sent] = {
            none: () => [signed, bytes] as const,
            body: () => [signed, changeOneByte(bytes, position, pick + 1)] as const,
            signature: () =>
              [
                {
                  ...signed,
                  'svix-signature': `v1,${changeOneCharacter(signature, position, pick)}`,
                },
                bytes,
              ] as const,
            id: () =>
              [{ ...signed, 'svix-id': changeOneCharacter(id, position, pick) }, bytes] as const,
            timestamp: () =>
              [{ ...signed, 'svix-timestamp': String(NOW_SECONDS + shift) }, bytes] as const,
            secret: () => [svixHeaders(id, NOW, body, OTHER_SECRET), bytes] as const,
          }[what]();

          // Act
          const verdict = inspect(headers, sent);
          let oracleAccepts = true;
          try {
            new SvixWebhook(TEST_SECRET).verify(sent, headers);
          } catch {
            oracleAccepts = false;
          }

          // Assess: hookonce accepts exactly what svix accepts.
          expect(verdict.kind === 'accept').toBe(oracleAccepts);
          if (what === 'none') {
            expect(verdict).toMatchObject({ kind: 'accept', deliveryId: id });
          } else {
            expect401(verdict);
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('answers any svix-* headers and body with a verdict, never a throw', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string()),
        fc.option(fc.string()),
        fc.option(fc.string()),
        fc.uint8Array({ maxLength: 256 }),
        (id, timestamp, signature, body) => {
          // Act
          const verdict = inspect(
            {
              'svix-id': id ?? undefined,
              'svix-timestamp': timestamp ?? undefined,
              'svix-signature': signature ?? undefined,
            },
            Buffer.from(body),
          );

          // Assess
          expect(verdict.kind).toBe('reject');
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('Function: signStandardWebhook', () => {
  it('signs v1 with a whsec_ secret as the standardwebhooks library verifies it', () => {
    // Prepare: the library checks the timestamp against its own clock; it reads NOW.
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });

    fc.assert(
      fc.property(fc.json(), fc.stringMatching(/^msg_[A-Za-z0-9]{1,30}$/), (body, id) => {
        // Act
        const signature = signStandardWebhook({
          secret: TEST_SECRET,
          id,
          timestamp: NOW_SECONDS,
          body,
        });

        // Assess
        const verify = () =>
          new Webhook(TEST_SECRET).verify(body, {
            'webhook-id': id,
            'webhook-timestamp': String(NOW_SECONDS),
            'webhook-signature': signature,
          });
        expect(verify).not.toThrow();
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it.each([
    ['a 64-byte whsk_ key (seed and public key)', whsk(KEYS)],
    ['a 32-byte whsk_ key (seed only)', `whsk_${Buffer.alloc(32, 7).toString('base64')}`],
  ])('signs v1a with %s as TweetNaCl verifies it', (_, key) => {
    // Act
    const signature = signStandardWebhook({
      secret: key,
      id: 'msg_s',
      timestamp: NOW_SECONDS,
      body: BODY,
    });

    // Assess
    expect(signature.startsWith('v1a,')).toBe(true);
    const valid = nacl.sign.detached.verify(
      Buffer.from(`msg_s.${NOW_SECONDS}.${BODY}`),
      Buffer.from(signature.slice(4), 'base64'),
      KEYS.publicKey,
    );
    expect(valid).toBe(true);
  });

  it('refuses to sign with a public key, saying which key signs', () => {
    // Act
    const error = thrownBy(() =>
      signStandardWebhook({ secret: PUBLIC_KEY, id: 'm', timestamp: NOW_SECONDS, body: BODY }),
    );

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain('whsk_');
  });
});
