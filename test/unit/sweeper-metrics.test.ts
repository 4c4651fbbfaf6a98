import { describe, expect, it } from 'vitest';
import type { DeliveryKey, DeliveryRecord } from '../../functions/deliveries/store.ts';
import { DependencyError } from '../../functions/shared/errors.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { METRIC, type MetricName, type MetricsPort } from '../../functions/shared/metrics.ts';
import {
  DEFAULT_RETRY_DELAYS,
  retryDelayMs,
  type SweeperStorePort,
  sweep,
} from '../../functions/sweeper/sweeper.ts';

const T0 = Date.UTC(2100, 0, 1);

const record = (key: DeliveryKey): DeliveryRecord => ({
  ...key,
  eventType: 'invoice.paid',
  payload: Buffer.from('{"type":"invoice.paid"}'),
  payloadSha256: 'sha',
  headers: {},
  status: 'RECEIVED',
  receivedAt: T0 - 120_000,
  attempts: 2,
  expiresAt: 0,
});

/** A store with three pending deliveries: one to recover, one taken meanwhile, one whose publish fails. */
function stubStore(): SweeperStorePort {
  const keys = ['d-recover', 'd-taken', 'd-fails'].map((deliveryId) => ({
    provider: 'standard',
    deliveryId,
  }));
  return {
    shards: 1,
    pending: async () => keys,
    takeOver: async (key: DeliveryKey) => (key.deliveryId === 'd-taken' ? undefined : record(key)),
    markPublished: async () => true,
    release: async () => true,
    deferAfterFailure: async () => true,
    park: async () => true,
  } as unknown as SweeperStorePort;
}

describe('Function: sweep, its metrics', () => {
  it('counts the deliveries it recovered, could not publish and parked, once per run', async () => {
    // Prepare
    const counted: { name: MetricName; value: number }[] = [];
    const metrics: MetricsPort = {
      count: (name, _dims, value = 1) => counted.push({ name, value }),
    };

    // Act
    const report = await sweep(
      {
        deliveries: stubStore(),
        publisher: {
          publish: async (event) => {
            if (event.id.endsWith(':d-fails')) throw new DependencyError('sns', 'down');
          },
        },
        clock: { now: () => T0 },
        log: createLogger({}, 'error', () => undefined),
        metrics,
      },
      { owner: 'sweeper:test', graceMs: 30_000, maxPerRun: 10, leaseMs: 30_000 },
    );

    // Assess
    expect(report).toEqual({ found: 3, recovered: 1, skipped: 1, failed: 1, parked: 0 });
    expect(counted).toEqual([
      { name: METRIC.sweeperRecovered, value: 1 },
      { name: METRIC.sweeperFailed, value: 1 },
      { name: METRIC.sweeperParked, value: 0 },
    ]);
  });
});

describe('Function: retryDelayMs', () => {
  it('waits 1 min after the first failure, doubling up to 1 h: ten attempts span about four hours', () => {
    // Act
    const delays = Array.from({ length: 9 }, (_, i) => retryDelayMs(i + 1, DEFAULT_RETRY_DELAYS));

    // Assess
    expect(delays.map((ms) => ms / 60_000)).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
    expect(delays.reduce((a, b) => a + b, 0) / 3_600_000).toBeCloseTo(4.05, 2);
  });
});
