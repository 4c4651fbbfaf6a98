import { createHash } from 'node:crypto';
import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
import fc from 'fast-check';
import twilioLibrary from 'twilio';
import { describe, expect, it } from 'vitest';
import { signTwilio, twilio } from '../../functions/providers/twilio.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import {
  changeOneByte,
  changeOneCharacter,
  expect401,
  expectNoLeak,
  type InspectInput,
  inspectWith,
  SEED,
} from '../support/providers.ts';

/** The oracle: the twilio package's own request validator and the signature it expects. */
const {
  getExpectedTwilioSignature,
  getExpectedBodyHash,
  validateRequest,
  validateRequestWithBody,
} = twilioLibrary;

const TOKEN = '0123456789abcdef0123456789abcdef';
const OLD_TOKEN = 'fedcba9876543210fedcba9876543210';
const provider = twilio({ name: 'twilio', maxBodyBytes: 200 * 1024, eventType: 'sms.status' });

const HOST = 'hooks.example.com';
const PATH = '/webhooks/twilio';
const QUERY = 'tenant=acme&region=eu';
const URL_ = `https://${HOST}${PATH}?${QUERY}`;
const TOKEN_HEADER = 'ZDNmYTk2ZjctNDA3Mi00YzQzLWE4N2MtMGQyZjM4Y2QwZTg4-1700000000';

/** An SMS status callback, as Twilio posts it. */
const STATUS: Record<string, string> = {
  AccountSid: 'AC00000000000000000000000000000001',
  ApiVersion: '2010-04-01',
  From: '+15017122661',
  MessageSid: 'SM0000000000000000000000000000abcd',
  MessageStatus: 'delivered',
  SmsSid: 'SM0000000000000000000000000000abcd',
  SmsStatus: 'delivered',
  To: '+15558675310',
};
const form = (params: Record<string, string | string[]>): string => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const value of Array.isArray(v) ? v : [v]) search.append(k, value);
  }
  return search.toString();
};
const BODY = form(STATUS);

/**
 * What keys a Twilio delivery: the SHA-256 of what Twilio signs, the URL then each
 * parameter by name as name + value, written out here from Twilio's description.
 */
const keyOf = (url: string, params: Record<string, string | string[]>): string => {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const values = params[name] ?? [];
    for (const value of [...new Set(Array.isArray(values) ? values : [values])].sort()) {
      data += name + value;
    }
  }
  return createHash('sha256').update(data, 'utf8').digest('hex');
};

const request = (
  signature: string | undefined,
  body: string | Buffer = BODY,
  options: Partial<InspectInput> & { host?: string; proto?: string; token?: string } = {},
): InspectInput => ({
  headers: {
    'x-twilio-signature': signature,
    'i-twilio-idempotency-token': 'token' in options ? options.token : TOKEN_HEADER,
    'content-type': 'application/x-www-form-urlencoded',
    'user-agent': 'TwilioProxy/1.1',
    host: options.host ?? HOST,
    'x-forwarded-proto': options.proto ?? 'https',
  },
  body,
  secrets: options.secrets ?? [TOKEN],
  rawQueryString: options.rawQueryString ?? QUERY,
  rawPath: options.rawPath ?? PATH,
  domainName: HOST,
});

const inspect = (...args: Parameters<typeof request>) => inspectWith(provider, request(...args));

describe('Class: TwilioProvider', () => {
  describe('Method: inspect', () => {
    it('accepts a form callback signed as the twilio package expects, keyed by what it signs, with I-Twilio-Idempotency-Token kept and the declared type', () => {
      // Prepare
      const signature = getExpectedTwilioSignature(TOKEN, URL_, STATUS);

      // Act
      const verdict = inspect(signature);

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: keyOf(URL_, STATUS),
        providerDeliveryId: TOKEN_HEADER,
        eventType: 'sms.status',
        keptHeaders: {
          'i-twilio-idempotency-token': TOKEN_HEADER,
          'content-type': 'application/x-www-form-urlencoded',
          'user-agent': 'TwilioProxy/1.1',
        },
      });
    });

    it('names every delivery "twilio" by default', () => {
      // Prepare
      const plain = twilio({ name: 'twilio', maxBodyBytes: 1024, eventType: 'twilio' });

      // Act
      const verdict = inspectWith(plain, request(getExpectedTwilioSignature(TOKEN, URL_, STATUS)));

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', eventType: 'twilio' });
    });

    it('accepts a JSON body signed through bodySHA256, as the twilio package validates it', () => {
      // Prepare
      const body = JSON.stringify({ event: 'com.twilio.messaging.message.delivered', sid: 'SM1' });
      const query = `${QUERY}&bodySHA256=${getExpectedBodyHash(body)}`;
      const signature = getExpectedTwilioSignature(TOKEN, `https://${HOST}${PATH}?${query}`, {});

      // Act
      const verdict = inspect(signature, body, { rawQueryString: query });

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: keyOf(`https://${HOST}${PATH}?${query}`, {}),
        providerDeliveryId: TOKEN_HEADER,
      });
    });

    it('keys a signed callback sent again under a fresh I-Twilio-Idempotency-Token as the same delivery', () => {
      // Prepare
      const signature = getExpectedTwilioSignature(TOKEN, URL_, STATUS);

      // Act
      const replayed = inspect(signature, BODY, { token: 'another-token-1700000001' });

      // Assess
      expect(replayed).toMatchObject({
        kind: 'accept',
        deliveryId: keyOf(URL_, STATUS),
        providerDeliveryId: 'another-token-1700000001',
      });
    });

    it('keys a form encoded again (%20 for +, parameters reordered) as the same delivery: the decoded parameters are what is signed', () => {
      // Prepare
      const signature = getExpectedTwilioSignature(TOKEN, URL_, {
        ...STATUS,
        Body: 'see you soon',
      });
      const plus = form({ ...STATUS, Body: 'see you soon' });
      const reencoded = Object.entries({ Body: 'see you soon', ...STATUS })
        .reverse()
        .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
        .join('&');

      // Act
      const first = inspect(signature, plus);
      const again = inspect(signature, reencoded);

      // Assess
      expect(plus).not.toBe(reencoded);
      const key = keyOf(URL_, { ...STATUS, Body: 'see you soon' });
      expect(first).toMatchObject({ kind: 'accept', deliveryId: key });
      expect(again).toMatchObject({ kind: 'accept', deliveryId: key });
    });

    it('keys a request whose Host adds the default port by the URL Twilio signed, so it is the same delivery', () => {
      // Prepare
      const signature = getExpectedTwilioSignature(TOKEN, URL_, STATUS);

      // Act
      const withPort = inspect(signature, BODY, { host: `${HOST}:443` });

      // Assess
      expect(withPort).toMatchObject({ kind: 'accept', deliveryId: keyOf(URL_, STATUS) });
    });

    it('says nothing of the URL it rebuilt from the request when the signature does not match', () => {
      // Act
      const verdict = inspect(getExpectedTwilioSignature(TOKEN, URL_, STATUS), BODY, {
        host: 'attacker.example<script>',
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', code: 'signature_mismatch' });
      expect(JSON.stringify(verdict)).not.toContain('attacker');
    });

    it('rejects a JSON body that does not match the bodySHA256 Twilio signed', () => {
      // Prepare
      const body = JSON.stringify({ sid: 'SM1' });
      const query = `bodySHA256=${getExpectedBodyHash(body)}`;
      const signature = getExpectedTwilioSignature(TOKEN, `https://${HOST}${PATH}?${query}`, {});

      // Act
      const verdict = inspect(signature, JSON.stringify({ sid: 'SM2' }), { rawQueryString: query });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('accepts parameters that appear more than once', () => {
      // Prepare
      const params = {
        ...STATUS,
        MediaUrl: ['https://m.example.com/2', 'https://m.example.com/1'],
      };
      const signature = getExpectedTwilioSignature(TOKEN, URL_, params);

      // Act
      const verdict = inspect(signature, form(params));

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('signs the URL with its query string: a signature over the URL without it is refused', () => {
      // Prepare
      const signature = getExpectedTwilioSignature(TOKEN, `https://${HOST}${PATH}`, STATUS);

      // Act
      const verdict = inspect(signature);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('rebuilds the local URL with its port, and accepts it signed with or without the port', () => {
      // Prepare
      const local = { host: '127.0.0.1:3000', proto: 'http', rawQueryString: '' };
      const withPort = getExpectedTwilioSignature(TOKEN, `http://127.0.0.1:3000${PATH}`, STATUS);
      const withoutPort = getExpectedTwilioSignature(TOKEN, `http://127.0.0.1${PATH}`, STATUS);

      // Act
      const verdicts = [inspect(withPort, BODY, local), inspect(withoutPort, BODY, local)];

      // Assess
      for (const verdict of verdicts) expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('accepts a URL signed with the default port of https', () => {
      // Prepare
      const signature = getExpectedTwilioSignature(
        TOKEN,
        `https://${HOST}:443${PATH}?${QUERY}`,
        STATUS,
      );

      // Act
      const verdict = inspect(signature);

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('verifies against the declared publicUrl and the request query string, not the host it was called on', () => {
      // Prepare
      const proxied = twilio({
        name: 'twilio',
        maxBodyBytes: 1024 * 10,
        publicUrl: 'https://sms.example.org/hooks/twilio',
        eventType: 'twilio',
      });
      const publicSignature = getExpectedTwilioSignature(
        TOKEN,
        `https://sms.example.org/hooks/twilio?${QUERY}`,
        STATUS,
      );
      const hostSignature = getExpectedTwilioSignature(TOKEN, URL_, STATUS);

      // Act
      const viaPublic = inspectWith(proxied, request(publicSignature));
      const viaHost = inspectWith(proxied, request(hostSignature));

      // Assess
      expect(viaPublic).toMatchObject({ kind: 'accept' });
      expect(viaHost).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it.each([
      ['the current auth token', TOKEN],
      ['the secondary auth token', OLD_TOKEN],
    ])('accepts a callback signed with %s while both are active (rotation)', (_, token) => {
      // Act
      const verdict = inspect(getExpectedTwilioSignature(token, URL_, STATUS), BODY, {
        secrets: [TOKEN, OLD_TOKEN],
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('rejects a missing X-Twilio-Signature as missing_signature', () => {
      // Act
      const verdict = inspect(undefined);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'missing_signature' });
    });

    const good = getExpectedTwilioSignature(TOKEN, URL_, STATUS);
    it.each([
      ['a truncated signature', good.slice(0, 20)],
      ['hex instead of base64', Buffer.from(good, 'base64').toString('hex')],
      ['the base64 of 32 bytes', Buffer.alloc(32, 1).toString('base64')],
      ['garbage', 'not/a+signature!'],
    ])('rejects %s as malformed_signature', (_, signature) => {
      // Act
      const verdict = inspect(signature);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('rejects a callback whose parameters were changed as signature_mismatch', () => {
      // Act
      const verdict = inspect(good, form({ ...STATUS, MessageStatus: 'failed' }));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('rejects a correctly signed callback without I-Twilio-Idempotency-Token with 400 missing_delivery_id', () => {
      // Act
      const verdict = inspect(good, BODY, { token: undefined });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'missing_delivery_id' });
    });

    it('never puts the expected signature or the auth token in a rejection', () => {
      // Act
      const verdicts = [
        inspect(getExpectedTwilioSignature(OLD_TOKEN, URL_, STATUS)),
        inspect(good, `${BODY}&x=1`),
        inspect(good.slice(0, 10)),
      ];

      // Assess
      for (const verdict of verdicts) expectNoLeak(verdict, good, TOKEN);
    });

    const params = fc.dictionary(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,15}$/),
      fc.string({ maxLength: 24 }),
      { minKeys: 1, maxKeys: 8 },
    );

    it('accepts what the twilio package expects, for any parameters and query string', () => {
      fc.assert(
        fc.property(
          params,
          fc.stringMatching(/^([a-z]{1,8}=[a-z0-9]{0,8}(&|$)){0,3}$/),
          (p, query) => {
            // Prepare
            const q = query.replace(/&$/, '');
            const url = `https://${HOST}${PATH}${q ? `?${q}` : ''}`;
            const signature = getExpectedTwilioSignature(TOKEN, url, p);

            // Act
            const verdict = inspect(signature, form(p), { rawQueryString: q });

            // Assess
            expect(verdict).toMatchObject({
              kind: 'accept',
              deliveryId: keyOf(url, p),
              providerDeliveryId: TOKEN_HEADER,
            });
          },
        ),
        { seed: SEED, numRuns: 200 },
      );
    });

    it('rejects any single change to the body, the signature, the URL or the auth token with a 401', () => {
      fc.assert(
        fc.property(
          params,
          fc.constantFrom('body', 'signature', 'url', 'secret'),
          fc.nat(),
          fc.nat(),
          fc.stringMatching(/^[0-9a-f]{32}$/).filter((t) => t !== TOKEN),
          (p, what, position, pick, otherToken) => {
            // Prepare
            const body = form(p);
            const signature = getExpectedTwilioSignature(TOKEN, URL_, p);
            const changed = {
              body: () => {
                // Twilio signs the decoded parameters: an edit that decodes to the same ones
                // ("+" for "%20", "%2b" for "%2B") is no change to what was signed.
                const edited = changeOneByte(body, position, pick + 1);
                fc.pre(new URLSearchParams(edited.toString()).toString() !== body);
                return inspect(signature, edited);
              },
              signature: () => inspect(changeOneCharacter(signature, position, pick), body),
              url: () =>
                inspect(signature, body, {
                  rawQueryString: changeOneCharacter(QUERY, position, pick),
                }),
              secret: () => inspect(getExpectedTwilioSignature(otherToken, URL_, p), body),
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

    it('answers any header, query and body whatsoever with a verdict, never a throw', () => {
      fc.assert(
        fc.property(
          fc.option(fc.string()),
          fc.string(),
          fc.uint8Array({ maxLength: 256 }),
          (signature, query, body) => {
            // Act
            const verdict = inspect(signature ?? undefined, Buffer.from(body), {
              rawQueryString: query,
            });

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Method: inspect, the URL forms the twilio package accepts', () => {
    /** A provider that rebuilds the URL from `publicUrl` (which may hold userinfo and a port) and the query. */
    const viaPublicUrl = (publicUrl: string) =>
      twilio({ name: 'twilio', maxBodyBytes: 200 * 1024, publicUrl, eventType: 'twilio' });
    const inspectAt = (
      publicUrl: string,
      query: string,
      signature: string,
      body: string | Buffer = BODY,
    ) => inspectWith(viaPublicUrl(publicUrl), request(signature, body, { rawQueryString: query }));
    /** The oracle's answer: true, false, or false where it throws (a URL it cannot parse). */
    const oracle = (check: () => boolean): boolean => {
      try {
        return check();
      } catch {
        return false;
      }
    };

    it.each([
      [
        'no port, signed with the default one',
        'https://user:pass@hooks.example.com/p',
        'https://user:pass@hooks.example.com:443/p',
      ],
      [
        'a port, signed without it',
        'https://user:pass@hooks.example.com:8443/p',
        'https://user:pass@hooks.example.com/p',
      ],
      [
        'a colon in the userinfo only, signed with the default port',
        'http://twilio:s3cret@10.0.0.1/p',
        'http://twilio:s3cret@10.0.0.1:80/p',
      ],
      [
        'an IPv6 host and a port, signed without it',
        'https://u:p@[2001:db8::1]:8443/p',
        'https://u:p@[2001:db8::1]/p',
      ],
    ])('finds the port after the userinfo of a URL with %s', (_, publicUrl, signedUrl) => {
      // Prepare
      const signature = getExpectedTwilioSignature(TOKEN, `${signedUrl}?${QUERY}`, STATUS);

      // Act
      const verdict = inspectAt(publicUrl, QUERY, signature);

      // Assess
      expect(validateRequest(TOKEN, signature, `${publicUrl}?${QUERY}`, STATUS)).toBe(true);
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: keyOf(`${signedUrl}?${QUERY}`, STATUS),
      });
    });

    it.each([
      ['a quote received as is, signed escaped', "q=it's", 'q=it%27s'],
      ['a space received as +, signed as %20', 'q=a+b', 'q=a%20b'],
      ['a repeated name received apart, signed together', 'a=1&b=2&a=3', 'a=1&a=3&b=2'],
      [
        'a quote received as is, signed as the URL parser writes it',
        'q=it\'s&r="x"',
        'q=it%27s&r=%22x%22',
      ],
    ])('accepts %s, as the twilio package does', (_, received, signedQuery) => {
      // Prepare
      const signedUrl = `https://${HOST}${PATH}?${signedQuery}`;
      const signature = getExpectedTwilioSignature(TOKEN, signedUrl, STATUS);

      // Act
      const verdict = inspect(signature, BODY, { rawQueryString: received });

      // Assess
      expect(validateRequest(TOKEN, signature, `https://${HOST}${PATH}?${received}`, STATUS)).toBe(
        true,
      );
      expect(verdict).toMatchObject({ kind: 'accept', deliveryId: keyOf(signedUrl, STATUS) });
    });

    it('refuses a URL signed without its userinfo, as the twilio package does', () => {
      // Prepare
      const signature = getExpectedTwilioSignature(TOKEN, `https://${HOST}/p?${QUERY}`, STATUS);

      // Act
      const verdict = inspectAt(`https://user:pass@${HOST}/p`, QUERY, signature);

      // Assess
      expect(
        validateRequest(TOKEN, signature, `https://user:pass@${HOST}/p?${QUERY}`, STATUS),
      ).toBe(false);
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('reads bodySHA256 as the twilio package does: lower-case hex only', () => {
      // Prepare
      const body = JSON.stringify({ sid: 'SM1' });
      const query = `bodySHA256=${getExpectedBodyHash(body).toUpperCase()}`;
      const url = `https://${HOST}${PATH}?${query}`;
      const signature = getExpectedTwilioSignature(TOKEN, url, {});

      // Act
      const verdict = inspect(signature, body, { rawQueryString: query });

      // Assess
      expect(validateRequestWithBody(TOKEN, signature, url, body)).toBe(false);
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    const SCHEMES = ['https://', 'http://', 'HTTPS://', 'Http://'];
    const USERINFO = ['', 'user:pass@', 'twilio:s3cr%40t@', 'u@', 'a:b:c@'];
    const HOSTS = [
      'hooks.example.com',
      'Hooks.Example.COM',
      '127.0.0.1',
      '[::1]',
      '[2001:DB8::1]',
      'bücher.example',
      'xn--bcher-kva.example',
    ];
    const PORTS = ['', ':443', ':80', ':8443', ':3000', ':', ':0443'];
    const SEGMENTS = [
      'webhooks',
      'twilio',
      "it's",
      '~u',
      'a%20b',
      'a b',
      '%7E',
      'ü',
      '%C3%BC',
      '.',
      '..',
      'x|y',
      '{x}',
      '"q"',
      '',
    ];
    const KEYS = ['a', 'tenant', 'b c', 'x+y', "it's", 'ü', '%C3%BC', 'k%20', 'bodySHA256x'];
    const VALUES = [
      '',
      '1',
      'a b',
      'a+b',
      'a%20b',
      "it's",
      'it%27s',
      '~',
      '%7E',
      '!*()',
      'ü',
      '%C3%BC',
      '%',
      '%zz',
      '=',
      'a=b',
      '/?',
      '[x]',
      '"',
      '<>',
      '`',
    ];

    /** A URL as hookonce rebuilds it (publicUrl + ? + query), in parts. */
    const urls = fc.record({
      scheme: fc.constantFrom(...SCHEMES),
      userInfo: fc.constantFrom(...USERINFO),
      host: fc.constantFrom(...HOSTS),
      port: fc.constantFrom(...PORTS),
      path: fc
        .array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 4 })
        .map((segments) => `/${segments.join('/')}`),
      query: fc
        .array(
          fc.tuple(
            fc.constantFrom(...KEYS),
            fc.option(fc.constantFrom(...VALUES), { nil: undefined }),
          ),
          { maxLength: 4 },
        )
        .map((pairs) => pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')),
    });
    type Parts = typeof urls extends fc.Arbitrary<infer T> ? T : never;
    const join = (u: Parts, change: Partial<Parts> = {}): string => {
      const p = { ...u, ...change };
      return `${p.scheme}${p.userInfo}${p.host}${p.port}${p.path}${p.query ? `?${p.query}` : ''}`;
    };
    const reparsed = (url: string): string => {
      try {
        return new URL(url).toString();
      } catch {
        return url;
      }
    };
    const requeried = (url: string): string => {
      const q = url.indexOf('?');
      return q < 0 ? url : `${url.slice(0, q)}?${stringifyQuery(parseQuery(url.slice(q + 1)))}`;
    };
    /** What Twilio may have signed, derived from the URL received: forms it accepts, and forms it refuses. */
    const SIGNED_FORMS = {
      'as received': (u: Parts) => join(u),
      'without the port': (u: Parts) => join(u, { port: '' }),
      'with the default port': (u: Parts) =>
        join(u, { port: u.scheme.toLowerCase() === 'https://' ? ':443' : ':80' }),
      'with the other default port': (u: Parts) =>
        join(u, { port: u.scheme.toLowerCase() === 'https://' ? ':80' : ':443' }),
      'with another port': (u: Parts) => join(u, { port: ':8080' }),
      'without the userinfo': (u: Parts) => join(u, { userInfo: '' }),
      'as the URL parser writes it': (u: Parts) => reparsed(join(u)),
      'parsed, its port removed': (u: Parts) => reparsed(join(u)).replace(/:\d+\//, '/'),
      'parsed, the query re-encoded': (u: Parts) => requeried(reparsed(join(u))),
      'the query re-encoded, unparsed': (u: Parts) => requeried(join(u)),
      'parsed, the path escaped again': (u: Parts) => reparsed(join(u)).replace(/'/g, '%27'),
      'one character changed': (u: Parts, position: number, pick: number) =>
        changeOneCharacter(join(u), position, pick),
    } as const;

    it('accepts exactly the URL forms that validateRequest accepts, for form bodies', () => {
      const seen = new Map<string, number>();
      fc.assert(
        fc.property(
          urls,
          fc.constantFrom(...(Object.keys(SIGNED_FORMS) as (keyof typeof SIGNED_FORMS)[])),
          fc.nat(),
          fc.nat(),
          (u, form, position, pick) => {
            // Prepare
            const received = join(u);
            const signedUrl = SIGNED_FORMS[form](u, position, pick);
            const signature = getExpectedTwilioSignature(TOKEN, signedUrl, STATUS);
            const publicUrl = join(u, { query: '' });

            // Act
            const verdict = inspectAt(publicUrl, u.query, signature);
            const accepted = oracle(() => validateRequest(TOKEN, signature, received, STATUS));

            // Assess
            expect(verdict.kind === 'accept').toBe(accepted);
            if (accepted) {
              seen.set(form, (seen.get(form) ?? 0) + 1);
              expect(verdict).toMatchObject({ deliveryId: keyOf(signedUrl, STATUS) });
            } else {
              expect401(verdict, ['signature_mismatch']);
            }
          },
        ),
        { seed: SEED, numRuns: 3000 },
      );
      // The property is not vacuous: forms of every kind were accepted, each as the oracle did.
      expect(seen.get('without the port')).toBeGreaterThan(0);
      expect(seen.get('with the default port')).toBeGreaterThan(0);
      expect(seen.get('as the URL parser writes it')).toBeGreaterThan(0);
      expect(seen.get('parsed, the query re-encoded')).toBeGreaterThan(0);
    });

    it('accepts exactly the URL forms that validateRequestWithBody accepts, for JSON bodies', () => {
      fc.assert(
        fc.property(
          urls,
          fc.constantFrom(...(Object.keys(SIGNED_FORMS) as (keyof typeof SIGNED_FORMS)[])),
          fc.nat(),
          fc.nat(),
          fc.boolean(),
          (u, form, position, pick, sameBody) => {
            // Prepare
            const body = JSON.stringify({ sid: 'SM1', q: u.query });
            const hash = getExpectedBodyHash(body);
            const withHash = { ...u, query: `${u.query ? `${u.query}&` : ''}bodySHA256=${hash}` };
            const received = join(withHash);
            const signedUrl = SIGNED_FORMS[form](withHash, position, pick);
            const signature = getExpectedTwilioSignature(TOKEN, signedUrl, {});
            const sent = sameBody ? body : `${body} `;

            // Act
            const verdict = inspectAt(join(u, { query: '' }), withHash.query, signature, sent);
            const accepted = oracle(() =>
              validateRequestWithBody(TOKEN, signature, received, sent),
            );

            // Assess
            expect(verdict.kind === 'accept').toBe(accepted);
            if (accepted) expect(verdict).toMatchObject({ deliveryId: keyOf(signedUrl, {}) });
            else expect401(verdict, ['signature_mismatch']);
          },
        ),
        { seed: SEED, numRuns: 1500 },
      );
    });

    it('signs a parameter named __proto__ like any other: adding one to a signed body is refused', () => {
      // Prepare
      const signature = getExpectedTwilioSignature(TOKEN, URL_, STATUS);

      // Act
      const verdict = inspect(signature, `${BODY}&__proto__=injected`);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('accepts a body with a __proto__ parameter when Twilio signed it', () => {
      // Prepare
      // JSON.parse makes "__proto__" an own property, as a form parser without a prototype does.
      const params = { ...STATUS, ...JSON.parse('{"__proto__":"x"}') };
      const signature = getExpectedTwilioSignature(TOKEN, URL_, params);

      // Act
      const verdict = inspect(signature, `${BODY}&__proto__=x`);

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });
  });

  describe('Function: signTwilio', () => {
    it("makes form signatures that the twilio package's validateRequest accepts", () => {
      fc.assert(
        fc.property(
          fc.dictionary(fc.stringMatching(/^[A-Za-z]{1,12}$/), fc.string({ maxLength: 20 }), {
            maxKeys: 8,
          }),
          (p) => {
            // Act
            const signed = signTwilio({ authToken: TOKEN, url: URL_, body: form(p), json: false });

            // Assess
            expect(signed.url).toBe(URL_);
            expect(
              validateRequest(TOKEN, signed.headers['x-twilio-signature'] ?? '', signed.url, p),
            ).toBe(true);
          },
        ),
        { seed: SEED, numRuns: 200 },
      );
    });

    it('makes JSON signatures, with bodySHA256 in the URL, that validateRequestWithBody accepts', () => {
      // Prepare
      const body = JSON.stringify({ sid: 'SM1', status: 'delivered' });

      // Act
      const signed = signTwilio({ authToken: TOKEN, url: URL_, body, json: true });

      // Assess
      expect(signed.url).toBe(`${URL_}&bodySHA256=${getExpectedBodyHash(body)}`);
      expect(
        validateRequestWithBody(
          TOKEN,
          signed.headers['x-twilio-signature'] ?? '',
          signed.url,
          body,
        ),
      ).toBe(true);
    });

    it('makes signatures that the twilio package refuses under another auth token', () => {
      // Act
      const signed = signTwilio({ authToken: OLD_TOKEN, url: URL_, body: BODY, json: false });

      // Assess
      expect(validateRequest(TOKEN, signed.headers['x-twilio-signature'] ?? '', URL_, STATUS)).toBe(
        false,
      );
    });
  });

  describe('Method: checkSecrets', () => {
    it('accepts auth tokens of 32 hex digits', () => {
      // Act
      const check = () => provider.checkSecrets([TOKEN, OLD_TOKEN.toUpperCase()]);

      // Assess
      expect(check).not.toThrow();
    });

    it.each([
      ['an empty list', []],
      ['an account SID', ['AC00000000000000000000000000000001']],
      ['a token one digit short', [TOKEN.slice(1)]],
      ['an API key secret', ['SKabcdefabcdefabcdefabcdefabcdefab']],
    ])('rejects %s with a ConfigError naming the auth token', (_, list) => {
      // Act
      const check = () => provider.checkSecrets(list);

      // Assess
      expect(check).toThrow(list.length === 0 ? 'has no secret' : 'Auth Token');
    });

    it('throws ConfigErrors', () => {
      // Act
      const check = () => provider.checkSecrets(['nope']);

      // Assess
      expect(check).toThrow(ConfigError);
    });
  });
});
