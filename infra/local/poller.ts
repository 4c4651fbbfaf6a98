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
  /**
   * Seconds to wait for a batch to fill before invoking the consumer with what
   * has arrived (Lambda's MaximumBatchingWindowInSeconds). @default 0
   */
  readonly batchingWindowSeconds?: number;
  /**
   * Batches in flight at once (Lambda's MaximumConcurrency), at most
   * MAX_LOCAL_CONCURRENCY here. @default DEFAULT_LOCAL_CONCURRENCY
   */
  readonly maxConcurrency?: number;
  /** Invokes the consumer function with one batch. */
  readonly invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined | null>;
  readonly onBatch?: (report: { size: number; failed: number; error?: string }) => void;
  /**
   * The queue's redrive policy's maxReceiveCount: a record that fails on its
   * last receive is reported to `onDeadLetter`. Unset: nothing is reported.
   */
  readonly maxReceiveCount?: number;
  /**
   * A record failed on its maxReceiveCount-th receive: SQS moves it to the DLQ
   * at the next receive after its visibility timeout, and no consumer sees it
   * again until it is redriven.
   */
  readonly onDeadLetter?: (record: DeadLetter) => void;
  /** Seconds one ReceiveMessage waits for messages (long polling). @default 1 */
  readonly waitTimeSeconds?: number;
}

export interface DeadLetter {
  readonly messageId: string;
  /** The id of the hookonce envelope the message carries; absent for any other body. */
  readonly eventId?: string;
  /** How many times it was received, each one failed. */
  readonly receives: number;
}

export interface Poller {
  stop(): Promise<void>;
}

/** Lambda starts an SQS event source with five pollers, each taking one batch at a time. */
export const DEFAULT_LOCAL_CONCURRENCY = 5;
/** Enough to show concurrency on a laptop; a higher maxConcurrency is capped here. */
export const MAX_LOCAL_CONCURRENCY = 10;

/**
 * Lambda's SQS event source mapping, locally: long-polls the queue, invokes
 * the consumer with a batch, deletes what succeeded and leaves the rest to come
 * back after the visibility timeout. With ReportBatchItemFailures only the
 * listed records are retried; a thrown error, a timeout or an answer naming a
 * record that is not in the batch retries all of it. The queue's redrive policy
 * parks a record in the DLQ after maxReceiveCount receives; the poller, which
 * sees each record's ApproximateReceiveCount, reports the ones it fails for
 * the last time.
 *
 * Each of `maxConcurrency` pollers takes one batch at a time, so no more
 * batches than that are ever in flight; with a batching window, a poller that
 * has some records keeps receiving until the batch is full or the window ends.
 */
export function startPoller(options: PollerOptions): Poller {
  const abort = new AbortController();
  const pollers = Math.min(
    options.maxConcurrency ?? DEFAULT_LOCAL_CONCURRENCY,
    MAX_LOCAL_CONCURRENCY,
  );
  const loops = Array.from({ length: Math.max(1, pollers) }, () => pollLoop(options, abort.signal));
  return {
    async stop() {
      abort.abort();
      await Promise.all(loops);
    },
  };
}

async function pollLoop(options: PollerOptions, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    let messages: Message[];
    try {
      messages = await receive(options, signal, options.batchSize, options.waitTimeSeconds ?? 1);
      const windowMs = (options.batchingWindowSeconds ?? 0) * 1000;
      const deadline = Date.now() + windowMs;
      while (
        messages.length > 0 &&
        messages.length < options.batchSize &&
        Date.now() < deadline &&
        !signal.aborted
      ) {
        const waitSeconds = Math.min(20, Math.max(0, Math.ceil((deadline - Date.now()) / 1000)));
        const more = await receive(
          options,
          signal,
          options.batchSize - messages.length,
          waitSeconds,
        ).catch((error: unknown) => {
          // What was received already is delivered; the rest waits for the next round.
          if (signal.aborted) throw error;
          return [];
        });
        messages = [...messages, ...more];
      }
    } catch {
      if (signal.aborted) break;
      await sleep(500); // the queue is unreachable for now: try again shortly
      continue;
    }
    if (messages.length === 0) continue;
    await deliver(messages, options);
  }
}

async function receive(
  options: PollerOptions,
  signal: AbortSignal,
  max: number,
  waitSeconds: number,
): Promise<Message[]> {
  const out = await options.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: options.queueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
    { abortSignal: signal },
  );
  return out.Messages ?? [];
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
  const max = options.maxReceiveCount;
  if (max !== undefined && options.onDeadLetter) {
    for (const record of records) {
      const receives = Number(record.attributes.ApproximateReceiveCount);
      if (failed.has(record.messageId) && receives >= max) {
        const eventId = envelopeId(record.body);
        options.onDeadLetter({
          messageId: record.messageId,
          ...(eventId ? { eventId } : {}),
          receives,
        });
      }
    }
  }
}

/** The id of a CloudEvents envelope (what hookonce publishes), or undefined. */
function envelopeId(body: string): string | undefined {
  try {
    const value = JSON.parse(body) as { id?: unknown; specversion?: unknown };
    return typeof value.id === 'string' && value.specversion === '1.0' ? value.id : undefined;
  } catch {
    return undefined;
  }
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
