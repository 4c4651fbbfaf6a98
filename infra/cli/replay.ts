import {
  DescribeTableCommand,
  type DynamoDBClient,
  ScanCommand,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type DeliveryRecord,
  deliveryPkPrefix,
  fromItem,
} from '../../functions/deliveries/store.ts';
import { encodeEvent } from '../../functions/fanout/envelope.ts';
import { toEpochSeconds } from '../../functions/shared/clock.ts';
import {
  type FilterPolicy,
  matchesFilter,
  matchesFilterPolicy,
  type ResolvedDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { declaration as defaultDeclaration } from '../hookonce.config.ts';
import { type CliIo, type Command, parseCommandArgs, UsageError } from './command.ts';
import { loadDeclaration } from './config.ts';
import { fmt, type Progress, type ProgressStream, progressBar } from './progress.ts';
import { liveFilterPolicy, subscriberQueues, type Target, withTarget } from './target.ts';

export interface ReplayOptions {
  readonly subscriber: string;
  /** Epoch ms, inclusive: deliveries received at or after it. */
  readonly from: number;
  /** Epoch ms, exclusive: deliveries received before it. */
  readonly to: number;
  readonly provider?: string;
  /** An envelope type (`stripe.invoice.paid`) or a prefix ending in `.` or `*`. */
  readonly type?: string;
  readonly dryRun: boolean;
  readonly stack?: string;
  readonly region?: string;
  /** Parallel scan segments. */
  readonly segments: number;
}

export interface ReplayReport {
  /** Items the scan read. */
  scanned: number;
  /** Deliveries received in the window (and of --provider and --type, when given). */
  inWindow: number;
  /** Of those, the ones the subscriber's filter takes: what SNS would have delivered. */
  matched: number;
  sent: number;
  failed: number;
  byType: Record<string, number>;
}

/** SQS takes 10 messages and 256 KiB per SendMessageBatch. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 250 * 1024;
const DEFAULT_SEGMENTS = 4;

/**
 * Sends a subscriber the stored deliveries of a time window again, straight to
 * its queue (no other subscriber sees them), as the envelopes the ingest path
 * published: the same id, so the consumer guard skips what it applied already.
 * The deliveries table has no index on time, so this is a parallel Scan with a
 * filter: it reads the whole table (see docs/operations.md, Replay).
 */
export async function replay(
  target: Target,
  options: ReplayOptions,
  /** The subscriber's filter policy, as SNS applies it (liveFilterPolicy). */
  policy: FilterPolicy | undefined,
  progress: Progress,
  now: number,
): Promise<ReplayReport> {
  const queues = subscriberQueues(target, options.subscriber);
  const report: ReplayReport = {
    scanned: 0,
    inWindow: 0,
    matched: 0,
    sent: 0,
    failed: 0,
    byType: {},
  };
  progress.setTotal(await itemCount(target.dynamodb, target.deliveriesTable));
  const note = () =>
    `scanned · ${fmt(report.matched)} ${options.dryRun ? 'to send' : `sent ${fmt(report.sent)}`}`;

  const values: Record<string, { S: string } | { N: string }> = {
    ':delivery': { S: deliveryPkPrefix(options.provider || undefined) },
    ':from': { N: String(options.from) },
    ':to': { N: String(options.to) },
    ':nowSeconds': { N: String(toEpochSeconds(now)) },
  };
  // A delivery past its retention may linger until TTL removes it; so may its
  // claim, which the guard already counts as absent: such a delivery would apply again.
  const conditions = [
    'begins_with(pk, :delivery)',
    'receivedAt >= :from',
    'receivedAt < :to',
    'expiresAt > :nowSeconds',
  ];

  const segment = async (n: number): Promise<void> => {
    const sender = new BatchSender(target.sqs, queues.queueUrl, report, options.dryRun);
    let start: ScanCommandOutput['LastEvaluatedKey'];
    do {
      const page = await target.dynamodb.send(
        new ScanCommand({
          TableName: target.deliveriesTable,
          Segment: n,
          TotalSegments: options.segments,
          FilterExpression: conditions.join(' AND '),
          ExpressionAttributeValues: values,
          ExclusiveStartKey: start,
        }),
      );
      report.scanned += page.ScannedCount ?? 0;
      for (const item of page.Items ?? []) {
        const record = fromItem(item);
        const attributes = {
          provider: record.provider,
          type: `${record.provider}.${record.eventType}`,
        };
        if (options.type && !matchesFilter({ types: [options.type] }, attributes)) continue;
        report.inWindow += 1;
        // What SNS would not have delivered to this subscriber, replay does not either.
        if (!matchesFilterPolicy(policy, attributes)) continue;
        report.matched += 1;
        report.byType[attributes.type] = (report.byType[attributes.type] ?? 0) + 1;
        // Built as the ingest path and the sweeper build it: the same envelope, the same id.
        await sender.add(encodeEvent(record).message, attributes);
      }
      progress.update(report.scanned, note());
      start = page.LastEvaluatedKey;
    } while (start);
    await sender.flush();
    progress.update(report.scanned, note());
  };
  try {
    await Promise.all(Array.from({ length: options.segments }, (_, n) => segment(n)));
  } finally {
    progress.done();
  }
  return report;
}

/** What sending one stored delivery again to a subscriber did. */
export type ReplayOneOutcome =
  | { readonly sent: true }
  | { readonly sent: false; readonly why: 'filtered' | 'expired' | 'failed' };

/**
 * Sends one stored delivery again to one subscriber's queue, as replay() sends
 * each delivery of a window: the envelope the ingest path published (the same
 * id, so the guard skips it if the consumer applied it), the attributes SNS
 * sets, only if the subscriber's filter policy takes it, and never a delivery
 * past its retention. The console's "replay to a subscriber" is this.
 */
export async function replayDelivery(
  target: Target,
  subscriber: string,
  record: DeliveryRecord,
  policy: FilterPolicy | undefined,
  now: number,
): Promise<ReplayOneOutcome> {
  const queues = subscriberQueues(target, subscriber);
  if (record.expiresAt <= toEpochSeconds(now)) return { sent: false, why: 'expired' };
  const attributes = { provider: record.provider, type: `${record.provider}.${record.eventType}` };
  if (!matchesFilterPolicy(policy, attributes)) return { sent: false, why: 'filtered' };
  const report: ReplayReport = {
    scanned: 1,
    inWindow: 1,
    matched: 1,
    sent: 0,
    failed: 0,
    byType: {},
  };
  const sender = new BatchSender(target.sqs, queues.queueUrl, report, false);
  await sender.add(encodeEvent(record).message, attributes);
  await sender.flush();
  return report.sent === 1 ? { sent: true } : { sent: false, why: 'failed' };
}

/** DynamoDB's item count of the table (refreshed about every six hours on AWS): the bar's estimate. */
async function itemCount(client: DynamoDBClient, table: string): Promise<number> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: table }));
    return out.Table?.ItemCount ?? 0;
  } catch {
    return 0; // no dynamodb:DescribeTable: the bar counts without a total
  }
}

/** Groups messages into SendMessageBatch calls within SQS's limits. */
class BatchSender {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  readonly #report: ReplayReport;
  readonly #dryRun: boolean;
  #entries: SendMessageBatchRequestEntry[] = [];
  #bytes = 0;

  constructor(sqs: SQSClient, queueUrl: string, report: ReplayReport, dryRun: boolean) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
    this.#report = report;
    this.#dryRun = dryRun;
  }

  async add(body: string, attributes: { provider: string; type: string }): Promise<void> {
    if (this.#dryRun) return;
    const bytes =
      Buffer.byteLength(body) + Buffer.byteLength(attributes.provider + attributes.type) + 64;
    if (this.#entries.length === BATCH_ENTRIES || this.#bytes + bytes > BATCH_BYTES) {
      await this.flush();
    }
    this.#entries.push({
      Id: String(this.#entries.length),
      MessageBody: body,
      // What SNS puts on every message with raw delivery: filter policies and consumers see the same.
      MessageAttributes: {
        provider: { DataType: 'String', StringValue: attributes.provider },
        type: { DataType: 'String', StringValue: attributes.type },
      },
    });
    this.#bytes += bytes;
  }

  async flush(): Promise<void> {
    let entries = this.#entries;
    this.#entries = [];
    this.#bytes = 0;
    // Entries SQS refused without the sender's fault are tried once more.
    for (let attempt = 0; attempt < 2 && entries.length > 0; attempt++) {
      const out = await this.#sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }),
      );
      this.#report.sent += out.Successful?.length ?? 0;
      const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
      const retry = entries.filter((e) => !failed.get(e.Id)?.SenderFault && failed.has(e.Id));
      this.#report.failed += failed.size - retry.length;
      entries = retry;
    }
    this.#report.failed += entries.length;
  }
}

/** An ISO 8601 date or date-time, as epoch ms. */
export function parseTime(value: string, option: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new UsageError(
      `${option} "${value}" is not an ISO 8601 time, e.g. 2026-11-23 or 2026-11-23T13:00:00Z`,
    );
  }
  return ms;
}

/** A provider's name, as the declaration allows it. */
const PROVIDER = /^[a-z][a-z0-9-]{0,31}$/;
/** An envelope type or a prefix of one, as subscriber filters write them. */
const TYPE = /^[A-Za-z0-9_./:-]+\*?$/;

export function parseReplayArgs(args: readonly string[], now: number): ReplayOptions | 'help' {
  const parsed = parseRaw(args);
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  }
  if (!v.subscriber) throw new UsageError('name the subscriber to replay to with --subscriber');
  if (!v.from) throw new UsageError('give the window with --from (and --to, default now)');
  const from = parseTime(v.from, '--from');
  const to = v.to ? parseTime(v.to, '--to') : now;
  if (from >= to) throw new UsageError('--from must come before --to');
  if (v.provider !== undefined && !PROVIDER.test(v.provider)) {
    throw new UsageError(`--provider "${v.provider}" is no provider name`);
  }
  if (v.type !== undefined && (!TYPE.test(v.type) || v.type === '*')) {
    throw new UsageError(
      `--type "${v.type}" is neither an event type (stripe.invoice.paid) nor a prefix of one ending in "." or "*"`,
    );
  }
  const segments = v.segments === undefined ? DEFAULT_SEGMENTS : Number(v.segments);
  if (!Number.isInteger(segments) || segments < 1 || segments > 1000) {
    throw new UsageError('--segments is a whole number from 1 to 1000');
  }
  return {
    subscriber: v.subscriber,
    from,
    to,
    provider: v.provider,
    type: v.type,
    dryRun: v['dry-run'] ?? false,
    stack: v.stack,
    region: v.region,
    segments,
  };
}

function parseRaw(args: readonly string[]) {
  return parseCommandArgs(args, {
    subscriber: { type: 'string', short: 's' },
    from: { type: 'string' },
    to: { type: 'string' },
    provider: { type: 'string', short: 'p' },
    type: { type: 'string', short: 't' },
    'dry-run': { type: 'boolean', short: 'n' },
    stack: { type: 'string' },
    region: { type: 'string' },
    segments: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

/** The two lines replay prints before it starts: what it replays, to whom, through which filter. */
export function replayHeader(
  options: ReplayOptions,
  policy: FilterPolicy | undefined,
  where: string,
): string[] {
  const name = options.subscriber;
  return [
    `replay to ${name} on ${where}: deliveries received from ${new Date(options.from).toISOString()} to ${new Date(options.to).toISOString()}${options.provider ? `, provider ${options.provider}` : ''}${options.type ? `, type ${options.type}` : ''}`,
    `  ${name}'s filter policy: ${policy ? JSON.stringify(policy) : 'none (every event)'}`,
  ];
}

const events = (n: number): string => `${fmt(n)} event${n === 1 ? '' : 's'}`;

/** What replay did, as the command prints it at the end. */
export function replaySummary(options: ReplayOptions, report: ReplayReport): string[] {
  const name = options.subscriber;
  const lines = [
    `scanned ${fmt(report.scanned)} deliveries (${options.segments} segment${options.segments === 1 ? '' : 's'}): ${fmt(report.inWindow)} in the window, ${fmt(report.matched)} that ${name}'s filter takes`,
  ];
  const types = Object.entries(report.byType).sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(0, ...types.map(([t]) => t.length));
  for (const [type, n] of types) lines.push(`  ${type.padEnd(width)}  ${fmt(n)}`);
  if (options.dryRun) {
    lines.push(
      `dry run: would send ${events(report.matched)} to ${name}'s queue; nothing was sent`,
    );
  } else {
    lines.push(
      `sent ${events(report.sent)} to ${name}'s queue${report.failed > 0 ? `; ${fmt(report.failed)} could not be sent` : ''}; its consumer skips the ones it has applied already`,
    );
  }
  return lines;
}

export async function runReplay(
  args: readonly string[],
  io: CliIo,
  declaration: ResolvedDeclaration = resolveDeclaration(defaultDeclaration),
  stream: ProgressStream | undefined = process.stderr,
): Promise<number> {
  const options = parseReplayArgs(args, io.now());
  if (options === 'help') {
    io.out(`usage: ${replayCommand.usage}\n\n${replayCommand.help}`);
    return 0;
  }
  return withTarget(
    'replay',
    { ...options, env: io.env, cwd: io.cwd, declaration },
    io,
    async (target) => {
      subscriberQueues(target, options.subscriber);
      const policy = await liveFilterPolicy(target, options.subscriber);
      for (const line of replayHeader(options, policy, target.description)) io.out(line);
      const report = await replay(
        target,
        options,
        policy,
        progressBar(stream, 'replay', 0),
        io.now(),
      );
      for (const line of replaySummary(options, report)) io.out(line);
      return report.failed > 0 ? 1 : 0;
    },
  );
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'send a subscriber the stored deliveries of a time window again',
  usage:
    'hookonce replay --subscriber NAME --from ISO [--to ISO] [--provider P] [--type T] [--dry-run] [--stack NAME]',
  help: `Finds the deliveries hookonce received in a time window and sends them again
to one subscriber's queue only, as the same events (same ids): its consumer's
exactly-once guard skips every one it has applied already, so replaying is safe
to repeat. Only what the subscriber's filter policy takes is sent (the policy
of its subscription, as SNS applies it now).

  -s, --subscriber NAME  the subscriber to replay to
      --from ISO         from this time, inclusive (2026-11-23, 2026-11-23T13:00:00Z)
      --to ISO           to this time, exclusive (default: now)
  -p, --provider P       only this provider's deliveries
  -t, --type T           only this event type (stripe.invoice.paid), or a prefix
                         ending in "." or "*" (stripe.invoice.)
  -n, --dry-run          count what would be sent, send nothing
      --stack NAME       a deployed stack (names from its outputs; AWS credentials
                         and region from the environment, or --region); default:
                         the local runtime, from .hookonce/local.json
      --region R         the stack's region
      --segments N       parallel scan segments (default ${DEFAULT_SEGMENTS})
  -h, --help             this help

The deliveries table is indexed by delivery id, not by time: replay scans the
whole table (a read of every item, in parallel segments) and filters. Deliveries
are kept for the retention window (retentionDays, default 7), so that is as far
back as a replay reaches. A progress bar shows on a terminal (stderr).

Examples:
  npx hookonce replay --subscriber billing --from 2026-11-23T00:00:00Z --dry-run
  npx hookonce replay --subscriber billing --from 2026-11-23 --to 2026-11-24 --type stripe.invoice.
  npx hookonce replay --subscriber billing --from 2026-11-23 --stack Hookonce --region eu-west-1`,
  async run(args, io) {
    return runReplay(args, io, (await loadDeclaration(io)).declaration);
  },
};
