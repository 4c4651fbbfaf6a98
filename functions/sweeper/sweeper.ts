import type { DeliveryKey, DeliveryStore } from '../deliveries/store.ts';
import { encodeEvent } from '../fanout/envelope.ts';
import type { EventPublisher } from '../fanout/publisher.ts';
import type { Clock } from '../shared/clock.ts';
import { DependencyError } from '../shared/errors.ts';
import { errorFields, type Logger } from '../shared/log.ts';
import { METRIC, type MetricsPort, noMetrics } from '../shared/metrics.ts';

export type SweeperStorePort = Pick<
  DeliveryStore,
  'pending' | 'takeOver' | 'markPublished' | 'release' | 'shards'
>;

export interface SweepDeps {
  readonly deliveries: SweeperStorePort;
  readonly publisher: EventPublisher;
  readonly clock: Clock;
  readonly log: Logger;
  /** Counts recoveries and failures per run. @default noMetrics */
  readonly metrics?: MetricsPort;
}

export interface SweepOptions {
  /** Owner of the leases this run takes. */
  readonly owner: string;
  /** Only deliveries whose lease ended at least this long ago: a provider's retry gets the first chance. */
  readonly graceMs: number;
  /** At most this many deliveries per run. */
  readonly maxPerRun: number;
  /** How long each taken-over delivery is held while it is published. */
  readonly leaseMs: number;
  /** The run stops taking new work when less than this is left. */
  readonly reserveMs?: number;
  readonly remainingTimeMs?: () => number;
}

export interface SweepReport {
  /** Pending deliveries found past their lease and grace. */
  readonly found: number;
  /** Taken over and published. */
  readonly recovered: number;
  /** Someone else held or finished it meanwhile. */
  readonly skipped: number;
  /** A dependency failed; the next run tries again. */
  readonly failed: number;
}

/**
 * Finds deliveries that were stored but never published (the ingest Lambda
 * died between its claim and its mark), takes each over with one conditional
 * write, publishes it and marks it PUBLISHED. Bounded per run; every shard of
 * the sparse pending index is queried, oldest first.
 */
export async function sweep(deps: SweepDeps, options: SweepOptions): Promise<SweepReport> {
  const { deliveries, clock, log } = deps;
  const before = clock.now() - options.graceMs;
  const shards = deliveries.shards;
  const perShard = Math.max(1, Math.ceil(options.maxPerRun / shards));
  const found = (
    await Promise.all(
      Array.from({ length: shards }, (_, shard) => deliveries.pending(shard, before, perShard)),
    )
  )
    .flat()
    .slice(0, options.maxPerRun);

  let recovered = 0;
  let skipped = 0;
  let failed = 0;
  for (const key of found) {
    if (options.remainingTimeMs && options.remainingTimeMs() < (options.reserveMs ?? 2_000)) break;
    const outcome = await recover(key, deps, options);
    if (outcome === 'recovered') recovered++;
    else if (outcome === 'skipped') skipped++;
    else failed++;
  }
  const report = { found: found.length, recovered, skipped, failed };
  if (found.length > 0) log.info('sweep finished', report);
  else log.debug('sweep finished: nothing pending', report);
  const metrics = deps.metrics ?? noMetrics;
  metrics.count(METRIC.sweeperRecovered, {}, recovered);
  metrics.count(METRIC.sweeperFailed, {}, failed);
  return report;
}

async function recover(
  key: DeliveryKey,
  deps: SweepDeps,
  options: SweepOptions,
): Promise<'recovered' | 'skipped' | 'failed'> {
  const { deliveries, publisher, clock, log } = deps;
  const fields = { provider: key.provider, deliveryId: key.deliveryId };
  try {
    const now = clock.now();
    const taken = await deliveries.takeOver(
      key,
      { owner: options.owner, until: now + options.leaseMs },
      now,
    );
    if (!taken) return 'skipped';
    try {
      await publisher.publish(encodeEvent(taken));
      await deliveries.markPublished(taken, options.owner, clock.now());
    } catch (error) {
      await deliveries.release(taken, options.owner).catch(() => false);
      throw error;
    }
    log.info('recovered a delivery that was stored but never published', {
      ...fields,
      attempts: taken.attempts,
      receivedAt: new Date(taken.receivedAt).toISOString(),
    });
    return 'recovered';
  } catch (error) {
    if (!(error instanceof DependencyError)) throw error;
    log.error('could not recover a delivery; the next run tries again', {
      ...fields,
      ...errorFields(error),
    });
    return 'failed';
  }
}
