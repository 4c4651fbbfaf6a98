import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface PollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly batchSize: number;
  /** Invokes the consumer function with one batch. */
  readonly invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined | null>;
  readonly onBatch?: (report: { size: number; failed: number; error?: string }) => void;
  /** Seconds one ReceiveMessage waits for messages (long polling). @default 1 */
  readonly waitTimeSeconds?: number;
}

export interface Poller {
  stop(): Promise<void>;
}

/**
 * Lambda's SQS event source mapping, locally: long-polls the queue, invokes
 * the consumer with a batch, deletes what succeeded and leaves the rest to come
 * back after the visibility timeout. With ReportBatchItemFailures only the
 * listed records are retried; a thrown error, a timeout or an answer naming a
 * record that is not in the batch retries all of it. The queue's redrive policy
 * parks a record in the DLQ after maxReceiveCount receives.
 */
export function startPoller(options: PollerOptions): Poller {
  const abort = new AbortController();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      let messages: Message[] = [];
      try {
        const out = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: options.waitTimeSeconds ?? 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
      } catch {
        if (abort.signal.aborted) break;
        await sleep(500); // the queue is unreachable for now: try again shortly
        continue;
      }
      if (messages.length === 0) continue;
      await deliver(messages, options);
    }
  })();
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

async function deliver(messages: Message[], options: PollerOptions): Promise<void> {
  const records = messages.map((m) => toRecord(m, options));
  const ids = new Set(records.map((r) => r.messageId));
  let failed = new Set<string>(ids);
  let error: string | undefined;
  try {
    const response = await options.invoke({ Records: records });
    const listed = response?.batchItemFailures ?? [];
    if (listed.every((f) => ids.has(f.itemIdentifier))) {
      failed = new Set(listed.map((f) => f.itemIdentifier));
    } else {
      error = 'the answer names a record that is not in the batch: the whole batch is retried';
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  const done = messages.filter((m) => m.MessageId && !failed.has(m.MessageId));
  if (done.length > 0) {
    await options.sqs
      .send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      )
      .catch(() => undefined); // undeleted messages come back: the consumer guard absorbs them
  }
  options.onBatch?.({ size: messages.length, failed: failed.size, ...(error ? { error } : {}) });
}

function toRecord(message: Message, options: PollerOptions): SQSRecord {
  const attributes = message.Attributes ?? {};
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp:
        attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
