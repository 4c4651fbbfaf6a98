import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, type FaultPoint, Pipeline } from '../support/pipeline.ts';

const PAST_LEASE_MS = 9_501;
const GRACE_MS = 30_000;
const body = (id: string) => JSON.stringify({ type: 'order.created', data: { order: id } });
const range = (from: number, to: number, prefix: string) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);

describe('Outages: a dependency stops mid-run and comes back', () => {
  let pipeline: Pipeline;
  const answers = new Map<string, Answer>();
  const sendAll = (ids: readonly string[]) =>
    Promise.all(
      ids.map(async (id) => {
        const answer = await pipeline.send(id, body(id));
        answers.set(id, answer);
        return answer;
      }),
    );
  /** What a provider does: send again, after its backoff, whatever did not get a 2xx. */
  const retryUntilAcknowledged = async (ids: readonly string[]) => {
    for (let round = 0; round < 5; round++) {
      const open = ids.filter((id) => ![200, 202].includes(answers.get(id)?.status ?? 0));
      if (open.length === 0) return;
      pipeline.now += PAST_LEASE_MS;
      await sendAll(open);
    }
  };

  /**
   * Sends `ids` at once and runs `stop` while every request that has reached
   * `point` by then waits there: at least one request is in flight, at a known
   * step, when the dependency goes away, whatever the timing of the machine.
   */
  const sendWhileStopping = async (
    ids: readonly string[],
    point: FaultPoint,
    stop: () => Promise<void>,
  ): Promise<Answer[]> => {
    let reached: () => void = () => undefined;
    const oneThere = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let resume: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      resume = resolve;
    });
    pipeline.hold = (at) => {
      if (at !== point) return undefined;
      reached();
      return stopped;
    };
    const wave = sendAll(ids);
    await oneThere;
    await stop();
    pipeline.hold = () => undefined;
    resume();
    return wave;
  };

  beforeAll(async () => {
    pipeline = await Pipeline.start('outage');
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('answers 503 with Retry-After while DynamoDB is down, stores nothing half-done, and retries finish', async () => {
    // Prepare
    const before = range(0, 10, 'ddb');
    const during = range(10, 20, 'ddb');
    expect((await sendAll(before)).every((a) => a.status === 202)).toBe(true);

    // Act: the emulator closes, requests arrive, it comes back with its data.
    await pipeline.stopDynamo();
    const down = await sendAll(during);
    await pipeline.startDynamo();
    await retryUntilAcknowledged(during);

    // Assess
    for (const answer of down) {
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ error: 'dependency_unavailable' });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    for (const id of [...before, ...during])
      expect((await pipeline.record(id))?.status).toBe('PUBLISHED');
  });

  it('answers 503 while SNS is down, gives the lease back, and the retry publishes at once', async () => {
    // Prepare
    const during = range(0, 10, 'sns');

    // Act
    await pipeline.stopMessaging();
    const down = await sendAll(during);
    const stored = await Promise.all(during.map((id) => pipeline.record(id)));
    await pipeline.startMessaging();
    // No clock advance: the released lease lets the very next retry take over.
    const back = await sendAll(during);

    // Assess
    expect(down.map((a) => a.status)).toEqual(during.map(() => 503));
    // Stored and released (lease 0), so neither lost nor stuck behind a lease.
    expect(stored.map((r) => [r?.status, r?.leaseUntil])).toEqual(
      during.map(() => ['RECEIVED', 0]),
    );
    expect(back.map((a) => a.status)).toEqual(during.map(() => 202));
  });

  it('loses nothing when DynamoDB and then SNS stop while requests are in flight', async () => {
    // Prepare
    const ids = range(0, 60, 'mid');

    // Act: stop DynamoDB while requests wait to mark what they published, bring it
    // back; then stop SNS while requests wait to publish what they claimed.
    const wave1 = await sendWhileStopping(ids.slice(0, 30), 'before-mark', () =>
      pipeline.stopDynamo(),
    );
    await pipeline.startDynamo();
    const wave2 = await sendWhileStopping(ids.slice(30), 'after-claim', () =>
      pipeline.stopMessaging(),
    );
    await pipeline.startMessaging();
    await retryUntilAcknowledged(ids);
    pipeline.now += PAST_LEASE_MS + GRACE_MS;
    await pipeline.sweep(GRACE_MS);
    await pipeline.drain();

    // Assess: each wave had requests cut off mid-way, and yet every delivery of the
    // whole suite is published, and applied once.
    expect(wave1.filter((a) => a.status >= 500).length).toBeGreaterThan(0);
    expect(wave2.filter((a) => a.status >= 500).length).toBeGreaterThan(0);
    const all = [...answers.keys()];
    expect(all).toHaveLength(90);
    for (const id of all) {
      expect((await pipeline.record(id))?.status).toBe('PUBLISHED');
      expect(pipeline.effects.get(`standard:${id}`)).toBe(1);
    }
    const statuses = new Set(all.map((id) => answers.get(id)?.status));
    expect([...statuses].every((s) => s === 200 || s === 202)).toBe(true);
  });
});
