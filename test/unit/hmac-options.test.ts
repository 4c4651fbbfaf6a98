import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
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
  inspectWith,
  jsonObject,
  NOW,
  NOW_SECONDS,
  SEED,
} from '../support/providers.ts';

/**
 * The generalised `hmac` family: structured signature headers, templates over
 * the method, URL, path and headers, secret encodings and timestamp formats. Each
 * shape is signed by the sender's own library where one exists (stripe, svix,
 * standardwebhooks), else by node:crypto following the sender's documented
 * algorithm.
 */

const SECRET = 'hookonce-hmac-options-secret';
const HOST = 'hooks.example.com';

function declared(options: Omit<HmacProvider, 'scheme'>) {
  const resolved = resolveDeclaration({
    providers: { acme: { scheme: 'hmac', ...options } },
    subscribers: {},
  }).providers.acme as ResolvedHmac & { maxBodyBytes: number };
  return { config: resolved, provider: hmacProvider({ name: 'acme', ...resolved }) };
}

const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

const EVENT = JSON.stringify({ id: 'evt_1', type: 'invoice.paid', data: { amount: 4200 } });

describe('Class: HmacProvider, generalised', () => {
  describe('Method: inspect, structured signature headers', () => {
    const stripeOracle = new Stripe('sk_test_oracle_never_calls_the_api').webhooks;
    const stripeSecret = 'whsec_hookonce0options0secret000000001';
    const { provider: asStripe } = declared({
      header: 'Stripe-Signature',
      structured: { signatureKey: 'v1', timestampKey: 't' },
      algorithm: 'sha256',
      encoding: 'hex',
      deliveryId: { jsonField: 'id' },
      eventTypeField: 'type',
    });
    const inspect = (header: string | undefined, body = EVENT, now = NOW) =>
      inspectWith(asStripe, {
        headers: { 'stripe-signature': header },
        body,
        secrets: [stripeSecret],
        now,
      });

    it("verifies Stripe's t=…,v1=… header as the stripe package signs it, timestamp inside the header", () => {
      // Prepare
      const header = stripeOracle.generateTestHeaderString({
        payload: EVENT,
        secret: stripeSecret,
        timestamp: NOW_SECONDS,
      });

      // Act
      const verdict = inspect(header);

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'evt_1',
        eventType: 'invoice.paid',
        keptHeaders: {},
      });
    });

    it('accepts a header holding several signatures when any one of them matches (rotation)', () => {
      // Prepare
      const good = createHmac('sha256', stripeSecret)
        .update(`${NOW_SECONDS}.${EVENT}`)
        .digest('hex');
      const other = createHmac('sha256', 'an-older-secret-0000')
        .update(`${NOW_SECONDS}.${EVENT}`)
        .digest('hex');

      // Act
      const first = inspect(`t=${NOW_SECONDS},v1=${good},v1=${other}`);
      const last = inspect(`t=${NOW_SECONDS},v1=${other},v0=${good.slice(2)},v1=${good}`);
      const none = inspect(`t=${NOW_SECONDS},v1=${other},v1=${other}`);

      // Assess
      expect(first).toMatchObject({ kind: 'accept' });
      expect(last).toMatchObject({ kind: 'accept' });
      expect(none).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('reads the items as the separator splits them: whitespace around them, empty items and items without the assignment change nothing', () => {
      // Prepare
      const good = createHmac('sha256', stripeSecret)
        .update(`${NOW_SECONDS}.${EVENT}`)
        .digest('hex');
      const bad = createHmac('sha256', 'an-older-secret-0000')
        .update(`${NOW_SECONDS}.${EVENT}`)
        .digest('hex');
      const item = fc.constantFrom(
        `t=${NOW_SECONDS}`,
        `v1=${good}`,
        `v1=${bad}`,
        `v0=${good}`,
        '',
        'junk',
        'x=y',
        '=',
      );
      const space = fc.constantFrom('', ' ', '  ', '\t');

      // Assess
      fc.assert(
        fc.property(
          fc.array(fc.tuple(space, item, space), { minLength: 1, maxLength: 8 }),
          (items) => {
            const padded = items.map(([before, text, after]) => `${before}${text}${after}`);
            const canonical = items.map(([, text]) => text).filter((text) => text.includes('='));
            // An empty header is a missing one, which no arrangement of items is.
            fc.pre(canonical.length > 0);
            expect(inspect(padded.join(','))).toEqual(inspect(canonical.join(',')));
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });

    it('reads nothing across a separator: an assignment that spans one is no item', () => {
      // Prepare
      const { provider } = declared({
        header: 'x-sig',
        structured: { separator: ';', assignment: ':;', signatureKey: 'v1' },
        algorithm: 'sha256',
        encoding: 'hex',
      });
      const sig = createHmac('sha256', SECRET).update(EVENT).digest('hex');

      // Act
      const verdict = inspectWith(provider, {
        headers: { 'x-sig': `v1:;${sig}` },
        body: EVENT,
        secrets: [SECRET],
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', code: 'malformed_signature' });
    });

    it.each<[string, string, (sig: string) => string]>([
      ['no t=', 'missing_timestamp', (sig) => `v1=${sig}`],
      ['two t=', 'malformed_signature', (sig) => `t=${NOW_SECONDS},t=${NOW_SECONDS},v1=${sig}`],
      ['no v1=', 'malformed_signature', () => `t=${NOW_SECONDS}`],
      [
        'a v1= that is not hex of 32 bytes',
        'malformed_signature',
        (sig) => `t=${NOW_SECONDS},v1=${sig.slice(1)}`,
      ],
      ['a t= that is no number', 'malformed_timestamp', (sig) => `t=soon,v1=${sig}`],
      [
        'a t= in milliseconds (seconds far ahead)',
        'timestamp_too_new',
        (sig) => `t=${NOW},v1=${sig}`,
      ],
      ['a t= 301 s old', 'timestamp_too_old', (sig) => `t=${NOW_SECONDS - 301},v1=${sig}`],
      [
        'seventeen signatures',
        'malformed_signature',
        (sig) => `t=${NOW_SECONDS},${Array.from({ length: 17 }, () => `v1=${sig}`).join(',')}`,
      ],
    ])('rejects a header with %s as %s', (_, code, header) => {
      // Prepare
      const sig = createHmac('sha256', stripeSecret)
        .update(`${NOW_SECONDS}.${EVENT}`)
        .digest('hex');

      // Act
      const verdict = inspect(header(sig));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code });
    });

    it('verifies Svix and Standard Webhooks headers (space-separated "v1,<base64>" items, whsec_ secret) as their libraries sign them', () => {
      // Prepare
      const secret = `whsec_${Buffer.from('hookonce-svix-secret-of-32-bytes').toString('base64')}`;
      const shape = (prefix: 'svix' | 'webhook') =>
        declared({
          header: `${prefix}-signature`,
          structured: { separator: ' ', assignment: ',', signatureKey: 'v1' },
          timestampHeader: `${prefix}-timestamp`,
          deliveryId: { header: `${prefix}-id` },
          signedContent: '{id}.{timestamp}.{body}',
          algorithm: 'sha256',
          encoding: 'base64',
          secretEncoding: 'whsec',
          eventTypeField: 'type',
        }).provider;
      const at = new Date(NOW);
      const svix = new SvixWebhook(secret).sign('msg_svix', at, EVENT);
      const standard = new StandardWebhook(secret).sign('msg_std', at, EVENT);

      // Act
      const fromSvix = inspectWith(shape('svix'), {
        headers: {
          'svix-id': 'msg_svix',
          'svix-timestamp': String(NOW_SECONDS),
          'svix-signature': `v1,${'A'.repeat(43)}= ${svix}`,
        },
        body: EVENT,
        secrets: [secret],
      });
      const fromStandard = inspectWith(shape('webhook'), {
        headers: {
          'webhook-id': 'msg_std',
          'webhook-timestamp': String(NOW_SECONDS),
          'webhook-signature': standard,
        },
        body: EVENT,
        secrets: [secret],
      });

      // Assess
      expect(fromSvix).toMatchObject({
        kind: 'accept',
        deliveryId: 'msg_svix',
        eventType: 'invoice.paid',
      });
      expect(fromStandard).toMatchObject({ kind: 'accept', deliveryId: 'msg_std' });
    });
  });

  describe('Method: inspect, templates over the request', () => {
    it('verifies {method}{url}{body}{timestamp} (HubSpot v3: base64 HMAC-SHA256, timestamp in milliseconds)', () => {
      // Prepare
      const { provider } = declared({
        header: 'X-HubSpot-Signature-v3',
        timestampHeader: 'X-HubSpot-Request-Timestamp',
        timestampFormat: 'milliseconds',
        signedContent: '{method}{url}{body}{timestamp}',
        algorithm: 'sha256',
        encoding: 'base64',
      });
      const url = `https://${HOST}/webhooks/acme?portal=42`;
      const signature = (method: string, signedUrl: string, ts: number) =>
        createHmac('sha256', SECRET).update(`${method}${signedUrl}${EVENT}${ts}`).digest('base64');
      const inspect = (sig: string, ts: number, query = 'portal=42', method = 'POST') =>
        inspectWith(provider, {
          headers: {
            host: HOST,
            'x-forwarded-proto': 'https',
            'x-hubspot-signature-v3': sig,
            'x-hubspot-request-timestamp': String(ts),
          },
          body: EVENT,
          secrets: [SECRET],
          method,
          rawQueryString: query,
        });

      // Act
      const good = inspect(signature('POST', url, NOW), NOW);
      const otherQuery = inspect(signature('POST', url, NOW), NOW, 'portal=43');
      const otherMethod = inspect(signature('POST', url, NOW), NOW, 'portal=42', 'PUT');
      const stale = inspect(signature('POST', url, NOW - 300_001), NOW - 300_001);

      // Assess
      expect(good).toMatchObject({ kind: 'accept' });
      // The URL and method are signed, so they key the delivery with the body (the timestamp left out).
      const key = (good as { deliveryId: string }).deliveryId;
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      expect(key).not.toBe(sha256(EVENT));
      expect(inspect(signature('POST', url, NOW + 1000), NOW + 1000)).toMatchObject({
        deliveryId: key,
      });
      expect(otherQuery).toMatchObject({ kind: 'reject', code: 'signature_mismatch' });
      expect(otherMethod).toMatchObject({ kind: 'reject', code: 'signature_mismatch' });
      expect(stale).toMatchObject({ kind: 'reject', code: 'timestamp_too_old' });
    });

    it('verifies a signed header and an ISO 8601 timestamp (Twitch EventSub: id + timestamp + body, sha256= hex), keyed by the signed id', () => {
      // Prepare
      const { provider, config } = declared({
        header: 'Twitch-Eventsub-Message-Signature',
        prefix: 'sha256=',
        timestampHeader: 'Twitch-Eventsub-Message-Timestamp',
        timestampFormat: 'iso8601',
        deliveryId: { header: 'Twitch-Eventsub-Message-Id' },
        signedContent:
          '{header:Twitch-Eventsub-Message-Id}{header:Twitch-Eventsub-Message-Timestamp}{body}',
        eventTypeHeader: 'Twitch-Eventsub-Subscription-Type',
        algorithm: 'sha256',
        encoding: 'hex',
      });
      const ts = '2100-01-01T00:00:00.123456789Z';
      const sig = createHmac('sha256', SECRET).update(`msg-7${ts}${EVENT}`).digest('hex');
      const headers = {
        'twitch-eventsub-message-id': 'msg-7',
        'twitch-eventsub-message-timestamp': ts,
        'twitch-eventsub-message-signature': `sha256=${sig}`,
        'twitch-eventsub-subscription-type': 'channel.follow',
      };

      // Act
      const verdict = inspectWith(provider, { headers, body: EVENT, secrets: [SECRET] });
      const otherId = inspectWith(provider, {
        headers: { ...headers, 'twitch-eventsub-message-id': 'msg-8' },
        body: EVENT,
        secrets: [SECRET],
      });

      // Assess: the id and timestamp headers written as {header:…} are {id} and {timestamp}.
      expect(config.signedContent).toBe('{id}{timestamp}{body}');
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'msg-7',
        eventType: 'channel.follow',
        unsignedEventType: true,
        keptHeaders: {
          'twitch-eventsub-message-id': 'msg-7',
          'twitch-eventsub-message-timestamp': ts,
          'twitch-eventsub-subscription-type': 'channel.follow',
        },
      });
      expect(otherId).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('takes an event type from a header the template signs without marking it unsigned, and checks an unsigned one', () => {
      // Prepare
      const signedType = declared({
        header: 'x-sig',
        signedContent: '{header:x-topic}.{body}',
        eventTypeHeader: 'x-topic',
        algorithm: 'sha256',
        encoding: 'hex',
      }).provider;
      const unsignedType = declared({
        header: 'x-sig',
        eventTypeHeader: 'x-topic',
        algorithm: 'sha256',
        encoding: 'hex',
      }).provider;
      const sign = (text: string) => createHmac('sha256', SECRET).update(text).digest('hex');

      // Act
      const signed = inspectWith(signedType, {
        headers: { 'x-sig': sign(`orders created.${EVENT}`), 'x-topic': 'orders created' },
        body: EVENT,
        secrets: [SECRET],
      });
      const unsigned = inspectWith(unsignedType, {
        headers: { 'x-sig': sign(EVENT), 'x-topic': 'orders created' },
        body: EVENT,
        secrets: [SECRET],
      });

      // Assess
      expect(signed).toMatchObject({ kind: 'accept', eventType: 'orders created' });
      expect(signed).not.toHaveProperty('unsignedEventType');
      expect(unsigned).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_event_type' });
    });

    it('signs {url} as publicUrl and the query string when publicUrl is declared', () => {
      // Prepare
      const { provider, config } = declared({
        header: 'x-square-hmacsha256-signature',
        signedContent: '{url}{body}',
        publicUrl: 'https://api.example.org/hooks/square',
        algorithm: 'sha256',
        encoding: 'base64',
      });
      const sig = createHmac('sha256', SECRET)
        .update(`https://api.example.org/hooks/square?x=1${EVENT}`)
        .digest('base64');

      // Act
      const verdict = inspectWith(provider, {
        headers: { host: HOST, 'x-square-hmacsha256-signature': sig },
        body: EVENT,
        secrets: [SECRET],
        rawQueryString: 'x=1',
      });
      const signer = signHmac(config, {
        secret: SECRET,
        body: EVENT,
        url: `https://${HOST}/webhooks/acme?x=1`,
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
      expect(signer).toEqual({ 'x-square-hmacsha256-signature': sig });
    });

    it('keys a template that signs only the body and a timestamp by the SHA-256 of the body, as before', () => {
      // Prepare
      const { provider } = declared({
        header: 'x-sig',
        timestampHeader: 'x-ts',
        signedContent: 'v0:{timestamp}:{body}',
        algorithm: 'sha256',
        encoding: 'hex',
      });
      const sign = (ts: number) =>
        createHmac('sha256', SECRET).update(`v0:${ts}:${EVENT}`).digest('hex');

      // Act
      const verdicts = [NOW_SECONDS, NOW_SECONDS + 30].map((ts) =>
        inspectWith(provider, {
          headers: { 'x-sig': sign(ts), 'x-ts': String(ts) },
          body: EVENT,
          secrets: [SECRET],
        }),
      );

      // Assess
      for (const verdict of verdicts) {
        expect(verdict).toMatchObject({ kind: 'accept', deliveryId: sha256(EVENT) });
      }
    });
  });

  describe('Method: inspect, a timestamp in the body (timestampField)', () => {
    const sign = (body: string) => createHmac('sha256', SECRET).update(body).digest('hex');
    const inspectBody = (
      provider: ReturnType<typeof declared>['provider'],
      body: string,
      more = {},
    ) =>
      inspectWith(provider, {
        headers: { 'x-sig': sign(body), host: HOST, 'x-forwarded-proto': 'https' },
        body,
        secrets: [SECRET],
        ...more,
      });

    it('checks whole seconds by default against ±toleranceSeconds, once the signature matched, and keys by the body without the value', () => {
      // Prepare
      const { provider, config } = declared({
        header: 'x-sig',
        algorithm: 'sha256',
        encoding: 'hex',
        timestampField: 'sent',
        eventTypeField: 'type',
      });
      const at = (sent: unknown) => JSON.stringify({ type: 'invoice.paid', sent, id: 'evt_1' });

      // Act
      const accepted = [NOW_SECONDS - 300, NOW_SECONDS, NOW_SECONDS + 300].map((t) =>
        inspectBody(provider, at(t)),
      );
      const refused = [NOW_SECONDS - 301, NOW_SECONDS + 301, NOW, 'x', -1, 1.5].map((t) =>
        inspectBody(provider, at(t)),
      );

      // Assess
      expect(config).toMatchObject({
        timestampField: 'sent',
        toleranceSeconds: 300,
        signedContent: '{body}',
      });
      expect(config).not.toHaveProperty('timestampFormat');
      const keys = accepted.map((v) => (v.kind === 'accept' ? v.deliveryId : v.kind));
      expect(new Set(keys).size).toBe(1);
      expect(keys[0]).not.toBe(sha256(at(NOW_SECONDS)));
      expect(refused.map((v) => (v.kind === 'reject' ? v.code : v.kind))).toEqual([
        'timestamp_too_old',
        'timestamp_too_new',
        'timestamp_too_new',
        'malformed_timestamp',
        'malformed_timestamp',
        'malformed_timestamp',
      ]);
    });

    it('reads an ISO 8601 text at a dotted path, and a signed id still keys the delivery', () => {
      // Prepare
      const { provider } = declared({
        header: 'x-sig',
        algorithm: 'sha256',
        encoding: 'hex',
        timestampField: 'meta.sentAt',
        timestampFormat: 'iso8601',
        deliveryId: { jsonField: 'id' },
      });
      const at = (ms: number | string) =>
        JSON.stringify({
          id: 'evt_1',
          meta: { sentAt: typeof ms === 'number' ? new Date(ms).toISOString() : ms },
        });

      // Act
      const inside = inspectBody(provider, at(NOW - 299_000));
      const stale = inspectBody(provider, at(NOW - 301_000));
      const asNumber = inspectBody(
        provider,
        JSON.stringify({ id: 'evt_1', meta: { sentAt: NOW } }),
      );
      const missing = inspectBody(provider, JSON.stringify({ id: 'evt_1', meta: {} }));

      // Assess
      expect(inside).toMatchObject({ kind: 'accept', deliveryId: 'evt_1' });
      expect(stale).toMatchObject({ status: 401, code: 'timestamp_too_old' });
      expect(asNumber).toMatchObject({ status: 401, code: 'malformed_timestamp' });
      expect(missing).toMatchObject({ status: 401, code: 'missing_timestamp' });
    });

    it('keys a template that signs more than the body by each signed part, the body without its timestamp', () => {
      // Prepare
      const { provider } = declared({
        header: 'x-sig',
        algorithm: 'sha256',
        encoding: 'hex',
        timestampField: 'sent',
        timestampFormat: 'milliseconds',
        signedContent: '{url}{body}',
      });
      const inspectAt = (sent: number, path = '/webhooks/acme') => {
        const body = JSON.stringify({ sent, n: 1 });
        const signedUrl = `https://${HOST}${path}`;
        return inspectWith(provider, {
          headers: {
            'x-sig': createHmac('sha256', SECRET).update(`${signedUrl}${body}`).digest('hex'),
            host: HOST,
            'x-forwarded-proto': 'https',
          },
          body,
          secrets: [SECRET],
          rawPath: path,
        });
      };

      // Act
      const first = inspectAt(NOW - 1000);
      const retry = inspectAt(NOW);
      const elsewhere = inspectAt(NOW, '/webhooks/acme2');

      // Assess
      expect(first).toMatchObject({ kind: 'accept' });
      expect(retry).toMatchObject({
        kind: 'accept',
        deliveryId: first.kind === 'accept' ? first.deliveryId : '',
      });
      expect(elsewhere).toMatchObject({ kind: 'accept' });
      expect(elsewhere).not.toMatchObject({
        deliveryId: first.kind === 'accept' ? first.deliveryId : '',
      });
    });
  });

  describe('Method: inspect, secret encodings', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef', 'utf8');
    it.each([
      ['hex', key.toString('hex')],
      ['base64', key.toString('base64')],
      ['base64', key.toString('base64').replace(/=+$/, '')],
      ['whsec', `whsec_${key.toString('base64')}`],
    ] as const)('keys the HMAC with the decoded bytes of a %s secret', (secretEncoding, secret) => {
      // Prepare
      const { provider, config } = declared({
        header: 'x-sig',
        algorithm: 'sha512',
        encoding: 'base64',
        secretEncoding,
      });
      const sig = createHmac('sha512', key).update(EVENT).digest('base64');

      // Act
      const verdict = inspectWith(provider, {
        headers: { 'x-sig': sig },
        body: EVENT,
        secrets: [secret],
      });
      const asRaw = inspectWith(
        declared({ header: 'x-sig', algorithm: 'sha512', encoding: 'base64' }).provider,
        {
          headers: { 'x-sig': sig },
          body: EVENT,
          secrets: [secret],
        },
      );

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
      expect(asRaw).toMatchObject({ kind: 'reject', code: 'signature_mismatch' });
      expect(signHmac(config, { secret, body: EVENT })).toEqual({ 'x-sig': sig });
    });

    it.each([
      ['hex', 'abc', 'is not written as declared'],
      ['hex', '00112233', 'fewer than 16 bytes'],
      ['base64', 'not base64!', 'is not written as declared'],
      ['whsec', Buffer.alloc(24).toString('base64'), 'is not written as declared'],
      ['whsec', `whsec_${Buffer.alloc(8).toString('base64')}`, 'fewer than 16 bytes'],
      ['raw', 'x1y2z3', 'shorter than 16 characters'],
    ] as const)(
      'refuses a %s secret "%s" at cold start, naming the provider and never the secret',
      (secretEncoding, secret, message) => {
        // Prepare
        const { provider } = declared({
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          secretEncoding,
        });

        // Act
        const check = () => provider.checkSecrets([secret]);

        // Assess
        expect(check).toThrow(ConfigError);
        expect(check).toThrow(/provider "acme"/);
        expect(check).toThrow(message);
        try {
          check();
        } catch (error) {
          expect((error as Error).message).not.toContain(secret);
        }
      },
    );
  });

  describe('Method: inspect, properties', () => {
    /** A declaration that signs every kind of part: method, URL, a header, a structured timestamp, the body. */
    const { provider, config } = declared({
      header: 'x-acme-signature',
      structured: { separator: ';', signatureKey: 'h1', timestampKey: 'ts' },
      signedContent: '{method}\n{url}\n{header:x-acme-account}\n{timestamp}\n{body}',
      algorithm: 'sha256',
      encoding: 'hex',
      deliveryId: { jsonField: 'id' },
    });
    const URL_QUERY = 'tenant=7';
    const base = (body: string) => ({
      headers: {
        host: HOST,
        'x-forwarded-proto': 'https',
        'x-acme-account': 'acct_1',
        ...signHmac(config, {
          secret: SECRET,
          body,
          timestamp: NOW_SECONDS,
          url: `https://${HOST}/webhooks/acme?${URL_QUERY}`,
          headers: { 'x-acme-account': 'acct_1' },
        }),
      } as Record<string, string>,
      body,
      secrets: [SECRET],
      rawQueryString: URL_QUERY,
      rawPath: '/webhooks/acme',
    });

    it('accepts what the oracle signs: a signature made with node:crypto from the documented parts', () => {
      // Prepare
      const body = EVENT;
      const expected = createHmac('sha256', SECRET)
        .update(`POST\nhttps://${HOST}/webhooks/acme?${URL_QUERY}\nacct_1\n${NOW_SECONDS}\n${body}`)
        .digest('hex');

      // Act
      const input = base(body);
      const verdict = inspectWith(provider, input);

      // Assess
      expect(input.headers['x-acme-signature']).toBe(`ts=${NOW_SECONDS};h1=${expected}`);
      expect(verdict).toMatchObject({ kind: 'accept', deliveryId: 'evt_1' });
    });

    it('rejects any single change to a signed part (a body byte, the timestamp, the signed header, the URL, the method, the signature) with a 401, never a throw', () => {
      fc.assert(
        fc.property(
          jsonObject(),
          fc.constantFrom(
            'body',
            'timestamp',
            'header',
            'path',
            'query',
            'host',
            'method',
            'signature',
          ),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
          (data, what, position, pick, shift) => {
            // Prepare
            const body = JSON.stringify({ id: 'evt_p', data });
            const input = base(body);
            const signature = input.headers['x-acme-signature'] ?? '';
            const [, digest = ''] = signature.split(';h1=');
            const changed = {
              body: () => ({ ...input, body: changeOneByte(body, position, pick + 1) }),
              timestamp: () => ({
                ...input,
                headers: {
                  ...input.headers,
                  'x-acme-signature': `ts=${NOW_SECONDS + shift};h1=${digest}`,
                },
              }),
              header: () => ({
                ...input,
                headers: {
                  ...input.headers,
                  'x-acme-account': changeOneCharacter('acct_1', position, pick),
                },
              }),
              path: () => ({
                ...input,
                rawPath: changeOneCharacter('/webhooks/acme', position, pick),
              }),
              query: () => ({
                ...input,
                rawQueryString: changeOneCharacter(URL_QUERY, position, pick),
              }),
              host: () => ({
                ...input,
                headers: { ...input.headers, host: changeOneCharacter(HOST, position, pick) },
              }),
              method: () => ({ ...input, method: pick % 2 === 0 ? 'PUT' : 'post' }),
              signature: () => ({
                ...input,
                headers: {
                  ...input.headers,
                  'x-acme-signature': `ts=${NOW_SECONDS};h1=${changeOneCharacter(digest, position, pick)}`,
                },
              }),
            }[what];

            // Act
            const verdict = inspectWith(provider, changed());

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 400 },
      );
    });

    it('answers any signature header, timestamp and body whatsoever with a verdict, never a throw', () => {
      fc.assert(
        fc.property(
          fc.option(fc.string()),
          fc.uint8Array({ maxLength: 256 }),
          (signature, body) => {
            // Act
            const verdict = inspectWith(provider, {
              headers: { 'x-acme-signature': signature ?? undefined, 'x-acme-account': 'acct_1' },
              body: Buffer.from(body),
              secrets: [SECRET],
            });

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });
});
