/**
 * What came in: one record per webhook request, read from the line the ingest
 * function logs as each request ends (its `outcome`, `status` and `ms`). The
 * console's timeline, its counts per minute and `hookonce tail` read them
 * through an {@link ActivitySource}: locally from the ingest function's output
 * as it prints it ({@link MemoryActivity}), on AWS from CloudWatch Logs.
 */
import type { RequestOutcome } from '../../functions/ingest/ingest.ts';

export type { RequestOutcome };

export const OUTCOMES: readonly RequestOutcome[] = [
  'published',
  'taken_over',
  'duplicate',
  'in_progress',
  'rejected',
  'answered',
  'unavailable',
  'error',
];

/** One webhook request, as its last log line tells it. Never a secret, a signature or the body. */
export interface RequestRecord {
  /** Epoch milliseconds. */
  readonly time: number;
  /** Absent when the path named no declared provider (the name is not logged). */
  readonly provider?: string;
  readonly status: number;
  readonly outcome: RequestOutcome;
  /** Why it was refused (`invalid_signature`, …) or which dependency failed (`dynamodb`, …). */
  readonly reason?: string;
  /** The delivery's key, once the signature was checked. */
  readonly deliveryId?: string;
  readonly providerDeliveryId?: string;
  /** The provider's event type (`invoice.paid`), once the signature was checked. */
  readonly eventType?: string;
  /** Time spent in the ingest function, in milliseconds. */
  readonly ms?: number;
}

/** The timeline's filters; each one absent means every value. */
export interface ActivityQuery {
  readonly provider?: string;
  readonly outcome?: RequestOutcome;
  /** A prefix of the event type. */
  readonly type?: string;
  /** Epoch milliseconds, inclusive. */
  readonly since?: number;
  /** At most this many, newest first. @default 200 */
  readonly limit?: number;
}

/** What one minute held, as the console's strip draws it. */
export interface MinuteCounts {
  /** The minute's start, epoch milliseconds. */
  readonly minute: number;
  readonly received: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly published: number;
}

export interface ActivitySource {
  /** Where the records come from, for the page: `the local runtime`, `log group …`. */
  readonly description: string;
  /** The newest requests that match, newest first. */
  recent(query?: ActivityQuery): Promise<RequestRecord[]>;
  /** Calls `listener` with each request as it ends (or as it is found); answers how to stop. */
  watch(listener: (record: RequestRecord) => void): () => void;
  /** Counts for every minute in `[from, to)`, oldest first, minutes with nothing included. */
  perMinute(from: number, to: number): Promise<MinuteCounts[]>;
}

const MINUTE = 60_000;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value)
    ? value
    : typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))
      ? Number(value)
      : undefined;

/** Powertools writes `timestamp` as ISO 8601; Logs Insights gives `@timestamp` as `2026-12-02 05:00:00.000`. */
function timeOf(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const iso = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(value)
    ? `${value.replace(' ', 'T')}Z`
    : value;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The request record of one ingest log line (its JSON, parsed), or `undefined`
 * when the line is not the one that ends a request.
 */
export function requestFromLog(line: Readonly<Record<string, unknown>>): RequestRecord | undefined {
  const outcome = line.outcome;
  if (typeof outcome !== 'string' || !OUTCOMES.includes(outcome as RequestOutcome))
    return undefined;
  const status = num(line.status);
  const time = timeOf(line.timestamp ?? line['@timestamp']);
  if (status === undefined || time === undefined) return undefined;
  const reason = text(line.reason) ?? text(line.dependency);
  const provider = text(line.provider);
  const deliveryId = text(line.deliveryId);
  const providerDeliveryId = text(line.providerDeliveryId);
  const eventType = text(line.eventType);
  const ms = num(line.ms);
  return {
    time,
    status,
    outcome: outcome as RequestOutcome,
    ...(provider !== undefined ? { provider } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(deliveryId !== undefined ? { deliveryId } : {}),
    ...(providerDeliveryId !== undefined ? { providerDeliveryId } : {}),
    ...(eventType !== undefined ? { eventType } : {}),
    ...(ms !== undefined ? { ms } : {}),
  };
}

/** Whether a record passes the query's filters (not its limit). */
export function matches(record: RequestRecord, query: ActivityQuery = {}): boolean {
  if (query.provider && record.provider !== query.provider) return false;
  if (query.outcome && record.outcome !== query.outcome) return false;
  if (query.type && !(record.eventType ?? '').startsWith(query.type)) return false;
  if (query.since !== undefined && record.time < query.since) return false;
  return true;
}

/** Adds a record to its minute's counts. A rejected request is counted as received too. */
export function countInto(counts: Map<number, MinuteCounts>, record: RequestRecord): void {
  const minute = Math.floor(record.time / MINUTE) * MINUTE;
  const c = counts.get(minute) ?? {
    minute,
    received: 0,
    duplicates: 0,
    rejected: 0,
    published: 0,
  };
  counts.set(minute, {
    minute,
    received: c.received + 1,
    duplicates: c.duplicates + (record.outcome === 'duplicate' ? 1 : 0),
    rejected: c.rejected + (record.outcome === 'rejected' ? 1 : 0),
    published:
      c.published + (record.outcome === 'published' || record.outcome === 'taken_over' ? 1 : 0),
  });
}

/** Every minute of `[from, to)`, from `counts`, zero where it has none. */
export function minutesBetween(
  counts: ReadonlyMap<number, MinuteCounts>,
  from: number,
  to: number,
): MinuteCounts[] {
  const out: MinuteCounts[] = [];
  for (let minute = Math.floor(from / MINUTE) * MINUTE; minute < to; minute += MINUTE) {
    out.push(
      counts.get(minute) ?? { minute, received: 0, duplicates: 0, rejected: 0, published: 0 },
    );
  }
  return out;
}

/**
 * The local runtime's activity: the last `capacity` requests in memory (the
 * console of `npm start` shows what happened since it started), fed by the
 * ingest function's output line by line.
 */
export class MemoryActivity implements ActivitySource {
  readonly description = 'the local runtime (since it started)';
  readonly #records: RequestRecord[] = [];
  readonly #listeners = new Set<(record: RequestRecord) => void>();
  readonly #counts = new Map<number, MinuteCounts>();
  readonly #capacity: number;

  constructor(capacity = 2_000) {
    this.#capacity = capacity;
  }

  /** Takes one line the ingest function printed; answers the request it ended, if it ended one. */
  addLine(line: string): RequestRecord | undefined {
    if (!line.startsWith('{')) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const record = requestFromLog(parsed as Record<string, unknown>);
    if (record) this.add(record);
    return record;
  }

  add(record: RequestRecord): void {
    this.#records.push(record);
    if (this.#records.length > this.#capacity) this.#records.shift();
    countInto(this.#counts, record);
    for (const listener of this.#listeners) listener(record);
  }

  async recent(query: ActivityQuery = {}): Promise<RequestRecord[]> {
    const limit = query.limit ?? 200;
    const out: RequestRecord[] = [];
    for (let i = this.#records.length - 1; i >= 0 && out.length < limit; i--) {
      const record = this.#records[i];
      if (record && matches(record, query)) out.push(record);
    }
    return out;
  }

  watch(listener: (record: RequestRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async perMinute(from: number, to: number): Promise<MinuteCounts[]> {
    return minutesBetween(this.#counts, from, to);
  }
}

/** What each subscriber's consumer did: records it applied or skipped as duplicates, and records that failed. */
export interface ConsumerCounts {
  readonly succeeded: number;
  readonly failed: number;
  /** Of the records that succeeded, those the guard skipped as duplicates, where the source knows. */
  readonly duplicates?: number;
}

/** Consumer outcomes per subscriber: locally from the pollers, on AWS from the consumer metrics. */
export interface ConsumerStats {
  /** Counts in `[from, to)` (epoch milliseconds), by subscriber name. */
  counts(from: number, to: number): Promise<Readonly<Record<string, ConsumerCounts>>>;
}

/** The Server-Sent Events stream of the console (`GET /api/stream`): one `request` event per request. */
export const STREAM_EVENT = 'request';
