/**
 * The console's activity on a deployed stack, read from CloudWatch with the
 * operator's own credentials:
 *
 * - the timeline (`recent`): a Logs Insights query over the ingest function's
 *   log group, for the one line that ends each request (`outcome`, `status`,
 *   `ms`), with the page's filters in the query, over a bounded window (the
 *   last hour by default): Insights bills the bytes it scans;
 * - the live view (`watch`, `hookonce tail`): FilterLogEvents with the JSON
 *   pattern `{ $.outcome = * }`, polled every few seconds from where the last
 *   poll was. FilterLogEvents has no per-byte charge and answers in about a
 *   second, where an Insights query takes seconds to schedule and bills each
 *   poll for the window it scans again; it is throttled per account (a few
 *   requests a second), so one poll loop serves every watcher;
 * - the counts per minute (`perMinute`) and the consumers' outcomes
 *   (`MetricsConsumerStats`): one GetMetricData call each, of the EMF metrics
 *   the functions already write (functions/shared/metrics.ts); an answer
 *   serves the pages' frequent refreshes for 30 s, since the metrics move by
 *   the minute and GetMetricData is billed per metric asked for.
 *
 * The SDK calls sit behind a small port ({@link CloudWatchPort}); what is
 * asked and what the answers mean are plain functions beside it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type {
  GetMetricDataInput,
  GetMetricDataOutput,
  MetricDataQuery,
  MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CloudWatchLogsClient,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  type FilterLogEventsRequest,
  type FilterLogEventsResponse,
  GetQueryResultsCommand,
  type GetQueryResultsResponse,
  type ResultField,
  StartQueryCommand,
  type StartQueryRequest,
  type StartQueryResponse,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  type ActivityQuery,
  type ActivitySource,
  type ConsumerCounts,
  type ConsumerStats,
  type MinuteCounts,
  matches,
  minutesBetween,
  OUTCOMES,
  type RequestRecord,
  requestFromLog,
} from './activity.ts';

const MINUTE = 60_000;

/** The calls this module makes, as the SDK clients make them. */
export interface CloudWatchPort {
  startQuery(input: StartQueryRequest): Promise<StartQueryResponse>;
  getQueryResults(input: { queryId: string }): Promise<GetQueryResultsResponse>;
  /** Stops a query that is taking too long: it stops scanning (and billing). */
  stopQuery(input: { queryId: string }): Promise<unknown>;
  filterLogEvents(input: FilterLogEventsRequest): Promise<FilterLogEventsResponse>;
  getMetricData(input: GetMetricDataInput): Promise<GetMetricDataOutput>;
}

/** The port on the real clients, in `region` (the default chain's when absent). */
export function cloudWatchPort(region?: string): CloudWatchPort & { close(): void } {
  const config = region ? { region } : {};
  const logs = new CloudWatchLogsClient(config);
  const metrics = new CloudWatchClient(config);
  return {
    startQuery: (input) => logs.send(new StartQueryCommand(input)),
    getQueryResults: (input) => logs.send(new GetQueryResultsCommand(input)),
    stopQuery: (input) => logs.send(new StopQueryCommand(input)),
    filterLogEvents: (input) => logs.send(new FilterLogEventsCommand(input)),
    getMetricData: (input) => metrics.send(new GetMetricDataCommand(input)),
    close() {
      logs.destroy();
      metrics.destroy();
    },
  };
}

/** Waits `ms`; resolves early, without throwing, when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

/** A CloudWatch read that could not be done, said plainly (the page and `hookonce tail` show it). */
export class CloudWatchReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CloudWatchReadError';
  }
}

/** Whether an SDK error says "too many requests": worth waiting and asking again. */
export function isThrottled(error: unknown): boolean {
  const e = error as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  return (
    e?.$retryable?.throttling === true ||
    e?.$metadata?.httpStatusCode === 429 ||
    /Throttl|LimitExceeded|TooManyRequests|RequestLimitExceeded/.test(e?.name ?? '')
  );
}

const describe = (error: unknown): string =>
  `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;

/** The wait before try `attempt` (0-based) after a throttled one: doubling from `baseMs`, at most `maxMs`. */
export function backoff(attempt: number, baseMs = 500, maxMs = 8_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
}

// ---------------------------------------------------------------------------
// Logs Insights: the timeline

/** The fields of the line that ends a request, as requestFromLog() reads them. */
const INSIGHTS_FIELDS = [
  '@timestamp',
  'outcome',
  'status',
  'ms',
  'provider',
  'deliveryId',
  'providerDeliveryId',
  'eventType',
  'reason',
  'dependency',
];

/** Insights' most rows per query. */
export const INSIGHTS_MAX_LIMIT = 10_000;

/** The timeline's default window: what one page view scans. */
export const DEFAULT_WINDOW_MS = 60 * MINUTE;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkValue(what: string, value: string): void {
  if (CONTROL.test(value)) {
    throw new CloudWatchReadError(`the ${what} filter holds a control character`);
  }
}

/** A Logs Insights string literal: double quotes, with `\` and `"` escaped. */
export function insightsString(value: string): string {
  checkValue('value', value);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A Logs Insights regular expression that matches strings starting with
 * `prefix`, literally: every ASCII punctuation character but `_` (the slash
 * that ends the literal, the dot, brackets, …) is escaped; letters, digits, `_`
 * and other characters stand for themselves.
 */
export function insightsPrefixRegex(prefix: string): string {
  checkValue('type', prefix);
  return `/^${prefix.replace(/[!-/:-@[-^`{-~]/g, (c) => `\\${c}`)}/`;
}

/**
 * The Logs Insights query of the timeline: only lines that end a request, the
 * filters in the query (so only matching rows come back), newest first.
 */
export function insightsQueryString(query: ActivityQuery = {}): string {
  const limit = Math.min(INSIGHTS_MAX_LIMIT, Math.max(1, Math.floor(query.limit ?? 200)));
  const lines = [
    `fields ${INSIGHTS_FIELDS.join(', ')}`,
    '| filter ispresent(outcome) and ispresent(status)',
  ];
  if (query.provider) lines.push(`| filter provider = ${insightsString(query.provider)}`);
  if (query.outcome) {
    if (!OUTCOMES.includes(query.outcome)) {
      throw new CloudWatchReadError(`no outcome "${query.outcome}": ${OUTCOMES.join(', ')}`);
    }
    lines.push(`| filter outcome = ${insightsString(query.outcome)}`);
  }
  if (query.type) lines.push(`| filter eventType like ${insightsPrefixRegex(query.type)}`);
  lines.push('| sort @timestamp desc', `| limit ${limit}`);
  return lines.join('\n');
}

/**
 * The StartQuery request of a timeline view at `now`: the window runs from
 * `query.since` (else `now - windowMs`) to `now`, in whole seconds, widened to
 * hold every millisecond of it.
 */
export function insightsRequest(
  logGroup: string,
  query: ActivityQuery,
  now: number,
  windowMs = DEFAULT_WINDOW_MS,
): StartQueryRequest {
  const from = query.since ?? now - windowMs;
  return {
    logGroupName: logGroup,
    startTime: Math.floor(from / 1000),
    endTime: Math.ceil(now / 1000),
    queryString: insightsQueryString(query),
  };
}

/** One Insights row as an object of its fields (`@ptr` and the like included). */
export function rowObject(row: readonly ResultField[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { field, value } of row) {
    if (field !== undefined && value !== undefined) out[field] = value;
  }
  return out;
}

/**
 * The records of an Insights answer, newest first: rows that are not a
 * request's last line are dropped, and the filters are applied again, exactly
 * (the query's window is in whole seconds).
 */
export function recordsFromRows(
  rows: readonly (readonly ResultField[])[],
  query: ActivityQuery = {},
): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (const row of rows) {
    const record = requestFromLog(rowObject(row));
    if (record && matches(record, query)) out.push(record);
  }
  out.sort((a, b) => b.time - a.time);
  return out.slice(0, query.limit ?? 200);
}

export interface QueryPolling {
  readonly sleep: Sleep;
  /** Gives up when the query has waited this long, summed over the waits. @default 60 s */
  readonly timeoutMs?: number;
  /** First wait between two GetQueryResults; it doubles up to `maxPollMs`. @default 250 */
  readonly firstPollMs?: number;
  /** @default 2,000 */
  readonly maxPollMs?: number;
  /** Throttled tries of one call before giving up. @default 5 */
  readonly maxThrottled?: number;
}

/**
 * Calls `call`, waiting and calling again while it is throttled (at most
 * `maxThrottled` times); any other error, or one throttle too many, is thrown
 * as a CloudWatchReadError naming `what`.
 */
async function unthrottled<T>(
  what: string,
  call: () => Promise<T>,
  polling: QueryPolling,
  waited: { ms: number },
): Promise<T> {
  const max = polling.maxThrottled ?? 5;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottled(error)) {
        throw new CloudWatchReadError(`${what} failed: ${describe(error)}`, { cause: error });
      }
      if (attempt >= max - 1) {
        throw new CloudWatchReadError(
          `${what} was throttled ${max} times in a row (${describe(error)}): too many readers of CloudWatch in this account and region; try again in a minute`,
          { cause: error },
        );
      }
      const wait = backoff(attempt);
      waited.ms += wait;
      await polling.sleep(wait);
    }
  }
}

/**
 * Runs one Logs Insights query to its end: StartQuery, then GetQueryResults
 * with growing waits until it is Complete. Throttling is waited out (a few
 * times); a query that fails, is cancelled, times out on CloudWatch's side or
 * outlasts `timeoutMs` (it is then stopped, so it scans no more) ends in a
 * CloudWatchReadError that says which.
 */
export async function runInsightsQuery(
  port: CloudWatchPort,
  request: StartQueryRequest,
  polling: QueryPolling,
): Promise<ResultField[][]> {
  const timeoutMs = polling.timeoutMs ?? 60_000;
  const waited = { ms: 0 };
  const started = await unthrottled(
    `Logs Insights StartQuery on ${request.logGroupName}`,
    () => port.startQuery(request),
    polling,
    waited,
  );
  const queryId = started.queryId;
  if (!queryId) throw new CloudWatchReadError('Logs Insights StartQuery answered no query id');
  let pause = polling.firstPollMs ?? 250;
  for (;;) {
    const answer = await unthrottled(
      'Logs Insights GetQueryResults',
      () => port.getQueryResults({ queryId }),
      polling,
      waited,
    );
    switch (answer.status) {
      case 'Complete':
        return answer.results ?? [];
      case 'Scheduled':
      case 'Running':
        break;
      case 'Timeout':
        throw new CloudWatchReadError(
          `the Logs Insights query on ${request.logGroupName} timed out on CloudWatch's side: narrow the window or the filters`,
        );
      default:
        throw new CloudWatchReadError(
          `the Logs Insights query on ${request.logGroupName} ended ${answer.status ?? 'with no status'}`,
        );
    }
    if (waited.ms >= timeoutMs) {
      await port.stopQuery({ queryId }).catch(() => undefined);
      throw new CloudWatchReadError(
        `the Logs Insights query on ${request.logGroupName} was still ${answer.status} after ${Math.round(waited.ms / 1000)} s; it was stopped`,
      );
    }
    await polling.sleep(pause);
    waited.ms += pause;
    pause = Math.min(polling.maxPollMs ?? 2_000, pause * 2);
  }
}

// ---------------------------------------------------------------------------
// FilterLogEvents: the live view

/** The JSON filter pattern of the lines that end a request. */
export const TAIL_FILTER_PATTERN = '{ $.outcome = * }';

/** The JSON of a log event's message: the line the function printed, or undefined. */
export function parseLogMessage(message: string | undefined): Record<string, unknown> | undefined {
  if (!message) return undefined;
  // Powertools prints the JSON alone; a line through console.log carries Lambda's prefix.
  const start = message.indexOf('{');
  if (start < 0) return undefined;
  try {
    const value: unknown = JSON.parse(message.slice(start));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The record of a log event, if its message ends a request; timed by the event when the line has no time. */
export function recordFromEvent(event: FilteredLogEvent): RequestRecord | undefined {
  const line = parseLogMessage(event.message);
  if (!line) return undefined;
  return requestFromLog(
    line.timestamp === undefined && event.timestamp !== undefined
      ? { ...line, timestamp: event.timestamp }
      : line,
  );
}

/**
 * Where each poll of a live view starts, and which events it has shown. Each
 * poll asks from a little before the previous poll (`overlapMs`): CloudWatch
 * takes a few seconds to make a line searchable, and lines from concurrent
 * invocations land out of order; the overlap catches the late ones and the
 * event ids keep the others from being shown twice. Ids older than the next
 * poll's start are forgotten.
 */
export class TailCursor {
  readonly #overlapMs: number;
  /** Never ask from before this: the moment the view started. */
  readonly #floor: number;
  #from: number;
  /** Event ids shown, with their timestamps. */
  readonly #seen = new Map<string, number>();

  constructor(start: number, overlapMs = 15_000) {
    this.#floor = start;
    this.#from = start;
    this.#overlapMs = overlapMs;
  }

  /** The startTime of the next poll. */
  get from(): number {
    return this.#from;
  }

  /** How many event ids it remembers (for the tests: it forgets what it no longer needs). */
  get remembered(): number {
    return this.#seen.size;
  }

  /**
   * Takes the events of one poll (all its pages), asked at `polledAt` (read
   * before the poll's first request): answers the records not shown yet, oldest
   * first, and moves the next poll's start to `polledAt - overlapMs`.
   */
  take(events: readonly FilteredLogEvent[], polledAt: number): RequestRecord[] {
    const fresh: Array<{ at: number; record: RequestRecord }> = [];
    for (const event of events) {
      const id = event.eventId;
      const at = event.timestamp ?? 0;
      if (id === undefined || this.#seen.has(id) || at < this.#from) continue;
      this.#seen.set(id, at);
      const record = recordFromEvent(event);
      if (record) fresh.push({ at, record });
    }
    this.#from = Math.max(this.#floor, this.#from, polledAt - this.#overlapMs);
    for (const [id, at] of this.#seen) if (at < this.#from) this.#seen.delete(id);
    fresh.sort((a, b) => a.at - b.at);
    return fresh.map((f) => f.record);
  }
}

/** The FilterLogEvents request of one page of a poll. */
export function tailRequest(logGroup: string, from: number, nextToken?: string) {
  return {
    logGroupName: logGroup,
    startTime: from,
    filterPattern: TAIL_FILTER_PATTERN,
    ...(nextToken ? { nextToken } : {}),
  } satisfies FilterLogEventsRequest;
}

// ---------------------------------------------------------------------------
// GetMetricData: counts per minute and the consumers' outcomes

/** Where the functions' metrics are: the namespace and the `service` of each function. */
export interface MetricNames {
  readonly namespace: string;
  readonly ingestService: string;
  readonly consumerService: string;
}

const SAFE_NAME = /^[A-Za-z0-9._/-]+$/;

function safe(what: string, value: string): string {
  if (!SAFE_NAME.test(value)) {
    throw new CloudWatchReadError(`the ${what} "${value}" cannot be searched for`);
  }
  return value;
}

const minuteFloor = (ms: number): number => Math.floor(ms / MINUTE) * MINUTE;
const minuteCeil = (ms: number): number => Math.ceil(ms / MINUTE) * MINUTE;

/**
 * The queries of the counts strip: the sum over providers (SEARCH finds every
 * provider with data) of Received, Duplicate and Published, Rejected by
 * provider and reason, and Rejected by reason alone: the requests that named
 * no declared provider, which Received does not count.
 */
export function perMinuteQueries(names: MetricNames): MetricDataQuery[] {
  const ns = safe('namespace', names.namespace);
  const service = safe('service', names.ingestService);
  const sum = (id: string, dimensions: string, metric: string): MetricDataQuery => ({
    Id: id,
    Expression: `SUM(SEARCH('{${ns},${dimensions}} service="${service}" MetricName="${metric}"', 'Sum', 60))`,
    Period: 60,
    ReturnData: true,
  });
  return [
    sum('received', 'service,provider', 'Received'),
    sum('duplicates', 'service,provider', 'Duplicate'),
    sum('published', 'service,provider', 'Published'),
    sum('rejected', 'service,provider,reason', 'Rejected'),
    sum('unknown', 'service,reason', 'Rejected'),
  ];
}

/** The GetMetricData request for `[from, to)`, in whole minutes. */
export function metricDataRequest(
  queries: MetricDataQuery[],
  from: number,
  to: number,
  nextToken?: string,
): GetMetricDataInput {
  return {
    MetricDataQueries: queries,
    StartTime: new Date(minuteFloor(from)),
    EndTime: new Date(minuteCeil(to)),
    ScanBy: 'TimestampAscending',
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
}

/** Sums of each result's values by minute: `id → minute → sum`. */
function byMinute(results: readonly MetricDataResult[]): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const result of results) {
    if (result.StatusCode === 'Forbidden' || result.StatusCode === 'InternalError') {
      const why = result.Messages?.map((m) => m.Value).join('; ');
      throw new CloudWatchReadError(
        `GetMetricData answered ${result.StatusCode} for ${result.Id}${why ? `: ${why}` : ''}`,
      );
    }
    const id = result.Id ?? '';
    const series = out.get(id) ?? new Map<number, number>();
    out.set(id, series);
    const times = result.Timestamps ?? [];
    const values = result.Values ?? [];
    times.forEach((time, i) => {
      const minute = minuteFloor(time.getTime());
      series.set(minute, (series.get(minute) ?? 0) + (values[i] ?? 0));
    });
  }
  return out;
}

/** The counts strip from GetMetricData's results (all pages): every minute of `[from, to)`. */
export function minuteCountsFromResults(
  results: readonly MetricDataResult[],
  from: number,
  to: number,
): MinuteCounts[] {
  const series = byMinute(results);
  const at = (id: string, minute: number) => series.get(id)?.get(minute) ?? 0;
  const counts = new Map<number, MinuteCounts>();
  const minutes = new Set<number>();
  for (const s of series.values()) for (const minute of s.keys()) minutes.add(minute);
  for (const minute of minutes) {
    const unknown = at('unknown', minute);
    counts.set(minute, {
      minute,
      received: at('received', minute) + unknown,
      duplicates: at('duplicates', minute),
      rejected: at('rejected', minute) + unknown,
      published: at('published', minute),
    });
  }
  return minutesBetween(counts, from, to);
}

/** The metric queries of the consumers' outcomes: three per subscriber, by `subscriber` dimension. */
export function consumerQueries(
  names: MetricNames,
  subscribers: readonly string[],
  periodSeconds: number,
): MetricDataQuery[] {
  const stat = (id: string, metric: string, subscriber: string): MetricDataQuery => ({
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: names.namespace,
        MetricName: metric,
        Dimensions: [
          { Name: 'service', Value: names.consumerService },
          { Name: 'subscriber', Value: subscriber },
        ],
      },
      Period: periodSeconds,
      Stat: 'Sum',
    },
    ReturnData: true,
  });
  // Ids must start with a lower-case letter and hold only letters, digits and _: by index.
  return subscribers.flatMap((s, i) => [
    stat(`s${i}_effects`, 'ConsumerEffects', s),
    stat(`s${i}_duplicates`, 'ConsumerDuplicatesSkipped', s),
    stat(`s${i}_failures`, 'ConsumerFailures', s),
  ]);
}

/** The period of the consumers' queries over `[from, to)`: the whole span, in whole minutes. */
export function consumerPeriodSeconds(from: number, to: number): number {
  return Math.max(60, (minuteCeil(to) - minuteFloor(from)) / 1000);
}

/** Succeeded (applied, or skipped as duplicates: also counted apart) and failed records by subscriber. */
export function consumerCountsFromResults(
  results: readonly MetricDataResult[],
  subscribers: readonly string[],
): Record<string, ConsumerCounts> {
  const series = byMinute(results);
  const total = (id: string) => {
    let sum = 0;
    for (const value of series.get(id)?.values() ?? []) sum += value;
    return sum;
  };
  return Object.fromEntries(
    subscribers.map((s, i) => [
      s,
      {
        succeeded: total(`s${i}_effects`) + total(`s${i}_duplicates`),
        failed: total(`s${i}_failures`),
        duplicates: total(`s${i}_duplicates`),
      },
    ]),
  );
}

/** Every page of one GetMetricData request (one call, unless it holds over 100,800 points). */
async function allResults(
  port: CloudWatchPort,
  request: (nextToken?: string) => GetMetricDataInput,
  polling: QueryPolling,
): Promise<MetricDataResult[]> {
  const results: MetricDataResult[] = [];
  let next: string | undefined;
  do {
    const input = request(next);
    const page = await unthrottled(
      'CloudWatch GetMetricData',
      () => port.getMetricData(input),
      polling,
      { ms: 0 },
    );
    results.push(...(page.MetricDataResults ?? []));
    next = page.NextToken;
  } while (next);
  return results;
}

/**
 * Answers of one kind kept for a while, by key: CloudWatch's metrics have a
 * minute's resolution, and the console's pages refresh their counts every few
 * seconds, so each GetMetricData answer serves the pages for `ttlMs`. Callers
 * asking at once share one request; a failure is not kept.
 */
export class TtlCache<T> {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(ttlMs: number, now: () => number) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.#now();
    for (const [k, entry] of this.#entries) {
      if (now - entry.at >= this.#ttlMs) this.#entries.delete(k);
    }
    const kept = this.#entries.get(key);
    if (kept) return kept.value;
    const value = load();
    this.#entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }
}

/** The cache key of a span: the whole minutes it covers. */
export const spanKey = (from: number, to: number): string =>
  `${minuteFloor(from)}-${minuteCeil(to)}`;

/** How long a GetMetricData answer serves the pages. */
export const DEFAULT_METRICS_TTL_MS = 30_000;

// ---------------------------------------------------------------------------
// The sources

export interface LogsActivityOptions {
  readonly port: CloudWatchPort;
  /** The ingest function's log group (the stack's IngestLogGroupName output). */
  readonly logGroup: string;
  readonly metrics: MetricNames;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default real timers */
  readonly sleep?: Sleep;
  /** What a timeline view scans when it names no `since`. @default the last hour */
  readonly windowMs?: number;
  /** @default 60 s */
  readonly queryTimeoutMs?: number;
  /** How long a counts answer serves further asks for the same minutes. @default 30 s */
  readonly metricsTtlMs?: number;
  /** Between two polls of the live view. @default 2 s */
  readonly tailIntervalMs?: number;
  /** How far back each poll looks again for lines that arrived late. @default 15 s */
  readonly tailOverlapMs?: number;
  /**
   * Told of each failed poll of the live view (the poll loop waits and goes on):
   * `hookonce tail` prints it; the console leaves it. @default nothing
   */
  readonly onWatchError?: (error: CloudWatchReadError) => void;
}

/**
 * A deployed stack's requests: the timeline from Logs Insights, the live view
 * from FilterLogEvents, the counts from the EMF metrics.
 */
export class LogsActivity implements ActivitySource {
  readonly description: string;
  readonly #options: LogsActivityOptions;
  readonly #now: () => number;
  readonly #sleep: Sleep;
  readonly #listeners = new Set<(record: RequestRecord) => void>();
  readonly #counts: TtlCache<MinuteCounts[]>;
  #stopPolling: (() => void) | undefined;

  constructor(options: LogsActivityOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
    this.#counts = new TtlCache(options.metricsTtlMs ?? DEFAULT_METRICS_TTL_MS, this.#now);
    const window = Math.round((options.windowMs ?? DEFAULT_WINDOW_MS) / MINUTE);
    this.description = `log group ${options.logGroup} (CloudWatch Logs Insights, the last ${window === 60 ? 'hour' : `${window} minutes`})`;
  }

  async recent(query: ActivityQuery = {}): Promise<RequestRecord[]> {
    const request = insightsRequest(
      this.#options.logGroup,
      query,
      this.#now(),
      this.#options.windowMs,
    );
    const rows = await runInsightsQuery(this.#options.port, request, {
      sleep: this.#sleep,
      timeoutMs: this.#options.queryTimeoutMs,
    });
    return recordsFromRows(rows, query);
  }

  watch(listener: (record: RequestRecord) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#stopPolling) this.#stopPolling = this.#poll();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        this.#stopPolling?.();
        this.#stopPolling = undefined;
      }
    };
  }

  /** One poll loop for every watcher; answers how to stop it. */
  #poll(): () => void {
    const abort = new AbortController();
    const { port, logGroup } = this.#options;
    const interval = this.#options.tailIntervalMs ?? 2_000;
    const cursor = new TailCursor(this.#now(), this.#options.tailOverlapMs);
    const loop = async () => {
      let failures = 0;
      while (!abort.signal.aborted) {
        const polledAt = this.#now();
        try {
          const events: FilteredLogEvent[] = [];
          let next: string | undefined;
          // Every page of the poll: FilterLogEvents may answer a page with no events and a token.
          do {
            const answer = await port.filterLogEvents(tailRequest(logGroup, cursor.from, next));
            events.push(...(answer.events ?? []));
            next = answer.nextToken;
          } while (next && !abort.signal.aborted);
          if (abort.signal.aborted) return;
          for (const record of cursor.take(events, polledAt)) {
            for (const listener of this.#listeners) listener(record);
          }
          failures = 0;
          await this.#sleep(interval, abort.signal);
        } catch (error) {
          if (abort.signal.aborted) return;
          const wait = backoff(failures++, interval, 30_000);
          this.#options.onWatchError?.(
            new CloudWatchReadError(
              `FilterLogEvents on ${logGroup} ${isThrottled(error) ? 'was throttled' : 'failed'} (${describe(error)}); trying again in ${Math.round(wait / 1000)} s`,
              { cause: error },
            ),
          );
          await this.#sleep(wait, abort.signal);
        }
      }
    };
    void loop();
    return () => abort.abort();
  }

  /** The counts of `[from, to)`, one GetMetricData call; an answer serves the same minutes for 30 s. */
  perMinute(from: number, to: number): Promise<MinuteCounts[]> {
    return this.#counts.get(spanKey(from, to), async () => {
      const queries = perMinuteQueries(this.#options.metrics);
      const results = await allResults(
        this.#options.port,
        (next) => metricDataRequest(queries, from, to, next),
        { sleep: this.#sleep },
      );
      return minuteCountsFromResults(results, from, to);
    });
  }
}

export interface MetricsConsumerStatsOptions {
  readonly port: CloudWatchPort;
  readonly metrics: MetricNames;
  readonly subscribers: readonly string[];
  /** @default real timers */
  readonly sleep?: Sleep;
  /** @default Date.now */
  readonly now?: () => number;
  /** How long an answer serves further asks for the same minutes. @default 30 s */
  readonly ttlMs?: number;
}

/** Each subscriber's consumer outcomes from its metrics: one GetMetricData call, three metrics a subscriber. */
export class MetricsConsumerStats implements ConsumerStats {
  readonly #options: MetricsConsumerStatsOptions;
  readonly #cache: TtlCache<Readonly<Record<string, ConsumerCounts>>>;

  constructor(options: MetricsConsumerStatsOptions) {
    this.#options = options;
    this.#cache = new TtlCache(options.ttlMs ?? DEFAULT_METRICS_TTL_MS, options.now ?? Date.now);
  }

  async counts(from: number, to: number): Promise<Readonly<Record<string, ConsumerCounts>>> {
    const { port, metrics, subscribers } = this.#options;
    if (subscribers.length === 0) return {};
    return this.#cache.get(spanKey(from, to), async () => {
      const queries = consumerQueries(metrics, subscribers, consumerPeriodSeconds(from, to));
      const results = await allResults(port, (next) => metricDataRequest(queries, from, to, next), {
        sleep: this.#options.sleep ?? realSleep,
      });
      return consumerCountsFromResults(results, subscribers);
    });
  }
}
