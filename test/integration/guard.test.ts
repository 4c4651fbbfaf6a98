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
import { createLogger } from '../../functions/shared/log.ts';
import { backends, testDeclaration, useDynamo } from '../support/backends.ts';
import { envelope, lambdaContext, sqsEvent, sqsRecord } from '../support/events.ts';

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
