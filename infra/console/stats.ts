/**
 * What each subscriber's consumer did, counted where the local runtime sees it:
 * the pollers' batch reports (records that succeeded, records that failed) and
 * the guard's `duplicate skipped` lines. Counted per minute, so counts(from, to)
 * answers for the window asked, at a minute's resolution.
 */
import { type Clock, systemClock } from '../../functions/shared/clock.ts';
import type { ConsumerCounts, ConsumerStats } from './activity.ts';

const MINUTE = 60_000;

interface Bucket {
  succeeded: number;
  failed: number;
  duplicates: number;
}

export class MemoryConsumerStats implements ConsumerStats {
  readonly #clock: Clock;
  readonly #keepMs: number;
  /** subscriber → minute start → counts */
  readonly #buckets = new Map<string, Map<number, Bucket>>();

  /** Keeps `keepMinutes` of counts (a day by default); older minutes are dropped as new ones come. */
  constructor(clock: Clock = systemClock, keepMinutes = 24 * 60) {
    this.#clock = clock;
    this.#keepMs = keepMinutes * MINUTE;
  }

  /** Counts one batch as the poller reports it: `failed` of its `size` records are to be retried. */
  addBatch(subscriber: string, report: { readonly size: number; readonly failed: number }): void {
    const failed = Math.min(report.failed, report.size);
    this.add(subscriber, { succeeded: report.size - failed, failed });
  }

  /** Takes one line the subscriber's consumer printed; counts the guard's duplicates. */
  addLine(subscriber: string, line: string): void {
    if (!line.startsWith('{') || !line.includes('duplicate skipped')) return;
    try {
      const parsed = JSON.parse(line) as { message?: unknown };
      if (parsed.message === 'duplicate skipped') this.add(subscriber, { duplicates: 1 });
    } catch {
      // not a log line of the guard
    }
  }

  add(subscriber: string, counts: Partial<Bucket>, at = this.#clock.now()): void {
    const minute = Math.floor(at / MINUTE) * MINUTE;
    let minutes = this.#buckets.get(subscriber);
    if (!minutes) {
      minutes = new Map();
      this.#buckets.set(subscriber, minutes);
    }
    const bucket = minutes.get(minute) ?? { succeeded: 0, failed: 0, duplicates: 0 };
    bucket.succeeded += counts.succeeded ?? 0;
    bucket.failed += counts.failed ?? 0;
    bucket.duplicates += counts.duplicates ?? 0;
    minutes.set(minute, bucket);
    for (const m of minutes.keys()) if (m < minute - this.#keepMs) minutes.delete(m);
  }

  /** Counts of every minute that overlaps `[from, to)`: the window at a minute's resolution. */
  async counts(from: number, to: number): Promise<Readonly<Record<string, ConsumerCounts>>> {
    const out: Record<string, ConsumerCounts> = {};
    for (const [subscriber, minutes] of this.#buckets) {
      const sum = { succeeded: 0, failed: 0, duplicates: 0 };
      for (const [minute, bucket] of minutes) {
        if (minute + MINUTE <= from || minute >= to) continue;
        sum.succeeded += bucket.succeeded;
        sum.failed += bucket.failed;
        sum.duplicates += bucket.duplicates;
      }
      out[subscriber] = sum;
    }
    return out;
  }
}
