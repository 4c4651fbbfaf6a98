import { createHash } from 'node:crypto';
import { sign, verify } from '@octokit/webhooks-methods';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { github, signGithub } from '../../functions/providers/github.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import {
  changeOneByte,
  changeOneCharacter,
  expect401,
  expectNoLeak,
  inspectWith,
  jsonObject,
  SEED,
  secrets,
} from '../support/providers.ts';

const SECRET = 'hookonce-github-unit-secret';
const OLD_SECRET = 'hookonce-github-old-secret';
const provider = github({ name: 'github', maxBodyBytes: 200 * 1024 });
const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
const PUSH = JSON.stringify({
  ref: 'refs/heads/main',
  before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  after: '59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5',
  repository: { id: 1296269, full_name: 'octocat/Hello-World' },
});

/** GitHub signs the body alone: it, not X-GitHub-Delivery, keys a delivery. */
const keyOf = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

const headersOf = (signature: string | undefined, event = 'push', delivery = DELIVERY) => ({
  'x-hub-signature-256': signature,
  'x-github-event': event,
  'x-github-delivery': delivery,
  'x-github-hook-id': '292430182',
  'content-type': 'application/json',
  'user-agent': 'GitHub-Hookshot/044aadd',
});

const inspect = (
  signature: string | undefined,
  body: string | Buffer = PUSH,
  options: { secrets?: readonly string[]; event?: string; delivery?: string } = {},
) =>
  inspectWith(provider, {
    headers: headersOf(signature, options.event, options.delivery),
    body,
    secrets: options.secrets ?? [SECRET],
  });

describe('Class: GithubProvider', () => {
  describe('Method: inspect', () => {
    it('accepts a delivery signed by @octokit/webhooks-methods, keyed by the SHA-256 of the body it signs, X-GitHub-Delivery kept as the provider’s id', async () => {
      // Prepare
      const signature = await sign(SECRET, PUSH);

      // Act
      const verdict = inspect(signature);

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: keyOf(PUSH),
        providerDeliveryId: DELIVERY,
        eventType: 'push',
        unsignedEventType: true,
        keptHeaders: {
          'x-github-delivery': DELIVERY,
          'x-github-event': 'push',
          'x-github-hook-id': '292430182',
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/044aadd',
        },
      });
    });

    it("accepts GitHub's ping like any other delivery", async () => {
      // Prepare
      const ping = JSON.stringify({ zen: 'Design for failure.', hook_id: 292430182 });

      // Act
      const verdict = inspect(await sign(SECRET, ping), ping, { event: 'ping' });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', eventType: 'ping', deliveryId: keyOf(ping) });
    });

    it('keys a signed request sent again under a fresh X-GitHub-Delivery as the same delivery', async () => {
      // Prepare: a copy of one signed request, as anyone with "Recent Deliveries" could send it.
      const signature = await sign(SECRET, PUSH);

      // Act
      const first = inspect(signature, PUSH);
      const replayed = inspect(signature, PUSH, {
        delivery: 'f0f0f0f0-0000-4000-8000-000000000000',
      });

      // Assess
      expect(first).toMatchObject({ kind: 'accept', deliveryId: keyOf(PUSH) });
      expect(replayed).toMatchObject({
        kind: 'accept',
        deliveryId: keyOf(PUSH),
        providerDeliveryId: 'f0f0f0f0-0000-4000-8000-000000000000',
      });
    });

    it.each([
      ['an upper-case name', 'Push'],
      ['a space', 'pull request'],
      ['a path', '../push'],
      ['a right-to-left override', 'push\u202e'],
      ['a C1 control', 'push\u0085'],
      ['a name too long', `a${'b'.repeat(64)}`],
    ])(
      'refuses an X-GitHub-Event with %s as malformed_event_type (it is not signed)',
      async (_, event) => {
        // Act
        const verdict = inspect(await sign(SECRET, PUSH), PUSH, { event });

        // Assess
        expect(verdict).toMatchObject({
          kind: 'reject',
          status: 400,
          code: 'malformed_event_type',
        });
      },
    );

    it('verifies GitHub\'s documented example (secret "It\'s a Secret to Everybody", body "Hello, World!")', () => {
      // Prepare: the pair published in GitHub's "Validating webhook deliveries".
      const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

      // Act
      const verdict = inspect(signature, 'Hello, World!', {
        secrets: ["It's a Secret to Everybody"],
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it.each([
      ['the new secret', SECRET],
      ['the old secret', OLD_SECRET],
    ])(
      'accepts a delivery signed with %s while two secrets are active (rotation)',
      async (_, signer) => {
        // Act
        const verdict = inspect(await sign(signer, PUSH), PUSH, { secrets: [SECRET, OLD_SECRET] });

        // Assess
        expect(verdict).toMatchObject({ kind: 'accept' });
      },
    );

    it('accepts a form-encoded delivery: the signature covers the raw bytes, whatever they are', async () => {
      // Prepare
      const form = `payload=${encodeURIComponent(PUSH)}`;

      // Act
      const verdict = inspect(await sign(SECRET, form), form);

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', deliveryId: keyOf(form) });
    });

    it('rejects a delivery without X-Hub-Signature-256 (a webhook without a secret) as missing_signature', () => {
      // Act
      const verdict = inspect(undefined);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'missing_signature' });
      expect((verdict as { message: string }).message).toContain('secret');
    });

    it.each([
      ['the legacy sha1 form', 'sha1=0123456789abcdef0123456789abcdef01234567'],
      ['no prefix', '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'],
      [
        'a truncated digest',
        'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1',
      ],
      ['a digest that is not hex', `sha256=${'g'.repeat(64)}`],
      ['an empty digest', 'sha256='],
    ])('rejects %s as malformed_signature', (_, signature) => {
      // Act
      const verdict = inspect(signature);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('rejects a signature made with another secret as signature_mismatch', async () => {
      // Act
      const verdict = inspect(await sign('not-our-secret', PUSH));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('rejects a correctly signed delivery without X-GitHub-Delivery with 400 missing_delivery_id', async () => {
      // Act
      const verdict = inspect(await sign(SECRET, PUSH), PUSH, { delivery: '' });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'missing_delivery_id' });
    });

    it('never puts the expected signature or the secret in a rejection', async () => {
      // Prepare
      const expected = (await sign(SECRET, PUSH)).slice('sha256='.length);

      // Act
      const verdicts = [
        inspect(await sign('not-our-secret', PUSH)),
        inspect(`sha256=${expected}`, `${PUSH} `),
        inspect(`sha256=${expected.slice(0, 50)}`),
      ];

      // Assess
      for (const verdict of verdicts) expectNoLeak(verdict, expected, SECRET);
    });

    it('accepts what @octokit/webhooks-methods signs, for any body and secret', async () => {
      await fc.assert(
        fc.asyncProperty(jsonObject(), secrets(), async (payload, secret) => {
          // Prepare
          const body = JSON.stringify(payload);

          // Act
          const verdict = inspect(await sign(secret, body), body, { secrets: [secret] });

          // Assess
          expect(verdict).toMatchObject({
            kind: 'accept',
            deliveryId: keyOf(body),
            providerDeliveryId: DELIVERY,
          });
        }),
        { seed: SEED, numRuns: 200 },
      );
    });

    it('rejects any single change to the body, the signature or the secret with a 401', async () => {
      await fc.assert(
        fc.asyncProperty(
          jsonObject(),
          fc.constantFrom('body', 'signature', 'secret'),
          fc.nat(),
          fc.nat(),
          secrets().filter((s) => s !== SECRET),
          async (payload, what, position, pick, otherSecret) => {
            // Prepare
            const body = JSON.stringify(payload);
            const signature = await sign(SECRET, body);
            const changed = {
              body: () => inspect(signature, changeOneByte(body, position, pick + 1)),
              signature: () => inspect(changeOneCharacter(signature, position, pick), body),
              secret: async () => inspect(await sign(otherSecret, body), body),
            }[what];

            // Act
            const verdict = await changed();

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 400 },
      );
    });

    it('answers any header and body whatsoever with a verdict, never a throw', () => {
      fc.assert(
        fc.property(fc.option(fc.string()), fc.uint8Array({ maxLength: 256 }), (header, body) => {
          // Act
          const verdict = inspect(header ?? undefined, Buffer.from(body));

          // Assess
          expect401(verdict);
        }),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Function: signGithub', () => {
    it('makes signatures that @octokit/webhooks-methods verifies, for any body and secret', async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ minLength: 1 }), secrets(), async (body, secret) => {
          // Act
          const headers = signGithub({ secret, body });

          // Assess
          expect(await verify(secret, body, headers['x-hub-signature-256'] ?? '')).toBe(true);
        }),
        { seed: SEED, numRuns: 200 },
      );
    });

    it('makes signatures that @octokit/webhooks-methods refuses under another secret', async () => {
      // Act
      const headers = signGithub({ secret: OLD_SECRET, body: PUSH });

      // Assess
      expect(await verify(SECRET, PUSH, headers['x-hub-signature-256'] ?? '')).toBe(false);
    });
  });

  describe('Method: checkSecrets', () => {
    it('accepts any secret of 16 characters or more without whitespace', () => {
      // Act
      const check = () => provider.checkSecrets([SECRET, "It's-a-Secret-to-Everybody"]);

      // Assess
      expect(check).not.toThrow();
    });

    it.each([
      ['an empty list', []],
      ['an empty secret', ['']],
      ['a secret with a space', ['two words']],
    ])('rejects %s with a ConfigError', (_, list) => {
      // Act
      const check = () => provider.checkSecrets(list);

      // Assess
      expect(check).toThrow(ConfigError);
    });
  });
});
