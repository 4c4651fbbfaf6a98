import { once } from 'node:events';
import { styleText } from 'node:util';
import {
  type ResolvedDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import {
  type ActivityQuery,
  type ActivitySource,
  matches,
  OUTCOMES,
  type RequestOutcome,
  type RequestRecord,
  requestFromLog,
  STREAM_EVENT,
} from '../console/activity.ts';
import { type CloudWatchReadError, cloudWatchPort, LogsActivity } from '../console/cloudwatch.ts';
import { declaration as defaultDeclaration } from '../hookonce.config.ts';
import { type CliIo, type Command, parseCommandArgs, UsageError } from './command.ts';
import { loadDeclaration } from './config.ts';
import { activityNamesFromOutputs, localConsole } from './console-target.ts';
import { readSse, SseConnectError } from './sse.ts';
import { withTarget } from './target.ts';

/**
 * `hookonce tail`: every webhook request as it ends, one aligned line each,
 * like `stripe listen`. Locally it reads the console's event stream (the
 * console `npm start` serves); with `--stack` it polls the ingest function's
 * log group (LogsActivity.watch).
 */

export interface TailOptions {
  readonly stack?: string;
  readonly region?: string;
  readonly provider?: string;
  readonly outcome?: RequestOutcome;
  /** A prefix of the provider's event type. */
  readonly type?: string;
  readonly json: boolean;
  /** How many of the newest requests to show first, oldest of them first. */
  readonly recent?: number;
  /** Keep showing requests as they end (false: only the recent ones, then exit). */
  readonly follow: boolean;
}

export function parseTailArgs(args: readonly string[]): TailOptions | 'help' {
  const parsed = parseRaw(args);
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  }
  if (v.outcome !== undefined && !OUTCOMES.includes(v.outcome as RequestOutcome)) {
    throw new UsageError(`--outcome is one of ${OUTCOMES.join(', ')}`);
  }
  if (v.region !== undefined && v.stack === undefined) {
    throw new UsageError('--region goes with --stack');
  }
  let recent: number | undefined;
  if (v.recent !== undefined) {
    recent = Number(v.recent);
    if (!/^\d+$/.test(v.recent) || recent < 1 || recent > 1000) {
      throw new UsageError(`--recent is a number from 1 to 1000, got "${v.recent}"`);
    }
  }
  const follow = v.follow ?? true;
  if (!follow && recent === undefined) {
    throw new UsageError('--no-follow goes with --recent N: it shows the newest N and exits');
  }
  return {
    recent,
    follow,
    stack: v.stack,
    region: v.region,
    provider: v.provider,
    outcome: v.outcome as RequestOutcome | undefined,
    type: v.type,
    json: v.json ?? false,
  };
}

function parseRaw(args: readonly string[]) {
  return parseCommandArgs(
    args,
    {
      stack: { type: 'string' },
      region: { type: 'string' },
      provider: { type: 'string' },
      outcome: { type: 'string' },
      type: { type: 'string' },
      json: { type: 'boolean' },
      recent: { type: 'string' },
      follow: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
}

type Style = Parameters<typeof styleText>[0];

/** The colour of a status: green 2xx, yellow 4xx, red 5xx. */
const statusStyle = (status: number): Style =>
  status >= 500
    ? 'red'
    : status >= 400
      ? 'yellow'
      : status >= 200 && status < 300
        ? 'green'
        : 'white';

/**
 * Turns records into aligned lines: time, provider, status, outcome (and its
 * reason), delivery id, type, ms. A column widens when a longer value comes,
 * and stays that wide. Colour only when asked (a terminal, without NO_COLOR).
 */
export class TailFormatter {
  readonly #color: boolean;
  readonly #time: Intl.DateTimeFormat;
  /** provider, outcome, delivery id, type: their minimum widths, then the widest seen. */
  readonly #widths = [8, 28, 24, 16];

  constructor(options: { readonly color: boolean; readonly timeZone?: string }) {
    this.#color = options.color;
    this.#time = new Intl.DateTimeFormat('en-GB', {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    });
  }

  line(record: RequestRecord): string {
    const paint = (style: Style, text: string) =>
      this.#color ? styleText(style, text, { validateStream: false }) : text;
    const cells = [
      record.provider ?? '-',
      `${record.outcome}${record.reason ? ` ${record.reason}` : ''}`,
      record.deliveryId ?? '-',
      record.eventType ?? '-',
    ];
    const padded = cells.map((cell, i) => {
      this.#widths[i] = Math.max(this.#widths[i] ?? 0, cell.length);
      return cell.padEnd(this.#widths[i] ?? 0);
    });
    const style = statusStyle(record.status);
    const ms = record.ms === undefined ? '' : `${String(Math.round(record.ms)).padStart(5)} ms`;
    return [
      paint('gray', this.#time.format(record.time)),
      padded[0],
      paint(style, String(record.status)),
      paint(style, padded[1] ?? ''),
      padded[2],
      padded[3],
      paint('gray', ms),
    ]
      .join('  ')
      .trimEnd();
  }
}

/** A record from the console's stream (one RequestRecord as JSON), or undefined. */
export function recordFromStream(data: string): RequestRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  return requestFromLog({ ...fields, timestamp: fields.time });
}

/** Calls `onRecord` with what `activity` finds, until `signal` aborts. */
export async function followActivity(
  activity: Pick<ActivitySource, 'watch'>,
  onRecord: (record: RequestRecord) => void,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return;
  const stop = activity.watch(onRecord);
  try {
    await once(signal, 'abort');
  } finally {
    stop();
  }
}

/** Errors that polling again will not cure: missing rights, a log group that is not there, bad credentials. */
const FATAL =
  /AccessDenied|NotFound|UnrecognizedClient|ExpiredToken|InvalidClientTokenId|CredentialsProviderError|InvalidParameter/;

export interface TailDeps {
  /** Whether stdout is a terminal (colour). @default process.stdout.isTTY */
  readonly isTTY?: boolean;
  /** Calls `stop` on Ctrl-C; answers how to stop listening. @default SIGINT and SIGTERM */
  readonly onInterrupt?: (stop: () => void) => () => void;
  /** The time zone of the times shown. @default the system's */
  readonly timeZone?: string;
}

const onSignals = (stop: () => void): (() => void) => {
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
};

export async function runTail(
  args: readonly string[],
  io: CliIo,
  deps: TailDeps = {},
  declaration: ResolvedDeclaration = resolveDeclaration(defaultDeclaration),
): Promise<number> {
  const options = parseTailArgs(args);
  if (options === 'help') {
    io.out(`usage: ${tailCommand.usage}\n\n${tailCommand.help}`);
    return 0;
  }
  const filter: ActivityQuery = {
    provider: options.provider,
    outcome: options.outcome,
    type: options.type,
  };
  const color = (deps.isTTY ?? process.stdout.isTTY ?? false) && !io.env.NO_COLOR;
  const formatter = new TailFormatter({ color, timeZone: deps.timeZone });
  const show = (record: RequestRecord) => {
    if (!matches(record, filter)) return;
    io.out(options.json ? JSON.stringify(record) : formatter.line(record));
  };
  const abort = new AbortController();
  const removeInterrupt = options.follow
    ? (deps.onInterrupt ?? onSignals)(() => abort.abort())
    : () => undefined;
  try {
    if (options.stack) return await tailStack(options.stack, options, io, declaration, show, abort);
    return await tailLocal(io, filter, show, abort.signal, options);
  } finally {
    removeInterrupt();
  }
}

async function tailLocal(
  io: CliIo,
  filter: ActivityQuery,
  show: (record: RequestRecord) => void,
  signal: AbortSignal,
  options: Pick<TailOptions, 'recent' | 'follow'>,
): Promise<number> {
  const local = localConsole(io.env, io.cwd);
  if (local.url === undefined) {
    io.err(`hookonce tail: ${local.problem}`);
    return 1;
  }
  // The console filters the stream too: only what passes comes over the wire.
  const params = new URLSearchParams(
    Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  if (options.recent !== undefined) {
    const query = new URLSearchParams(params);
    query.set('limit', String(options.recent));
    let answer: Response;
    try {
      answer = await io.fetch(`${local.url}/api/requests?${query}`);
    } catch {
      io.err(`hookonce tail: nothing answers at ${local.url}: is npm start running?`);
      return 1;
    }
    if (!answer.ok) {
      io.err(`hookonce tail: the console answered ${answer.status} for the recent requests`);
      return 1;
    }
    const { requests } = (await answer.json()) as { requests: unknown[] };
    const records = requests
      .map((r) => recordFromStream(JSON.stringify(r)))
      .filter((r): r is RequestRecord => r !== undefined);
    for (const record of records.reverse()) show(record);
    if (!options.follow) return 0;
  }
  const url = `${local.url}/api/stream${params.size > 0 ? `?${params}` : ''}`;
  try {
    const end = await readSse(
      io.fetch,
      url,
      (event) => {
        if (event.event !== STREAM_EVENT) return;
        const record = recordFromStream(event.data);
        if (record) show(record);
      },
      signal,
      () =>
        io.err(
          `tail of the local runtime (${local.file}, console ${local.url}): each webhook request as it ends; Ctrl-C to stop`,
        ),
    );
    if (end === 'aborted') return 0;
    io.err(`hookonce tail: the console at ${local.url} ended the stream: did npm start stop?`);
    return 1;
  } catch (error) {
    if (error instanceof SseConnectError) {
      io.err(`hookonce tail: ${error.message}: is npm start running?`);
      return 1;
    }
    throw error;
  }
}

async function tailStack(
  stack: string,
  options: TailOptions,
  io: CliIo,
  declaration: ResolvedDeclaration,
  show: (record: RequestRecord) => void,
  abort: AbortController,
): Promise<number> {
  return withTarget(
    'tail',
    { stack, region: options.region, env: io.env, cwd: io.cwd, declaration },
    io,
    async (target) => {
      const names = activityNamesFromOutputs(target.outputs ?? {}, stack);
      const port = cloudWatchPort(target.region);
      let fatal = false;
      const activity = new LogsActivity({
        port,
        logGroup: names.logGroup,
        metrics: names.metrics,
        onWatchError: (error: CloudWatchReadError) => {
          io.err(`hookonce tail: ${error.message}`);
          const cause = error.cause as Error | undefined;
          if (FATAL.test(`${cause?.name ?? ''} ${cause?.message ?? ''}`)) {
            fatal = true;
            abort.abort();
          }
        },
      });
      if (options.recent !== undefined) {
        const recent = await activity.recent({
          provider: options.provider,
          outcome: options.outcome,
          type: options.type,
          limit: options.recent,
        });
        for (const record of recent.reverse()) show(record);
        if (!options.follow) {
          port.close();
          return 0;
        }
      }
      io.err(
        `tail of ${target.description}: log group ${names.logGroup}, polled every 2 s with FilterLogEvents (lines show a few seconds after the request); Ctrl-C to stop`,
      );
      try {
        await followActivity(activity, show, abort.signal);
      } finally {
        port.close();
      }
      return fatal ? 1 : 0;
    },
  );
}

export const tailCommand: Command = {
  name: 'tail',
  summary: 'every webhook request as it ends, one line each (local, or a deployed stack)',
  usage:
    'hookonce tail [--stack NAME [--region R]] [--provider P] [--outcome O] [--type PREFIX] [--recent N [--no-follow]] [--json]',
  help: `Shows each webhook request as it ends: the time, the provider, the HTTP
status, the outcome (with the reason of a refusal or the dependency that
failed), the delivery id, the event type and the time the ingest function took.
Ctrl-C stops it.

Locally it follows the console that npm start serves (its URL is in
.hookonce/local.json). With --stack it reads the ingest function's log group of
a deployed stack with your AWS credentials: FilterLogEvents every 2 seconds,
which CloudWatch does not charge for but throttles per account and region;
lines show a few seconds after their request.

      --stack NAME       a deployed stack (its outputs name the log group)
      --region R         the stack's region
      --provider P       only this provider's requests
      --outcome O        only this outcome: ${OUTCOMES.join(', ')}
      --type PREFIX      only event types that start with PREFIX (invoice.)
      --recent N         first the newest N requests (with --stack: a Logs Insights
                         query over the last hour, billed by the bytes it scans)
      --no-follow        with --recent: show those and exit
      --json             one JSON object per line instead of the table
  -h, --help             this help

Colour shows on a terminal, unless NO_COLOR is set.

Examples:
  npx hookonce tail
  npx hookonce tail --provider stripe --outcome rejected
  npx hookonce tail --recent 20 --no-follow
  npx hookonce tail --stack Hookonce --region eu-west-1 --json`,
  async run(args, io) {
    return runTail(args, io, {}, (await loadDeclaration(io)).declaration);
  },
};
