import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerPk } from '../../functions/consumers/example/ledger.ts';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { DataDirInUseError } from '../../infra/local/data-lock.ts';
import { freePort, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import { type LocalRuntime, PROJECT_ROOT, startLocal } from '../../infra/local/runtime.ts';
import { eventually, until } from '../support/eventually.ts';

const SECRET = `whsec_${Buffer.from('e2e-secret-of-exactly-32-bytes!!').toString('base64')}`;

/** Meta's App Secret and the verify token chosen for its GET subscription check. */
const META_APP_SECRET = 'e2e-meta-app-secret-0123456789abcdef';
const META_VERIFY_TOKEN = 'e2e-verify-token';

const declaration: HookonceDeclaration = {
  name: 'e2e',
  providers: { standard: { scheme: 'standard-webhooks' }, meta: { preset: 'meta' } },
  subscribers: {
    example: { consumer: { entry: 'functions/consumers/example/handler.ts' } },
    tap: { consumer: { entry: 'test/e2e/fixtures/tap.ts' } },
  },
};

/**
 * A delivery signed as a Standard Webhooks sender signs it. The runtime's ingest
 * function runs in its own sandbox on the wall clock, so `at` is one read of that
 * clock, taken when the delivery is signed.
 */
function signed(id: string, body: string, secret = SECRET, at = new Date()): RequestInit {
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    },
    body,
  };
}

describe('Local runtime: npm start on embedded emulators', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let ddb: DynamoDBClient;
  let sqs: SQSClient;

  const post = (path: string, init: RequestInit) => fetch(`${runtime.url}${path}`, init);
  const applied = async (eventId: string): Promise<number> => {
    const out = await ddb.send(
      new GetItemCommand({
        TableName: runtime.resources.consumerTable,
        Key: { pk: { S: ledgerPk(eventId) } },
      }),
    );
    return Number(out.Item?.applied?.N ?? 0);
  };
  const taps = async (eventId: string): Promise<number> => {
    const out = await ddb.send(
      new ScanCommand({
        TableName: runtime.resources.consumerTable,
        FilterExpression: 'begins_with(pk, :tap) AND eventId = :id',
        ExpressionAttributeValues: { ':tap': { S: 'TAP#' }, ':id': { S: eventId } },
        ConsistentRead: true,
      }),
    );
    return out.Count ?? 0;
  };
  /** Messages in the subscribers' queues, waiting or in flight. */
  const pending = async (): Promise<number> => {
    let total = 0;
    for (const { queueUrl } of Object.values(runtime.resources.subscribers)) {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      total +=
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    return total;
  };
  /**
   * SNS fans a publish out before the ingest function answers: once the queues
   * are empty, every copy published so far has been consumed, and a second
   * publish would show up as a second tap. No fixed sleep.
   */
  const consumedAll = () => until(async () => (await pending()) === 0);
  const start = () =>
    startLocal({
      declaration,
      port: 0,
      dataDir,
      env: {
        HOOKONCE_SECRET_STANDARD: SECRET,
        HOOKONCE_SECRET_META: `${META_APP_SECRET},verify:${META_VERIFY_TOKEN}`,
      },
      output: () => undefined,
      pollWaitSeconds: 1,
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookonce-e2e-'));
    runtime = await start();
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

  it('accepts a signed delivery with 202, and the consumer applies its effect once', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1', amount: 4200 } });

    const res = await post('/webhooks/standard', signed('msg_e2e_1', body));

    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: 'standard:msg_e2e_1', duplicate: false });
    expect(
      await eventually(
        () => applied('standard:msg_e2e_1'),
        (n) => n > 0,
      ),
    ).toBe(1);
    expect(
      await eventually(
        () => taps('standard:msg_e2e_1'),
        (n) => n > 0,
      ),
    ).toBe(1);
  });

  it('answers the same delivery again with 200 duplicate and publishes nothing new', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_2' } });
    // The server checks timestamps against the wall clock: read it once, here.
    const sentAt = Date.now();
    const first = await post(
      '/webhooks/standard',
      signed('msg_e2e_2', body, SECRET, new Date(sentAt)),
    );
    expect(first.status).toBe(202);

    // A provider's retry signs again with a new timestamp; the body is the same.
    const again = await post(
      '/webhooks/standard',
      signed('msg_e2e_2', body, SECRET, new Date(sentAt + 1000)),
    );

    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id: 'standard:msg_e2e_2', duplicate: true });
    await eventually(
      () => applied('standard:msg_e2e_2'),
      (n) => n > 0,
    );
    await consumedAll();
    expect(await taps('standard:msg_e2e_2')).toBe(1);
    expect(await applied('standard:msg_e2e_2')).toBe(1);
  });

  it('rejects a forged signature with 401 and a reason code, and stores nothing', async () => {
    const body = JSON.stringify({ type: 'invoice.paid' });
    const other = `whsec_${Buffer.from('another-secret-entirely-32bytes!').toString('base64')}`;

    const res = await post('/webhooks/standard', signed('msg_forged', body, other));

    expect(res.status).toBe(401);
    const answer = (await res.json()) as { error: string; message: string };
    expect(answer.error).toBe('signature_mismatch');
    const stored = await ddb.send(
      new GetItemCommand({
        TableName: runtime.resources.deliveriesTable,
        Key: { pk: { S: 'DELIVERY#standard#msg_forged' } },
        ConsistentRead: true,
      }),
    );
    expect(stored.Item).toBeUndefined();
  });

  it('answers 404 for an unknown provider and for other routes, as API Gateway does', async () => {
    const unknown = await post('/webhooks/nope', signed('msg_x', '{}'));
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe('unknown_provider');

    const elsewhere = await fetch(`${runtime.url}/somewhere`);
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toEqual({ message: 'Not Found' });
  });

  it("answers Meta's GET subscription check with the challenge, and a GET elsewhere with 405", async () => {
    const query = (token: string) =>
      new URLSearchParams({
        'hub.mode': 'subscribe',
        'hub.verify_token': token,
        'hub.challenge': '1158201444',
      }).toString();

    const ok = await fetch(`${runtime.url}/webhooks/meta?${query(META_VERIFY_TOKEN)}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain');
    expect(await ok.text()).toBe('1158201444');

    const wrong = await fetch(`${runtime.url}/webhooks/meta?${query('guess')}`);
    expect(wrong.status).toBe(403);
    expect(((await wrong.json()) as { error: string }).error).toBe('verify_token_mismatch');

    const other = await fetch(`${runtime.url}/webhooks/standard?${query(META_VERIFY_TOKEN)}`);
    expect(other.status).toBe(405);
    expect(other.headers.get('allow')).toBe('POST');
    await other.arrayBuffer();
  });

  it('turns 200 concurrent copies of one delivery into one publish and one effect', async () => {
    const body = JSON.stringify({ type: 'customer.created', data: { id: 'cus_1' } });
    const init = signed('msg_e2e_race', body);

    const answers = await Promise.all(
      Array.from({ length: 200 }, () => post('/webhooks/standard', init)),
    );
    const statuses = answers.map((r) => r.status);
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    // On a loaded machine a copy may time out on the emulator and be answered 503:
    // the provider sends it again, as it would, until it gets a final answer.
    const finals = [...statuses];
    for (const [i, status] of statuses.entries()) {
      let answer = status;
      for (let attempt = 0; answer === 503 && attempt < 20; attempt++) {
        const again = await post('/webhooks/standard', init);
        await again.arrayBuffer();
        answer = again.status;
      }
      finals[i] = answer;
    }

    // One publish; a copy answered 503 after it published but before it was marked may
    // be published once more by its retry (publishing is at least once). One effect, always.
    const unavailable = statuses.filter((s) => s === 503).length;
    const accepted = finals.filter((s) => s === 202).length;
    expect(finals.filter((s) => s !== 202 && s !== 200 && s !== 409)).toEqual([]);
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(accepted).toBeLessThanOrEqual(1 + unavailable);
    expect(
      await eventually(
        () => applied('standard:msg_e2e_race'),
        (n) => n > 0,
      ),
    ).toBe(1);
    await consumedAll();
    const published = await taps('standard:msg_e2e_race');
    expect(published).toBeGreaterThanOrEqual(1);
    expect(published).toBeLessThanOrEqual(1 + unavailable);
    expect(await applied('standard:msg_e2e_race')).toBe(1);
  });

  it('enforces the AWS size limits as API Gateway and Lambda would', async () => {
    // Over API Gateway's 10 MB: refused before the function runs.
    const huge = await post('/webhooks/standard', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 1),
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ message: 'Request Too Large' });

    // Under 10 MB, but base64-encoded in the event it is over Lambda's 6 MiB.
    const binary = await post('/webhooks/standard', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(5 * 1024 * 1024, 1),
    });
    expect(binary.status).toBe(413);
    expect(await binary.json()).toEqual({ message: 'Request Too Large' });

    // Through to the function, but over the provider's maximum: hookonce's own 413.
    const body = JSON.stringify({ type: 'big', blob: 'x'.repeat(4 * 1024 * 1024) });
    const over = await post('/webhooks/standard', signed('msg_too_big', body));
    expect(over.status).toBe(413);
    expect(((await over.json()) as { error: string }).error).toBe('payload_too_large');
  });

  it('runs the sweeper in its own sandbox, which finds nothing left to publish', async () => {
    const report = await runtime.sweep();

    expect(report).toEqual({ found: 0, recovered: 0, skipped: 0, failed: 0, parked: 0 });
  });

  it('writes local.json with the endpoints, names and queue URLs', () => {
    const file = JSON.parse(readFileSync(join(dataDir, 'local.json'), 'utf8')) as Record<
      string,
      unknown
    >;

    expect(file).toMatchObject({
      api: runtime.url,
      dynamodb: runtime.endpoints.dynamodb,
      sqs: runtime.endpoints.sqs,
      sns: runtime.endpoints.sns,
      region: LOCAL_REGION,
      deliveriesTable: 'e2e-deliveries',
      topicArn: runtime.resources.topicArn,
    });
    expect(Object.keys(file.queues as object)).toEqual(['example', 'tap']);
    // Where the secret came from, for `hookonce send`; never the secret.
    expect(file.secrets).toEqual({
      standard: { source: 'env', variable: 'HOOKONCE_SECRET_STANDARD' },
      meta: { source: 'env', variable: 'HOOKONCE_SECRET_META' },
    });
    expect(JSON.stringify(file)).not.toContain(SECRET);
    expect(JSON.stringify(file)).not.toContain(META_APP_SECRET);
    expect(JSON.stringify(file)).not.toContain(META_VERIFY_TOKEN);
  });

  it('refuses a second runtime on its data folder, before opening anything, and runs on', async () => {
    // Act
    const second = start();

    // Assess
    await expect(second).rejects.toThrow(DataDirInUseError);
    await expect(second).rejects.toMatchObject({ pid: process.pid });
    const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_4' } });
    expect((await post('/webhooks/standard', signed('msg_e2e_second', body))).status).toBe(202);
  });

  it('keeps state across a restart: a delivery seen before is still a duplicate', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_3' } });
    expect((await post('/webhooks/standard', signed('msg_e2e_restart', body))).status).toBe(202);
    await eventually(
      () => applied('standard:msg_e2e_restart'),
      (n) => n > 0,
    );

    await runtime.stop();
    ddb.destroy();
    sqs.destroy();
    runtime = await start();
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

    const again = await post('/webhooks/standard', signed('msg_e2e_restart', body));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ id: 'standard:msg_e2e_restart', duplicate: true });
    expect(await applied('standard:msg_e2e_restart')).toBe(1);
  });
});

/** `npm start` as a child process, its stdout and stderr in one string. */
function npmStart(env: Record<string, string>) {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'infra/local/main.ts')], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, HOOKONCE_SECRET_STANDARD: '', HOOKONCE_CONSOLE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return {
    child,
    output: () => out,
    exited,
    /** Until it is ready or has exited; answers what it printed. */
    settled: () =>
      eventually(
        async () => out,
        (o) => o.includes('ready in') || child.exitCode !== null,
        60,
      ),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

const readLocal = (dataDir: string) =>
  JSON.parse(readFileSync(join(dataDir, 'local.json'), 'utf8')) as {
    api: string;
    console: string;
    dynamodb: string;
    sqs: string;
    secrets: Record<string, unknown>;
  };

describe('npm start (the real command)', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'hookonce-start-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('starts, prints the endpoint and the generated secret, writes local.json and stops cleanly on SIGTERM', async () => {
    const dir = dataDir();
    const run = npmStart({
      PORT: '0',
      HOOKONCE_DYNAMODB_PORT: '0',
      HOOKONCE_AWS_PORT: '0',
      HOOKONCE_DATA_DIR: dir,
    });
    try {
      const out = await run.settled();
      expect(out).toContain('ready in');
      const local = readLocal(dir);
      const secrets = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')) as {
        standard: string;
      };
      expect(out).toContain(`POST ${local.api}/webhooks/standard`);
      expect(out).toContain(`  console    ${local.console}\n`);
      expect(local.console).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(out).toContain(secrets.standard);
      // Where the secret came from, and never the secret itself.
      expect(local.secrets.standard).toEqual({ source: 'generated', file: 'secrets.json' });
      expect(readFileSync(join(dir, 'local.json'), 'utf8')).not.toContain(secrets.standard);

      const body = JSON.stringify({ type: 'ping' });
      const res = await fetch(
        `${local.api}/webhooks/standard`,
        signed('msg_cli_1', body, secrets.standard),
      );
      expect(res.status).toBe(202);
    } finally {
      expect(await run.stop()).toBe(0);
    }
  });

  it('keeps its ports across restarts, refuses a second npm start on its data folder, and takes over the folder of one killed', async () => {
    // Prepare: fixed ports, as the defaults are, but free ones, so nothing else here collides.
    const dir = dataDir();
    const picked = new Set<number>();
    while (picked.size < 4) picked.add(await freePort()); // four different ones
    const [api = 0, dynamodb = 0, aws = 0, console = 0] = [...picked];
    const ports = { api, dynamodb, aws, console };
    const env = {
      PORT: String(ports.api),
      HOOKONCE_CONSOLE_PORT: String(ports.console),
      HOOKONCE_DYNAMODB_PORT: String(ports.dynamodb),
      HOOKONCE_AWS_PORT: String(ports.aws),
      HOOKONCE_DATA_DIR: dir,
    };
    const first = npmStart(env);
    let third: ReturnType<typeof npmStart> | undefined;
    try {
      expect(await first.settled()).toContain('ready in');
      const before = readLocal(dir);

      // Act: a second one on the same folder (on free ports: the folder alone refuses it).
      const free = {
        PORT: '0',
        HOOKONCE_CONSOLE_PORT: '0',
        HOOKONCE_DYNAMODB_PORT: '0',
        HOOKONCE_AWS_PORT: '0',
      };
      const second = npmStart({ ...env, ...free });
      const code = await second.exited;
      const stillThere = await fetch(`${before.api}/somewhere`);
      await stillThere.arrayBuffer();

      // Assess: the second stopped before it opened anything, and said why; the first runs on.
      expect(code).toBe(1);
      expect(second.output()).toContain(
        `hookonce could not start: another hookonce (pid ${first.child.pid}) is using ${dir}; stop it, or set HOOKONCE_DATA_DIR to another folder`,
      );
      expect(second.output()).not.toContain('    at ');
      expect(stillThere.status).toBe(404);

      // Act: the first is killed, leaving its lock behind, and npm start runs again.
      await first.stop('SIGKILL');
      third = npmStart(env);
      const out = await third.settled();

      // Assess: it took the folder over, on the same endpoints as before.
      expect(out).toContain('ready in');
      expect(before).toMatchObject({
        api: `http://127.0.0.1:${ports.api}`,
        dynamodb: `http://127.0.0.1:${ports.dynamodb}`,
        sqs: `http://127.0.0.1:${ports.aws}`,
        console: `http://127.0.0.1:${ports.console}`,
      });
      const { secrets: _kept, ...now } = readLocal(dir);
      const { secrets: _generated, ...then } = before;
      expect(now).toEqual(then);
      expect(out).toContain(`dynamodb   http://127.0.0.1:${ports.dynamodb}  (dynalite)`);
      expect(out).toContain(`sns/sqs/s3 http://127.0.0.1:${ports.aws}  (fauxqs)`);
    } finally {
      await first.stop('SIGKILL');
      if (third) expect(await third.stop()).toBe(0);
    }
  });

  it.each([
    ['HOOKONCE_DYNAMODB_PORT', 'DynamoDB'],
    ['HOOKONCE_AWS_PORT', 'SNS, SQS and S3'],
    ['PORT', 'the webhook endpoints'],
  ])('says to set %s when its port is taken', async (variable, role) => {
    // Prepare: another program on the port.
    const other = createServer();
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const { port } = other.address() as AddressInfo;
    try {
      // Act
      const run = npmStart({
        PORT: '0',
        HOOKONCE_DYNAMODB_PORT: '0',
        HOOKONCE_AWS_PORT: '0',
        [variable]: String(port),
        HOOKONCE_DATA_DIR: dataDir(),
      });
      const code = await run.exited;

      // Assess
      expect(code).toBe(1);
      expect(run.output()).toContain(
        `hookonce could not start: port ${port} (${role}) is taken by another program, or another hookonce; set ${variable} to a free port (0 picks one at each start)`,
      );
      expect(run.output()).not.toContain('    at ');
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});
