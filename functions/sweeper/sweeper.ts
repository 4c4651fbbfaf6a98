import type { DeliveryKey, DeliveryRecord, DeliveryStore } from '../deliveries/store.ts';
import { encodeEvent } from '../fanout/envelope.ts';
import type { EventPublisher } from '../fanout/publisher.ts';
import type { Clock } from '../shared/clock.ts';
import { DependencyError, describeFailure } from '../shared/errors.ts';
import { errorFields, type Logger } from '../shared/log.ts';
import { METRIC, type MetricsPort, noMetrics } from '../shared/metrics.ts';
import { DEFAULT_SWEEP_MAX_ATTEMPTS } from './config.ts';

export type SweeperStorePort = Pick<
  DeliveryStore,
  'pending' | 'takeOver' | 'markPublished' | 'release' | 'deferAfterFailure' | 'park' | 'shards'
>;

export interface SweepDeps {
  readonly deliveries: SweeperStorePort;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly log: Logger;
  /** Counts recoveries, failures and parked deliveries per run. @default noMetrics */
  readonly metrics?: MetricsPort;
}

export interface SweepOptions {
  /** Owner of the leases this run takes. */
  readonly owner: string;
  /** Only deliveries whose lease ended at least this long ago: a provider's retry gets the first chance. */
  readonly graceMs: number;
  /** At most this many deliveries per run, shared out evenly between the shards. */
  readonly maxPerRun: number;
  /** How long each taken-over delivery is held while it is published. */
  readonly leaseMs: number;
  /** The run stops taking new work when less than this is left. */
  readonly reserveMs?: number;
  readonly remainingTimeMs?: () => number;
  /**
   * Publishes tried per delivery: after this many failures it is parked FAILED.
   * @default DEFAULT_SWEEP_MAX_ATTEMPTS (10)
   */
  readonly maxAttempts?: number;
  /** When to try again after failures: see retryDelayMs. @default DEFAULT_RETRY_DELAYS */
  readonly retryDelays?: RetryDelays;
}

/** How long the sweeper leaves a delivery whose publish failed before it tries again. */
export interface RetryDelays {
  /** After the first failure. */
  readonly firstMs: number;
  /** Each failure doubles the delay, up to this. */
  readonly maxMs: number;
}

/** 1 min, 2, 4, … 1 h: ten attempts span about four hours of an outage. */
export const DEFAULT_RETRY_DELAYS: RetryDelays = { firstMs: 60_000, maxMs: 3_600_000 };

/** The wait after the `failures`-th failed publish of a delivery. */
export const retryDelayMs = (failures: number, delays: RetryDelays): number =>
  Math.min(delays.maxMs, delays.firstMs * 2 ** Math.max(0, failures - 1));

export interface SweepReport {
  /** Pending deliveries found past their lease and grace. */
  readonly found: number;
  /** Taken over and published. */
  readonly recovered: number;
  /** Someone else held or finished it meanwhile. */
  readonly skipped: number;
  /** Could not be published; tried again after a delay. */
  readonly failed: number;
  /** Could not be published for the last time: parked FAILED, out of the sweeper's way. */
  readonly parked: number;
}

type Outcome = 'recovered' | 'skipped' | 'failed' | 'parked';

/**
 * Finds deliveries that were stored but never published (the ingest Lambda
 * died between its claim and its mark), takes each over with one conditional
 * write, publishes it and marks it PUBLISHED. Every shard of the sparse pending
 * index is queried, oldest lease first, and the run takes the shards in turn,
 * so a bound on the run (its count or its time) falls evenly on all of them.
 * A delivery whose publish fails goes behind the newer ones (its lease moves to
 * its retry time), and after `maxAttempts` failures it is parked FAILED, out of
 * the index: no delivery can hold a shard's page for ever.
 */
export async function sweep(deps: SweepDeps, options: SweepOptions): Promise<SweepReport> {
  const { deliveries, clock, log } = deps;
  const before = clock.now() - options.graceMs;
  const shards = deliveries.shards;
  const perShard = Math.max(1, Math.ceil(options.maxPerRun / shards));
  const pages = await Promise.all(
    Array.from({ length: shards }, (_, shard) => deliveries.pending(shard, before, perShard)),
  );
  const found = inTurn(pages).slice(0, options.maxPerRun);

  const counts: Record<Outcome, number> = { recovered: 0, skipped: 0, failed: 0, parked: 0 };
  for (const key of found) {
    if (options.remainingTimeMs && options.remainingTimeMs() < (options.reserveMs ?? 2_000)) break;
    counts[await recover(key, deps, options)]++;
  }
  const report = { found: found.length, ...counts };
  if (found.length > 0) log.info('sweep finished', report);
  else log.debug('sweep finished: nothing pending', report);
  const metrics = deps.metrics ?? noMetrics;
  metrics.count(METRIC.sweeperRecovered, {}, counts.recovered);
  metrics.count(METRIC.sweeperFailed, {}, counts.failed);
  metrics.count(METRIC.sweeperParked, {}, counts.parked);
  return report;
}

/** The first of every page, then the second of every page, …: no shard waits for another. */
function inTurn<T>(pages: readonly (readonly T[])[]): T[] {
  const longest = Math.max(0, ...pages.map((p) => p.length));
  const out: T[] = [];
  for (let i = 0; i < longest; i++) {
    for (const page of pages) {
      const item = page[i];
      if (item !== undefined) out.push(item);
    }
  }
  return out;
}

async function recover(key: DeliveryKey, deps: SweepDeps, options: SweepOptions): Promise<Outcome> {
  const { deliveries, publisher, clock, log } = deps;
  const fields = { provider: key.provider, deliveryId: key.deliveryId };
  let taken: DeliveryRecord | undefined;
  try {
    const now = clock.now();
    const lease = { owner: options.owner, until: now + options.leaseMs };
    // A parked delivery is the sweeper's no more, though a lagging index may still list it.
    taken = await deliveries.takeOver(key, lease, now, { revive: false });
  } catch (error) {
    if (!(error instanceof DependencyError)) throw error;
    log.error('could not take a delivery over; the next run tries again', {
      ...fields,
      ...errorFields(error),
    });
    return 'failed';
  }
  if (!taken) return 'skipped';

  try {
    // Whatever stops this delivery's publish is its own failure: it never stops the run.
    await publisher.publish(encodeEvent(taken));
  } catch (error) {
    return failedToPublish(taken, error, deps, options);
  }

  try {
    const marked = await deliveries.markPublished(taken, options.owner, clock.now());
    if (!marked) log.warn('lease lost before marking published', fields);
  } catch (error) {
    if (!(error instanceof DependencyError)) throw error;
    // Published, not marked: the next run publishes it again, and the guard runs its effects once.
    await deliveries.release(taken, options.owner).catch(() => false);
    log.error('published a delivery but could not mark it; the next run tries again', {
      ...fields,
      ...errorFields(error),
    });
    return 'failed';
  }
  log.info('recovered a delivery that was stored but never published', {
    ...fields,
    attempts: taken.attempts,
    receivedAt: new Date(taken.receivedAt).toISOString(),
  });
  return 'recovered';
}

/** Counts a failed publish on the delivery: tried again after a delay, or parked at the cap. */
async function failedToPublish(
  taken: DeliveryRecord,
  error: unknown,
  deps: SweepDeps,
  options: SweepOptions,
): Promise<'failed' | 'parked'> {
  const { deliveries, clock, log } = deps;
  const now = clock.now();
  const failures = (taken.publishFailures ?? 0) + 1;
  const maxAttempts = options.maxAttempts ?? DEFAULT_SWEEP_MAX_ATTEMPTS;
  const fields = {
    provider: taken.provider,
    deliveryId: taken.deliveryId,
    publishFailures: failures,
    maxAttempts,
    ...errorFields(error),
  };
  const failure = { error, at: now };
  try {
    if (failures >= maxAttempts) {
      if (!(await deliveries.park(taken, options.owner, failure))) {
        log.warn('lease lost before parking a delivery', fields);
        return 'failed';
      }
      log.error('parked a delivery the sweeper could not publish: FAILED', {
        ...fields,
        lastError: describeFailure(error),
      });
      return 'parked';
    }
    const retryAt = now + retryDelayMs(failures, options.retryDelays ?? DEFAULT_RETRY_DELAYS);
    await deliveries.deferAfterFailure(taken, options.owner, failure, retryAt);
    log.error('could not publish a delivery; it is tried again later', {
      ...fields,
      retryAt: new Date(retryAt).toISOString(),
    });
  } catch (recordError) {
    if (!(recordError instanceof DependencyError)) throw recordError;
    // Not even the failure could be written: the lease lapses and a later run tries again.
    log.error('could not publish a delivery, nor record the failure', {
      ...fields,
      recordErrorMessage: recordError.message,
    });
  }
  return 'failed';
}
