import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerPk } from '../../functions/consumers/example/ledger.ts';
import { signGithub } from '../../functions/providers/github.ts';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { MemoryActivity, type RequestRecord } from '../../infra/console/activity.ts';
import { localConsoleOptions } from '../../infra/console/local.ts';
import type { ConsoleOptions, ConsoleServer } from '../../infra/console/options.ts';
import { startConsole } from '../../infra/console/server.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import { type LocalRuntime, startLocal } from '../../infra/local/runtime.ts';
import { signStandard, standardSecret } from '../support/backends.ts';
import { type Answer, call, postForm, readStream, tokenOf } from '../support/console.ts';
import { eventually } from '../support/eventually.ts';

const SECRET = standardSecret('e2e-console-secret-of-32-bytes!!');
const FORGER = standardSecret('a-secret-the-forger-made-up-here');
const GITHUB_SECRET = 'e2e-console-github-webhook-secret';

/** Every event goes to example; invoices takes the standard.invoice.* types only. */
const declaration: HookonceDeclaration = {
  name: 'e2econsole',
  providers: { standard: { scheme: 'standard-webhooks' }, github: { scheme: 'github' } },
  subscribers: {
    example: { consumer: { entry: 'functions/consumers/example/handler.ts' } },
    invoices: {
      consumer: { entry: 'test/e2e/fixtures/counter.ts' },
      filter: { types: ['standard.invoice.'] },
    },
  },
};

interface Lookup {
  by: 'key' | 'provider id';
  deliveries: Array<{
    deliveryId: string;
    eventId: string;
    headers: Record<string, string>;
    payload: { text?: string; bytes: number; source: string; unavailable?: string };
    envelope: string;
    state: { status: string; attempts: number };
    sendCommand: string;
    subscribers: Array<{
      name: string;
      matches: boolean;
      claim: { state: string; attempts?: number };
    }>;
  }>;
}

describe('Console of the local runtime, over HTTP', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let base: string;
  let ddb: DynamoDBClient;
  const output: string[] = [];
  const clients: Array<{ destroy(): void }> = [];
  const consoles: ConsoleServer[] = [];

  /** A webhook signed as a Standard Webhooks sender signs it (one read of the wall clock: the runtime checks it). */
  const webhook = (
    id: string,
    body: string,
    options: { secret?: string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${runtime.url}/webhooks/standard`, {
      method: 'POST',
      headers: {
        ...signStandard({ id, at: Date.now(), body, secret: options.secret ?? SECRET }),
        ...options.headers,
      },
      body,
    });
  const json = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await call(base, path, { headers: { accept: 'application/json' } });
    return { status: res.status, body: JSON.parse(res.body) as T };
  };
  const requests = async (query = '') =>
    (await json<{ requests: RequestRecord[] }>(`/api/requests${query}`)).body.requests;
  const lookup = async (id: string) =>
    (await json<Lookup>(`/api/deliveries/standard/${encodeURIComponent(id)}`)).body;
  const claims = (l: Lookup) =>
    Object.fromEntries(l.deliveries[0]?.subscribers.map((s) => [s.name, s.claim.state]) ?? []);
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
  /** Another console on the same runtime, as `hookonce console` would open one. */
  const another = async (changes: Partial<ConsoleOptions>): Promise<ConsoleServer> => {
    const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const dynamodb = new DynamoDBClient({ ...config, endpoint: runtime.endpoints.dynamodb });
    const sqs = new SQSClient({ ...config, endpoint: runtime.endpoints.sqs });
    const sns = new SNSClient({ ...config, endpoint: runtime.endpoints.sns });
    const s3 = new S3Client({ ...config, endpoint: runtime.endpoints.s3, forcePathStyle: true });
    clients.push(dynamodb, sqs, sns, s3);
    const server = await startConsole({
      ...localConsoleOptions({
        declaration: runtime.declaration,
        resources: runtime.resources,
        clients: { dynamodb, sqs, sns, s3 },
        endpoint: runtime.endpoints.sqs,
        apiUrl: runtime.url,
        activity: runtime.activity,
        consumers: runtime.consumerStats,
        secrets: runtime.secrets,
        port: 0,
      }),
      ...changes,
    });
    consoles.push(server);
    return server;
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookonce-e2e-console-'));
    runtime = await startLocal({
      declaration,
      port: 0,
      consolePort: 0,
      dataDir,
      env: { HOOKONCE_SECRET_STANDARD: SECRET, HOOKONCE_SECRET_GITHUB: GITHUB_SECRET },
      output: (line) => output.push(line),
      pollWaitSeconds: 1,
    });
    base = runtime.consoleUrl ?? '';
    ddb = new DynamoDBClient({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: runtime.endpoints.dynamodb,
    });

    const invoice = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1', amount: 4200 } });
    expect((await webhook('msg_c_1', invoice)).status).toBe(202);
    expect((await webhook('msg_c_1', invoice)).status).toBe(200);
    expect((await webhook('msg_c_forged', invoice, { secret: FORGER })).status).toBe(401);
    const customer = JSON.stringify({ type: 'customer.created', data: { id: 'cus_1' } });
    expect((await webhook('msg_c_2', customer)).status).toBe(202);
    // The ingest function's lines reach the activity as it prints them, after its answer.
    await eventually(
      () => requests(),
      (r) => r.length === 4,
    );
  });

  afterAll(async () => {
    for (const server of consoles) await server.stop();
    for (const client of clients) client.destroy();
    ddb?.destroy();
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and writes its URL into local.json', () => {
    const local = JSON.parse(readFileSync(join(dataDir, 'local.json'), 'utf8')) as {
      console?: string;
    };

    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(local.console).toBe(base);
  });

  it('answers /api/requests newest first, filtered by provider, outcome, type and limit, with no secret or signature', async () => {
    const all = await requests();
    const raw = await call(base, '/api/requests', { headers: { accept: 'application/json' } });

    expect(all.map((r) => [r.outcome, r.status, r.deliveryId, r.eventType, r.reason])).toEqual([
      ['published', 202, 'msg_c_2', 'customer.created', undefined],
      ['rejected', 401, undefined, undefined, 'signature_mismatch'],
      ['duplicate', 200, 'msg_c_1', 'invoice.paid', undefined],
      ['published', 202, 'msg_c_1', 'invoice.paid', undefined],
    ]);
    expect(all.every((r) => r.provider === 'standard' && typeof r.ms === 'number')).toBe(true);
    expect((await requests('?outcome=duplicate')).map((r) => r.deliveryId)).toEqual(['msg_c_1']);
    expect(await requests('?type=invoice.')).toHaveLength(2);
    expect(await requests('?provider=stripe')).toEqual([]);
    expect((await requests('?limit=1')).map((r) => r.deliveryId)).toEqual(['msg_c_2']);
    expect((await json('/api/requests?outcome=lost')).status).toBe(400);
    expect(raw.body).not.toContain(SECRET.slice(6));
    expect(raw.body).not.toContain('v1,');
  });

  it('streams each request that passes the filters as a `request` event', async () => {
    const body = JSON.stringify({ type: 'invoice.created', data: { id: 'in_2' } });

    const messages = await readStream(
      `${base}/api/stream?outcome=rejected`,
      (m) => 'event' in m,
      async () => {
        // Connected: a new delivery the filter leaves out, then a forged one it takes.
        expect((await webhook('msg_c_3', body)).status).toBe(202);
        expect((await webhook('msg_c_forged_2', body, { secret: FORGER })).status).toBe(401);
      },
    );

    const events = messages.filter((m) => 'event' in m);
    expect(messages[0]).toEqual({ comment: 'connected' });
    expect(events).toHaveLength(1);
    const [event] = events as Array<{ event: string; data: string }>;
    expect(event?.event).toBe('request');
    expect(JSON.parse(event?.data ?? '{}')).toMatchObject({
      provider: 'standard',
      status: 401,
      outcome: 'rejected',
      reason: 'signature_mismatch',
    });
  });

  it('sends a comment on the stream as a heartbeat', async () => {
    const server = await another({ heartbeatMs: 20 });

    const messages = await readStream(
      `${server.url}/api/stream`,
      (m) => 'comment' in m && m.comment === 'heartbeat',
    );

    expect(messages.at(-1)).toEqual({ comment: 'heartbeat' });
  });

  it('counts the last minutes from the activity, by the clock it is given', async () => {
    const T0 = Date.UTC(2100, 0, 1, 12, 0);
    const activity = new MemoryActivity();
    const at = (ms: number, outcome: RequestRecord['outcome'], status: number) =>
      activity.add({ time: T0 + ms, provider: 'standard', outcome, status });
    at(1_000, 'published', 202);
    at(2_000, 'duplicate', 200);
    at(61_000, 'rejected', 401);
    at(62_000, 'taken_over', 202);
    const server = await another({ activity, clock: { now: () => T0 + 90_000 } });

    const answer = await call(server.url, '/api/counts?minutes=3', {
      headers: { accept: 'application/json' },
    });
    const wrong = await call(server.url, '/api/counts?minutes=0', {
      headers: { accept: 'application/json' },
    });

    expect(JSON.parse(answer.body)).toEqual({
      minutes: [
        { minute: T0 - 60_000, received: 0, duplicates: 0, rejected: 0, published: 0 },
        { minute: T0, received: 2, duplicates: 1, rejected: 0, published: 1 },
        { minute: T0 + 60_000, received: 2, duplicates: 0, rejected: 1, published: 1 },
      ],
    });
    expect(wrong.status).toBe(400);
  });

  it("shows a delivery: headers, payload, envelope, state, and each subscriber's filter match and claim", async () => {
    const invoice = await eventually(
      () => lookup('msg_c_1'),
      (l) => claims(l).example === 'done' && claims(l).invoices === 'done',
    );
    const customer = await eventually(
      () => lookup('msg_c_2'),
      (l) => claims(l).example === 'done',
    );
    const payload = await call(base, '/deliveries/standard/msg_c_1/payload');

    const [d] = invoice.deliveries;
    expect(d?.eventId).toBe('standard:msg_c_1');
    expect(d?.headers['webhook-id']).toBe('msg_c_1');
    expect(Object.keys(d?.headers ?? {}).some((h) => /signature/.test(h))).toBe(false);
    expect(d?.payload).toMatchObject({
      source: 'item',
      text: JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1', amount: 4200 } }),
    });
    expect(JSON.parse(d?.envelope ?? '{}')).toMatchObject({
      id: 'standard:msg_c_1',
      type: 'standard.invoice.paid',
      data: { type: 'invoice.paid', data: { id: 'in_1', amount: 4200 } },
    });
    expect(d?.state).toMatchObject({ status: 'PUBLISHED', attempts: 1 });
    expect(d?.subscribers.map((s) => [s.name, s.matches])).toEqual([
      ['example', true],
      ['invoices', true],
    ]);
    expect(d?.sendCommand).toBe(
      'npx hookonce send standard --file standard-msg_c_1.json --id msg_c_1',
    );
    expect(
      customer.deliveries[0]?.subscribers.map((s) => [s.name, s.matches, s.claim.state]),
    ).toEqual([
      ['example', true, 'done'],
      ['invoices', false, 'none'],
    ]);
    expect(customer.deliveries[0]?.subscribers[0]?.claim.attempts).toBe(1);
    expect(payload.status).toBe(200);
    expect(payload.headers['content-disposition']).toBe(
      'attachment; filename="standard-msg_c_1.json"',
    );
    expect(payload.body).toBe(d?.payload.text);
  });

  it('reads a payload too large for the item from S3, and says where it is when it cannot', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', blob: 'x'.repeat(100 * 1024) });
    expect((await webhook('msg_c_large', body)).status).toBe(202);
    const blind = await another({ writable: false, s3: undefined });

    const large = (await lookup('msg_c_large')).deliveries[0];
    const answer = await call(blind.url, '/api/deliveries/standard/msg_c_large', {
      headers: { accept: 'application/json' },
    });
    const unread = (JSON.parse(answer.body) as Lookup).deliveries[0];

    expect(large?.payload).toMatchObject({ source: 's3', bytes: body.length, text: body });
    expect(JSON.parse(large?.envelope ?? '{}').dataref).toMatch(/^s3:\/\//);
    expect(unread?.payload.text).toBeUndefined();
    expect(unread?.payload.unavailable).toMatch(
      /^kept in S3 at s3:\/\/\S+; this console reads no S3$/,
    );
  });

  it("finds deliveries by the provider's own id, and refreshes each one's claims by its key", async () => {
    // GitHub signs the body, not its delivery id: two bodies under one id are two deliveries.
    const github = (body: string) =>
      fetch(`${runtime.url}/webhooks/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-delivery': '5a1e6d2e-0000-4000-8000-00000000c0de',
          'x-github-event': 'push',
          ...signGithub({ secret: GITHUB_SECRET, body }),
        },
        body,
      });
    expect((await github('{"ref":"refs/heads/main","n":1}')).status).toBe(202);
    expect((await github('{"ref":"refs/heads/main","n":2}')).status).toBe(202);

    const found = await json<Lookup>('/api/deliveries/github/5a1e6d2e-0000-4000-8000-00000000c0de');
    const page = await call(base, '/deliveries/github/5a1e6d2e-0000-4000-8000-00000000c0de');
    const second = found.body.deliveries[1];
    const partial = await call(base, `/deliveries/github/${second?.deliveryId}?partial=claims&n=1`);

    expect(found.body.by).toBe('provider id');
    expect(found.body.deliveries).toHaveLength(2);
    expect(found.body.deliveries.map((d) => d.deliveryId)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^[0-9a-f]{64}$/)]),
    );
    expect(page.body).toContain('2 deliveries');
    expect(partial.status).toBe(200);
    expect(partial.body).toMatch(/^<div id="claims-1"/);
    expect(partial.body).toContain(`github:${second?.deliveryId}`);
    expect(second?.sendCommand).toBe(
      `npx hookonce send github --file github-5a1e6d2e-0000-4000-8000-00000000c0de.json --id 5a1e6d2e-0000-4000-8000-00000000c0de --type push`,
    );
  });

  it('renders what a sender controls as text: a payload with <script>, a header, an id, a filter', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', note: '<script>alert(1)</script>' });
    const res = await webhook('msg_<i>x</i>/1', body, {
      headers: { 'user-agent': '<img src=x onerror=alert(1)>' },
    });
    expect(res.status).toBe(202);
    await eventually(
      () => requests('?outcome=published'),
      (r) => r.some((x) => x.deliveryId === 'msg_<i>x</i>/1'),
    );

    const page = await call(base, `/deliveries/standard/${encodeURIComponent('msg_<i>x</i>/1')}`);
    const timeline = await call(base, '/?type=%22%3E%3Cscript%3Ealert(1)%3C/script%3E');
    const all = await call(base, '/');

    expect(page.status).toBe(200);
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.body).toContain('msg_&lt;i&gt;x&lt;/i&gt;/1');
    for (const html of [page.body, timeline.body, all.body]) {
      expect(html).not.toContain('<script>alert');
      expect(html).not.toContain('<img');
      expect(html).not.toContain('<i>x');
    }
    expect(timeline.body).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(all.body).toContain(
      `<a href="/deliveries/standard/${encodeURIComponent('msg_<i>x</i>/1')}">msg_&lt;i&gt;x&lt;/i&gt;/1</a>`,
    );
  });

  it('sends the security headers with every answer', async () => {
    for (const path of ['/', '/api/requests', '/assets/console.js', '/nowhere']) {
      const res = await call(base, path);

      expect(res.headers['content-security-policy'], path).toMatch(/^default-src 'self';/);
      expect(res.headers['x-content-type-options'], path).toBe('nosniff');
      expect(res.headers['referrer-policy'], path).toBe('no-referrer');
    }
  });

  it('refuses a request whose Host is not its own loopback address and port (DNS rebinding)', async () => {
    const port = new URL(base).port;
    const as = (host: string, path = '/') => call(base, path, { headers: { host } });

    const answers = await Promise.all([
      as(`localhost:${port}`),
      as('evil.example'),
      as(`evil.example:${port}`),
      as(`127.0.0.1:${Number(port) + 1}`),
      as(`evil.example:${port}`, '/api/requests'),
      as(`evil.example:${port}`, '/api/stream'),
    ]);
    const own = await as(`127.0.0.1:${port}`);

    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403, 403, 403]);
    expect(answers.every((a) => !a.body.includes('msg_c_1'))).toBe(true);
    expect(own.status).toBe(200);
  });

  it('refuses an action without its form token, from another origin or site, or of another type', async () => {
    const token = tokenOf((await call(base, '/deliveries/standard/msg_c_1')).body);
    const replay = '/deliveries/standard/msg_c_1/replay';
    const fields = { token, subscriber: 'example' };

    const answers: Answer[] = [
      await postForm(base, replay, { subscriber: 'example' }),
      await postForm(base, replay, { ...fields, token: `${token.slice(0, -1)}x` }),
      await postForm(base, replay, fields, { origin: 'http://evil.example' }),
      await postForm(base, replay, fields, { origin: 'null', 'sec-fetch-site': '' }),
      await postForm(base, replay, fields, { origin: 'null', 'sec-fetch-site': 'cross-site' }),
      await postForm(base, replay, fields, { 'sec-fetch-site': 'cross-site' }),
      await postForm(base, replay, fields, { 'sec-fetch-site': 'same-site' }),
      await postForm(base, replay, fields, {
        host: `evil.example:${new URL(base).port}`,
      }),
      await call(base, replay, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify(fields),
      }),
    ];

    expect(answers.map((a) => a.status)).toEqual([403, 403, 403, 403, 403, 403, 403, 403, 415]);
    expect(answers.map((a) => a.headers.location)).toEqual(Array(9).fill(undefined));
  });

  it('replays a delivery to one subscriber: its guard skips it as a duplicate and the claim stays DONE', async () => {
    const page = await call(base, '/deliveries/standard/msg_c_1');
    const before = (await runtime.consumerStats.counts(0, Number.MAX_SAFE_INTEGER)).example
      ?.duplicates;

    // As Chromium posts a form of a page served with Referrer-Policy: no-referrer.
    const answer = await postForm(
      base,
      '/deliveries/standard/msg_c_1/replay',
      { token: tokenOf(page.body), subscriber: 'example' },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
    );
    const back = await call(base, answer.headers.location as string);
    const skipped = await eventually(
      async () =>
        output.filter((l) => /duplicate skipped/.test(l) && l.includes('eventId=standard:msg_c_1')),
      (lines) => lines.length > 0,
    );

    expect(answer.status).toBe(303);
    expect(answer.headers.location).toMatch(/^\/deliveries\/standard\/msg_c_1\?notice=/);
    expect(back.body).toContain(
      'sent standard:msg_c_1 to example&#39;s queue: its consumer&#39;s guard skips it if its claim is DONE',
    );
    expect(skipped[0]).toMatch(/^\S+ example\s+duplicate skipped /);
    expect(
      (await runtime.consumerStats.counts(0, Number.MAX_SAFE_INTEGER)).example?.duplicates,
    ).toBe((before ?? 0) + 1);
    expect(claims(await lookup('msg_c_1')).example).toBe('done');
    expect(await applied('standard:msg_c_1')).toBe(1);
  });

  it('refuses to replay an event to a subscriber whose filter does not take it', async () => {
    const page = await call(base, '/deliveries/standard/msg_c_2');

    const answer = await postForm(base, '/deliveries/standard/msg_c_2/replay', {
      token: tokenOf(page.body),
      subscriber: 'invoices',
    });
    const back = await call(base, answer.headers.location as string);

    expect(answer.status).toBe(303);
    expect(back.body).toContain(
      'invoices&#39;s filter policy does not take standard.customer.created: nothing sent',
    );
  });

  it("lists each subscriber's filter, queues and consumer counts", async () => {
    const { body } = await json<{
      subscribers: Array<{
        name: string;
        policy: unknown;
        queues: { waiting: number; inFlight: number; dead: number };
        lastHour: { succeeded: number; failed: number };
      }>;
    }>('/api/subscribers');

    expect(body.subscribers.map((s) => [s.name, s.policy])).toEqual([
      ['example', null],
      ['invoices', { type: [{ prefix: 'standard.invoice.' }] }],
    ]);
    expect(body.subscribers[0]?.queues.dead).toBe(0);
    expect(body.subscribers[0]?.lastHour.succeeded).toBeGreaterThan(0);
    expect(body.subscribers[1]?.lastHour.failed).toBe(0);
  });

  it('names where each secret comes from, and sends a signed test webhook from the providers page', async () => {
    const { body } = await json<{ providers: unknown[]; sendTest: boolean }>('/api/providers');
    const page = await call(base, '/providers');

    const answer = await postForm(base, '/providers/standard/test', { token: tokenOf(page.body) });
    const back = await call(base, answer.headers.location as string);

    expect(body).toEqual({
      providers: [
        {
          name: 'standard',
          scheme: 'standard-webhooks',
          endpointUrl: `${runtime.url}/webhooks/standard`,
          secretSource: 'HOOKONCE_SECRET_STANDARD',
        },
        {
          name: 'github',
          scheme: 'github',
          endpointUrl: `${runtime.url}/webhooks/github`,
          secretSource: 'HOOKONCE_SECRET_GITHUB',
        },
      ],
      sendTest: true,
    });
    expect(page.body).not.toContain(SECRET.slice(6));
    expect(answer.status).toBe(303);
    expect(back.body).toMatch(/standard answered 202 Accepted to test delivery msg_\w+/);
    expect(back.body).toContain('&quot;duplicate&quot;:false');
  });

  it('offers no action and refuses every one when it is read-only', async () => {
    const server = await another({ writable: false });
    const token = tokenOf((await call(base, '/deliveries/standard/msg_c_1')).body);

    const pages = await Promise.all(
      ['/deliveries/standard/msg_c_1', '/subscribers', '/providers'].map((p) =>
        call(server.url, p),
      ),
    );
    const actions = await Promise.all(
      [
        '/deliveries/standard/msg_c_1/replay',
        '/subscribers/example/redrive',
        '/providers/standard/test',
      ].map((p) => postForm(server.url, p, { token, subscriber: 'example' })),
    );

    for (const page of pages) {
      expect(page.status).toBe(200);
      expect(page.body).toContain('read-only');
      expect(page.body).not.toContain('name="token"');
      expect(page.body).not.toMatch(/method="post"/);
    }
    expect(actions.map((a) => [a.status, a.body.includes('read-only')])).toEqual([
      [403, true],
      [403, true],
      [403, true],
    ]);
  });

  it('answers 404 for what does not exist and 405 for other methods', async () => {
    const answers = await Promise.all([
      call(base, '/deliveries/standard/msg_never_sent'),
      call(base, '/deliveries/nope/msg_c_1'),
      call(base, '/nowhere'),
      call(base, '/api/nowhere', { headers: { accept: 'application/json' } }),
      call(base, '/', { method: 'PUT' }),
    ]);

    expect(answers.map((a) => a.status)).toEqual([404, 404, 404, 404, 405]);
    expect(answers[0]?.body).toContain('No delivery found');
    expect(JSON.parse(answers[3]?.body ?? '{}')).toEqual({ error: 'no such page' });
  });
});
