import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { ClaimStore } from '../../functions/consumers/claims.ts';
import {
  type ResolvedDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { declaration as defaultDeclaration } from '../hookonce.config.ts';
import { type CliIo, type Command, parseCommandArgs, UsageError } from './command.ts';
import { loadDeclaration } from './config.ts';
import { fmt, type Progress, type ProgressStream, progressBar } from './progress.ts';
import { subscriberQueues, type Target, withTarget } from './target.ts';

/**
 * `hookonce dlq list|peek|redrive`: what each subscriber's dead-letter queue
 * holds, what the first messages are and why they failed, and moving them back
 * to the subscriber's queue once the cause is fixed.
 */

export interface QueueCounts {
  readonly subscriber: string;
  /** In the DLQ, waiting or being read. */
  readonly dead: number;
  /** In the subscriber's own queue, waiting or being processed. */
  readonly backlog: number;
}

async function attributes(target: Target, queueUrl: string): Promise<[number, number]> {
  const out = await target.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return [
    Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  ];
}

/** The approximate counts SQS keeps (they lag by a few seconds on AWS). */
export async function countDlqs(target: Target, subscribers: readonly string[]) {
  const counts: QueueCounts[] = [];
  for (const subscriber of subscribers) {
    const pair = subscriberQueues(target, subscriber);
    const [dead, reading] = await attributes(target, pair.dlqUrl);
    const [waiting, processing] = await attributes(target, pair.queueUrl);
    counts.push({ subscriber, dead: dead + reading, backlog: waiting + processing });
  }
  return counts;
}

export interface PeekedMessage {
  readonly messageId: string;
  /** The envelope's id and type; absent for a message that is no hookonce envelope. */
  readonly eventId?: string;
  readonly type?: string;
  readonly receiveCount: number;
  /** When the message was first sent to the subscriber's queue (epoch ms). */
  readonly sentAt?: number;
  /** The last failure the guard recorded on the event's claim, where known. */
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  /** The start of a body that is not an envelope. */
  readonly preview?: string;
}

/**
 * The first `max` messages of a subscriber's DLQ, left where they are: each
 * receive asks for a visibility timeout of 0, so every message is visible again
 * at once, and receives go on until one brings nothing new. (Receiving counts:
 * ApproximateReceiveCount goes up by one.) Not ChangeMessageVisibility: fauxqs
 * with a data folder fails it for a timeout of 0, and loses the message.
 */
export async function peekDlq(
  target: Target,
  subscriber: string,
  max: number,
): Promise<PeekedMessage[]> {
  const { dlqUrl } = subscriberQueues(target, subscriber);
  const received = new Map<string, Message>();
  for (let stale = 0; received.size < max && stale < 2; ) {
    const out = await target.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        MessageAttributeNames: ['All'],
      }),
    );
    const fresh = (out.Messages ?? []).filter((m) => m.MessageId && !received.has(m.MessageId));
    // AWS samples a subset of its servers per receive: one empty answer is not the end.
    stale = fresh.length === 0 ? stale + 1 : 0;
    for (const m of fresh.slice(0, max - received.size)) received.set(m.MessageId as string, m);
  }

  const claims = new ClaimStore({
    client: target.dynamodb,
    tableName: target.consumerTable,
    retentionSeconds: 0,
  });
  const peeked: PeekedMessage[] = [];
  for (const m of received.values()) {
    const base = {
      messageId: m.MessageId ?? '',
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
      sentAt: m.Attributes?.SentTimestamp ? Number(m.Attributes.SentTimestamp) : undefined,
    };
    const envelope = parseEnvelope(m.Body ?? '');
    if (!envelope) {
      peeked.push({ ...base, preview: (m.Body ?? '').slice(0, 80) });
      continue;
    }
    const claim = await claims.get(subscriber, envelope.id).catch(() => undefined);
    peeked.push({
      ...base,
      eventId: envelope.id,
      type: envelope.type,
      ...(claim?.lastError ? { lastError: claim.lastError, lastErrorAt: claim.lastErrorAt } : {}),
    });
  }
  return peeked;
}

function parseEnvelope(body: string): { id: string; type?: string } | undefined {
  try {
    const value = JSON.parse(body) as { id?: unknown; type?: unknown; specversion?: unknown };
    if (typeof value.id !== 'string' || value.specversion !== '1.0') return undefined;
    return { id: value.id, type: typeof value.type === 'string' ? value.type : undefined };
  } catch {
    return undefined;
  }
}

export interface RedriveReport {
  /** How the messages moved. */
  readonly method: 'StartMessageMoveTask' | 'receive, send, delete';
  /** Why the move task was not used, when it was not. */
  readonly fallbackReason?: string;
  readonly moved: number;
  readonly failed: number;
}

/** The answers of an endpoint that has no StartMessageMoveTask (fauxqs, older emulators). */
const UNSUPPORTED =
  /InvalidAction|UnsupportedOperation|UnknownOperation|not supported|Unknown action/i;

/**
 * Moves every message of a subscriber's DLQ back to its queue, where its
 * consumer takes them again (the guard runs each effect at most once more,
 * and never again for an event it completed). On AWS with SQS's own move task
 * (StartMessageMoveTask, polled until it ends); where the endpoint lacks it,
 * by receiving from the DLQ, sending to the queue and deleting what was sent.
 */
export async function redriveDlq(
  target: Target,
  subscriber: string,
  progress: Progress,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<RedriveReport> {
  const pair = subscriberQueues(target, subscriber);
  const [dead] = await attributes(target, pair.dlqUrl);
  progress.setTotal(dead);
  let handle: string | undefined;
  try {
    const out = await target.sqs.send(
      new StartMessageMoveTaskCommand({ SourceArn: pair.dlqArn, DestinationArn: pair.queueArn }),
    );
    handle = out.TaskHandle;
  } catch (error) {
    const text = `${(error as Error).name}: ${(error as Error).message}`;
    if (!UNSUPPORTED.test(text)) throw error;
    try {
      return { ...(await moveByHand(target, pair, progress, wait)), fallbackReason: text };
    } finally {
      progress.done();
    }
  }
  try {
    for (;;) {
      const tasks = await target.sqs.send(
        new ListMessageMoveTasksCommand({ SourceArn: pair.dlqArn, MaxResults: 10 }),
      );
      const task = tasks.Results?.find((t) => t.TaskHandle === handle) ?? tasks.Results?.[0];
      const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
      if (task?.ApproximateNumberOfMessagesToMove) {
        progress.setTotal(task.ApproximateNumberOfMessagesToMove);
      }
      progress.update(moved, 'moved');
      if (task && task.Status !== 'RUNNING') {
        if (task.Status !== 'COMPLETED') {
          throw new Error(
            `the move task ended ${task.Status}${task.FailureReason ? `: ${task.FailureReason}` : ''}`,
          );
        }
        return { method: 'StartMessageMoveTask', moved, failed: 0 };
      }
      await wait(2_000);
    }
  } finally {
    progress.done();
  }
}

async function moveByHand(
  target: Target,
  pair: { queueUrl: string; dlqUrl: string },
  progress: Progress,
  wait: (ms: number) => Promise<void>,
): Promise<{ method: 'receive, send, delete'; moved: number; failed: number }> {
  let moved = 0;
  let failed = 0;
  let idle = 0;
  for (;;) {
    const out = await target.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pair.dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 60,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) {
      // Messages someone is reading (a peek a moment ago) come back shortly: wait a little for them.
      const [, inFlight] = await attributes(target, pair.dlqUrl);
      if (inFlight > 0 && idle < IN_FLIGHT_WAITS) {
        idle += 1;
        await wait(1_000);
        continue;
      }
      break;
    }
    idle = 0;
    const sent = await target.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: pair.queueUrl,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body ?? '',
          ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length > 0
            ? { MessageAttributes: m.MessageAttributes }
            : {}),
        })),
      }),
    );
    // Only what reached the queue leaves the DLQ. Should the delete fail, the
    // message is sent twice, and the guard runs its effect once.
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = messages.filter((_, i) => ok.has(String(i)));
    failed += messages.length - done.length;
    if (done.length > 0) {
      await target.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: pair.dlqUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    moved += done.length;
    progress.update(moved, 'moved');
    if (done.length === 0) break; // the queue refuses them all: stop rather than spin
  }
  return { method: 'receive, send, delete', moved, failed };
}

/** Seconds a redrive by hand waits for messages in flight in the DLQ to come back. */
const IN_FLIGHT_WAITS = 5;

type Action = 'list' | 'peek' | 'redrive';
const ACTIONS: readonly Action[] = ['list', 'peek', 'redrive'];

export interface DlqOptions {
  readonly action: Action;
  readonly subscriber?: string;
  readonly max: number;
  readonly stack?: string;
  readonly region?: string;
}

export function parseDlqArgs(args: readonly string[]): DlqOptions | 'help' {
  const parsed = parseRaw(args);
  const v = parsed.values;
  if (v.help) return 'help';
  const [action, ...extra] = parsed.positionals;
  if (!action || !(ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(
      `say what to do: ${ACTIONS.join(', ')}${action ? ` (not "${action}")` : ''}`,
    );
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (action !== 'list' && !v.subscriber) {
    throw new UsageError(`dlq ${action} needs --subscriber NAME`);
  }
  const max = v.max === undefined ? 10 : Number(v.max);
  if (!Number.isInteger(max) || max < 1 || max > 100) {
    throw new UsageError('--max is a whole number from 1 to 100');
  }
  return {
    action: action as Action,
    subscriber: v.subscriber,
    max,
    stack: v.stack,
    region: v.region,
  };
}

function parseRaw(args: readonly string[]) {
  return parseCommandArgs(args, {
    subscriber: { type: 'string', short: 's' },
    max: { type: 'string' },
    stack: { type: 'string' },
    region: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

const time = (ms: number | undefined): string =>
  ms === undefined ? '?' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const plural = (n: number, one: string, many = `${one}s`): string =>
  `${fmt(n)} ${n === 1 ? one : many}`;

export async function runDlq(
  args: readonly string[],
  io: CliIo,
  declaration: ResolvedDeclaration = resolveDeclaration(defaultDeclaration),
  stream: ProgressStream | undefined = process.stderr,
): Promise<number> {
  const options = parseDlqArgs(args);
  if (options === 'help') {
    io.out(`usage: ${dlqCommand.usage}\n\n${dlqCommand.help}`);
    return 0;
  }
  return withTarget(
    'dlq',
    { ...options, env: io.env, cwd: io.cwd, declaration },
    io,
    async (target) => {
      switch (options.action) {
        case 'list': {
          const names = options.subscriber ? [options.subscriber] : Object.keys(target.subscribers);
          const counts = await countDlqs(target, names);
          const width = Math.max(10, ...names.map((n) => n.length));
          io.out(`dead-letter queues of ${target.description}`);
          io.out(`  ${'subscriber'.padEnd(width)}  in DLQ  in queue`);
          for (const c of counts) {
            io.out(
              `  ${c.subscriber.padEnd(width)}  ${fmt(c.dead).padStart(6)}  ${fmt(c.backlog).padStart(8)}`,
            );
          }
          return 0;
        }
        case 'peek': {
          const subscriber = options.subscriber as string;
          const [count] = await countDlqs(target, [subscriber]);
          const messages = await peekDlq(target, subscriber, options.max);
          const dead = count?.dead ?? 0;
          io.out(
            `${subscriber}'s DLQ on ${target.description}: ${plural(dead, 'message')}${messages.length < dead ? `, the first ${fmt(messages.length)} shown` : ''} (left in place)`,
          );
          for (const m of messages) {
            if (!m.eventId) {
              io.out(
                `  (not a hookonce envelope) message ${m.messageId}, received ${m.receiveCount}× (this peek included): ${JSON.stringify(m.preview)}`,
              );
              continue;
            }
            io.out(
              `  ${m.eventId}  ${m.type ?? '?'}  received ${m.receiveCount}× (this peek included), first sent ${time(m.sentAt)}`,
            );
            io.out(
              m.lastError
                ? `    last error (${time(m.lastErrorAt)}): ${m.lastError}`
                : '    last error: not recorded (the consumer timed out or crashed, or its claim has expired)',
            );
          }
          return 0;
        }
        case 'redrive': {
          const subscriber = options.subscriber as string;
          const report = await redriveDlq(target, subscriber, progressBar(stream, 'redrive', 0));
          // The fallback is expected where the endpoint lacks move tasks (fauxqs):
          // one plain clause, not the SDK's error.
          const how =
            report.method === 'StartMessageMoveTask'
              ? 'by an SQS message move task'
              : `by receive, send and delete (${target.endpoint ? 'the local emulator has' : 'this endpoint has'} no SQS message move task)`;
          io.out(
            `moved ${plural(report.moved, 'message')} from ${subscriber}'s DLQ back to its queue, ${how}`,
          );
          if (report.failed > 0) io.err(`${plural(report.failed, 'message')} could not be moved`);
          const [after] = await countDlqs(target, [subscriber]);
          io.out(`${subscriber}'s DLQ now holds ${plural(after?.dead ?? 0, 'message')}`);
          return report.failed > 0 ? 1 : 0;
        }
      }
    },
  );
}

export const dlqCommand: Command = {
  name: 'dlq',
  summary: 'count, show and redrive the messages in subscribers’ dead-letter queues',
  usage: 'hookonce dlq list|peek|redrive [--subscriber NAME] [--max N] [--stack NAME]',
  help: `A message lands in a subscriber's DLQ after its consumer failed it
maxReceiveCount times. Find out why, fix the cause, then move it back.

  list                 how many messages each subscriber's DLQ holds
  peek                 the first messages of one DLQ: event id, type, how often
                       it was received, and the last error the consumer's guard
                       recorded; they stay in the DLQ
  redrive              moves every message of one DLQ back to the subscriber's
                       queue (SQS StartMessageMoveTask on AWS; receive, send and
                       delete where the endpoint lacks it, as locally). The
                       guard never applies an event twice, so a redrive is safe

  -s, --subscriber NAME  the subscriber; list: every one when left out
      --max N            peek: how many messages to show (default 10, up to 100)
      --stack NAME       a deployed stack (names from its outputs); default: the
                         local runtime, from .hookonce/local.json
      --region R         the stack's region
  -h, --help             this help

Examples:
  npx hookonce dlq list
  npx hookonce dlq peek --subscriber billing
  npx hookonce dlq redrive --subscriber billing --stack Hookonce`,
  async run(args, io) {
    return runDlq(args, io, (await loadDeclaration(io)).declaration);
  },
};
