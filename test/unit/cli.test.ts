import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import twilioLibrary from 'twilio';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { buildProviders } from '../../functions/providers/registry.ts';
import {
  type HookonceDeclaration,
  type ResolvedProvider,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { runCli } from '../../infra/cli/cli.ts';
import { type CliIo, CommandFailure, UsageError } from '../../infra/cli/command.ts';
import { type DeliveryInput, prepareDelivery } from '../../infra/cli/deliveries.ts';
import {
  contentTypeOf,
  localUrl,
  parseSendArgs,
  runSend,
  signingSecret,
} from '../../infra/cli/send.ts';
import { declaration as defaultDeclaration } from '../../infra/hookonce.config.ts';
import { inspectWith } from '../support/providers.ts';

const NOW = Date.UTC(2100, 0, 1);
const SECRETS: Record<string, string> = {
  standard: `whsec_${Buffer.from('cli-unit-test-secret-of-32-bytes').toString('base64')}`,
  stripe: 'whsec_cli0unit0test0stripe0secret',
  github: 'cli-unit-github-secret',
  shopify: 'cli-unit-shopify-secret',
  slack: 'cli-unit-slack-signing-secret',
  twilio: '0123456789abcdef0123456789abcdef',
  hmac: 'cli-unit-hmac-secret',
};
const declared = resolveDeclaration(defaultDeclaration);
const providers = buildProviders(declared.providers);

function providerOf(name: string): ResolvedProvider {
  const p = declared.providers[name];
  if (!p) throw new Error(`no ${name} in the default declaration`);
  return p;
}

/** A command line's output and exit code. */
async function cli(argv: string[], overrides: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    env: {},
    cwd: tmpdir(),
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    fetch,
    now: () => NOW,
    ...overrides,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A delivery prepared as `hookonce send <name>` would, from the provider's sample. */
function prepared(name: string, options: Partial<DeliveryInput> = {}) {
  const provider = providerOf(name);
  const body =
    options.body ??
    Buffer.from(
      {
        twilio: 'MessageSid=SM1&MessageStatus=delivered&To=%2B15558675310',
        github: '{"zen":"Keep it logically awesome."}',
        shopify: '{"id":1042,"total_price":"199.65"}',
        slack: '{"type":"event_callback","event_id":"Ev0","event":{"type":"message"}}',
      }[name] ?? '{"type":"invoice.paid","id":"x"}',
    );
  return prepareDelivery({
    name,
    provider,
    body,
    contentType: name === 'twilio' ? 'application/x-www-form-urlencoded' : 'application/json',
    url: `https://hooks.example.com/webhooks/${name}`,
    secret: SECRETS[name] ?? '',
    now: NOW,
    ...options,
  });
}

/** Runs hookonce's own verifier on a prepared delivery, as the server would. */
function verdictOf(name: string, delivery: ReturnType<typeof prepared>) {
  const provider = providers.get(name);
  if (!provider) throw new Error(`no verifier for ${name}`);
  const url = new URL(delivery.url);
  return inspectWith(provider, {
    headers: { ...delivery.headers, host: url.host, 'x-forwarded-proto': 'https' },
    body: delivery.body,
    secrets: [SECRETS[name] ?? ''],
    now: NOW,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
  });
}

describe('Module: hookonce CLI', () => {
  describe('Function: runCli', () => {
    it('lists the commands on --help and exits 0', async () => {
      // Act
      const { code, out } = await cli(['--help']);

      // Assess
      expect(code).toBe(0);
      expect(out).toContain('usage: hookonce <command>');
      expect(out).toMatch(/send\s+send a correctly signed test webhook/);
    });

    it('lists the commands without arguments, and exits 2', async () => {
      // Act
      const { code, out } = await cli([]);

      // Assess
      expect(code).toBe(2);
      expect(out).toContain('commands:');
    });

    it.each([
      ['send --help', ['send', '--help']],
      ['help send', ['help', 'send']],
    ])("prints send's options for `%s`", async (_, argv) => {
      // Act
      const { code, out } = await cli(argv);

      // Assess
      expect(code).toBe(0);
      expect(out).toContain('usage: hookonce send <provider>');
      expect(out).toContain('--id ID');
    });

    it('refuses an unknown command with exit code 2 and the list of commands', async () => {
      // Act
      const { code, err } = await cli(['replay-all']);

      // Assess
      expect(code).toBe(2);
      expect(err).toContain('unknown command "replay-all"');
      expect(err).toContain('send');
    });

    it('turns a usage error into exit code 2, the reason and the usage line', async () => {
      // Act
      const { code, err } = await cli(['send', 'paypal']);

      // Assess
      expect(code).toBe(2);
      expect(err).toContain('no provider "paypal"');
      expect(err).toContain('stripe, github, shopify, slack, twilio, hmac');
      expect(err).toContain('usage: hookonce send');
    });
  });

  describe('Function: parseSendArgs', () => {
    it('reads the provider and every option, long and short', () => {
      // Act
      const options = parseSendArgs([
        'stripe',
        '-f',
        'event.json',
        '--url',
        'http://x/webhooks/stripe',
        '--id',
        'evt_1',
        '-t',
        'invoice.paid',
        '--secret',
        'whsec_x',
        '--content-type',
        'application/json',
      ]);

      // Assess
      expect(options).toEqual({
        provider: 'stripe',
        file: 'event.json',
        url: 'http://x/webhooks/stripe',
        id: 'evt_1',
        type: 'invoice.paid',
        secret: 'whsec_x',
        contentType: 'application/json',
      });
    });

    it.each([
      ['no provider', [], 'name the provider'],
      ['two providers', ['stripe', 'github'], 'unexpected argument "github"'],
      ['an unknown option', ['stripe', '--signature', 'x'], "Unknown option '--signature'"],
      ['an option without its value', ['stripe', '--id'], "'--id"],
      ['an empty value', ['stripe', '--id='], '--id needs a value'],
    ])('refuses %s with a UsageError that says so', (_, args, message) => {
      // Act
      const parse = () => parseSendArgs(args);

      // Assess
      expect(parse).toThrow(UsageError);
      expect(parse).toThrow(message);
    });
  });

  describe('Function: signingSecret', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'hookonce-cli-'));
      writeFileSync(
        join(dir, 'secrets.json'),
        JSON.stringify({ stripe: 'whsec_from_file', standard: SECRETS.standard }),
      );
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const stripe = providerOf('stripe');

    it('takes --secret first', () => {
      // Act
      const secret = signingSecret({
        name: 'stripe',
        provider: stripe,
        env: { HOOKONCE_SECRET_STRIPE: 'whsec_env', HOOKONCE_DATA_DIR: dir },
        cwd: '/',
        secret: 'whsec_flag',
      });

      // Assess
      expect(secret).toEqual({ value: 'whsec_flag', from: '--secret' });
    });

    it('takes HOOKONCE_SECRET_<PROVIDER> before the kept development secret, the newest of a list', () => {
      // Act
      const secret = signingSecret({
        name: 'stripe',
        provider: stripe,
        env: { HOOKONCE_SECRET_STRIPE: 'whsec_new, whsec_old', HOOKONCE_DATA_DIR: dir },
        cwd: '/',
      });

      // Assess
      expect(secret).toEqual({ value: 'whsec_new', from: 'HOOKONCE_SECRET_STRIPE' });
    });

    it('takes the development secret npm start kept in $HOOKONCE_DATA_DIR/secrets.json', () => {
      // Act
      const secret = signingSecret({
        name: 'stripe',
        provider: stripe,
        env: { HOOKONCE_DATA_DIR: dir },
        cwd: tmpdir(),
      });

      // Assess
      expect(secret.value).toBe('whsec_from_file');
      expect(join(tmpdir(), secret.from)).toBe(join(dir, 'secrets.json'));
    });

    it('says how to get a secret when there is none', () => {
      // Act
      const take = () =>
        signingSecret({
          name: 'stripe',
          provider: stripe,
          env: { HOOKONCE_DATA_DIR: join(dir, 'nothing-here') },
          cwd: '/',
        });

      // Assess
      expect(take).toThrow(UsageError);
      expect(take).toThrow(/set HOOKONCE_SECRET_STRIPE, or start hookonce once with `npm start`/);
    });

    it('says so when the kept secrets have none for this provider', () => {
      // Act
      const take = () =>
        signingSecret({
          name: 'github',
          provider: providerOf('github'),
          env: { HOOKONCE_DATA_DIR: dir },
          cwd: '/',
        });

      // Assess
      expect(take).toThrow('holds no secret for "github"');
    });

    it('refuses to sign for a local runtime that took its secret from a variable this shell does not set', () => {
      // Act: secrets.json has a stripe secret, but it is not the one the server checks.
      const take = () =>
        signingSecret({
          name: 'stripe',
          provider: stripe,
          env: { HOOKONCE_DATA_DIR: dir, HOOKONCE_SECRET_STRIPE: ' ' },
          cwd: '/',
          server: { source: 'env', variable: 'HOOKONCE_SECRET_STRIPE' },
        });

      // Assess
      expect(take).toThrow(CommandFailure);
      expect(take).toThrow(
        "the running hookonce takes stripe's secret from HOOKONCE_SECRET_STRIPE, which this shell does not set, so nothing here signs as it checks: export HOOKONCE_SECRET_STRIPE in this shell with the value it has where `npm start` runs (or pass --secret)",
      );
    });

    it('signs with the variable when the local runtime took its secret from it too', () => {
      // Act
      const secret = signingSecret({
        name: 'stripe',
        provider: stripe,
        env: { HOOKONCE_DATA_DIR: dir, HOOKONCE_SECRET_STRIPE: 'whsec_env' },
        cwd: '/',
        server: { source: 'env', variable: 'HOOKONCE_SECRET_STRIPE' },
      });

      // Assess
      expect(secret).toEqual({ value: 'whsec_env', from: 'HOOKONCE_SECRET_STRIPE' });
    });

    it('signs with secrets.json, and says why, when the local runtime did not start with the variable this shell sets', () => {
      // Act
      const secret = signingSecret({
        name: 'stripe',
        provider: stripe,
        env: { HOOKONCE_DATA_DIR: dir, HOOKONCE_SECRET_STRIPE: 'whsec_env' },
        cwd: tmpdir(),
        server: { source: 'kept', file: 'secrets.json' },
      });

      // Assess
      expect(secret.value).toBe('whsec_from_file');
      expect(secret.note).toBe(
        `HOOKONCE_SECRET_STRIPE is set in this shell, but the running hookonce did not start with it: signed with its secret from ${secret.from}, the one it checks; restart \`npm start\` with HOOKONCE_SECRET_STRIPE set to use yours`,
      );
    });

    it('skips Standard Webhooks public keys, which cannot sign, and asks for the private key when only they are left', () => {
      // Prepare
      const standard = providerOf('standard');
      const whpk = `whpk_${Buffer.alloc(32, 1).toString('base64')}`;

      // Act
      const mixed = signingSecret({
        name: 'standard',
        provider: standard,
        env: { HOOKONCE_SECRET_STANDARD: `${whpk},${SECRETS.standard}` },
        cwd: '/',
      });
      const onlyPublic = () =>
        signingSecret({
          name: 'standard',
          provider: standard,
          env: { HOOKONCE_SECRET_STANDARD: whpk },
          cwd: '/',
        });

      // Assess
      expect(mixed.value).toBe(SECRETS.standard);
      expect(onlyPublic).toThrow('--secret whsk_');
    });
  });

  describe('Function: localUrl', () => {
    it('points at the endpoint of the running local runtime, from local.json', () => {
      // Prepare
      const dir = mkdtempSync(join(tmpdir(), 'hookonce-cli-'));
      writeFileSync(join(dir, 'local.json'), JSON.stringify({ api: 'http://127.0.0.1:4321' }));

      // Act
      const url = localUrl('shopify', { HOOKONCE_DATA_DIR: dir }, '/');

      // Assess
      expect(url).toBe('http://127.0.0.1:4321/webhooks/shopify');
      rmSync(dir, { recursive: true, force: true });
    });

    it('says to start hookonce or pass --url when nothing runs', () => {
      // Act
      const find = () => localUrl('stripe', { HOOKONCE_DATA_DIR: '/nonexistent/hookonce' }, '/');

      // Assess
      expect(find).toThrow(/npm start`, or pass --url/);
    });
  });

  describe('Function: contentTypeOf', () => {
    it.each([
      ['event.json', 'application/json'],
      ['callback.form', 'application/x-www-form-urlencoded'],
      ['notes.txt', 'text/plain; charset=utf-8'],
    ])('gives %s the content type %s', (file, type) => {
      // Assess
      expect(contentTypeOf(file)).toBe(type);
    });
  });

  describe('Function: prepareDelivery', () => {
    it.each(['standard', 'stripe', 'github', 'shopify', 'slack', 'twilio', 'hmac'])(
      'prepares a %s delivery that hookonce accepts, under the id it reports',
      (name) => {
        // Act
        const delivery = prepared(name);

        // Assess: the id the CLI reports is the provider's own (for github, shopify and
        // twilio it is not signed, and the verdict keeps it beside the key it derives).
        const verdict = verdictOf(name, delivery);
        expect(verdict).toMatchObject({ kind: 'accept' });
        if (verdict.kind !== 'accept') return;
        expect(verdict.providerDeliveryId ?? verdict.deliveryId).toBe(delivery.deliveryId);
      },
    );

    it('prepares a Stripe event that the stripe package accepts, with the id and type asked for', () => {
      // Act
      const delivery = prepared('stripe', { id: 'evt_cli_1', type: 'customer.created' });

      // Assess
      const event = new Stripe('sk_test_cli').webhooks.constructEvent(
        delivery.body,
        delivery.headers['stripe-signature'] ?? '',
        SECRETS.stripe ?? '',
        300,
        undefined,
        NOW,
      );
      expect(event.id).toBe('evt_cli_1');
      expect(event.type).toBe('customer.created');
    });

    it('prepares a GitHub delivery that @octokit/webhooks-methods verifies, with its delivery and event headers', async () => {
      // Act
      const delivery = prepared('github', { id: 'guid-1', type: 'ping' });

      // Assess
      expect(delivery.headers['x-github-delivery']).toBe('guid-1');
      expect(delivery.headers['x-github-event']).toBe('ping');
      expect(
        await octokitVerify(
          SECRETS.github ?? '',
          delivery.body.toString(),
          delivery.headers['x-hub-signature-256'] ?? '',
        ),
      ).toBe(true);
    });

    it('prepares a Standard Webhooks delivery that the standardwebhooks library verifies', () => {
      // Prepare: the library checks the timestamp against its own clock; it reads NOW.
      vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
      onTestFinished(() => {
        vi.useRealTimers();
      });

      // Act
      const delivery = prepared('standard', { id: 'msg_cli' });

      // Assess
      const verify = () =>
        new Webhook(SECRETS.standard ?? '').verify(delivery.body.toString(), delivery.headers);
      expect(verify).not.toThrow();
      expect(delivery.headers['webhook-id']).toBe('msg_cli');
    });

    it('prepares a Twilio form callback that the twilio package validates', () => {
      // Act
      const delivery = prepared('twilio');

      // Assess
      const params = Object.fromEntries(new URLSearchParams(delivery.body.toString()));
      expect(
        twilioLibrary.validateRequest(
          SECRETS.twilio ?? '',
          delivery.headers['x-twilio-signature'] ?? '',
          delivery.url,
          params,
        ),
      ).toBe(true);
    });

    it('prepares a Twilio JSON callback with bodySHA256 on the URL it posts to', () => {
      // Act
      const delivery = prepared('twilio', {
        body: Buffer.from('{"sid":"SM1"}'),
        contentType: 'application/json',
        url: 'https://hooks.example.com/webhooks/twilio?tenant=acme',
      });

      // Assess
      expect(delivery.url).toMatch(/\?tenant=acme&bodySHA256=[0-9a-f]{64}$/);
      expect(
        twilioLibrary.validateRequestWithBody(
          SECRETS.twilio ?? '',
          delivery.headers['x-twilio-signature'] ?? '',
          delivery.url,
          '{"sid":"SM1"}',
        ),
      ).toBe(true);
    });

    it("signs the declared publicUrl for Twilio, with the target's query string, and posts to the target", () => {
      // Prepare
      const provider = resolveDeclaration({
        providers: { sms: { scheme: 'twilio', publicUrl: 'https://sms.example.org/hooks/twilio' } },
        subscribers: {},
      } satisfies HookonceDeclaration).providers.sms as ResolvedProvider;

      // Act
      const delivery = prepareDelivery({
        name: 'sms',
        provider,
        body: Buffer.from('A=1&B=2'),
        contentType: 'application/x-www-form-urlencoded',
        url: 'http://127.0.0.1:3000/webhooks/sms?x=1',
        secret: SECRETS.twilio ?? '',
        now: NOW,
      });

      // Assess
      expect(delivery.url).toBe('http://127.0.0.1:3000/webhooks/sms?x=1');
      expect(
        twilioLibrary.validateRequest(
          SECRETS.twilio ?? '',
          delivery.headers['x-twilio-signature'] ?? '',
          'https://sms.example.org/hooks/twilio?x=1',
          { A: '1', B: '2' },
        ),
      ).toBe(true);
    });

    it.each(['standard', 'stripe', 'github', 'shopify', 'slack', 'twilio', 'hmac'])(
      'makes a fresh %s delivery id each time, and keeps the one given',
      (name) => {
        // Act
        const first = prepared(name);
        const second = prepared(name);
        const given = prepared(name, { id: 'chosen-id-1' });

        // Assess
        expect(first.deliveryId).not.toBe(second.deliveryId);
        expect(given.deliveryId).toBe('chosen-id-1');
        const verdict = verdictOf(name, given);
        expect(verdict).toMatchObject({ kind: 'accept' });
        if (verdict.kind !== 'accept') return;
        expect(verdict.providerDeliveryId ?? verdict.deliveryId).toBe('chosen-id-1');
      },
    );

    it.each([
      ['standard', 'invoice.voided'],
      ['stripe', 'invoice.voided'],
      ['github', 'issues'],
      ['shopify', 'orders/paid'],
      ['slack', 'app_mention'],
      ['hmac', 'shipment.lost'],
    ])('puts the --type of a %s delivery where the provider carries it', (name, type) => {
      // Act
      const delivery = prepared(name, { type });

      // Assess
      expect(verdictOf(name, delivery)).toMatchObject({ kind: 'accept', eventType: type });
    });

    it('keeps a JSON body byte for byte when nothing in it changes', () => {
      // Prepare
      const body = Buffer.from('{ "id" : "evt_same",\n  "type": "x" }');

      // Act
      const delivery = prepared('stripe', { body, id: 'evt_same' });

      // Assess
      expect(delivery.body.equals(body)).toBe(true);
    });

    it('answers a Slack url_verification as is: no event id to set', () => {
      // Prepare
      const body = Buffer.from('{"type":"url_verification","challenge":"c1"}');

      // Act
      const delivery = prepared('slack', { body });

      // Assess
      expect(delivery.body.equals(body)).toBe(true);
      expect(verdictOf('slack', delivery)).toMatchObject({ kind: 'reply', statusCode: 200 });
    });

    it.each([
      ['--type for Twilio', 'twilio', { type: 'sms' }, 'Twilio sends no event type'],
      ['a body that is not JSON for Stripe', 'stripe', { body: Buffer.from('id=1') }, 'not JSON'],
      ['a JSON array for Slack', 'slack', { body: Buffer.from('[]') }, 'JSON object'],
    ])('refuses %s with a UsageError', (_, name, options, message) => {
      // Act
      const prepare = () => prepared(name, options as Partial<DeliveryInput>);

      // Assess
      expect(prepare).toThrow(UsageError);
      expect(prepare).toThrow(message);
    });

    it('refuses --id for a generic signer whose deliveries are named by their body', () => {
      // Prepare
      const provider = resolveDeclaration({
        providers: {
          acme: { scheme: 'hmac', header: 'x-sig', algorithm: 'sha256', encoding: 'hex' },
        },
        subscribers: {},
      }).providers.acme as ResolvedProvider;

      // Act
      const prepare = () =>
        prepareDelivery({
          name: 'acme',
          provider,
          body: Buffer.from('{}'),
          contentType: 'application/json',
          url: 'http://x/webhooks/acme',
          secret: 's',
          id: 'mine',
          now: NOW,
        });

      // Assess
      expect(prepare).toThrow('SHA-256 of its body');
    });
  });

  describe('Function: runSend', () => {
    let server: ReturnType<typeof createServer>;
    let url: string;
    let answer = { status: 202, body: '{"id":"x","duplicate":false}' };
    const received: Array<{ request: IncomingMessage; body: string }> = [];
    beforeAll(async () => {
      server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (c: Buffer) => chunks.push(c));
        request.on('end', () => {
          received.push({ request, body: Buffer.concat(chunks).toString() });
          response.writeHead(answer.status, { 'content-type': 'application/json' });
          response.end(answer.body);
        });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/github`;
    });
    afterAll(() => server.close());

    const io = (out: string[], err: string[]): CliIo => ({
      env: { HOOKONCE_SECRET_GITHUB: SECRETS.github },
      cwd: '/',
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      fetch,
      now: () => NOW,
    });

    it('posts the signed sample and prints the request, the status and the answer; exit 0 on 2xx', async () => {
      // Prepare
      answer = { status: 202, body: '{"id":"github:1","duplicate":false}' };
      const out: string[] = [];

      // Act
      const code = await runSend({ provider: 'github', url, id: 'guid-7' }, io(out, []));

      // Assess
      expect(code).toBe(0);
      const last = received.at(-1);
      expect(last?.request.headers['x-github-delivery']).toBe('guid-7');
      expect(
        await octokitVerify(
          SECRETS.github ?? '',
          last?.body ?? '',
          String(last?.request.headers['x-hub-signature-256']),
        ),
      ).toBe(true);
      expect(out[0]).toBe(`> POST ${url}`);
      expect(out).toContain('> x-github-delivery: guid-7');
      expect(out).toContain('< 202 Accepted');
      expect(out.at(-1)).toBe('{"id":"github:1","duplicate":false}');
    });

    it('exits 1 on a 401, saying which secret it signed with', async () => {
      // Prepare
      answer = { status: 401, body: '{"error":"signature_mismatch"}' };
      const err: string[] = [];

      // Act
      const code = await runSend({ provider: 'github', url }, io([], err));

      // Assess
      expect(code).toBe(1);
      expect(err.join('\n')).toContain('HOOKONCE_SECRET_GITHUB');
    });

    it('exits 1 with what to do, and sends nothing, when the local runtime’s secret is in a variable this shell lacks', async () => {
      // Prepare: the local runtime answers on this server, and took github's secret from the environment.
      const dir = mkdtempSync(join(tmpdir(), 'hookonce-cli-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const api = url.slice(0, url.indexOf('/webhooks/'));
      writeFileSync(
        join(dir, 'local.json'),
        JSON.stringify({
          api,
          secrets: { github: { source: 'env', variable: 'HOOKONCE_SECRET_GITHUB' } },
        }),
      );
      writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ github: 'not-the-server-one' }));
      const before = received.length;

      // Act
      const { code, out, err } = await cli(['send', 'github'], {
        env: { HOOKONCE_DATA_DIR: dir },
      });

      // Assess
      expect(code).toBe(1);
      expect(out).toBe('');
      expect(err).toBe(
        "hookonce send: the running hookonce takes github's secret from HOOKONCE_SECRET_GITHUB, which this shell does not set, so nothing here signs as it checks: export HOOKONCE_SECRET_GITHUB in this shell with the value it has where `npm start` runs (or pass --secret)",
      );
      expect(received.length).toBe(before);
    });

    it('exits 1 with advice when nothing answers', async () => {
      // Prepare
      const err: string[] = [];
      const closed = createServer();
      closed.listen(0, '127.0.0.1');
      await once(closed, 'listening');
      const port = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));

      // Act
      const code = await runSend(
        { provider: 'github', url: `http://127.0.0.1:${port}/webhooks/github` },
        io([], err),
      );

      // Assess
      expect(code).toBe(1);
      expect(err.join('\n')).toContain('ECONNREFUSED');
      expect(err.join('\n')).toContain('Is hookonce running');
    });
  });
});
