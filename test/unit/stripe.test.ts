import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { signStripe, stripe } from '../../functions/providers/stripe.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import {
  changeOneByte,
  changeOneCharacter,
  expect401,
  expectNoLeak,
  inspectWith,
  jsonObject,
  NOW,
  NOW_SECONDS,
  parsedBeforeVerdict,
  SEED,
} from '../support/providers.ts';

/** The oracle: the stripe package's own webhook helpers. */
const oracle = new Stripe('sk_test_oracle_never_calls_the_api').webhooks;

const SECRET = 'whsec_hookonce0unit0test0secret0000000001';
const OLD_SECRET = 'whsec_hookonce0unit0test0secret0000000002';
const provider = stripe({ name: 'stripe', maxBodyBytes: 200 * 1024, toleranceSeconds: 300 });

const EVENT = JSON.stringify(
  {
    id: 'evt_1QhookonceUnit',
    object: 'event',
    type: 'invoice.paid',
    data: { object: { id: 'in_1', object: 'invoice', amount_paid: 4200 } },
  },
  null,
  2,
);

/** A Stripe-Signature header made by the stripe package. */
const stripeHeader = (body: string, secret = SECRET, timestamp = NOW_SECONDS): string =>
  oracle.generateTestHeaderString({ payload: body, secret, timestamp });

const inspect = (
  signature: string | undefined,
  body: string | Buffer = EVENT,
  options: { secrets?: readonly string[]; now?: number } = {},
) =>
  inspectWith(provider, {
    headers: { 'stripe-signature': signature, 'content-type': 'application/json; charset=utf-8' },
    body,
    secrets: options.secrets ?? [SECRET],
    now: options.now,
  });

describe('Class: StripeProvider', () => {
  describe('Method: inspect', () => {
    it("accepts a delivery signed by the stripe package's test header generator, named by the event's id and type", () => {
      // Act
      const verdict = inspect(stripeHeader(EVENT));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'evt_1QhookonceUnit',
        eventType: 'invoice.paid',
        keptHeaders: { 'content-type': 'application/json; charset=utf-8' },
      });
    });

    it.each([
      ['the newer secret', SECRET],
      ['the older secret', OLD_SECRET],
    ])('accepts a delivery signed with %s while two secrets are active (rotation)', (_, signer) => {
      // Act
      const verdict = inspect(stripeHeader(EVENT, signer), EVENT, {
        secrets: [SECRET, OLD_SECRET],
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', deliveryId: 'evt_1QhookonceUnit' });
    });

    it('accepts a header with one v1 per secret while Stripe rolls the secret, whichever matches', () => {
      // Prepare: Stripe lists a v1 signature for each of the endpoint's active secrets.
      const stranger = stripeHeader(EVENT, 'whsec_somebody_else').split(',v1=')[1];
      const ours = stripeHeader(EVENT).split(',v1=')[1];

      // Act
      const verdicts = [
        `t=${NOW_SECONDS},v1=${stranger},v1=${ours}`,
        `t=${NOW_SECONDS},v1=${ours},v1=${stranger}`,
      ].map((header) => inspect(header));

      // Assess
      for (const verdict of verdicts) expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('ignores v0 signatures and still verifies the v1 beside them', () => {
      // Prepare
      const v1 = stripeHeader(EVENT).split(',v1=')[1];
      const v0 = oracle.generateTestHeaderString({
        payload: EVENT,
        secret: SECRET,
        timestamp: NOW_SECONDS,
        scheme: 'v0',
      });

      // Act
      const beside = inspect(`${v0},v1=${v1}`);
      const alone = inspect(v0);

      // Assess
      expect(beside).toMatchObject({ kind: 'accept' });
      expect(alone).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it.each([
      ['300 s old', 'accept', -300],
      ['300 s ahead', 'accept', 300],
      ['301 s old', 'timestamp_too_old', -301],
      ['301 s ahead', 'timestamp_too_new', 301],
      ['a day old', 'timestamp_too_old', -86_400],
    ])('treats a signature %s as %s', (_, outcome, offset) => {
      // Act
      const verdict = inspect(stripeHeader(EVENT, SECRET, NOW_SECONDS + offset));

      // Assess
      if (outcome === 'accept') expect(verdict).toMatchObject({ kind: 'accept' });
      else expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: outcome });
    });

    it('rejects a missing Stripe-Signature with missing_signature', () => {
      // Act
      const verdict = inspect(undefined);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'missing_signature' });
    });

    const good = stripeHeader(EVENT).split(',v1=')[1] ?? '';
    it.each([
      ['no t=', `v1=${good}`],
      ['two t=', `t=${NOW_SECONDS},t=${NOW_SECONDS},v1=${good}`],
      ['no v1=', `t=${NOW_SECONDS}`],
      ['a truncated v1', `t=${NOW_SECONDS},v1=${good.slice(0, 63)}`],
      ['a v1 one digit too long', `t=${NOW_SECONDS},v1=${good}0`],
      ['a v1 that is not hex', `t=${NOW_SECONDS},v1=${'z'.repeat(64)}`],
      [
        'base64 instead of hex',
        `t=${NOW_SECONDS},v1=${Buffer.from(good, 'hex').toString('base64')}`,
      ],
      ['garbage', 'not a stripe header'],
    ])('rejects a header with %s as malformed_signature', (_, header) => {
      // Act
      const verdict = inspect(header);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it.each([
      ['a word', 'soon'],
      ['a fraction', `${NOW_SECONDS}.5`],
      ['a negative number', `-${NOW_SECONDS}`],
    ])('rejects a t= that is %s as malformed_timestamp', (_, t) => {
      // Act
      const verdict = inspect(`t=${t},v1=${good}`);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_timestamp' });
    });

    it('rejects a signature made with another secret as signature_mismatch', () => {
      // Act
      const verdict = inspect(stripeHeader(EVENT, 'whsec_not_ours'));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('rejects a body that was re-serialized after signing (pretty-printed → compact)', () => {
      // Prepare
      const header = stripeHeader(EVENT);

      // Act
      const verdict = inspect(header, JSON.stringify(JSON.parse(EVENT)));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it.each([
      ['is not JSON', 'id=evt_1', 'malformed_body'],
      ['is a JSON array', '[{"id":"evt_1"}]', 'malformed_body'],
      ['has no id', '{"object":"event","type":"invoice.paid"}', 'missing_delivery_id'],
      ['has an empty id', '{"id":"","type":"invoice.paid"}', 'missing_delivery_id'],
    ])('rejects a correctly signed body that %s with 400 %s', (_, body, code) => {
      // Act
      const verdict = inspect(stripeHeader(body), body);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code });
    });

    it('names an event without a type "webhook"', () => {
      // Prepare
      const body = '{"id":"evt_untyped"}';

      // Act
      const verdict = inspect(stripeHeader(body), body);

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', eventType: 'webhook' });
    });

    it('checks the signature before it parses the body', () => {
      // Act
      const parsed = parsedBeforeVerdict(provider, {
        headers: { 'stripe-signature': stripeHeader(EVENT, 'whsec_not_ours') },
        body: EVENT,
        secrets: [SECRET],
      });

      // Assess
      expect(parsed).toBe(false);
    });

    it('never puts the expected signature or the secret in a rejection', () => {
      // Prepare
      const expected = stripeHeader(EVENT).split(',v1=')[1] ?? '';

      // Act
      const verdicts = [
        inspect(stripeHeader(EVENT, 'whsec_not_ours')),
        inspect(stripeHeader(EVENT), `${EVENT} `),
        inspect(`t=${NOW_SECONDS},v1=${expected.slice(0, 40)}`),
      ];

      // Assess
      for (const verdict of verdicts) expectNoLeak(verdict, expected, SECRET);
    });

    it('accepts what the stripe package signs, for any event, id and timestamp within tolerance', () => {
      fc.assert(
        fc.property(
          jsonObject(),
          fc.stringMatching(/^evt_[A-Za-z0-9]{1,40}$/),
          fc.integer({ min: -300, max: 300 }),
          (data, id, offset) => {
            // Prepare
            const body = JSON.stringify({ id, object: 'event', type: 'charge.succeeded', data });

            // Act
            const verdict = inspect(stripeHeader(body, SECRET, NOW_SECONDS + offset), body);

            // Assess
            expect(verdict).toMatchObject({ kind: 'accept', deliveryId: id });
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
          fc.stringMatching(/^whsec_[A-Za-z0-9]{8,40}$/).filter((s) => s !== SECRET),
          (data, what, position, pick, shift, otherSecret) => {
            // Prepare
            const body = JSON.stringify({ id: 'evt_prop', type: 'charge.succeeded', data });
            const header = stripeHeader(body);
            const v1 = header.split(',v1=')[1];
            const changed = {
              body: () => inspect(header, changeOneByte(body, position, pick + 1)),
              signature: () => inspect(changeOneCharacter(header, position, pick), body),
              timestamp: () => inspect(`t=${NOW_SECONDS + shift},v1=${v1}`, body),
              secret: () => inspect(stripeHeader(body, otherSecret), body),
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

  describe('Function: signStripe', () => {
    it('makes headers that the stripe package accepts, for any event body', () => {
      fc.assert(
        fc.property(jsonObject(), fc.integer({ min: -300, max: 0 }), (data, age) => {
          // Prepare
          const body = JSON.stringify({ id: 'evt_signed', object: 'event', data });
          const timestamp = NOW_SECONDS + age;

          // Act
          const headers = signStripe({ secret: SECRET, timestamp, body });

          // Assess
          const event = oracle.constructEvent(
            body,
            headers['stripe-signature'] ?? '',
            SECRET,
            300,
            undefined,
            NOW,
          );
          expect(event.id).toBe('evt_signed');
        }),
        { seed: SEED, numRuns: 100 },
      );
    });

    it('is refused by the stripe package when signed with another secret', () => {
      // Prepare
      const headers = signStripe({ secret: OLD_SECRET, timestamp: NOW_SECONDS, body: EVENT });

      // Act
      const verify = () =>
        oracle.constructEvent(
          EVENT,
          headers['stripe-signature'] ?? '',
          SECRET,
          300,
          undefined,
          NOW,
        );

      // Assess
      expect(verify).toThrow(/signature/i);
    });
  });

  describe('Method: checkSecrets', () => {
    it('accepts whsec_ secrets', () => {
      // Act
      const check = () => provider.checkSecrets([SECRET, OLD_SECRET]);

      // Assess
      expect(check).not.toThrow();
    });

    it.each([
      ['an API key instead of a signing secret', 'sk_test_51Habc', '51Habc'],
      ['"whsec_" alone', 'whsec_', undefined],
      ['whitespace inside', 'whsec_abc def', 'abc def'],
    ])(
      'rejects %s with a ConfigError that names what is expected and not the secret',
      (_, secret, part) => {
        // Act
        let error: unknown;
        try {
          provider.checkSecrets([secret]);
        } catch (e) {
          error = e;
        }

        // Assess
        expect(error).toBeInstanceOf(ConfigError);
        expect(String(error)).toMatch(/"whsec_"|whitespace/);
        if (part) expect(String(error)).not.toContain(part);
      },
    );

    it('rejects an empty list of secrets', () => {
      // Act
      const check = () => provider.checkSecrets([]);

      // Assess
      expect(check).toThrow(ConfigError);
    });
  });
});
