import { createHash, createHmac } from 'node:crypto';
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

    it("verifies Slack's published example, a slash command, keyed by the SHA-256 of its signed body", () => {
      // Act
      const verdict = inspect(
        { signature: PUBLISHED.signature, timestamp: PUBLISHED.timestamp },
        PUBLISHED.body,
        { secrets: [PUBLISHED.secret], now: PUBLISHED.timestamp * 1000 },
      );

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: createHash('sha256').update(PUBLISHED.body).digest('hex'),
        eventType: 'slash_command./webhook-collect',
      });
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
      ['whose interactivity payload has no type', 'payload=%7B%7D', 'malformed_body'],
      ['that is neither JSON nor a Slack form', 'hello=world', 'malformed_body'],
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

  describe('Method: inspect, form-encoded bodies (interactivity and slash commands)', () => {
    const TRIGGER = '4102444800123.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const blockActions = (trigger = TRIGGER) =>
      JSON.stringify({
        type: 'block_actions',
        team: { id: 'T0001', domain: 'hookonce' },
        user: { id: 'U0001' },
        trigger_id: trigger,
        actions: [{ action_id: 'approve', type: 'button', action_ts: '4102444800.123456' }],
      });
    const interactivity = (payload: string) => new URLSearchParams({ payload }).toString();
    const slashCommand = (command: string, trigger = TRIGGER) =>
      new URLSearchParams({
        token: 'gIkuvaNzQIHg97ATvDxqgjtO',
        team_id: 'T0001',
        channel_id: 'C0001',
        user_id: 'U0001',
        command,
        text: 'production now',
        response_url: 'https://hooks.slack.com/commands/1234/5678',
        trigger_id: trigger,
      }).toString();
    const digest = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

    /** A form body as Slack posts it, signed per Slack's v0 algorithm. */
    const postForm = (
      body: string | Buffer,
      options: {
        secret?: string;
        timestamp?: number;
        signature?: string;
        headers?: Record<string, string>;
      } = {},
    ) => {
      const timestamp = options.timestamp ?? NOW_SECONDS;
      return inspectWith(provider, {
        headers: {
          'x-slack-signature':
            options.signature ?? slackSignature(options.secret ?? SECRET, timestamp, body),
          'x-slack-request-timestamp': String(timestamp),
          'content-type': 'application/x-www-form-urlencoded',
          'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
          ...options.headers,
        },
        body,
        secrets: [SECRET],
      });
    };

    it("accepts an interactivity payload, typed by the payload's type, keyed by the SHA-256 of the signed body", () => {
      // Prepare
      const body = interactivity(blockActions());

      // Act
      const verdict = postForm(body);

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: digest(body),
        eventType: 'block_actions',
        keptHeaders: {
          'x-slack-request-timestamp': String(NOW_SECONDS),
          'content-type': 'application/x-www-form-urlencoded',
          'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        },
        acknowledgement: { statusCode: 200, contentType: 'text/plain', body: '' },
      });
    });

    it.each([
      ['view_submission', { type: 'view_submission', trigger_id: TRIGGER, view: { id: 'V1' } }],
      ['view_closed', { type: 'view_closed', view: { id: 'V1' }, is_cleared: false }],
      ['shortcut', { type: 'shortcut', callback_id: 'cb', trigger_id: TRIGGER }],
      ['block_suggestion', { type: 'block_suggestion', action_id: 'a', value: 'q' }],
    ])('accepts a %s payload, with or without a trigger_id', (type, payload) => {
      // Prepare
      const body = interactivity(JSON.stringify(payload));

      // Act
      const verdict = postForm(body);

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', eventType: type, deliveryId: digest(body) });
    });

    it('accepts a slash command, typed slash_command.<command>', () => {
      // Prepare
      const body = slashCommand('/deploy');

      // Act
      const verdict = postForm(body);

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        eventType: 'slash_command./deploy',
        deliveryId: digest(body),
      });
    });

    it('asks for an empty 200 for every form it accepts (what Slack shows the user nothing of), never for an Events API request', () => {
      // Prepare
      const forms = [
        slashCommand('/deploy'),
        interactivity(blockActions()),
        interactivity(JSON.stringify({ type: 'view_submission', view: { id: 'V1' } })),
      ];

      // Act
      const acknowledgements = forms.map(
        (body) => (postForm(body) as { acknowledgement?: unknown }).acknowledgement,
      );
      const event = signed();

      // Assess
      expect(acknowledgements).toEqual(
        forms.map(() => ({ statusCode: 200, contentType: 'text/plain', body: '' })),
      );
      expect(event).toMatchObject({ kind: 'accept' });
      expect(event).not.toHaveProperty('acknowledgement');
    });

    it('keys by signed content only: X-Slack-Retry-Num and a new timestamp change nothing, a new trigger_id does', () => {
      // Prepare
      const body = interactivity(blockActions());

      // Act
      const first = postForm(body);
      const retried = postForm(body, {
        timestamp: NOW_SECONDS - 60,
        headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
      });
      const another = postForm(interactivity(blockActions(`${TRIGGER}0`)));

      // Assess
      expect(first).toMatchObject({ kind: 'accept', deliveryId: digest(body) });
      expect(retried).toMatchObject({ kind: 'accept', deliveryId: digest(body) });
      expect(another).toMatchObject({ kind: 'accept' });
      expect(another).not.toMatchObject({ deliveryId: digest(body) });
    });

    it('reads the body as signed, whatever the unsigned Content-Type says', () => {
      // Act
      const formAsJson = postForm(slashCommand('/deploy'), {
        headers: { 'content-type': 'application/json' },
      });
      const jsonAsForm = inspectWith(provider, {
        headers: {
          'x-slack-signature': slackSignature(SECRET, NOW_SECONDS, EVENT),
          'x-slack-request-timestamp': String(NOW_SECONDS),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: EVENT,
        secrets: [SECRET],
      });

      // Assess
      expect(formAsJson).toMatchObject({ kind: 'accept', eventType: 'slash_command./deploy' });
      expect(jsonAsForm).toMatchObject({ kind: 'accept', deliveryId: 'Ev08HOOKONCE1' });
    });

    it("answers Slack's signed ssl_check with 200, neither stored nor published", () => {
      // Act
      const verdict = postForm('ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO');

      // Assess
      expect(verdict).toEqual({
        kind: 'reply',
        statusCode: 200,
        contentType: 'text/plain',
        body: '',
      });
    });

    it.each([
      ['a payload that is not JSON', 'payload=%7Bnot-json'],
      ['a payload that is a JSON array', `payload=${encodeURIComponent('[1]')}`],
      ['a payload whose type is not a string', interactivity('{"type":7}')],
      ['an empty command', 'command=&text=x'],
      ['a form of neither kind', 'token=x&team_id=T1'],
      ['an unsigned-looking ssl_check', 'ssl_check=0'],
    ])('refuses a signed form with %s as 400 malformed_body', (_, body) => {
      // Act
      const verdict = postForm(body);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_body' });
    });

    it('rejects a form signed over another body, or with the timestamp left out, with a 401', () => {
      // Prepare
      const body = slashCommand('/deploy');

      // Act
      const other = postForm(body, {
        signature: slackSignature(SECRET, NOW_SECONDS, slashCommand('/rollback')),
      });
      const bodyOnly = postForm(body, {
        signature: `v0=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      });

      // Assess
      expect(other).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
      expect(bodyOnly).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    const forms = fc.oneof(
      fc
        .record({
          type: fc.constantFrom(
            'block_actions',
            'view_submission',
            'view_closed',
            'shortcut',
            'message_action',
          ),
          trigger_id: fc.stringMatching(/^\d{10,13}\.\d{8,11}\.[0-9a-f]{32}$/),
          text: fc.string({ maxLength: 40 }),
        })
        .map((p) => ({ body: interactivity(JSON.stringify(p)), type: p.type })),
      fc
        .record({
          command: fc.stringMatching(/^\/[a-z][a-z0-9_-]{0,20}$/),
          text: fc.string({ maxLength: 40 }),
          trigger_id: fc.stringMatching(/^\d{10,13}\.\d{8,11}\.[0-9a-f]{32}$/),
        })
        .map((p) => ({
          body: new URLSearchParams({ ...p, team_id: 'T0001' }).toString(),
          type: `slash_command.${p.command}`,
        })),
    );

    it('accepts every form Slack signs, within ±300 s, keyed by the SHA-256 of the body', () => {
      fc.assert(
        fc.property(forms, fc.integer({ min: -300, max: 300 }), ({ body, type }, skew) => {
          // Act
          const verdict = postForm(body, { timestamp: NOW_SECONDS + skew });

          // Assess
          expect(verdict).toMatchObject({
            kind: 'accept',
            eventType: type,
            deliveryId: digest(body),
          });
        }),
        { seed: SEED, numRuns: 300 },
      );
    });

    it('rejects any single change to a form body, the signature, the timestamp or the secret with a 401, never a throw', () => {
      fc.assert(
        fc.property(
          forms,
          fc.constantFrom('body', 'signature', 'timestamp', 'secret'),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
          secrets().filter((s) => s !== SECRET),
          ({ body }, what, position, pick, shift, otherSecret) => {
            // Prepare
            const signature = slackSignature(SECRET, NOW_SECONDS, body);
            const changed = {
              body: () => postForm(changeOneByte(body, position, pick + 1), { signature }),
              signature: () =>
                postForm(body, { signature: changeOneCharacter(signature, position, pick) }),
              // The signature made at NOW, sent with another timestamp.
              timestamp: () => postForm(body, { signature, timestamp: NOW_SECONDS + shift }),
              secret: () => postForm(body, { secret: otherSecret }),
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
