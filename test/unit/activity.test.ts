import { describe, expect, it } from 'vitest';
import {
  MemoryActivity,
  type RequestRecord,
  requestFromLog,
} from '../../infra/console/activity.ts';

const T0 = Date.parse('2100-01-01T00:00:00.000Z');

const line = (fields: Record<string, unknown>): string =>
  JSON.stringify({
    level: 'INFO',
    message: 'accepted',
    timestamp: new Date(T0).toISOString(),
    service: 'hookonce-ingest',
    ...fields,
  });

describe('Function: requestFromLog', () => {
  it('reads the line that ends a request: time, provider, status, outcome, ids, type and ms', () => {
    expect(
      requestFromLog({
        timestamp: '2100-01-01T00:00:00.000Z',
        provider: 'stripe',
        deliveryId: 'evt_1',
        eventType: 'invoice.paid',
        outcome: 'published',
        status: 202,
        ms: 12,
      }),
    ).toEqual({
      time: T0,
      provider: 'stripe',
      status: 202,
      outcome: 'published',
      deliveryId: 'evt_1',
      eventType: 'invoice.paid',
      ms: 12,
    });
  });

  it('reads a Logs Insights row, whose time is @timestamp and whose numbers are text', () => {
    expect(
      requestFromLog({
        '@timestamp': '2100-01-01 00:00:00.000',
        provider: 'github',
        outcome: 'rejected',
        reason: 'invalid_signature',
        status: '401',
        ms: '3',
      }),
    ).toEqual({
      time: T0,
      provider: 'github',
      status: 401,
      outcome: 'rejected',
      reason: 'invalid_signature',
      ms: 3,
    });
  });

  it('gives a 503 the dependency that failed as its reason', () => {
    expect(
      requestFromLog({
        timestamp: '2100-01-01T00:00:00.000Z',
        outcome: 'unavailable',
        dependency: 'dynamodb',
        status: 503,
      }),
    ).toMatchObject({ outcome: 'unavailable', reason: 'dynamodb' });
  });

  it('ignores every other line: no outcome, an unknown outcome, or no status', () => {
    expect(requestFromLog({ timestamp: '2100-01-01T00:00:00Z', message: 'claimed' })).toBe(
      undefined,
    );
    expect(
      requestFromLog({
        timestamp: '2100-01-01T00:00:00Z',
        outcome: 'payload_changed',
        status: 200,
      }),
    ).toBe(undefined);
    expect(requestFromLog({ timestamp: '2100-01-01T00:00:00Z', outcome: 'duplicate' })).toBe(
      undefined,
    );
  });
});

describe('Class: MemoryActivity', () => {
  it('keeps what the ingest function printed, newest first, and filters by provider, outcome and type', async () => {
    // Prepare
    const activity = new MemoryActivity();
    activity.addLine('not json');
    activity.addLine(line({ message: 'claimed', provider: 'stripe' }));
    activity.addLine(
      line({ provider: 'stripe', outcome: 'published', status: 202, eventType: 'invoice.paid' }),
    );
    activity.addLine(
      line({ provider: 'stripe', outcome: 'duplicate', status: 200, eventType: 'invoice.paid' }),
    );
    activity.addLine(
      line({ provider: 'github', outcome: 'rejected', status: 401, reason: 'invalid_signature' }),
    );

    // Act
    const all = await activity.recent();
    const stripe = await activity.recent({ provider: 'stripe' });
    const rejected = await activity.recent({ outcome: 'rejected' });
    const invoices = await activity.recent({ type: 'invoice.' });
    const last = await activity.recent({ limit: 1 });

    // Assess
    expect(all.map((r) => r.outcome)).toEqual(['rejected', 'duplicate', 'published']);
    expect(stripe.map((r) => r.outcome)).toEqual(['duplicate', 'published']);
    expect(rejected).toEqual([
      expect.objectContaining({ provider: 'github', status: 401, reason: 'invalid_signature' }),
    ]);
    expect(invoices).toHaveLength(2);
    expect(last.map((r) => r.outcome)).toEqual(['rejected']);
  });

  it('tells each watcher of every request as it ends, until it stops watching', () => {
    const activity = new MemoryActivity();
    const seen: RequestRecord[] = [];
    const stop = activity.watch((r) => seen.push(r));
    activity.addLine(line({ provider: 'stripe', outcome: 'published', status: 202 }));
    stop();
    activity.addLine(line({ provider: 'stripe', outcome: 'duplicate', status: 200 }));
    expect(seen.map((r) => r.outcome)).toEqual(['published']);
  });

  it('counts each minute: received, duplicates, rejected and published, with empty minutes as zeros', async () => {
    const activity = new MemoryActivity();
    const at = (ms: number, outcome: RequestRecord['outcome'], status: number) =>
      activity.add({ time: T0 + ms, outcome, status });
    at(0, 'published', 202);
    at(1_000, 'duplicate', 200);
    at(59_999, 'rejected', 401);
    at(120_000, 'taken_over', 202);

    expect(await activity.perMinute(T0, T0 + 180_000)).toEqual([
      { minute: T0, received: 3, duplicates: 1, rejected: 1, published: 1 },
      { minute: T0 + 60_000, received: 0, duplicates: 0, rejected: 0, published: 0 },
      { minute: T0 + 120_000, received: 1, duplicates: 0, rejected: 0, published: 1 },
    ]);
  });

  it('keeps only the newest requests beyond its capacity, and still counts them all', async () => {
    const activity = new MemoryActivity(2);
    for (let i = 0; i < 5; i++) activity.add({ time: T0 + i, outcome: 'published', status: 202 });
    expect((await activity.recent()).map((r) => r.time)).toEqual([T0 + 4, T0 + 3]);
    expect((await activity.perMinute(T0, T0 + 60_000))[0]?.received).toBe(5);
  });
});
