import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import nacl from 'tweetnacl';
import twilioLibrary from 'twilio';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ledgerPk } from '../../functions/consumers/example/ledger.ts';
import { declaration as defaultDeclaration } from '../../infra/hookonce.config.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import { type LocalRuntime, PROJECT_ROOT, startLocal } from '../../infra/local/runtime.ts';
import { eventually, until } from '../support/eventually.ts';

/**
 * Every provider of the default declaration, end to end over HTTP against the
 * local runtime: each delivery is signed by the provider's own library where
 * one exists (stripe, @octokit/webhooks-methods, standardwebhooks, twilio;
 * TweetNaCl for Standard Webhooks v1a) and by the published algorithm
 * otherwise (Shopify, Slack, the generic HMAC signer).
 */

/** Two active secrets per provider: the first is the newer one; the second still verifies (rotation). */
const KEYS = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(42));
const SECRETS = {
  standard: [
    `whsec_${Buffer.from('e2e-standard-new-secret-32-bytes').toString('base64')}`,
    `whsec_${Buffer.from('e2e-standard-old-secret-32-bytes').toString('base64')}`,
  ],
  stripe: ['whsec_e2e0stripe0new0secret', 'whsec_e2e0stripe0old0secret'],
  github: ['e2e-github-new-secret', 'e2e-github-old-secret'],
  shopify: ['e2e-shopify-new-secret', 'e2e-shopify-old-secret'],
  slack: ['e2e0slack0new0signing0secret000', 'e2e0slack0old0signing0secret000'],
  twilio: ['0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210'],
  hmac: ['e2e-hmac-new-secret', 'e2e-hmac-old-secret'],
} as const;
type Name = keyof typeof SECRETS;
const PUBLIC_KEY = `whpk_${Buffer.from(KEYS.publicKey).toString('base64')}`;
const FORGER = 'whsec_Zm9yZ2VyLW5vYm9keS1zaG91bGQtaGF2ZS1pdA==';

const env = {
  ...Object.fromEntries(
    Object.entries(SECRETS).map(([name, list]) => [
      `HOOKONCE_SECRET_${name.toUpperCase()}`,
      list.join(','),
    ]),
  ),
  // Standard Webhooks: the symmetric secrets and an Ed25519 public key, side by side.
  HOOKONCE_SECRET_STANDARD: [...SECRETS.standard, PUBLIC_KEY].join(','),
};

const stripeWebhooks = new Stripe('sk_test_e2e_never_calls_the_api').webhooks;
/**
 * The runtime's ingest function runs in its own sandbox on the wall clock, so a
 * signed timestamp is one read of that clock, taken when the delivery is signed.
 */
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Outgoing {
  path: string;
  headers: Record<string, string>;
  body: string;
  /**
   * What keys the delivery where the provider does not sign its id (GitHub, Shopify,
   * Twilio): the SHA-256 of what it signs. Unset where the signed id is the key.
   */
  key?: string;
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');

/** The event id hookonce answers with, and the consumer's ledger counts under. */
const eventIdOf = (name: Name, id: string, out: Outgoing) => `${name}:${out.key ?? id}`;

/** How each provider sends a delivery `id` signed with `secret`. */
const SENDERS: Record<Name, (id: string, secret: string, base: string) => Promise<Outgoing>> = {
  async standard(id, secret) {
    const body = JSON.stringify({ type: 'invoice.paid', data: { invoice: id, amount: 4200 } });
    const at = new Date();
    return {
      path: '/webhooks/standard',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(id, at, body),
      },
      body,
    };
  },
  async stripe(id, secret) {
    const body = JSON.stringify(
      { id, object: 'event', type: 'invoice.paid', data: { object: { id: 'in_1' } } },
      null,
      2,
    );
    return {
      path: '/webhooks/stripe',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': stripeWebhooks.generateTestHeaderString({
          payload: body,
          secret,
          timestamp: nowSeconds(),
        }),
      },
      body,
    };
  },
  async github(id, secret) {
    const body = JSON.stringify({ ref: 'refs/heads/main', after: id });
    return {
      path: '/webhooks/github',
      headers: {
        'content-type': 'application/json',
        'x-github-delivery': id,
        'x-github-event': 'push',
        'x-hub-signature-256': await octokitSign(secret, body),
      },
      body,
      key: sha256(body),
    };
  },
  async shopify(id, secret) {
    const body = JSON.stringify({ id: 1042, name: `#${id}`, total_price: '199.65' });
    return {
      path: '/webhooks/shopify',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-event-id': id,
        'x-shopify-webhook-id': `wh-${id}`,
        'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
      },
      body,
      key: sha256(body),
    };
  },
  async slack(id, secret) {
    const body = JSON.stringify({
      type: 'event_callback',
      event_id: id,
      event: { type: 'message', channel: 'C1', text: 'hello' },
    });
    const ts = nowSeconds();
    return {
      path: '/webhooks/slack',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${ts}:${body}`).digest('hex')}`,
      },
      body,
    };
  },
  async twilio(id, secret, base) {
    const params = { MessageSid: 'SM1', MessageStatus: 'delivered', To: '+15558675310', Ref: id };
    const path = '/webhooks/twilio?tenant=acme';
    // Twilio signs the URL and each parameter, sorted by name, as name + value.
    const signed = Object.keys(params)
      .sort()
      .reduce((data, k) => data + k + params[k as keyof typeof params], `${base}${path}`);
    return {
      key: sha256(signed),
      path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'i-twilio-idempotency-token': id,
        'x-twilio-signature': twilioLibrary.getExpectedTwilioSignature(
          secret,
          `${base}${path}`,
          params,
        ),
      },
      body: new URLSearchParams(params).toString(),
    };
  },
  async hmac(id, secret) {
    const body = JSON.stringify({ type: 'shipment.delivered', data: { shipment: id } });
    const ts = nowSeconds();
    return {
      path: '/webhooks/hmac',
      headers: {
        'content-type': 'application/json',
        'x-timestamp': String(ts),
        'x-delivery-id': id,
        // The default declaration signs "{id}.{timestamp}.{body}".
        'x-signature': createHmac('sha256', secret).update(`${id}.${ts}.${body}`).digest('hex'),
      },
      body,
    };
  },
};

describe('Providers end to end: the local runtime over HTTP', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let ddb: DynamoDBClient;
  let sqs: SQSClient;

  const post = (out: Outgoing) =>
    fetch(`${runtime.url}${out.path}`, { method: 'POST', headers: out.headers, body: out.body });
  const outgoing = (name: Name, id: string, secret: string) =>
    SENDERS[name](id, secret, runtime.url);
  const send = async (name: Name, id: string, secret: string) =>
    post(await outgoing(name, id, secret));
  /** The event id of delivery `id` of `name`, as hookonce keys it. */
  const eventIdFor = async (name: Name, id: string) =>
    eventIdOf(name, id, await outgoing(name, id, SECRETS[name][0]));
  const applied = async (eventId: string): Promise<number> => {
    const out = await ddb.send(
      new GetItemCommand({
        TableName: runtime.resources.consumerTable,
        Key: { pk: { S: ledgerPk(eventId) } },
        ConsistentRead: true,
      }),
    );
    return Number(out.Item?.applied?.N ?? 0);
  };
  const stored = async (provider: string, id: string) => {
    const out = await ddb.send(
      new GetItemCommand({
        TableName: runtime.resources.deliveriesTable,
        Key: { pk: { S: `DELIVERY#${provider}#${id}` } },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  };
  /** Messages in the example subscriber's queue, waiting or in flight. */
  const examplePending = async (): Promise<number> => {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: runtime.resources.subscribers.example?.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  };
  const storedCount = async () => {
    const out = await ddb.send(
      new ScanCommand({ TableName: runtime.resources.deliveriesTable, ConsistentRead: true }),
    );
    return out.Count ?? 0;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookonce-providers-'));
    runtime = await startLocal({
      declaration: { ...defaultDeclaration, name: 'e2e-providers' },
      port: 0,
      dataDir,
      env,
      output: () => undefined,
      pollWaitSeconds: 1,
    });
    ddb = new DynamoDBClient({
      endpoint: runtime.endpoints.dynamodb,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    sqs = new SQSClient({
      endpoint: runtime.endpoints.sqs,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
  });

  afterAll(async () => {
    ddb?.destroy();
    sqs?.destroy();
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves every provider of the default declaration', () => {
    expect(Object.keys(runtime.declaration.providers)).toEqual([
      'standard',
      'stripe',
      'github',
      'shopify',
      'slack',
      'twilio',
      'hmac',
    ]);
  });

  describe.each(Object.keys(SENDERS) as Name[])('provider %s', (name) => {
    const [secret, oldSecret] = SECRETS[name];

    it('accepts a signed delivery with 202, and the example consumer applies it once', async () => {
      const id = `${name}-e2e-first`;

      const eventId = await eventIdFor(name, id);

      const res = await send(name, id, secret);

      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ id: eventId, duplicate: false });
      expect(
        await eventually(
          () => applied(eventId),
          (n) => n > 0,
        ),
      ).toBe(1);
    });

    it('answers the same delivery again, signed anew, with 200 duplicate; the effect stays at one', async () => {
      const id = `${name}-e2e-retry`;
      const eventId = await eventIdFor(name, id);
      expect((await send(name, id, secret)).status).toBe(202);
      await eventually(
        () => applied(eventId),
        (n) => n > 0,
      );

      const again = await send(name, id, secret);

      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ id: eventId, duplicate: true });
      // SNS fanned any publish out before the answer: once the example queue is
      // empty, a second publish would have counted a second effect.
      await until(async () => (await examplePending()) === 0);
      expect(await applied(eventId)).toBe(1);
    });

    it('refuses a forgery with 401 and a reason code, and stores nothing', async () => {
      const id = `${name}-e2e-forged`;
      const forger = name === 'twilio' ? '00000000000000000000000000000000' : FORGER;
      const before = await storedCount();

      const res = await send(name, id, forger);

      expect(res.status).toBe(401);
      const answer = (await res.json()) as { error: string; message: string };
      expect(answer.error).toBe('signature_mismatch');
      expect(answer.message).not.toContain(secret);
      expect(await storedCount()).toBe(before);
    });

    it('accepts a delivery signed with the older of two active secrets (rotation)', async () => {
      const id = `${name}-e2e-rotated`;
      const eventId = await eventIdFor(name, id);

      const res = await send(name, id, oldSecret);

      expect(res.status).toBe(202);
      expect(
        await eventually(
          () => applied(eventId),
          (n) => n > 0,
        ),
      ).toBe(1);
    });
  });

  it.each([
    ['github', 'x-github-delivery'],
    ['shopify', 'x-shopify-event-id'],
    ['twilio', 'i-twilio-idempotency-token'],
  ] as const)(
    'answers a signed %s request sent again under a fresh %s 200 duplicate: the effect stays at one',
    async (name, header) => {
      // Prepare: one real, signed request, as a proxy log or "Recent Deliveries" keeps it.
      const out = await outgoing(name, `${name}-e2e-replayed`, SECRETS[name][0]);
      const eventId = eventIdOf(name, `${name}-e2e-replayed`, out);
      expect((await post(out)).status).toBe(202);
      await eventually(
        () => applied(eventId),
        (n) => n > 0,
      );

      // Act: the same bytes and signature, under a new unsigned id.
      const replayed = await post({ ...out, headers: { ...out.headers, [header]: 'fresh-id-1' } });

      // Assess
      expect(replayed.status).toBe(200);
      expect(await replayed.json()).toEqual({ id: eventId, duplicate: true });
      await until(async () => (await examplePending()) === 0);
      expect(await applied(eventId)).toBe(1);
    },
  );

  it('accepts a Standard Webhooks v1a delivery signed with the Ed25519 key whose whpk_ is active', async () => {
    const id = 'msg_e2e_v1a';
    const body = JSON.stringify({ type: 'invoice.paid', data: { invoice: 'in_v1a' } });
    const ts = nowSeconds();
    const signature = nacl.sign.detached(Buffer.from(`${id}.${ts}.${body}`), KEYS.secretKey);

    const res = await post({
      path: '/webhooks/standard',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': `v1a,${Buffer.from(signature).toString('base64')}`,
      },
      body,
    });

    expect(res.status).toBe(202);
    expect(
      await eventually(
        () => applied(`standard:${id}`),
        (n) => n > 0,
      ),
    ).toBe(1);
  });

  it("answers Slack's url_verification with its challenge, and stores and publishes nothing", async () => {
    const body = JSON.stringify({
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const ts = nowSeconds();
    const before = await storedCount();

    const res = await post({
      path: '/webhooks/slack',
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': `v0=${createHmac('sha256', SECRETS.slack[0]).update(`v0:${ts}:${body}`).digest('hex')}`,
      },
      body,
    });

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    });
    expect(await storedCount()).toBe(before);
  });

  it("answers GitHub's ping with 2xx", async () => {
    const body = JSON.stringify({ zen: 'Design for failure.', hook_id: 292430182 });

    const res = await post({
      path: '/webhooks/github',
      headers: {
        'content-type': 'application/json',
        'x-github-delivery': 'ping-e2e-1',
        'x-github-event': 'ping',
        'x-hub-signature-256': await octokitSign(SECRETS.github[0], body),
      },
      body,
    });

    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);
  });

  it('refuses a Stripe delivery whose timestamp is outside the window with timestamp_too_old', async () => {
    const body = JSON.stringify({ id: 'evt_e2e_old', type: 'invoice.paid' });

    const res = await post({
      path: '/webhooks/stripe',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': stripeWebhooks.generateTestHeaderString({
          payload: body,
          secret: SECRETS.stripe[0],
          timestamp: nowSeconds() - 600,
        }),
      },
      body,
    });

    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('timestamp_too_old');
    expect(await stored('stripe', 'evt_e2e_old')).toBeUndefined();
  });

  describe('hookonce send (the CLI, as a child process)', () => {
    /** Runs `node infra/cli/main.ts …` against this runtime, its data folder found as npm start leaves it. */
    async function hookonce(args: string[], extraEnv: Record<string, string> = {}) {
      const child = spawn(process.execPath, [join(PROJECT_ROOT, 'infra/cli/main.ts'), ...args], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...env, HOOKONCE_DATA_DIR: dataDir, ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const [code] = await once(child, 'exit');
      return { code: code as number, out };
    }

    it.each([
      ['github', 'gh-show-e2e-1'],
      ['twilio', 'tw-show-e2e-1'],
    ] as const)(
      'shows a %s delivery found by the provider’s own id, and by its key',
      async (name, id) => {
        // Prepare
        const out = await outgoing(name, id, SECRETS[name][0]);
        expect((await post(out)).status).toBe(202);
        const eventId = eventIdOf(name, id, out);

        // Act
        const byProviderId = await hookonce(['deliveries', 'show', name, id]);
        const byKey = await hookonce(['deliveries', 'show', name, eventId]);
        const missing = await hookonce(['deliveries', 'show', name, 'no-such-id']);

        // Assess
        expect(byProviderId.code).toBe(0);
        expect(byProviderId.out).toContain("by the provider's id");
        expect(byProviderId.out).toContain(`  ${eventId}\n`);
        expect(byProviderId.out).toContain(`provider's id  ${id}  (not signed`);
        expect(byKey.code).toBe(0);
        expect(byKey.out).toContain('by its key');
        expect(byKey.out).toContain(`  ${eventId}\n`);
        expect(missing.code).toBe(1);
        expect(missing.out).toContain('no delivery of');
      },
    );

    it.each(Object.keys(SENDERS) as Name[])(
      'sends the %s sample to the local endpoint from local.json: 202, then 200 for the same --id',
      async (name) => {
        const id = name === 'stripe' ? 'evt_cli_e2e_1' : `${name}-cli-e2e-1`;

        const first = await hookonce(['send', name, '--id', id]);
        const second = await hookonce(['send', name, '--id', id]);

        // GitHub, Shopify and Twilio do not sign their ids: the sample's body keys it.
        const eventId = /\{"id":"([^"]+)","duplicate":false\}/.exec(first.out)?.[1] ?? '';
        expect(eventId).toMatch(
          ['github', 'shopify', 'twilio'].includes(name)
            ? new RegExp(`^${name}:[0-9a-f]{64}$`)
            : new RegExp(`^${name}:${id}$`),
        );
        expect(first.out.includes('does not sign its delivery id')).toBe(
          ['github', 'shopify', 'twilio'].includes(name),
        );
        expect(first.code).toBe(0);
        expect(first.out).toContain(`> POST ${runtime.url}/webhooks/${name}`);
        expect(first.out).toContain('< 202 Accepted');
        expect(second.code).toBe(0);
        expect(second.out).toContain('< 200 OK');
        expect(second.out).toContain(`{"id":"${eventId}","duplicate":true}`);
        expect(
          await eventually(
            () => applied(eventId),
            (n) => n > 0,
          ),
        ).toBe(1);
      },
    );

    it('exits 1 and prints the 401 when it signs with a secret the server does not hold', async () => {
      const result = await hookonce([
        'send',
        'github',
        '--url',
        `${runtime.url}/webhooks/github`,
        '--secret',
        'not-the-server-secret',
      ]);

      expect(result.code).toBe(1);
      expect(result.out).toContain('< 401 Unauthorized');
      expect(result.out).toContain('"error":"signature_mismatch"');
    });

    it('exits 1 and sends nothing when the server took the secret from a variable this shell does not set', async () => {
      // Prepare: a secrets.json from an earlier start without the variable, with another secret.
      const kept = join(dataDir, 'secrets.json');
      writeFileSync(kept, JSON.stringify({ github: 'an-earlier-generated-secret' }));
      onTestFinished(() => rmSync(kept, { force: true }));

      // Act: this shell lacks the variable the runtime took github's secret from.
      const result = await hookonce(['send', 'github'], { HOOKONCE_SECRET_GITHUB: '' });

      // Assess
      expect(result.code).toBe(1);
      expect(result.out).toBe(
        "hookonce send: the running hookonce takes github's secret from HOOKONCE_SECRET_GITHUB, which this shell does not set, so nothing here signs as it checks: export HOOKONCE_SECRET_GITHUB in this shell with the value it has where `npm start` runs (or pass --secret)\n",
      );
    });
  });
});
