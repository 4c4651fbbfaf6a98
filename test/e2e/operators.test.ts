import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { runCli } from '../../infra/cli/cli.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import { type LocalRuntime, startLocal } from '../../infra/local/runtime.ts';
import { eventually } from '../support/eventually.ts';

const STANDARD_SECRET = `whsec_${Buffer.from('e2e-operators-secret-32-bytes!!!').toString('base64')}`;
const STRIPE_SECRET = 'whsec_e2e0operators0stripe0secret';

/** A filtered subscriber, a tap that records every message, and one that fails until repaired. */
const declaration: HookonceDeclaration = {
  name: 'e2eops',
  providers: { standard: { scheme: 'standard-webhooks' }, stripe: { scheme: 'stripe' } },
  subscribers: {
    invoices: {
      consumer: { entry: 'test/e2e/fixtures/counter.ts' },
      filter: { providers: ['stripe'], types: ['stripe.invoice.'] },
    },
    tap: { consumer: { entry: 'test/e2e/fixtures/tap.ts' } },
    flaky: {
      consumer: { entry: 'test/e2e/fixtures/counter.ts', timeoutSeconds: 1 },
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 1,
    },
  },
};

describe('Operators on the local runtime: hookonce replay and hookonce dlq', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let ddb: DynamoDBClient;
  let sqs: SQSClient;
  let startedAt: string;
  const ids: Record<string, string> = {};
  /** What `npm start` would print. */
  const printed: string[] = [];

  const hookonce = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, {
      env: {
        HOOKONCE_DATA_DIR: dataDir,
        HOOKONCE_SECRET_STANDARD: STANDARD_SECRET,
        HOOKONCE_SECRET_STRIPE: STRIPE_SECRET,
      },
      cwd: dataDir,
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      fetch,
      // The CLI signs for a runtime that checks timestamps against the wall clock.
      now: () => Date.now(),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const count = async (subscriber: string, eventId: string): Promise<number> => {
    const out = await ddb.send(
      new GetItemCommand({
        TableName: runtime.resources.consumerTable,
        Key: { pk: { S: `COUNT#${subscriber}#${eventId}` } },
        ConsistentRead: true,
      }),
    );
    return Number(out.Item?.applied?.N ?? 0);
  };
  const tapped = async (eventId: string): Promise<string[]> => {
    const out = await ddb.send(
      new ScanCommand({
        TableName: runtime.resources.consumerTable,
        FilterExpression: 'begins_with(pk, :tap) AND eventId = :id',
        ExpressionAttributeValues: { ':tap': { S: 'TAP#' }, ':id': { S: eventId } },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map((i) => i.body?.S ?? '');
  };
  /** Messages in a queue, waiting or in flight. */
  const pending = async (queueUrl: string): Promise<number> => {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  };
  /** When the runtime received its first delivery, by its own clock. */
  const firstReceivedAt = async (): Promise<number> => {
    const out = await ddb.send(
      new ScanCommand({
        TableName: runtime.resources.deliveriesTable,
        FilterExpression: 'begins_with(pk, :delivery)',
        ExpressionAttributeValues: { ':delivery': { S: 'DELIVERY#' } },
        ConsistentRead: true,
      }),
    );
    return Math.min(...(out.Items ?? []).map((i) => Number(i.receivedAt?.N)));
  };
  const queues = (name: string) => {
    const q = runtime.resources.subscribers[name];
    if (!q) throw new Error(`no subscriber ${name}`);
    return q;
  };
  const send = async (provider: string, key: string, ...options: string[]) => {
    const { code, out } = await hookonce('send', provider, ...options);
    expect(code).toBe(0);
    const match = /\{"id":"([^"]+)"/.exec(out);
    ids[key] = match?.[1] ?? '';
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookonce-e2e-ops-'));
    runtime = await startLocal({
      declaration,
      port: 0,
      dataDir,
      env: { HOOKONCE_SECRET_STANDARD: STANDARD_SECRET, HOOKONCE_SECRET_STRIPE: STRIPE_SECRET },
      output: (line) => printed.push(line),
      pollWaitSeconds: 1,
    });
    const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    ddb = new DynamoDBClient({ ...config, endpoint: runtime.endpoints.dynamodb });
    sqs = new SQSClient({ ...config, endpoint: runtime.endpoints.sqs });
    // flaky's consumer fails every event until the test repairs it.
    await ddb.send(
      new PutItemCommand({
        TableName: runtime.resources.consumerTable,
        Item: { pk: { S: 'SWITCH#flaky' }, broken: { BOOL: true } },
      }),
    );
    await send('stripe', 'paid', '--type', 'invoice.paid');
    await send('stripe', 'finalized', '--type', 'invoice.finalized');
    await send('stripe', 'charge', '--type', 'charge.succeeded');
    await send('standard', 'standard');
    // The replay window opens with the first delivery, as the runtime stamped it:
    // no second read of the wall clock to race the runtime's.
    startedAt = new Date(await firstReceivedAt()).toISOString();
  });

  afterAll(async () => {
    ddb?.destroy();
    sqs?.destroy();
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers to the filtered subscriber only the events its filter takes', async () => {
    const all = Object.values(ids);
    await eventually(
      async () => Promise.all(all.map((id) => tapped(id))),
      (bodies) => bodies.every((b) => b.length === 1),
    );
    const invoices = await eventually(
      () => Promise.all(all.map((id) => count('invoices', id))),
      (n) => n[0] === 1 && n[1] === 1,
    );

    expect(Object.keys(ids)).toEqual(['paid', 'finalized', 'charge', 'standard']);
    expect(invoices).toEqual([1, 1, 0, 0]);
  });

  it('lists the DLQ a failing consumer filled, and peeks at its messages with their last error', async () => {
    await eventually(
      () => pending(queues('flaky').dlqUrl),
      (n) => n === 4,
    );

    const list = await hookonce('dlq', 'list');
    const peek = await hookonce('dlq', 'peek', '--subscriber', 'flaky');

    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^ {2}flaky\s+4\s+0$/m);
    expect(list.out).toMatch(/^ {2}invoices\s+0\s+0$/m);
    expect(peek.code).toBe(0);
    expect(peek.out).toContain(
      "flaky's DLQ on the local runtime (local.json): 4 messages (left in place)",
    );
    for (const id of Object.values(ids)) expect(peek.out).toContain(`  ${id}  `);
    expect(peek.out.match(/last error \(.+\): Error: flaky is broken/g)).toHaveLength(4);
    expect(await pending(queues('flaky').dlqUrl)).toBe(4);
  });

  it('prints a line for each message that goes to a DLQ, naming its event', () => {
    // Act
    const lines = printed.filter((l) => l.includes('goes to the DLQ'));

    // Assess: the four events flaky failed, each once, and nothing of the other subscribers.
    const events = lines.map(
      (l) =>
        /^\d\d:\d\d:\d\d flaky {6}message [\w-]+ \(event (\S+)\) goes to the DLQ after 2 receives, once its visibility timeout ends$/.exec(
          l,
        )?.[1] ?? l,
    );
    expect(events.sort()).toEqual(Object.values(ids).sort());
  });

  it('redrives the DLQ once the consumer is repaired, and each event is applied once', async () => {
    await ddb.send(
      new DeleteItemCommand({
        TableName: runtime.resources.consumerTable,
        Key: { pk: { S: 'SWITCH#flaky' } },
      }),
    );

    const redrive = await hookonce('dlq', 'redrive', '--subscriber', 'flaky');
    const applied = await eventually(
      () => Promise.all(Object.values(ids).map((id) => count('flaky', id))),
      (n) => n.every((c) => c === 1),
    );
    await eventually(
      () => pending(queues('flaky').queueUrl),
      (n) => n === 0,
    );

    expect(redrive.code).toBe(0);
    // fauxqs has no StartMessageMoveTask: the fallback is one plain clause, and no AWS error.
    expect(redrive.out).toBe(
      [
        "moved 4 messages from flaky's DLQ back to its queue, by receive, send and delete (the local emulator has no SQS message move task)",
        "flaky's DLQ now holds 0 messages",
      ].join('\n'),
    );
    expect(redrive.err).toBe('');
    expect(applied).toEqual([1, 1, 1, 1]);
  });

  it('replays a window to one subscriber: twice, and its consumer applies nothing new', async () => {
    const dry = await hookonce(
      'replay',
      '--subscriber',
      'invoices',
      '--from',
      startedAt,
      '--dry-run',
    );
    const first = await hookonce('replay', '--subscriber', 'invoices', '--from', startedAt);
    await eventually(
      () => pending(queues('invoices').queueUrl),
      (n) => n === 0,
    );
    const second = await hookonce('replay', '-s', 'invoices', '--from', startedAt);
    await eventually(
      () => pending(queues('invoices').queueUrl),
      (n) => n === 0,
    );

    expect(dry.out).toContain(
      "scanned 4 deliveries (4 segments): 4 in the window, 2 that invoices's filter takes",
    );
    expect(dry.out).toContain("dry run: would send 2 events to invoices's queue; nothing was sent");
    for (const run of [first, second]) {
      expect(run.code).toBe(0);
      expect(run.out).toContain(
        `  invoices's filter policy: {"provider":["stripe"],"type":[{"prefix":"stripe.invoice."}]}`,
      );
      expect(run.out).toContain("sent 2 events to invoices's queue");
    }
    expect(await Promise.all(Object.values(ids).map((id) => count('invoices', id)))).toEqual([
      1, 1, 0, 0,
    ]);
    // No other subscriber saw the replays.
    expect(await Promise.all(Object.values(ids).map((id) => tapped(id)))).toSatisfy(
      (bodies: string[][]) => bodies.every((b) => b.length === 1),
    );
    expect(await Promise.all(Object.values(ids).map((id) => count('flaky', id)))).toEqual([
      1, 1, 1, 1,
    ]);
  });

  it('replays the very envelopes the ingest path published', async () => {
    const run = await hookonce(
      'replay',
      '--subscriber',
      'tap',
      '--from',
      startedAt,
      '--type',
      'stripe.',
    );
    const bodies = await eventually(
      () => Promise.all(Object.values(ids).map((id) => tapped(id))),
      (b) => b.slice(0, 3).every((copies) => copies.length === 2),
    );

    expect(run.out).toContain("sent 3 events to tap's queue");
    for (const copies of bodies.slice(0, 3)) expect(copies[0]).toBe(copies[1]);
    expect(bodies[3]).toHaveLength(1);
  });
});
