import { randomUUID } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { consume } from '../../functions/consumers/guard.ts';
import { type DeliveryRecord, DeliveryStore } from '../../functions/deliveries/store.ts';
import { encodeEvent } from '../../functions/fanout/envelope.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { type ReplayOptions, replay } from '../../infra/cli/replay.ts';
import { liveFilterPolicy, type Target } from '../../infra/cli/target.ts';
import { backends, testDeclaration, useDynamo, useMessaging } from '../support/backends.ts';
import { lambdaContext, sqsRecord } from '../support/events.ts';

const T0 = Date.UTC(2100, 0, 1, 12);
const MINUTE = 60_000;
const silent = createLogger({}, 'error', () => undefined);
const none = { update() {}, setTotal() {}, done() {} };
const consumer = { entry: 'functions/consumers/example/handler.ts' };

describe.each(backends)('Function: replay (on %s and fauxqs)', (kind) => {
  const declaration = testDeclaration(`it-replay-${kind === 'dynalite' ? 'a' : 'b'}`, {
    providers: { standard: { scheme: 'standard-webhooks' }, stripe: { scheme: 'stripe' } },
    subscribers: {
      all: { consumer },
      invoices: { consumer, filter: { types: ['stripe.invoice.'] } },
    },
  });
  const db = useDynamo(kind, declaration);
  const messaging = useMessaging(declaration);
  let target: Target;
  let store: DeliveryStore;
  /** The deliveries stored, by delivery id. */
  const stored = new Map<string, DeliveryRecord>();

  /** Stores one delivery as the ingest path would, received at `at`, and marks it published. */
  async function deliver(
    provider: string,
    eventType: string,
    at: number,
    retentionSeconds = 7 * 86_400,
  ) {
    const deliveryId = `${provider}-${eventType}-${randomUUID().slice(0, 8)}`;
    const body = Buffer.from(JSON.stringify({ id: deliveryId, type: eventType, amount: 42 }));
    const writer =
      retentionSeconds === 7 * 86_400
        ? store
        : new DeliveryStore({
            client: db.client,
            tableName: db.deliveriesTable,
            pendingShards: 4,
            retentionSeconds,
          });
    const claim = await writer.claim(
      {
        provider,
        deliveryId,
        eventType,
        payload: body,
        payloadSha256: 'sha',
        contentType: 'application/json',
        headers: {},
      },
      { owner: 'ingest', until: at + 10_000 },
      at,
    );
    if (!claim.claimed) throw new Error('not claimed');
    await writer.markPublished(claim.record, 'ingest', at);
    stored.set(deliveryId, claim.record);
    return claim.record;
  }

  const options = (overrides: Partial<ReplayOptions>): ReplayOptions => ({
    subscriber: 'all',
    from: T0,
    to: T0 + 60 * MINUTE,
    dryRun: false,
    segments: 3,
    ...overrides,
  });
  const run = async (o: ReplayOptions) =>
    replay(target, o, await liveFilterPolicy(target, o.subscriber), none, T0 + 2 * 60 * MINUTE);
  const received = async (subscriber: string) => {
    const queueUrl = messaging.subscribers[subscriber]?.queueUrl as string;
    const bodies: Array<{ body: string; provider?: string; type?: string }> = [];
    for (;;) {
      const out = await messaging.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 30,
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      for (const m of messages) {
        bodies.push({
          body: m.Body ?? '',
          provider: m.MessageAttributes?.provider?.StringValue,
          type: m.MessageAttributes?.type?.StringValue,
        });
      }
      await messaging.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    return bodies;
  };

  beforeAll(async () => {
    target = {
      description: 'the test emulators',
      dynamodb: db.client,
      sqs: messaging.sqs,
      sns: messaging.sns,
      topicArn: messaging.topicArn,
      deliveriesTable: db.deliveriesTable,
      consumerTable: db.consumerTable,
      subscribers: messaging.subscribers,
      close() {},
    };
    store = new DeliveryStore({
      client: db.client,
      tableName: db.deliveriesTable,
      pendingShards: 4,
      retentionSeconds: 7 * 86_400,
    });
    // Before, inside (both edges) and after a one-hour window starting at T0.
    await deliver('stripe', 'invoice.paid', T0 - 1);
    await deliver('stripe', 'invoice.paid', T0);
    await deliver('stripe', 'invoice.finalized', T0 + 10 * MINUTE);
    await deliver('stripe', 'invoiceitem.created', T0 + 11 * MINUTE);
    await deliver('stripe', 'charge.succeeded', T0 + 12 * MINUTE);
    await deliver('standard', 'invoice.paid', T0 + 20 * MINUTE);
    await deliver('standard', 'customer.created', T0 + 60 * MINUTE - 1);
    await deliver('stripe', 'invoice.paid', T0 + 60 * MINUTE);
    // In the window, but past its retention: TTL has not removed it yet.
    await deliver('stripe', 'invoice.voided', T0 + 30 * MINUTE, 60);
  });

  it('sends the window’s deliveries, as the envelopes the ingest path built, to that subscriber’s queue only', async () => {
    // Act
    const report = await run(options({ subscriber: 'all' }));
    const all = await received('all');
    const invoices = await received('invoices');

    // Assess
    expect(report).toMatchObject({ inWindow: 6, matched: 6, sent: 6, failed: 0 });
    expect(invoices).toEqual([]);
    const inWindow = [...stored.values()].filter(
      (r) =>
        r.receivedAt >= T0 && r.receivedAt < T0 + 60 * MINUTE && r.eventType !== 'invoice.voided',
    );
    expect(all.map((m) => m.body).sort()).toEqual(
      inWindow.map((r) => encodeEvent(r).message).sort(),
    );
    expect(all.map((m) => `${m.provider} ${m.type}`).sort()).toEqual(
      inWindow.map((r) => `${r.provider} ${r.provider}.${r.eventType}`).sort(),
    );
  });

  it('sends only what the subscriber’s filter policy takes, as SNS would have', async () => {
    // Act
    const report = await run(options({ subscriber: 'invoices' }));
    const types = (await received('invoices')).map((m) => m.type).sort();

    // Assess
    expect(report).toMatchObject({ inWindow: 6, matched: 2, sent: 2 });
    expect(report.byType).toEqual({ 'stripe.invoice.finalized': 1, 'stripe.invoice.paid': 1 });
    expect(types).toEqual(['stripe.invoice.finalized', 'stripe.invoice.paid']);
    expect(await received('all')).toEqual([]);
  });

  it('narrows to --provider and --type, and sends nothing on a dry run', async () => {
    // Act
    const byProvider = await run(options({ provider: 'standard', dryRun: true }));
    const byPrefix = await run(options({ type: 'stripe.invoice*', dryRun: true }));
    const exact = await run(options({ type: 'standard.invoice.paid', dryRun: true }));

    // Assess
    expect(byProvider).toMatchObject({ inWindow: 2, matched: 2, sent: 0 });
    expect(byPrefix).toMatchObject({ inWindow: 3, matched: 3, sent: 0 });
    expect(byPrefix.byType).toEqual({
      'stripe.invoice.finalized': 1,
      'stripe.invoice.paid': 1,
      'stripe.invoiceitem.created': 1,
    });
    expect(exact).toMatchObject({ inWindow: 1, matched: 1, sent: 0 });
    expect(await received('all')).toEqual([]);
  });

  it('replayed twice over the same window, leads to no new effect behind the guard', async () => {
    // Prepare: the guarded consumer has applied the window's events once already.
    const effects = new Map<string, number>();
    const handler = consume(
      async (event) => {
        effects.set(event.id, (effects.get(event.id) ?? 0) + 1);
      },
      { consumer: `replayed-${kind}`, tableName: db.consumerTable, client: db.client, log: silent },
    );
    const consumeQueue = async () => {
      const bodies = (await received('all')).map((m) => m.body);
      const records: SQSRecord[] = bodies.map((b, i) => sqsRecord(`m-${randomUUID()}-${i}`, b));
      for (let i = 0; i < records.length; i += 10) {
        const answer = await handler(
          { Records: records.slice(i, i + 10) },
          lambdaContext(randomUUID(), 30_000),
        );
        expect(answer.batchItemFailures).toEqual([]);
      }
      return bodies.length;
    };
    await run(options({}));
    const first = await consumeQueue();
    const applied = new Map(effects);

    // Act
    await run(options({}));
    const second = await consumeQueue();
    await run(options({}));
    const third = await consumeQueue();

    // Assess
    expect([first, second, third]).toEqual([6, 6, 6]);
    expect(applied.size).toBe(6);
    expect(effects).toEqual(applied);
    expect([...effects.values()].every((n) => n === 1)).toBe(true);
  });

  it('sends every one of 250 deliveries once across parallel segments and batches', async () => {
    // Prepare: a window of its own, later than the others.
    const start = T0 + 24 * 60 * MINUTE;
    for (let i = 0; i < 250; i++) await deliver('standard', `bulk.${i % 7}`, start + i);

    // Act
    const report = await replay(
      target,
      options({ from: start, to: start + 250, segments: 7 }),
      undefined,
      none,
      start + MINUTE,
    );
    const ids = (await received('all')).map((m) => (JSON.parse(m.body) as { id: string }).id);

    // Assess
    expect(report).toMatchObject({ inWindow: 250, matched: 250, sent: 250, failed: 0 });
    expect(new Set(ids).size).toBe(250);
    expect(ids).toHaveLength(250);
  });
});
