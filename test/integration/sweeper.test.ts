import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeliveryKey, DeliveryStore, pendingShard } from '../../functions/deliveries/store.ts';
import type { EventPublisher } from '../../functions/fanout/publisher.ts';
import { SnsPublisher } from '../../functions/fanout/publisher.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { METRIC, type MetricName, type MetricsPort } from '../../functions/shared/metrics.ts';
import {
  DEFAULT_RETRY_DELAYS,
  retryDelayMs,
  type SweepReport,
  sweep,
} from '../../functions/sweeper/sweeper.ts';
import { runCli } from '../../infra/cli/cli.ts';
import { LOCAL_REGION } from '../../infra/local/emulators.ts';
import { drainQueue, testDeclaration, useDynamo, useMessaging } from '../support/backends.ts';
import { Pipeline } from '../support/pipeline.ts';

const T0 = Date.UTC(2100, 0, 1);
const GRACE_MS = 30_000;
const RETENTION_SECONDS = 7 * 24 * 3600;
const HOUR = 3_600_000;
const silent = createLogger({}, 'error', () => undefined);

/** Counts what the sweeper counts, by metric name. */
function countingMetrics(): MetricsPort & { readonly sums: Map<MetricName, number> } {
  const sums = new Map<MetricName, number>();
  return {
    sums,
    count: (name, _dims, value = 1) => sums.set(name, (sums.get(name) ?? 0) + value),
  };
}

const body = (id: string) => JSON.stringify({ type: 'invoice.paid', data: { invoice: id } });

describe('Function: sweep, against deliveries whose publish keeps failing (on dynalite and fauxqs)', () => {
  const declaration = testDeclaration('it-sweeper');
  const db = useDynamo('dynalite', declaration);
  const messaging = useMessaging(declaration);
  /** The store with `shards` pending shards. Every test leaves nothing pending, so each one's sweeps see only its own deliveries. */
  const storeOf = (shards: number) =>
    new DeliveryStore({
      client: db.client,
      tableName: db.deliveriesTable,
      pendingShards: shards,
      retentionSeconds: RETENTION_SECONDS,
    });

  /** Stores a delivery as an ingest invocation that died after its claim left it: its lease ends at `leaseUntil`. */
  async function storedUnpublished(store: DeliveryStore, deliveryId: string, leaseUntil: number) {
    const text = body(deliveryId);
    await store.claim(
      {
        provider: 'standard',
        deliveryId,
        eventType: 'invoice.paid',
        payload: Buffer.from(text),
        payloadSha256: createHash('sha256').update(text).digest('hex'),
        contentType: 'application/json',
        headers: {},
      },
      { owner: 'ingest-that-died', until: leaseUntil },
      T0,
    );
  }

  /**
   * The real publisher, except for the deliveries named: those go to a topic
   * that does not exist, so SNS itself refuses every publish of them.
   */
  function publisherFailingFor(...failing: string[]) {
    const real = new SnsPublisher({ client: messaging.sns, topicArn: messaging.topicArn });
    const nowhere = new SnsPublisher({
      client: messaging.sns,
      topicArn: `${messaging.topicArn}-deleted`,
    });
    const tries = new Map<string, number>();
    const publisher: EventPublisher = {
      publish(event) {
        const deliveryId = event.id.slice(event.provider.length + 1);
        tries.set(deliveryId, (tries.get(deliveryId) ?? 0) + 1);
        return (failing.includes(deliveryId) ? nowhere : real).publish(event);
      },
    };
    return { publisher, tries };
  }

  let run = 0;
  const sweepAt = (
    now: number,
    deps: { store: DeliveryStore; publisher: EventPublisher; metrics?: MetricsPort },
    maxPerRun = 100,
  ): Promise<SweepReport> => {
    run += 1;
    return sweep(
      {
        deliveries: deps.store,
        publisher: deps.publisher,
        clock: { now: () => now },
        log: silent,
        metrics: deps.metrics,
      },
      { owner: `sweeper:run-${run}`, graceMs: GRACE_MS, maxPerRun, leaseMs: 30_000 },
    );
  };

  /** The event ids that reached the subscriber's queue since the last look. */
  const publishedIds = async (): Promise<string[]> =>
    (await drainQueue(messaging.sqs, messaging.subscribers.all?.queueUrl as string))
      .map((b) => (JSON.parse(b) as { id: string }).id)
      .sort();

  const key = (deliveryId: string): DeliveryKey => ({ provider: 'standard', deliveryId });

  it('tries a delivery SNS keeps refusing exactly 10 times, 1 min then doubling apart, then parks it FAILED out of the index', async () => {
    // Prepare
    const store = storeOf(1);
    const id = 'msg_refused_always';
    await storedUnpublished(store, id, T0 + 1_000);
    const { publisher, tries } = publisherFailingFor(id);
    const metrics = countingMetrics();
    const deps = { store, publisher, metrics };

    // Act: each attempt at the first moment it is due, and a look the moment before.
    const reports: SweepReport[] = [];
    const tooEarly: SweepReport[] = [];
    let due = T0 + 1_000; // the dead ingest's lease
    let now = due;
    for (let attempt = 1; attempt <= 10; attempt++) {
      tooEarly.push(await sweepAt(due + GRACE_MS, deps));
      now = due + GRACE_MS + 1;
      reports.push(await sweepAt(now, deps));
      due = now + retryDelayMs(attempt, DEFAULT_RETRY_DELAYS);
    }
    const parkedAt = now;
    const later = await sweepAt(parkedAt + 24 * HOUR, deps);

    // Assess
    expect(tries.get(id)).toBe(10);
    expect(tooEarly.map((r) => r.found)).toEqual(Array(10).fill(0));
    expect(reports.map((r) => [r.found, r.failed, r.parked])).toEqual([
      ...Array(9).fill([1, 1, 0]),
      [1, 0, 1],
    ]);
    expect(later).toEqual({ found: 0, recovered: 0, skipped: 0, failed: 0, parked: 0 });
    const parked = await store.get(key(id));
    expect(parked).toMatchObject({
      status: 'FAILED',
      publishFailures: 10,
      failedAt: parkedAt,
      lastErrorAt: parkedAt,
      expiresAt: Math.floor(parkedAt / 1000) + RETENTION_SECONDS,
    });
    expect(parked?.lastError).toMatch(/^DependencyError: SNS publish failed \(.+\)$/);
    expect(await store.pending(0, parkedAt + 30 * 24 * HOUR, 100)).toEqual([]);
    expect(metrics.sums.get(METRIC.sweeperParked)).toBe(1);
    expect(metrics.sums.get(METRIC.sweeperFailed)).toBe(9);
    // From 1,000 ms to the tenth attempt: 1 + 2 + 4 + … + 60 minutes, and the grace each time.
    expect(parkedAt - (T0 + 1_000)).toBe(243 * 60_000 + 10 * (GRACE_MS + 1));
  });

  it('publishes the newer deliveries of a shard, one a run, while its oldest keeps failing', async () => {
    // Prepare: one shard, one delivery a run; the failing one is the oldest of the shard.
    const store = storeOf(1);
    const failing = 'msg_refused_oldest';
    const newer = ['msg_newer_1', 'msg_newer_2', 'msg_newer_3'];
    await storedUnpublished(store, failing, T0 + 1_000);
    for (const [i, id] of newer.entries()) await storedUnpublished(store, id, T0 + 2_000 + i);
    const { publisher, tries } = publisherFailingFor(failing);
    const now = T0 + 10_000 + GRACE_MS;
    await publishedIds();

    // Act
    const reports: SweepReport[] = [];
    for (let i = 0; i < 4; i++) reports.push(await sweepAt(now, { store, publisher }, 1));
    const published = await publishedIds();
    // Then, until it is parked: one attempt each time it is due.
    let later = now;
    for (let attempt = 2; attempt <= 10; attempt++) {
      later += HOUR + GRACE_MS + 1;
      reports.push(await sweepAt(later, { store, publisher }, 1));
    }

    // Assess
    expect(reports.slice(0, 4).map((r) => [r.failed, r.recovered])).toEqual([
      [1, 0],
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(published).toEqual(newer.map((id) => `standard:${id}`));
    expect(tries.get(failing)).toBe(10);
    expect(reports.at(-1)?.parked).toBe(1);
    expect((await store.get(key(failing)))?.status).toBe('FAILED');
    expect((await sweepAt(later + 24 * HOUR, { store, publisher })).found).toBe(0);
  });

  it('takes the shards in turn, so the bound on a run leaves no shard out', async () => {
    // Prepare: two deliveries in each of 4 shards; a run takes 5.
    const store = storeOf(4);
    const byShard = new Map<string, string[]>();
    for (let i = 0; [...byShard.values()].flat().length < 8; i++) {
      const id = `msg_spread_${i}`;
      const shard = pendingShard(key(id), 4);
      const ids = byShard.get(shard) ?? [];
      if (ids.length < 2) byShard.set(shard, [...ids, id]);
    }
    for (const [shard, ids] of byShard) {
      for (const [n, id] of ids.entries()) await storedUnpublished(store, id, T0 + n * 1_000);
      expect(shard).toMatch(/^PENDING#[0-3]$/);
    }
    const { publisher } = publisherFailingFor();
    const now = T0 + 10_000 + GRACE_MS;
    await publishedIds();

    // Act
    const first = await sweepAt(now, { store, publisher }, 5);
    const inFirst = await publishedIds();
    const second = await sweepAt(now, { store, publisher }, 5);

    // Assess
    expect(first).toMatchObject({ found: 5, recovered: 5 });
    const oldestOfEach = [...byShard.values()].map((ids) => `standard:${ids[0]}`);
    expect(inFirst).toEqual(expect.arrayContaining(oldestOfEach));
    expect(second).toMatchObject({ found: 3, recovered: 3 });
    expect((await sweepAt(now, { store, publisher })).found).toBe(0);
  });
});

describe('Command: hookonce deliveries failed (on dynalite, through .hookonce/local.json)', () => {
  const declaration = testDeclaration('it-parked-cli');
  const db = useDynamo('dynalite', declaration);
  const NOW = T0 + 10 * HOUR;
  let dataDir: string;

  beforeAll(async () => {
    // What `npm start` writes; only DynamoDB is read.
    dataDir = mkdtempSync(join(tmpdir(), 'hookonce-parked-cli-'));
    const idle = 'http://127.0.0.1:9';
    writeFileSync(
      join(dataDir, 'local.json'),
      JSON.stringify({
        dynamodb: db.emulator.endpoint,
        sqs: idle,
        sns: idle,
        region: LOCAL_REGION,
        topicArn: 'arn:aws:sns:us-east-1:000000000000:unused',
        deliveriesTable: db.deliveriesTable,
        consumerTable: db.consumerTable,
        queues: {},
      }),
    );
    const store = new DeliveryStore({
      client: db.client,
      tableName: db.deliveriesTable,
      pendingShards: 4,
      retentionSeconds: RETENTION_SECONDS,
    });
    const shortLived = new DeliveryStore({
      client: db.client,
      tableName: db.deliveriesTable,
      pendingShards: 4,
      retentionSeconds: 60,
    });
    /** Stores a delivery left pending, published, or parked at the given time. */
    const storeOne = async (
      s: DeliveryStore,
      id: string,
      state: 'pending' | 'published' | number,
    ) => {
      const text = body(id);
      await s.claim(
        {
          provider: 'standard',
          deliveryId: id,
          eventType: 'invoice.paid',
          payload: Buffer.from(text),
          payloadSha256: 'sha',
          headers: {},
        },
        { owner: 'sweeper', until: T0 + 1_000 },
        T0,
      );
      if (state === 'published') {
        await s.markPublished({ provider: 'standard', deliveryId: id }, 'sweeper', T0);
      }
      if (typeof state === 'number') {
        await s.park({ provider: 'standard', deliveryId: id }, 'sweeper', {
          error: new Error('SNS publish failed', {
            cause: new Error('NotFound: Topic does not exist'),
          }),
          at: state,
        });
      }
    };
    await storeOne(store, 'msg_parked_second', T0 + 5 * HOUR);
    await storeOne(store, 'msg_parked_first', T0 + 4 * HOUR);
    await storeOne(store, 'msg_pending', 'pending');
    await storeOne(store, 'msg_published', 'published');
    // Parked, but past its retention by NOW: as good as gone.
    await storeOne(shortLived, 'msg_parked_expired', T0 + 2 * HOUR);
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('lists the parked deliveries within their retention, the longest parked first, with their last error', async () => {
    // Act
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['deliveries', 'failed', '--segments', '2'], {
      env: { HOOKONCE_DATA_DIR: dataDir },
      cwd: dataDir,
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      fetch,
      now: () => NOW,
    });

    // Assess
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toEqual([
      'deliveries parked FAILED on the local runtime (local.json): 2 (5 items scanned)',
      '  standard:msg_parked_first  standard.invoice.paid',
      '    received 2100-01-01T00:00:00Z, parked 2100-01-01T04:00:00Z after 1 failed publish, kept until 2100-01-08T04:00:00Z',
      '    last error (2100-01-01T04:00:00Z): Error: SNS publish failed (Error: NotFound: Topic does not exist)',
      '  standard:msg_parked_second  standard.invoice.paid',
      '    received 2100-01-01T00:00:00Z, parked 2100-01-01T05:00:00Z after 1 failed publish, kept until 2100-01-08T05:00:00Z',
      '    last error (2100-01-01T05:00:00Z): Error: SNS publish failed (Error: NotFound: Topic does not exist)',
      "The sweeper tries them no more. A provider's retry (or a redelivery from its dashboard) of one publishes it.",
    ]);
  });
});

describe('A parked delivery, sent again by its provider (the ingest handler on dynalite and fauxqs)', () => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    pipeline = await Pipeline.start('parked');
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('is taken over and published by the retry (202), and its effect applied once', async () => {
    // Prepare: the ingest dies after its claim, and SNS is down for every sweeper attempt.
    const id = 'msg_parked_then_retried';
    pipeline.plan = (point) => point === 'after-claim';
    expect((await pipeline.send(id, body(id))).status).toBe(500);
    pipeline.plan = () => false;
    await pipeline.stopMessaging();
    const reports: SweepReport[] = [];
    for (let attempt = 1; attempt <= 10; attempt++) {
      pipeline.now += 2 * HOUR;
      reports.push(await pipeline.sweep(GRACE_MS));
    }
    await pipeline.startMessaging();
    const parked = await pipeline.record(id);

    // Act
    const retried = await pipeline.send(id, body(id));
    await pipeline.drain();

    // Assess
    expect(reports.map((r) => r.parked)).toEqual([...Array(9).fill(0), 1]);
    expect(parked?.status).toBe('FAILED');
    expect(retried).toMatchObject({
      status: 202,
      body: { id: `standard:${id}`, duplicate: false },
    });
    expect(await pipeline.record(id)).toMatchObject({ status: 'PUBLISHED', attempts: 12 });
    expect(pipeline.effects.get(`standard:${id}`)).toBe(1);
    expect((await pipeline.send(id, body(id))).status).toBe(200);
  });
});
