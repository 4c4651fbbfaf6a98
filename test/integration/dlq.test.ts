import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { consume } from '../../functions/consumers/guard.ts';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { countDlqs, peekDlq, redriveDlq } from '../../infra/cli/dlq.ts';
import type { Target } from '../../infra/cli/target.ts';
import { startPoller } from '../../infra/local/poller.ts';
import { testDeclaration, useDynamo, useMessaging } from '../support/backends.ts';
import { envelope, lambdaContext } from '../support/events.ts';
import { until } from '../support/eventually.ts';

const silent = createLogger({}, 'error', () => undefined);
const none = { update() {}, setTotal() {}, done() {} };
const declaration = testDeclaration('it-dlq', {
  subscribers: {
    // Fails fast: a 1 s visibility timeout, two receives before the DLQ.
    ledger: {
      consumer: { entry: 'functions/consumers/example/handler.ts', timeoutSeconds: 1 },
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 1,
    },
  },
});

describe('DLQ tooling: list, peek and redrive (on fauxqs and dynalite)', () => {
  const messaging = useMessaging(declaration);
  const db = useDynamo('dynalite', declaration);
  let target: Target;
  /** Effects applied, by event id; the consumer fails every event while `broken`. */
  const applied = new Map<string, number>();
  let broken = true;
  const events = Array.from({ length: 4 }, () => envelope(`dlq-${randomUUID().slice(0, 8)}`));
  const good = envelope(`dlq-good-${randomUUID().slice(0, 8)}`);

  /** Runs the guarded consumer behind the local poller until `done` holds. */
  async function consumeUntil(done: () => Promise<boolean> | boolean): Promise<void> {
    const handler = consume(
      async (event: HookonceEvent) => {
        if (broken && event.id !== good.id) throw new Error(`the ledger is down for ${event.id}`);
        applied.set(event.id, (applied.get(event.id) ?? 0) + 1);
      },
      { consumer: 'ledger', tableName: db.consumerTable, client: db.client, log: silent },
    );
    const queues = messaging.subscribers.ledger;
    if (!queues) throw new Error('no ledger queue');
    const poller = startPoller({
      sqs: messaging.sqs,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      region: 'us-east-1',
      batchSize: 10,
      maxConcurrency: 1,
      invoke: (event) =>
        handler(event, lambdaContext(randomUUID(), 1_000)) as Promise<SQSBatchResponse>,
    });
    try {
      await until(done);
    } finally {
      await poller.stop();
    }
  }
  const counts = async () => (await countDlqs(target, ['ledger']))[0];

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
    const queues = messaging.subscribers.ledger;
    if (!queues) throw new Error('no ledger queue');
    await messaging.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: [...events, good].map((e, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify(e),
        })),
      }),
    );
    // A message that is no envelope at all, parked straight in the DLQ.
    await messaging.sqs.send(
      new SendMessageCommand({ QueueUrl: queues.dlqUrl, MessageBody: 'not an envelope' }),
    );
    // The ledger is down: every event but one fails twice and is parked.
    await consumeUntil(async () => (await counts())?.dead === events.length + 1);
  });

  it('lists what the DLQ holds and what is left in the queue', async () => {
    // Act
    const [ledger] = await countDlqs(target, ['ledger']);

    // Assess
    expect(ledger).toEqual({ subscriber: 'ledger', dead: 5, backlog: 0 });
    expect(applied.get(good.id)).toBe(1);
  });

  it('peeks at messages with their event, receives and last error, and leaves them in place', async () => {
    // Act
    const peeked = await peekDlq(target, 'ledger', 10);
    const after = await counts();

    // Assess
    expect(after?.dead).toBe(5);
    const byEvent = new Map(peeked.map((m) => [m.eventId ?? '(none)', m]));
    expect([...byEvent.keys()].sort()).toEqual(['(none)', ...events.map((e) => e.id)].sort());
    for (const event of events) {
      const m = byEvent.get(event.id);
      expect(m).toMatchObject({
        type: 'standard.invoice.paid',
        lastError: `Error: the ledger is down for ${event.id}`,
      });
      expect(m?.receiveCount).toBeGreaterThanOrEqual(2);
    }
    expect(byEvent.get('(none)')).toMatchObject({ preview: 'not an envelope' });
  });

  it('shows at most --max messages', async () => {
    // Act
    const peeked = await peekDlq(target, 'ledger', 2);

    // Assess
    expect(peeked).toHaveLength(2);
    expect((await counts())?.dead).toBe(5);
  });

  it('moves every message back to the queue, where each event is applied once', async () => {
    // Act: the ledger is repaired, then the DLQ redriven.
    broken = false;
    const report = await redriveDlq(target, 'ledger', none);
    await consumeUntil(() => events.every((e) => applied.get(e.id) === 1));
    await consumeUntil(async () => (await counts())?.dead === 1);

    // Assess: fauxqs has no StartMessageMoveTask, so the messages moved by hand.
    expect(report).toMatchObject({ method: 'receive, send, delete', moved: 5, failed: 0 });
    expect(report.fallbackReason).toMatch(/StartMessageMoveTask/);
    expect(events.map((e) => applied.get(e.id))).toEqual([1, 1, 1, 1]);
    expect(applied.get(good.id)).toBe(1);
    // Only the message that is no envelope is back in the DLQ.
    const left = await peekDlq(target, 'ledger', 10);
    expect(left.map((m) => m.preview)).toEqual(['not an envelope']);
  });
});
