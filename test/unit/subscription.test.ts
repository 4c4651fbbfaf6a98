import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { type IngestDeps, type IngestRequest, ingest } from '../../functions/ingest/ingest.ts';
import { buildProviders } from '../../functions/providers/registry.ts';
import {
  checkSubscription,
  MAX_CHALLENGE_LENGTH,
  splitSecrets,
} from '../../functions/providers/subscription.ts';
import { resolveDeclaration } from '../../functions/shared/declaration.ts';
import { createLogger } from '../../functions/shared/log.ts';

const APP_SECRET = 'meta-app-secret-0123456789abcdef';
const VERIFY_TOKEN = 'my-chosen-verify-token';

function setup(secretList: readonly string[] = [APP_SECRET, `verify:${VERIFY_TOKEN}`]) {
  const resolved = resolveDeclaration({
    providers: {
      meta: { preset: 'meta' },
      github: { scheme: 'github' },
    },
    subscribers: {},
  });
  const deliveries = {
    claim: vi.fn(),
    takeOver: vi.fn(),
    markPublished: vi.fn(),
    release: vi.fn(),
  };
  const publisher = { publish: vi.fn() };
  const payloads = { put: vi.fn(), get: vi.fn(), delete: vi.fn() };
  const lines: string[] = [];
  const deps: IngestDeps = {
    providers: buildProviders(resolved.providers),
    secrets: { get: async () => secretList },
    deliveries: deliveries as unknown as IngestDeps['deliveries'],
    publisher,
    payloads,
    clock: { now: () => Date.UTC(2100, 0, 1) },
    log: createLogger({}, 'debug', (line) => lines.push(line)),
  };
  return { deps, deliveries, publisher, lines };
}

function get(provider: string, query: Record<string, string>, method = 'GET'): IngestRequest {
  return {
    provider,
    method,
    headers: {},
    rawBody: Buffer.alloc(0),
    rawQueryString: new URLSearchParams(query).toString(),
    rawPath: `/webhooks/${provider}`,
    domainName: 'hooks.example.com',
    invocationId: 'invocation-1',
    remainingTimeMs: 10_000,
  };
}

const subscribe = (overrides: Record<string, string> = {}) => ({
  'hub.mode': 'subscribe',
  'hub.verify_token': VERIFY_TOKEN,
  'hub.challenge': '1158201444',
  ...overrides,
});

describe('GET subscription check (meta preset)', () => {
  it('echoes the challenge as text/plain when the mode is subscribe and the token matches; nothing is stored or published', async () => {
    // Prepare
    const { deps, deliveries, publisher, lines } = setup();

    // Act
    const response = await ingest(get('meta', subscribe()), deps);

    // Assess
    expect(response).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/plain' },
      body: '1158201444',
    });
    expect(deliveries.claim).not.toHaveBeenCalled();
    expect(publisher.publish).not.toHaveBeenCalled();
    expect(lines.join('\n')).not.toContain(VERIFY_TOKEN);
    expect(lines.at(-1)).toContain('"outcome":"answered"');
  });

  it('answers 403 verify_token_mismatch for a wrong or missing token', async () => {
    const { deps } = setup();
    for (const query of [
      subscribe({ 'hub.verify_token': 'guess' }),
      subscribe({ 'hub.verify_token': '' }),
      { 'hub.mode': 'subscribe', 'hub.challenge': '1' },
      // The signing secret is not a verify token.
      subscribe({ 'hub.verify_token': APP_SECRET }),
    ]) {
      const response = await ingest(get('meta', query), deps);
      expect(response.statusCode).toBe(403);
      expect(JSON.parse(response.body).error).toBe('verify_token_mismatch');
      expect(response.body).not.toContain('1158201444');
    }
  });

  it('answers 403 wrong_mode when hub.mode is not subscribe', async () => {
    const { deps } = setup();
    for (const mode of ['unsubscribe', '', 'SUBSCRIBE']) {
      const response = await ingest(get('meta', subscribe({ 'hub.mode': mode })), deps);
      expect(response.statusCode).toBe(403);
      expect(JSON.parse(response.body).error).toBe('wrong_mode');
    }
  });

  it('answers 400 malformed_challenge for an oversize, empty or odd challenge, never echoing it', async () => {
    const { deps } = setup();
    for (const challenge of [
      'a'.repeat(MAX_CHALLENGE_LENGTH + 1),
      '',
      '<script>alert(1)</script>',
      '12 34',
      'abc\n',
      'é',
    ]) {
      const response = await ingest(get('meta', subscribe({ 'hub.challenge': challenge })), deps);
      expect(response.statusCode).toBe(400);
      expect(JSON.parse(response.body).error).toBe('malformed_challenge');
    }
    const longest = 'A1'.repeat(MAX_CHALLENGE_LENGTH / 2);
    const ok = await ingest(get('meta', subscribe({ 'hub.challenge': longest })), deps);
    expect(ok.body).toBe(longest);
  });

  it('answers 403 no_verify_token when the secret list holds no verify: entry', async () => {
    const { deps } = setup([APP_SECRET]);
    const response = await ingest(get('meta', subscribe()), deps);
    expect(response.statusCode).toBe(403);
    expect(JSON.parse(response.body).error).toBe('no_verify_token');
  });

  it('takes any active verify token (rotation)', async () => {
    const { deps } = setup([APP_SECRET, 'verify:new-token', `verify:${VERIFY_TOKEN}`]);
    expect((await ingest(get('meta', subscribe()), deps)).statusCode).toBe(200);
    const other = subscribe({ 'hub.verify_token': 'new-token' });
    expect((await ingest(get('meta', other), deps)).statusCode).toBe(200);
  });

  it('answers 405 with Allow: POST to a GET for a provider without the option, and 404 for an unknown one', async () => {
    const { deps } = setup();
    const github = await ingest(get('github', subscribe()), deps);
    expect(github.statusCode).toBe(405);
    expect(github.headers).toMatchObject({ allow: 'POST' });
    expect(JSON.parse(github.body).error).toBe('method_not_allowed');
    const unknown = await ingest(get('nobody', subscribe()), deps);
    expect(unknown.statusCode).toBe(404);
    const put = await ingest(get('meta', subscribe(), 'PUT'), deps);
    expect(put.statusCode).toBe(405);
    expect(put.headers).toMatchObject({ allow: 'GET, POST' });
  });

  it('signs POSTs with the App Secret only: the verify: entries never reach the scheme', async () => {
    const { deps, publisher } = setup([`verify:${VERIFY_TOKEN}`, APP_SECRET]);
    const body = JSON.stringify({ object: 'page', entry: [] });
    const sign = (key: string) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
    const post = (signature: string): IngestRequest => ({
      ...get('meta', {}, 'POST'),
      headers: { 'x-hub-signature-256': signature, 'content-type': 'application/json' },
      rawBody: Buffer.from(body),
    });
    deps.deliveries.claim = vi.fn(async (delivery, lease, now) => ({
      claimed: true as const,
      record: {
        ...delivery,
        status: 'RECEIVED' as const,
        receivedAt: now,
        attempts: 1,
        expiresAt: 0,
        leaseOwner: lease.owner,
        leaseUntil: lease.until,
      },
    }));
    deps.deliveries.markPublished = vi.fn(async () => true);
    expect((await ingest(post(sign(APP_SECRET)), deps)).statusCode).toBe(202);
    expect(publisher.publish).toHaveBeenCalledTimes(1);
    expect((await ingest(post(sign(`verify:${VERIFY_TOKEN}`)), deps)).statusCode).toBe(401);
    expect((await ingest(post(sign(VERIFY_TOKEN)), deps)).statusCode).toBe(401);
  });
});

describe('subscription declaration', () => {
  it('the meta preset turns it on; other presets do not; it may be turned off', () => {
    const resolved = resolveDeclaration({
      providers: {
        meta: { preset: 'meta' },
        off: { preset: 'meta', subscriptionCheck: false },
        github: { scheme: 'github' },
        custom: {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          subscriptionCheck: true,
        },
      },
      subscribers: {},
    });
    expect(resolved.providers.meta?.subscriptionCheck).toBe(true);
    expect(resolved.providers.off?.subscriptionCheck).toBeUndefined();
    expect(resolved.providers.github?.subscriptionCheck).toBeUndefined();
    expect(resolved.providers.custom?.subscriptionCheck).toBe(true);
    const providers = buildProviders(resolved.providers);
    expect(providers.get('meta')?.subscriptionCheck).toBe(true);
    expect(providers.get('off')?.subscriptionCheck).toBeUndefined();
  });

  it('refuses a non-boolean, and a scheme with no secret list', () => {
    expect(() =>
      resolveDeclaration({
        providers: { m: { preset: 'meta', subscriptionCheck: 'yes' as unknown as boolean } },
        subscribers: {},
      }),
    ).toThrow(/subscriptionCheck must be true or false/);
    expect(() =>
      resolveDeclaration({
        providers: {
          p: { preset: 'plaid', jwks: { keys: [] }, subscriptionCheck: true },
        },
        subscribers: {},
      }),
    ).toThrow(/subscriptionCheck/);
  });

  it('a secret list of verify tokens only fails the secret check', () => {
    const resolved = resolveDeclaration({
      providers: { meta: { preset: 'meta' } },
      subscribers: {},
    });
    const meta = buildProviders(resolved.providers).get('meta');
    expect(() => meta?.checkSecrets(['verify:t'])).toThrow(/only verify tokens/);
    expect(() => meta?.checkSecrets([APP_SECRET, 'verify:t'])).not.toThrow();
  });

  it('splitSecrets and checkSubscription on their own', () => {
    expect(splitSecrets(['a', 'verify:b', 'verify:', 'c'])).toEqual({
      signing: ['a', 'c'],
      verifyTokens: ['b'],
    });
    expect(
      checkSubscription('hub.mode=subscribe&hub.verify_token=b&hub.challenge=42', ['b']),
    ).toEqual({
      ok: true,
      challenge: '42',
    });
  });
});
