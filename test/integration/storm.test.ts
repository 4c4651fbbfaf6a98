import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_POINTS, type FaultPoint, Pipeline } from '../support/pipeline.ts';

const SEED = 20_261_123;
const DELIVERIES = 1_000;
const COPIES = 3;
/** Chance that an invocation dies at each named point it reaches. */
const FAULT_RATE = 0.1;
/** How many deliveries are in flight at once (each with its copies). */
const IN_FLIGHT = 50;
const PAST_LEASE_MS = 9_501;
const GRACE_MS = 30_000;

/**
 * Whether the n-th time `deliveryId` reaches `point` it dies there: a pure
 * function of the seed, so the storm is the same on every run whatever the
 * order in which concurrent copies happen to arrive.
 */
function dies(seed: number, deliveryId: string, point: FaultPoint, n: number): boolean {
  const digest = createHash('sha256').update(`${seed}|${deliveryId}|${point}|${n}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32 < FAULT_RATE;
}

async function inBatches<T>(items: readonly T[], size: number, run: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(run));
  }
}

describe('A storm: 1,000 deliveries, each sent 3 times at once, with faults at random named points', () => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    pipeline = await Pipeline.start('storm');
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('publishes every delivery at least once, applies every effect exactly once, and ends all PUBLISHED', async () => {
    // Prepare: half the providers retry until they get a 2xx (Stripe-like), half never retry (GitHub-like).
    const reached = new Map<string, number>();
    pipeline.plan = (point, deliveryId) => {
      const key = `${deliveryId}|${point}`;
      const n = (reached.get(key) ?? 0) + 1;
      reached.set(key, n);
      return dies(SEED, deliveryId, point, n);
    };
    const ids = Array.from({ length: DELIVERIES }, (_, i) => `storm-${String(i).padStart(4, '0')}`);
    const body = (id: string) => JSON.stringify({ type: 'charge.succeeded', data: { id } });
    const acknowledged = new Set<string>();
    const statuses = new Map<number, number>();
    const send = async (id: string) => {
      const answer = await pipeline.send(id, body(id));
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.status === 200 || answer.status === 202) acknowledged.add(id);
    };

    // Act: the storm itself.
    await inBatches(ids, IN_FLIGHT, (id) =>
      Promise.all(Array.from({ length: COPIES }, () => send(id))).then(() => undefined),
    );
    const afterStorm = acknowledged.size;

    // Retrying providers send again, after their backoff, until they get a 2xx.
    const retrying = ids.filter((_, i) => i % 2 === 0);
    let retryRounds = 0;
    while (retrying.some((id) => !acknowledged.has(id)) && retryRounds < 20) {
      retryRounds++;
      pipeline.now += PAST_LEASE_MS;
      await inBatches(
        retrying.filter((id) => !acknowledged.has(id)),
        IN_FLIGHT,
        send,
      );
    }

    // What no provider retried is the sweeper's (faults stay on the ingest path only).
    pipeline.now += PAST_LEASE_MS + GRACE_MS;
    let recovered = 0;
    for (let run = 0; run < 10; run++) {
      const report = await pipeline.sweep(GRACE_MS);
      recovered += report.recovered;
      if (report.found === 0) break;
    }
    const delivered = await pipeline.drain();

    // Assess
    const records = await Promise.all(ids.map((id) => pipeline.record(id)));
    const notPublished = ids.filter((_, i) => records[i]?.status !== 'PUBLISHED');
    const neverPublished = ids.filter((id) => (pipeline.published.get(`standard:${id}`) ?? 0) < 1);
    const wrongEffects = ids.filter((id) => pipeline.effects.get(`standard:${id}`) !== 1);
    const faults = [...pipeline.injected.values()].reduce((a, b) => a + b, 0);

    // The figures of this run, for the record (docs/architecture.md, Guarantees, quotes them).
    console.info(
      JSON.stringify({
        storm: {
          deliveries: DELIVERIES,
          copies: DELIVERIES * COPIES,
          faultsInjected: Object.fromEntries(
            FAULT_POINTS.map((p) => [p, pipeline.injected.get(p) ?? 0]),
          ),
          answers: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
          acknowledgedDuringStorm: afterStorm,
          retryRounds,
          recoveredBySweeper: recovered,
          publishes: delivered,
          effects: [...pipeline.effects.values()].reduce((a, b) => a + b, 0),
        },
      }),
    );

    expect(faults).toBeGreaterThan(0);
    expect(recovered).toBeGreaterThan(0);
    expect(notPublished).toEqual([]);
    expect(neverPublished).toEqual([]);
    expect(wrongEffects).toEqual([]);
    expect(pipeline.effects.size).toBe(DELIVERIES);
    expect(delivered).toBeGreaterThanOrEqual(DELIVERIES);
  }, 300_000); // 3,000 requests and their consumers: minutes on a loaded two-core machine
});
