import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signSlack, slack } from '../../functions/providers/slack.ts';
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

/**
 * Slack publishes its algorithm, not a receiving library: "v0=" and the hex
 * HMAC-SHA256 of "v0:<timestamp>:<body>", keyed with the signing secret. The oracle
 * is that sentence with node:crypto; the vector is the one in Slack's "Verifying
 * requests from Slack".
 */
const slackSignature = (secret: string, timestamp: number | string, body: string | Buffer) =>
  `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;

const PUBLISHED = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: 1531420618,
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};

const SECRET = 'e0f1d2c3b4a5968778695a4b3c2d1e0f';
const OLD_SECRET = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const provider = slack({ name: 'slack', maxBodyBytes: 200 * 1024, toleranceSeconds: 300 });

const EVENT = JSON.stringify({
  token: 'XXYYZZ',
  team_id: 'T0001',
  api_app_id: 'A0001',
  event: {
    type: 'message',
    channel: 'C0001',
    user: 'U0001',
    text: 'hello',
    ts: '4102444800.000100',
  },
  type: 'event_callback',
  event_id: 'Ev08HOOKONCE1',
  event_time: 4102444800,
});

const inspect = (
  headers: { signature?: string; timestamp?: string | number },
  body: string | Buffer = EVENT,
  options: { secrets?: readonly string[]; now?: number } = {},
) =>
  inspectWith(provider, {
    headers: {
      'x-slack-signature': headers.signature,
      'x-slack-request-timestamp':
        headers.timestamp === undefined ? undefined : String(headers.timestamp),
      'content-type': 'application/json',
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    },
    body,
    secrets: options.secrets ?? [SECRET],
    now: options.now,
  });

/** A delivery signed now with `secret`. */
const signed = (body: string = EVENT, secret = SECRET, timestamp = NOW_SECONDS) =>
  inspect({ signature: slackSignature(secret, timestamp, body), timestamp }, body);

describe('Class: SlackProvider', () => {
  describe('Method: inspect', () => {
    it("accepts an Events API request signed per Slack's algorithm, named by event_id and event.type", () => {
      // Act
      const verdict = signed();

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'Ev08HOOKONCE1',
        eventType: 'message',
        keptHeaders: {
          'x-slack-request-timestamp': String(NOW_SECONDS),
          'content-type': 'application/json',
          'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        },
      });
    });

    it("verifies the signature of Slack's published example, then refuses its form body as no Events API request", () => {
      // Act
      const verdict = inspect(
        { signature: PUBLISHED.signature, timestamp: PUBLISHED.timestamp },
        PUBLISHED.body,
        { secrets: [PUBLISHED.secret], now: PUBLISHED.timestamp * 1000 },
      );

      // Assess: past the signature (not a 401), stopped at the body (400).
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_body' });
    });

    it('answers url_verification with its challenge, and names no delivery', () => {
      // Prepare
      const body = JSON.stringify({
        token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
        challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
        type: 'url_verification',
      });

      // Act
      const verdict = signed(body);

      // Assess
      expect(verdict).toEqual({
        kind: 'reply',
        statusCode: 200,
        contentType: 'application/json',
        body: JSON.stringify({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' }),
      });
    });

    it('answers nothing but a 401 to a url_verification signed with another secret', () => {
      // Prepare
      const body = JSON.stringify({ challenge: 'abc', type: 'url_verification' });

      // Act
      const verdict = signed(body, 'not-our-secret');

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('rejects a url_verification without a challenge with 400 malformed_body', () => {
      // Act
      const verdict = signed('{"type":"url_verification"}');

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_body' });
    });

    it.each([
      ['the new secret', SECRET],
      ['the old secret', OLD_SECRET],
    ])('accepts a request signed with %s while two secrets are active (rotation)', (_, signer) => {
      // Act
      const verdict = inspect(
        { signature: slackSignature(signer, NOW_SECONDS, EVENT), timestamp: NOW_SECONDS },
        EVENT,
        { secrets: [SECRET, OLD_SECRET] },
      );

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it.each([
      ['300 s old', 'accept', -300],
      ['300 s ahead', 'accept', 300],
      ['301 s old', 'timestamp_too_old', -301],
      ['301 s ahead', 'timestamp_too_new', 301],
    ])('treats a request %s as %s', (_, outcome, offset) => {
      // Act
      const verdict = signed(EVENT, SECRET, NOW_SECONDS + offset);

      // Assess
      if (outcome === 'accept') expect(verdict).toMatchObject({ kind: 'accept' });
      else expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: outcome });
    });

    it.each([
      ['no signature', { timestamp: NOW_SECONDS }, 'missing_signature'],
      [
        'no timestamp',
        { signature: slackSignature(SECRET, NOW_SECONDS, EVENT) },
        'missing_timestamp',
      ],
      [
        'a timestamp in milliseconds… of a far future',
        { signature: slackSignature(SECRET, NOW_SECONDS, EVENT), timestamp: NOW_SECONDS * 1000 },
        'timestamp_too_new',
      ],
      [
        'a timestamp that is no number',
        { signature: slackSignature(SECRET, NOW_SECONDS, EVENT), timestamp: 'now' },
        'malformed_timestamp',
      ],
      [
        'a signature without v0=',
        { signature: slackSignature(SECRET, NOW_SECONDS, EVENT).slice(3), timestamp: NOW_SECONDS },
        'malformed_signature',
      ],
      [
        'a v1= signature',
        {
          signature: `v1=${slackSignature(SECRET, NOW_SECONDS, EVENT).slice(3)}`,
          timestamp: NOW_SECONDS,
        },
        'malformed_signature',
      ],
      [
        'a truncated signature',
        {
          signature: slackSignature(SECRET, NOW_SECONDS, EVENT).slice(0, 60),
          timestamp: NOW_SECONDS,
        },
        'malformed_signature',
      ],
      [
        'a signature over another timestamp',
        { signature: slackSignature(SECRET, NOW_SECONDS - 1, EVENT), timestamp: NOW_SECONDS },
        'signature_mismatch',
      ],
    ])('rejects a request with %s as %s', (_, headers, code) => {
      // Act
      const verdict = inspect(headers);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code });
    });

    it.each([
      [
        'without event_id',
        '{"type":"event_callback","event":{"type":"message"}}',
        'missing_delivery_id',
      ],
      ['that is not JSON', 'payload=%7B%7D', 'malformed_body'],
    ])('rejects a correctly signed request %s with 400 %s', (_, body, code) => {
      // Act
      const verdict = signed(body);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code });
    });

    it('names an envelope without an inner event by its own type', () => {
      // Act
      const verdict = signed('{"type":"app_rate_limited","event_id":"Ev1"}');

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', eventType: 'app_rate_limited' });
    });

    it('never puts the expected signature or the secret in a rejection', () => {
      // Prepare
      const expected = slackSignature(SECRET, NOW_SECONDS, EVENT).slice(3);

      // Act
      const verdicts = [
        signed(EVENT, 'not-our-secret'),
        inspect({ signature: `v0=${expected}`, timestamp: NOW_SECONDS }, `${EVENT} `),
        inspect({ signature: `v0=${expected}`, timestamp: NOW_SECONDS - 301 }),
      ];

      // Assess
      for (const verdict of verdicts) expectNoLeak(verdict, expected, SECRET);
    });

    it("accepts what Slack's algorithm signs, for any event, id, secret and timestamp within tolerance", () => {
      fc.assert(
        fc.property(
          jsonObject(),
          fc.stringMatching(/^Ev[A-Z0-9]{6,20}$/),
          secrets(),
          fc.integer({ min: -300, max: 300 }),
          (event, id, secret, offset) => {
            // Prepare
            const body = JSON.stringify({ type: 'event_callback', event_id: id, event });
            const timestamp = NOW_SECONDS + offset;

            // Act
            const verdict = inspect(
              { signature: slackSignature(secret, timestamp, body), timestamp },
              body,
              { secrets: [secret] },
            );

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
          secrets().filter((s) => s !== SECRET),
          (event, what, position, pick, shift, otherSecret) => {
            // Prepare
            const body = JSON.stringify({ type: 'event_callback', event_id: 'EvPROP', event });
            const signature = slackSignature(SECRET, NOW_SECONDS, body);
            const changed = {
              body: () =>
                inspect(
                  { signature, timestamp: NOW_SECONDS },
                  changeOneByte(body, position, pick + 1),
                ),
              signature: () =>
                inspect(
                  {
                    signature: changeOneCharacter(signature, position, pick),
                    timestamp: NOW_SECONDS,
                  },
                  body,
                ),
              timestamp: () => inspect({ signature, timestamp: NOW_SECONDS + shift }, body),
              secret: () => signed(body, otherSecret),
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
              { signature: signature ?? undefined, timestamp: timestamp ?? undefined },
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

  describe('Function: signSlack', () => {
    it("reproduces Slack's published example", () => {
      // Act
      const headers = signSlack({
        secret: PUBLISHED.secret,
        timestamp: PUBLISHED.timestamp,
        body: PUBLISHED.body,
      });

      // Assess
      expect(headers).toEqual({
        'x-slack-signature': PUBLISHED.signature,
        'x-slack-request-timestamp': String(PUBLISHED.timestamp),
      });
    });
  });

  describe('Method: checkSecrets', () => {
    it("accepts signing secrets, including the published example's", () => {
      // Act
      const check = () => provider.checkSecrets([SECRET, PUBLISHED.secret]);

      // Assess
      expect(check).not.toThrow();
    });

    it.each([
      ['an empty list', []],
      ['an empty secret', ['']],
      ['a secret with a space', ['abc def']],
    ])('rejects %s with a ConfigError', (_, list) => {
      // Act
      const check = () => provider.checkSecrets(list);

      // Assess
      expect(check).toThrow(ConfigError);
    });
  });
});
