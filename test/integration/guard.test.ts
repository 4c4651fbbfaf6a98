import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClaimStore } from '../../functions/consumers/claims.ts';
import {
  consume,
  type ExactlyOnceOptions,
  exactlyOnce,
  type GuardedContext,
} from '../../functions/consumers/guard.ts';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import type { Clock } from '../../functions/shared/clock.ts';
import { DependencyError } from '../../functions/shared/errors.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { emfMetrics } from '../../functions/shared/metrics.ts';
import { backends, testDeclaration, useDynamo } from '../support/backends.ts';
import { envelope, lambdaContext, sqsEvent, sqsRecord } from '../support/events.ts';
import { captureWrites } from '../support/log-capture.ts';

const T0 = Date.UTC(2100, 0, 1);
const CONSUMER = 'billing';
const fixedClock: Clock = { now: () => T0 };
const silent = createLogger({}, 'error', () => undefined);

let sequence = 0;
/** A fresh delivery id, so no test sees another's claims. */
const newDeliveryId = (): string => {
  sequence += 1;
  return `msg_guard_${sequence}`;
};
let invocation = 0;
const nextContext = () => {
  invocation += 1;
  return lambdaContext(`invocation-${invocation}`, 10_000);
};

const recordOf = (messageId: string, event: HookonceEvent) =>
  sqsRecord(messageId, JSON.stringify(event));

/** Counts how often the effect ran for each event id: the effect itself, not a stand-in for AWS. */
class EffectCounter {
  readonly runs = new Map<string, number>();
  readonly failing = new Set<string>();
  readonly effect = async (event: HookonceEvent): Promise<void> => {
    this.runs.set(event.id, (this.runs.get(event.id) ?? 0) + 1);
    if (this.failing.has(event.id)) throw new Error(`effect of ${event.id} failed`);
  };
  count(event: HookonceEvent): number {
    return this.runs.get(event.id) ?? 0;
  }
}

const failedIds = (response: SQSBatchResponse | undefined): string[] =>
  (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier).sort();

describe.each(backends)('Middleware: exactlyOnce (on %s)', (kind) => {
  const db = useDynamo(kind, testDeclaration('it-guard'));
  let options: ExactlyOnceOptions;

  beforeAll(() => {
    options = {
      consumer: CONSUMER,
      tableName: db.consumerTable,
      client: db.client,
      clock: fixedClock,
      log: silent,
    };
  });

  describe('Function: consume', () => {
    it('runs the effect once for two copies of one envelope in one batch, and acknowledges both', async () => {
      // Prepare
      const counter = new EffectCounter();
      const handler = consume(counter.effect, options);
      const event = envelope(newDeliveryId());

      // Act
      const response = await handler(
        sqsEvent(recordOf('m-1', event), recordOf('m-2', event)),
        nextContext(),
      );

      // Assess
      expect(counter.count(event)).toBe(1);
      expect(failedIds(response)).toEqual([]);
    });

    it('runs the effect once when one SQS message appears twice in a batch', async () => {
      // Prepare
      const counter = new EffectCounter();
      const handler = consume(counter.effect, options);
      const event = envelope(newDeliveryId());

      // Act
      const response = await handler(
        sqsEvent(recordOf('m-same', event), recordOf('m-same', event)),
        nextContext(),
      );

      // Assess
      expect(counter.count(event)).toBe(1);
      expect(failedIds(response)).toEqual([]);
    });

    it('logs each event in one line with what its effect annotated, its count folded in; a copy in one line too', async () => {
      // Prepare: the guard's own logger (stdout) and metrics that fold.
      const { log: _, ...own } = options;
      const handler = consume(
        async (event, { annotate }) => {
          annotate?.({ entity: `INVOICE#${event.deliveryid}`, written: true });
        },
        { ...own, metrics: emfMetrics({ service: 'hookonce-consumer', disabled: false }) },
      );
      const event = envelope(newDeliveryId());

      // Act
      const applied = await captureWrites(() =>
        handler(sqsEvent(recordOf('m-1', event)), nextContext()),
      );
      const copy = await captureWrites(() =>
        handler(sqsEvent(recordOf('m-2', event)), nextContext()),
      );

      // Assess
      const parse = (lines: readonly string[]) =>
        lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(parse(applied.lines)).toEqual([
        expect.objectContaining({
          level: 'INFO',
          message: 'effect applied',
          eventId: event.id,
          entity: `INVOICE#${event.deliveryid}`,
          written: true,
          subscriber: CONSUMER,
          ConsumerEffects: 1,
          _aws: expect.any(Object),
        }),
      ]);
      expect(parse(copy.lines)).toEqual([
        expect.objectContaining({
          message: 'duplicate skipped',
          eventId: event.id,
          ConsumerDuplicatesSkipped: 1,
        }),
      ]);
    });

    it('counts per batch, in EMF lines of their own, when it logs with a logger of the caller', async () => {
      // Prepare
      const lines: string[] = [];
      const emf: string[] = [];
      const handler = consume(async () => undefined, {
        ...options,
        log: createLogger({}, 'info', (l) => lines.push(l)),
        metrics: emfMetrics({ service: 'hookonce-consumer', write: (l) => emf.push(l) }),
      });
      const events = [envelope(newDeliveryId()), envelope(newDeliveryId())];

      // Act
      await handler(sqsEvent(...events.map((e, i) => recordOf(`m-${i}`, e))), nextContext());

      // Assess
      expect(lines.filter((l) => l.includes('"_aws"'))).toEqual([]);
      expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual([
        'effect applied',
        'effect applied',
      ]);
      expect(emf.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
        expect.objectContaining({ subscriber: CONSUMER, ConsumerEffects: 2 }),
      ]);
    });

    it('runs the effect once across invocations, for another SQS message or the same one again', async () => {
      // Prepare
      const counter = new EffectCounter();
      const handler = consume(counter.effect, options);
      const event = envelope(newDeliveryId());

      // Act
      const first = await handler(sqsEvent(recordOf('m-1', event)), nextContext());
      const fromSns = await handler(sqsEvent(recordOf('m-2', event)), nextContext());
      const fromSqs = await handler(sqsEvent(recordOf('m-1', event)), nextContext());

      // Assess
      expect(counter.count(event)).toBe(1);
      expect(failedIds(first)).toEqual([]);
      expect(failedIds(fromSns)).toEqual([]);
      expect(failedIds(fromSqs)).toEqual([]);
    });

    it('reports exactly the failed record of a batch of 10, and its retry runs the effect', async () => {
      // Prepare
      const counter = new EffectCounter();
      const handler = consume(counter.effect, options);
      const events = Array.from({ length: 10 }, () => envelope(newDeliveryId()));
      const records = events.map((e, i) => recordOf(`m-${i}`, e));
      const broken = events[3] as HookonceEvent;
      counter.failing.add(broken.id);

      // Act
      const first = await handler(sqsEvent(...records), nextContext());
      counter.failing.delete(broken.id);
      const retry = await handler(sqsEvent(records[3] as (typeof records)[3]), nextContext());

      // Assess
      expect(failedIds(first)).toEqual(['m-3']);
      expect(failedIds(retry)).toEqual([]);
      expect(events.map((e) => counter.count(e))).toEqual([1, 1, 1, 2, 1, 1, 1, 1, 1, 1]);
    });

    it('reports both copies of an event whose effect failed', async () => {
      // Prepare
      const counter = new EffectCounter();
      const handler = consume(counter.effect, options);
      const event = envelope(newDeliveryId());
      counter.failing.add(event.id);

      // Act
      const response = await handler(
        sqsEvent(recordOf('m-1', event), recordOf('m-2', event)),
        nextContext(),
      );

      // Assess
      expect(failedIds(response)).toEqual(['m-1', 'm-2']);
      expect(counter.count(event)).toBe(1);
    });

    it('reports a record that is no hookonce envelope as failed, every time, without an effect', async () => {
      // Prepare
      const counter = new EffectCounter();
      const handler = consume(counter.effect, options);
      const good = envelope(newDeliveryId());
      const batch = sqsEvent(
        sqsRecord('m-text', 'not json at all'),
        sqsRecord('m-json', '{"hello":"world"}'),
        sqsRecord('m-noid', JSON.stringify({ ...good, id: '' })),
        recordOf('m-good', good),
      );

      // Act
      const first = await handler(batch, nextContext());
      const again = await handler(batch, nextContext());

      // Assess
      expect(failedIds(first)).toEqual(['m-json', 'm-noid', 'm-text']);
      expect(failedIds(again)).toEqual(['m-json', 'm-noid', 'm-text']);
      expect([...counter.runs.keys()]).toEqual([good.id]);
      expect(counter.count(good)).toBe(1);
    });

    it('reports a record whose event another invocation holds under a live lease, without running it', async () => {
      // Prepare
      const counter = new EffectCounter();
      const handler = consume(counter.effect, options);
      const event = envelope(newDeliveryId());
      const claims = new ClaimStore({
        client: db.client,
        tableName: db.consumerTable,
        retentionSeconds: 3600,
      });
      await claims.claim(CONSUMER, event.id, { owner: 'elsewhere', until: T0 + 60_000 }, T0);

      // Act
      const response = await handler(sqsEvent(recordOf('m-held', event)), nextContext());

      // Assess
      expect(failedIds(response)).toEqual(['m-held']);
      expect(counter.count(event)).toBe(0);
    });

    it('does not run the effect again after a crash that followed the done-mark', async () => {
      // Prepare: the first invocation completes the event, then crashes before SQS hears of it.
      const counter = new EffectCounter();
      const event = envelope(newDeliveryId());
      const record = recordOf('m-crash', event);
      const crashing = middy<SQSEvent, SQSBatchResponse>()
        .use(exactlyOnce(options))
        .handler(async (batch, context) => {
          const guard = (context as GuardedContext).exactlyOnce;
          for (const r of batch.Records) {
            await counter.effect(guard.eventOf(r));
            await guard.complete(r);
          }
          throw new Error('crashed after the done-mark');
        });
      await crashing(sqsEvent(record), nextContext());

      // Act: SQS delivers the same message again.
      const response = await consume(counter.effect, options)(sqsEvent(record), nextContext());

      // Assess
      expect(counter.count(event)).toBe(1);
      expect(failedIds(response)).toEqual([]);
    });
  });

  describe('Function: exactlyOnce, its lease', () => {
    const REMAINING_MS = 10_000;
    const MARGIN_MS = 30_000;

    /**
     * One invocation at T0 with REMAINING_MS left that is still running its
     * effect: the before hook has claimed, nothing after it has run yet.
     */
    async function stillRunning(
      event: HookonceEvent,
      extra: Partial<ExactlyOnceOptions> = {},
    ): Promise<void> {
      const middleware = exactlyOnce({ ...options, ...extra });
      await middleware.before?.({
        event: sqsEvent(recordOf('m-first', event)),
        context: lambdaContext(`running-${event.id}`, REMAINING_MS),
        response: undefined,
        error: undefined,
        internal: {},
      } as never);
    }

    const claimOf = (event: HookonceEvent) =>
      new ClaimStore({
        client: db.client,
        tableName: db.consumerTable,
        retentionSeconds: 3600,
      }).get(CONSUMER, event.id);

    /** A copy of the event from SQS, handled by another invocation at `now`. */
    const copyAt = (counter: EffectCounter, event: HookonceEvent, now: number) =>
      consume(counter.effect, { ...options, clock: { now: () => now } })(
        sqsEvent(recordOf(`m-copy-${now}`, event)),
        nextContext(),
      );

    it('holds the claim for the remaining time plus a 30 s margin: a copy before then is retried, not run', async () => {
      // Prepare
      const counter = new EffectCounter();
      const event = envelope(newDeliveryId());
      await stillRunning(event);

      // Act
      const atTheDeadline = await copyAt(counter, event, T0 + REMAINING_MS);
      const justBeforeTheEnd = await copyAt(counter, event, T0 + REMAINING_MS + MARGIN_MS - 1);
      const claim = await claimOf(event);
      const afterTheLease = await copyAt(counter, event, T0 + REMAINING_MS + MARGIN_MS + 1);

      // Assess
      expect(claim?.leaseUntil).toBe(T0 + REMAINING_MS + MARGIN_MS);
      expect(failedIds(atTheDeadline)).toEqual([`m-copy-${T0 + REMAINING_MS}`]);
      expect(failedIds(justBeforeTheEnd)).toEqual([`m-copy-${T0 + REMAINING_MS + MARGIN_MS - 1}`]);
      // Lapsed: the first invocation is over (it crashed), so the copy runs the effect.
      expect(failedIds(afterTheLease)).toEqual([]);
      expect(counter.count(event)).toBe(1);
    });

    it('takes its margin from leaseMarginMs', async () => {
      // Prepare
      const event = envelope(newDeliveryId());

      // Act
      await stillRunning(event, { leaseMarginMs: 5_000 });

      // Assess
      expect((await claimOf(event))?.leaseUntil).toBe(T0 + REMAINING_MS + 5_000);
    });
  });

  describe('Function: exactlyOnce, its done-mark', () => {
    /** The real claim store, whose complete() fails with a DependencyError the first `failures` times. */
    function flakyDoneMark(failures: number) {
      const real = new ClaimStore({
        client: db.client,
        tableName: db.consumerTable,
        retentionSeconds: 3600,
      });
      let calls = 0;
      return {
        get calls() {
          return calls;
        },
        claims: {
          claim: (...args: Parameters<ClaimStore['claim']>) => real.claim(...args),
          release: (...args: Parameters<ClaimStore['release']>) => real.release(...args),
          complete: (...args: Parameters<ClaimStore['complete']>) => {
            calls += 1;
            if (calls <= failures) {
              return Promise.reject(new DependencyError('dynamodb', 'DynamoDB complete failed'));
            }
            return real.complete(...args);
          },
        },
        get: (eventId: string) => real.get(CONSUMER, eventId),
      };
    }

    it('marks the event DONE after one failed attempt, so a copy after the lease is skipped', async () => {
      // Prepare
      const counter = new EffectCounter();
      const event = envelope(newDeliveryId());
      const flaky = flakyDoneMark(1);
      const waits: number[] = [];
      const handler = consume(counter.effect, {
        ...options,
        claims: flaky.claims,
        doneMarkRetry: { sleep: async (ms) => void waits.push(ms) },
      });

      // Act
      const first = await handler(sqsEvent(recordOf('m-1', event)), nextContext());
      const copyLongAfter = await consume(counter.effect, {
        ...options,
        clock: { now: () => T0 + 3_600_000 },
      })(sqsEvent(recordOf('m-2', event)), nextContext());

      // Assess
      expect(failedIds(first)).toEqual([]);
      expect(flaky.calls).toBe(2);
      expect(waits).toEqual([100]);
      expect((await flaky.get(event.id))?.status).toBe('DONE');
      expect(failedIds(copyLongAfter)).toEqual([]);
      expect(counter.count(event)).toBe(1);
    });

    it('gives up after three attempts and acknowledges the record: its effect has run', async () => {
      // Prepare
      const counter = new EffectCounter();
      const event = envelope(newDeliveryId());
      const flaky = flakyDoneMark(Number.POSITIVE_INFINITY);
      const waits: number[] = [];
      const handler = consume(counter.effect, {
        ...options,
        claims: flaky.claims,
        doneMarkRetry: { sleep: async (ms) => void waits.push(ms) },
      });

      // Act
      const response = await handler(sqsEvent(recordOf('m-1', event)), nextContext());

      // Assess
      expect(failedIds(response)).toEqual([]);
      expect(flaky.calls).toBe(3);
      expect(waits).toEqual([100, 200]);
      expect((await flaky.get(event.id))?.status).toBe('IN_PROGRESS');
      expect(counter.count(event)).toBe(1);
    });
  });

  describe('Function: exactlyOnce', () => {
    it('reports every unfinished record when the handler throws, and none it completed', async () => {
      // Prepare
      const counter = new EffectCounter();
      const events = Array.from({ length: 5 }, () => envelope(newDeliveryId()));
      const records = events.map((e, i) => recordOf(`m-${i}`, e));
      const handler = middy<SQSEvent, SQSBatchResponse>()
        .use(exactlyOnce(options))
        .handler(async (batch, context) => {
          const guard = (context as GuardedContext).exactlyOnce;
          for (const r of batch.Records.slice(0, 2)) {
            await counter.effect(guard.eventOf(r));
            await guard.complete(r);
          }
          throw new Error('the handler gave up half-way');
        });

      // Act
      const response = await handler(sqsEvent(...records), nextContext());
      const retry = await consume(counter.effect, options)(sqsEvent(...records), nextContext());

      // Assess
      expect(failedIds(response)).toEqual(['m-2', 'm-3', 'm-4']);
      expect(failedIds(retry)).toEqual([]);
      expect(events.map((e) => counter.count(e))).toEqual([1, 1, 1, 1, 1]);
    });

    it('releases the records a handler reports in batchItemFailures itself, and completes the rest', async () => {
      // Prepare
      const counter = new EffectCounter();
      const events = Array.from({ length: 3 }, () => envelope(newDeliveryId()));
      const records = events.map((e, i) => recordOf(`m-${i}`, e));
      const handler = middy<SQSEvent, SQSBatchResponse>()
        .use(exactlyOnce(options))
        .handler(async (batch, context) => {
          const guard = (context as GuardedContext).exactlyOnce;
          for (const r of batch.Records) await counter.effect(guard.eventOf(r));
          return { batchItemFailures: [{ itemIdentifier: 'm-1' }] };
        });

      // Act
      const response = await handler(sqsEvent(...records), nextContext());
      const retry = await consume(counter.effect, options)(sqsEvent(...records), nextContext());

      // Assess
      expect(failedIds(response)).toEqual(['m-1']);
      expect(failedIds(retry)).toEqual([]);
      expect(events.map((e) => counter.count(e))).toEqual([1, 2, 1]);
    });
  });
});
