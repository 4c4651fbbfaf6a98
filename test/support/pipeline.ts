import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2, SQSRecord } from 'aws-lambda';
import { consume } from '../../functions/consumers/guard.ts';
import { loadPayload } from '../../functions/consumers/payload.ts';
import { S3PayloadStore } from '../../functions/deliveries/payloads.ts';
import { type DeliveryRecord, DeliveryStore } from '../../functions/deliveries/store.ts';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import { type EventPublisher, SnsPublisher } from '../../functions/fanout/publisher.ts';
import { ingestEnvironment } from '../../functions/ingest/config.ts';
import type { DeliveryStorePort } from '../../functions/ingest/ingest.ts';
import { createIngestHandler, type IngestHandler } from '../../functions/ingest/wiring.ts';
import type { ResolvedDeclaration } from '../../functions/shared/declaration.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { type SweepReport, sweep } from '../../functions/sweeper/sweeper.ts';
import {
  type DynamoEmulator,
  type Emulator,
  freePort,
  startDynalite,
  startFauxqs,
} from '../../infra/local/emulators.ts';
import {
  ensureBucket,
  ensureMessaging,
  ensureTables,
  type SubscriberQueues,
} from '../../infra/local/resources.ts';
import { localNames } from '../../infra/names.ts';
import {
  dynamoClientFor,
  s3ClientFor,
  signStandard,
  snsClientFor,
  sqsClientFor,
  TEST_SECRET,
  testDeclaration,
} from './backends.ts';
import { lambdaContext, webhookEvent } from './events.ts';

/**
 * The named points where a test can make an ingest invocation die: right after
 * its claim (or take-over) succeeded, right after its publish, right before its
 * mark. The seam is the core's injected ports: production code has no test branch.
 */
export type FaultPoint = 'after-claim' | 'after-publish' | 'before-mark';
export const FAULT_POINTS: readonly FaultPoint[] = ['after-claim', 'after-publish', 'before-mark'];

/** Says, for one invocation, whether it dies at a point. */
export type FaultPlan = (point: FaultPoint, deliveryId: string) => boolean;

/**
 * Says, for one invocation, whether it waits at a point, and for what: until the
 * promise it answers settles. A test holds a request in flight at a known step
 * while it stops a dependency, instead of sleeping and hoping one is.
 */
export type HoldPlan = (point: FaultPoint, deliveryId: string) => Promise<void> | undefined;

/**
 * Stands for the process dying: it is no DependencyError, so the core runs no
 * clean-up (no lease is given back) and the answer is Lambda's bare 500.
 */
export class Crash extends Error {
  readonly point: FaultPoint;
  constructor(point: FaultPoint) {
    super(`crashed ${point}`);
    this.name = 'Crash';
    this.point = point;
  }
}

/** A deterministic PRNG (mulberry32), so a seeded storm is the same storm every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Wraps the real ports so a plan can make the invocation die at a named point,
 * and another hold it there for a while first.
 */
export function faulty(
  store: DeliveryStorePort,
  publisher: EventPublisher,
  plan: () => FaultPlan,
  injected: Map<FaultPoint, number>,
  hold: () => HoldPlan = () => () => undefined,
): { deliveries: DeliveryStorePort; publisher: EventPublisher } {
  const reach = async (point: FaultPoint, deliveryId: string): Promise<void> => {
    await hold()(point, deliveryId);
    if (plan()(point, deliveryId)) {
      injected.set(point, (injected.get(point) ?? 0) + 1);
      throw new Crash(point);
    }
  };
  return {
    deliveries: {
      claim: async (delivery, lease, now, retentionSeconds) => {
        const result = await store.claim(delivery, lease, now, retentionSeconds);
        if (result.claimed) await reach('after-claim', delivery.deliveryId);
        return result;
      },
      takeOver: async (key, lease, now) => {
        const taken = await store.takeOver(key, lease, now);
        if (taken) await reach('after-claim', key.deliveryId);
        return taken;
      },
      markPublished: async (key, owner, now) => {
        await reach('before-mark', key.deliveryId);
        return store.markPublished(key, owner, now);
      },
      release: (key, owner) => store.release(key, owner),
    },
    publisher: {
      publish: async (event) => {
        await publisher.publish(event);
        await reach('after-publish', event.id.slice(event.provider.length + 1));
      },
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
}

const silent = createLogger({}, 'error', () => undefined);

/**
 * hookonce end to end, in this process, on real emulators: dynalite (on disk,
 * on a fixed port, so it can be stopped and started again mid-run) and fauxqs
 * (SNS, SQS, S3, also on disk). The ingest handler is the production wiring
 * with its ports wrapped by a fault plan; the sweeper is the production core;
 * the consumer is the production guard around an effect that counts.
 */
export class Pipeline {
  readonly declaration: ResolvedDeclaration;
  /** Injected time: leases and grace periods pass when a test says so. */
  now: number;
  /** Faults injected so far, by point. */
  readonly injected = new Map<FaultPoint, number>();
  /** Effects applied, by event id: the number a guard must keep at 1. */
  readonly effects = new Map<string, number>();
  /** Messages that reached the subscriber's queue, by event id: publishes. */
  readonly published = new Map<string, number>();
  /** SHA-256 of the payload the consumer saw, by event id. */
  readonly consumedSha256 = new Map<string, string>();
  /** The `data` each effect was handed, by event id: the guard fills it whatever the size. */
  readonly consumedData = new Map<string, unknown>();
  plan: FaultPlan = () => false;
  hold: HoldPlan = () => undefined;

  #dataDir: string;
  #dynamoPort = 0;
  #fauxqsPort = 0;
  #dynamo?: DynamoEmulator;
  #fauxqs?: Emulator;
  #ddb!: DynamoDBClient;
  #sns!: SNSClient;
  #sqs!: SQSClient;
  #s3!: S3Client;
  #store!: DeliveryStore;
  #publisher!: SnsPublisher;
  #queues!: SubscriberQueues;
  #handler!: IngestHandler;
  #consumer!: ReturnType<typeof consume>;

  private constructor(name: string, inlinePayloadBytes?: number) {
    this.declaration = testDeclaration(name, {
      providers: { standard: { scheme: 'standard-webhooks' } },
      subscribers: { all: { consumer: { entry: 'functions/consumers/example/handler.ts' } } },
    });
    this.now = Date.UTC(2100, 0, 1);
    this.#dataDir = mkdtempSync(join(tmpdir(), `hookonce-${name}-`));
    this.#inline = inlinePayloadBytes;
  }

  #inline: number | undefined;
  #bucket = '';

  static async start(
    name: string,
    options: { inlinePayloadBytes?: number } = {},
  ): Promise<Pipeline> {
    const p = new Pipeline(name, options.inlinePayloadBytes);
    p.#dynamoPort = await freePort();
    p.#fauxqsPort = await freePort();
    await p.startDynamo();
    await p.startMessaging();
    p.#ddb = dynamoClientFor(p.#dynamo as Emulator);
    p.#sns = snsClientFor(p.#fauxqs as Emulator);
    p.#sqs = sqsClientFor(p.#fauxqs as Emulator);
    p.#s3 = s3ClientFor(p.#fauxqs as Emulator);
    await ensureTables(p.#ddb, p.declaration);
    const bucket = await ensureBucket(p.#s3, p.declaration);
    p.#bucket = bucket;
    const messaging = await ensureMessaging(p.#sns, p.#sqs, p.declaration);
    p.#queues = messaging.subscribers.all as SubscriberQueues;
    const retentionSeconds = p.declaration.retentionDays * 86_400;
    const names = localNames(p.declaration);
    p.#store = new DeliveryStore({
      client: p.#ddb,
      tableName: names.deliveriesTable,
      pendingShards: p.declaration.pendingShards,
      retentionSeconds,
    });
    p.#publisher = new SnsPublisher({ client: p.#sns, topicArn: messaging.topicArn });
    const clock = { now: () => p.now };
    p.#handler = createIngestHandler(
      {
        ...ingestEnvironment({
          tableName: names.deliveriesTable,
          topicArn: messaging.topicArn,
          providers: { ...p.declaration.providers },
          retentionSeconds,
          pendingShards: p.declaration.pendingShards,
          payloadBucket: bucket,
        }),
        HOOKONCE_SECRET_STANDARD: TEST_SECRET,
      },
      {
        ...faulty(
          p.#store,
          p.#publisher,
          () => p.plan,
          p.injected,
          () => p.hold,
        ),
        payloads: new S3PayloadStore({ client: p.#s3, bucket }),
        clock,
        log: silent,
        inlinePayloadBytes: p.#inline,
      },
    );
    p.#consumer = consume(
      async (event: HookonceEvent) => {
        p.consumedData.set(event.id, event.data);
        const bytes = await loadPayload(event, { s3: p.#s3 });
        p.consumedSha256.set(event.id, createHash('sha256').update(bytes).digest('hex'));
        p.effects.set(event.id, (p.effects.get(event.id) ?? 0) + 1);
      },
      {
        consumer: 'pipeline',
        tableName: names.consumerTable,
        client: p.#ddb,
        s3: p.#s3,
        clock,
        log: silent,
      },
    );
    return p;
  }

  /** Sends one signed delivery through the ingest handler, as one Lambda invocation. */
  async send(id: string, body: string): Promise<Answer> {
    const headers = signStandard({ id, at: this.now, body });
    const event = webhookEvent({ provider: 'standard', headers, body });
    let result: APIGatewayProxyStructuredResultV2;
    try {
      result = await this.#handler(event, lambdaContext(randomUUID()));
    } catch (error) {
      // The handler answers every error itself; reaching here is a bug in the test or the wiring.
      throw new Error('the ingest handler threw', { cause: error });
    }
    return {
      status: result.statusCode ?? 0,
      body: result.body ? (JSON.parse(result.body) as Record<string, unknown>) : {},
      headers: (result.headers ?? {}) as Record<string, string>,
    };
  }

  /** The keys of every payload object in the bucket. */
  async payloadObjects(): Promise<string[]> {
    const out = await this.#s3.send(
      new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: 'payloads/' }),
    );
    return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
  }

  /** One run of the sweeper, at the pipeline's time, past the grace period. */
  sweep(graceMs = 30_000): Promise<SweepReport> {
    return sweep(
      {
        deliveries: this.#store,
        publisher: this.#publisher,
        clock: { now: () => this.now },
        log: silent,
      },
      { owner: `sweeper:${randomUUID()}`, graceMs, maxPerRun: 10_000, leaseMs: 30_000 },
    );
  }

  /**
   * Feeds everything in the subscriber's queue to the guarded consumer, in
   * batches of 10, like Lambda's event source mapping, until the queue is empty.
   * Returns how many messages it delivered.
   */
  async drain(): Promise<number> {
    let delivered = 0;
    for (;;) {
      const out = await this.#sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.#queues.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) return delivered;
      const records: SQSRecord[] = messages.map((m) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '0',
          SenderId: 'sns',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: this.#queues.queueArn,
        awsRegion: 'us-east-1',
      }));
      for (const r of records) {
        const id = (JSON.parse(r.body) as { id: string }).id;
        this.published.set(id, (this.published.get(id) ?? 0) + 1);
      }
      const response = await this.#consumer(
        { Records: records },
        lambdaContext(randomUUID(), 30_000),
      );
      const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      if (failed.size > 0) throw new Error(`the consumer failed ${failed.size} records`);
      await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queues.queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      delivered += messages.length;
    }
  }

  record(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return this.#store.get({ provider: 'standard', deliveryId });
  }

  async startDynamo(): Promise<void> {
    this.#dynamo = await startDynalite({
      path: join(this.#dataDir, 'dynamodb'),
      port: this.#dynamoPort,
    });
  }

  async stopDynamo(): Promise<void> {
    await this.#dynamo?.stop();
    this.#dynamo = undefined;
  }

  async startMessaging(): Promise<void> {
    this.#fauxqs = await startFauxqs({
      dataDir: join(this.#dataDir, 'fauxqs'),
      port: this.#fauxqsPort,
    });
  }

  async stopMessaging(): Promise<void> {
    await this.#fauxqs?.stop();
    this.#fauxqs = undefined;
  }

  async stop(): Promise<void> {
    for (const c of [this.#ddb, this.#sns, this.#sqs, this.#s3]) c?.destroy();
    await this.stopDynamo();
    await this.stopMessaging();
    rmSync(this.#dataDir, { recursive: true, force: true });
  }
}
