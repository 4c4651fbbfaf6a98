import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_POINTS, type FaultPoint, Pipeline } from '../support/pipeline.ts';

/** The lease an invocation with 10 s left takes (10 s less the 0.5 s margin), plus a millisecond. */
const PAST_LEASE_MS = 9_501;
/** The sweeper leaves a lapsed delivery to the provider's retry for this long first. */
const GRACE_MS = 30_000;

const body = (id: string) => JSON.stringify({ type: 'invoice.paid', data: { invoice: id } });

/** Makes the next invocation that reaches `point` die there, once. */
function crashOnceAt(pipeline: Pipeline, point: FaultPoint): void {
  let armed = true;
  pipeline.plan = (reached) => {
    if (!armed || reached !== point) return false;
    armed = false;
    return true;
  };
}

describe('Crash-safe ingest: the invocation dies at a named point', () => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    pipeline = await Pipeline.start('crash');
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('a retry the provider rendered again takes over and publishes the first body, which the consumer gets', async () => {
    // Prepare: Stripe-like, the retry carries a different pending_webhooks.
    const id = 'rerendered-after-claim';
    const first = JSON.stringify({ type: 'invoice.paid', data: { invoice: id }, pending: 2 });
    const rerendered = JSON.stringify({ type: 'invoice.paid', data: { invoice: id }, pending: 1 });
    crashOnceAt(pipeline, 'after-claim');
    expect((await pipeline.send(id, first)).status).toBe(500);

    // Act
    pipeline.now += PAST_LEASE_MS;
    const retried = await pipeline.send(id, rerendered);
    await pipeline.drain();

    // Assess
    expect(retried.status).toBe(202);
    expect(pipeline.effects.get(`standard:${id}`)).toBe(1);
    expect(pipeline.consumedSha256.get(`standard:${id}`)).toBe(
      createHash('sha256').update(first).digest('hex'),
    );
  });

  describe.each(FAULT_POINTS)('dies %s', (point) => {
    it("the provider's retry, once the lease lapsed, finishes the delivery; the effect happens once", async () => {
      // Prepare
      const id = `retry-${point}`;
      crashOnceAt(pipeline, point);
      const crashed = await pipeline.send(id, body(id));
      expect(crashed.status).toBe(500);
      expect((await pipeline.record(id))?.status).toBe('RECEIVED');

      // A retry while the dead invocation's lease is live is told to wait.
      const early = await pipeline.send(id, body(id));
      expect(early.status).toBe(409);
      expect(early.body.error).toBe('in_progress');
      expect(Number(early.headers['retry-after'])).toBeGreaterThanOrEqual(1);

      // Act
      pipeline.now += PAST_LEASE_MS;
      const retried = await pipeline.send(id, body(id));
      await pipeline.drain();

      // Assess
      expect(retried).toMatchObject({
        status: 202,
        body: { id: `standard:${id}`, duplicate: false },
      });
      expect((await pipeline.record(id))?.status).toBe('PUBLISHED');
      expect((await pipeline.record(id))?.attempts).toBe(2);
      // Died after its publish: that copy went out too, and the guard absorbs it.
      expect(pipeline.published.get(`standard:${id}`)).toBe(point === 'after-claim' ? 1 : 2);
      expect(pipeline.effects.get(`standard:${id}`)).toBe(1);
      expect((await pipeline.send(id, body(id))).status).toBe(200);
    });

    it('with no retry (as GitHub does), the sweeper finishes it; the effect happens once', async () => {
      // Prepare
      const id = `sweep-${point}`;
      crashOnceAt(pipeline, point);
      expect((await pipeline.send(id, body(id))).status).toBe(500);
      pipeline.now += PAST_LEASE_MS;
      // Within the grace period the sweeper leaves it to a possible retry.
      expect((await pipeline.sweep(GRACE_MS)).recovered).toBe(0);

      // Act
      pipeline.now += GRACE_MS;
      const report = await pipeline.sweep(GRACE_MS);
      await pipeline.drain();

      // Assess
      expect(report).toMatchObject({ recovered: 1, failed: 0 });
      expect((await pipeline.record(id))?.status).toBe('PUBLISHED');
      expect(pipeline.effects.get(`standard:${id}`)).toBe(1);
      expect(pipeline.published.get(`standard:${id}`)).toBe(point === 'after-claim' ? 1 : 2);
      expect((await pipeline.sweep(GRACE_MS)).found).toBe(0);
    });
  });
});
