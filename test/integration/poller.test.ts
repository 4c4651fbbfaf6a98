import { randomUUID } from 'node:crypto';
import {
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { consume } from '../../functions/consumers/guard.ts';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { type DeadLetter, type PollerOptions, startPoller } from '../../infra/local/poller.ts';
import { drainQueue, testDeclaration, useDynamo, useMessaging } from '../support/backends.ts';
import { envelope, lambdaContext } from '../support/events.ts';
import { until } from '../support/eventually.ts';

const silent = createLogger({}, 'error', () => undefined);
const consumer = { entry: 'functions/consumers/example/handler.ts', timeoutSeconds: 1 };
const declaration = testDeclaration('it-poller', {
  subscribers: {
    window: { consumer, batchSize: 3, batchingWindowSeconds: 60 },
    capped: { consumer, batchSize: 1, maxConcurrency: 2 },
    // A visibility timeout of 1 s, so retries come back quickly.
    retried: { consumer, batchSize: 10, maxReceiveCount: 3, visibilityTimeoutSeconds: 1 },
    doomed: { consumer, batchSize: 10, maxReceiveCount: 2, visibilityTimeoutSeconds: 1 },
  },
});

describe('Local poller: Lambda’s SQS event source mapping (on fauxqs)', () => {
  const messaging = useMessaging(declaration);
  const db = useDynamo('dynalite', declaration);

  const queueOf = (name: string) => {
    const q = messaging.subscribers[name];
    if (!q) throw new Error(`no queue ${name}`);
    return q;
  };
  const poll = (
    name: string,
    invoke: PollerOptions['invoke'],
    overrides: Partial<PollerOptions> = {},
  ) => {
    const q = queueOf(name);
    const s = declaration.subscribers[name];
    return startPoller({
      sqs: messaging.sqs,
      queueUrl: q.queueUrl,
      queueArn: q.queueArn,
      region: 'us-east-1',
      batchSize: s?.batchSize ?? 10,
      batchingWindowSeconds: s?.batchingWindowSeconds,
      maxConcurrency: s?.maxConcurrency,
      waitTimeSeconds: 1,
      invoke,
      ...overrides,
    });
  };
  const inFlight = async (queueUrl: string): Promise<number> => {
    const out = await messaging.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  };

  it('waits up to the batching window to fill a batch, and invokes as soon as it is full', async () => {
    // Prepare: one poller, so the batch it is filling is the only one.
    const { queueUrl } = queueOf('window');
    const batches: number[] = [];
    const poller = poll(
      'window',
      async (event) => {
        batches.push(event.Records.length);
        return { batchItemFailures: [] };
      },
      { maxConcurrency: 1 },
    );
    try {
      // Act: one message; once the poller holds it, two more.
      await messaging.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'a' }));
      await until(async () => (await inFlight(queueUrl)) === 1);
      await messaging.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'b' }));
      await messaging.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'c' }));
      await until(() => batches.length > 0);
    } finally {
      await poller.stop();
    }

    // Assess: well inside the 60 s window, one batch of three.
    expect(batches).toEqual([3]);
  });

  it('never has more batches in flight than maxConcurrency, and does reach it', async () => {
    // Prepare: every invocation waits at a gate the test opens.
    const { queueUrl } = queueOf('capped');
    let running = 0;
    let most = 0;
    let done = 0;
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => (open = r));
    const poller = poll('capped', async () => {
      running += 1;
      most = Math.max(most, running);
      await gate;
      running -= 1;
      done += 1;
      return { batchItemFailures: [] };
    });
    try {
      // Act
      await messaging.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 6 }, (_, i) => ({ Id: String(i), MessageBody: `m${i}` })),
        }),
      );
      await until(() => running === 2);
      open();
      await until(() => done === 6);
    } finally {
      await poller.stop();
    }

    // Assess
    expect(most).toBe(2);
  });

  it('retries only the failed record of a batch of 10, and parks it in the DLQ after maxReceiveCount', async () => {
    // Prepare: the guarded consumer; the effect of one event always fails.
    const { queueUrl, dlqUrl } = queueOf('retried');
    const run = randomUUID().slice(0, 8);
    const events = Array.from({ length: 10 }, (_, i) => envelope(`${run}-${i}`));
    const poison = events[4] as HookonceEvent;
    const effects = new Map<string, number>();
    const handler = consume(
      async (event) => {
        effects.set(event.id, (effects.get(event.id) ?? 0) + 1);
        if (event.id === poison.id) throw new Error('this one never works');
      },
      { consumer: 'retried', tableName: db.consumerTable, client: db.client, log: silent },
    );
    await messaging.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: events.map((e, i) => ({ Id: String(i), MessageBody: JSON.stringify(e) })),
      }),
    );
    const sizes: number[] = [];
    let parked: string[] = [];

    // Act
    const poller = poll(
      'retried',
      (event: SQSEvent) => {
        sizes.push(event.Records.length);
        return handler(event, lambdaContext(randomUUID(), 1_000)) as Promise<SQSBatchResponse>;
      },
      { maxConcurrency: 1 },
    );
    try {
      await until(async () => {
        parked = [...parked, ...(await drainQueue(messaging.sqs, dlqUrl))];
        return parked.length > 0;
      });
    } finally {
      await poller.stop();
    }

    // Assess
    expect(sizes).toEqual([10, 1, 1]);
    expect(parked.map((b) => (JSON.parse(b) as HookonceEvent).id)).toEqual([poison.id]);
    expect(effects.get(poison.id)).toBe(3);
    expect(events.filter((e) => e !== poison).map((e) => effects.get(e.id))).toEqual(
      Array(9).fill(1),
    );
    expect(await drainQueue(messaging.sqs, queueUrl)).toEqual([]);
  });

  it('reports each record it fails on its last receive, once, with its event, and that record is the one in the DLQ', async () => {
    // Prepare: a consumer that always fails; two envelopes and a body that is no envelope.
    const { queueUrl, dlqUrl } = queueOf('doomed');
    const run = randomUUID().slice(0, 8);
    const events = [envelope(`${run}-a`), envelope(`${run}-b`)];
    await messaging.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [...events.map((e) => JSON.stringify(e)), 'not an envelope'].map((body, i) => ({
          Id: String(i),
          MessageBody: body,
        })),
      }),
    );
    const reported: DeadLetter[] = [];
    const receives: number[] = [];
    const parked: Message[] = [];

    // Act
    const poller = poll(
      'doomed',
      async (event) => {
        receives.push(...event.Records.map((r) => Number(r.attributes.ApproximateReceiveCount)));
        return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      },
      { maxReceiveCount: 2, onDeadLetter: (d) => reported.push(d), maxConcurrency: 1 },
    );
    try {
      await until(async () => {
        const out = await messaging.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: dlqUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 30,
          }),
        );
        parked.push(...(out.Messages ?? []));
        return parked.length === 3;
      });
    } finally {
      await poller.stop();
    }

    // Assess: received twice each, reported after the second, and each report names a parked message.
    expect(receives.sort()).toEqual([1, 1, 1, 2, 2, 2]);
    const byBody = new Map(parked.map((m) => [m.Body, m.MessageId]));
    const expected: DeadLetter[] = [
      ...events.map((e) => ({
        messageId: byBody.get(JSON.stringify(e)) ?? '?',
        eventId: e.id,
        receives: 2,
      })),
      { messageId: byBody.get('not an envelope') ?? '?', receives: 2 },
    ];
    const order = (d: DeadLetter) => d.messageId;
    expect([...reported].sort((a, b) => order(a).localeCompare(order(b)))).toEqual(
      expected.sort((a, b) => order(a).localeCompare(order(b))),
    );
  });
});
