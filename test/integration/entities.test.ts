import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyOnce, writeIfNewer } from '../../functions/consumers/entities.ts';
import { consume, type ExactlyOnceOptions } from '../../functions/consumers/guard.ts';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import { type Item, N, S } from '../../functions/shared/dynamo.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { backends, testDeclaration, useDynamo } from '../support/backends.ts';
import { envelope, lambdaContext, sqsEvent, sqsRecord } from '../support/events.ts';
import { seeded } from '../support/pipeline.ts';

const T0 = Date.UTC(2100, 0, 1);
const silent = createLogger({}, 'error', () => undefined);

let sequence = 0;
const fresh = (what: string): string => {
  sequence += 1;
  return `${what}_${sequence}`;
};

/** A seeded Fisher–Yates shuffle: the same order on every run. */
function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe.each(backends)('Module: entities (on %s)', (kind) => {
  const db = useDynamo(kind, testDeclaration('it-entities'));
  const read = async (pk: string): Promise<Item | undefined> => {
    const out = await db.client.send(
      new GetItemCommand({
        TableName: db.consumerTable,
        Key: { pk: S(pk) },
        ConsistentRead: true,
      }),
    );
    return out.Item;
  };

  describe('Function: writeIfNewer', () => {
    const write = (pk: string, version: number, value: string, tiebreak?: string) =>
      writeIfNewer({
        client: db.client,
        tableName: db.consumerTable,
        key: { pk: S(pk) },
        version,
        tiebreak,
        state: { value: S(value) },
      });

    it('writes a new entity, then only versions newer than the stored one', async () => {
      // Prepare
      const pk = fresh('ENTITY#w');

      // Act
      const first = await write(pk, 3, 'three');
      const older = await write(pk, 1, 'one');
      const same = await write(pk, 3, 'three again');
      const newer = await write(pk, 7, 'seven');

      // Assess
      expect(first).toEqual({ written: true });
      expect(older.written).toBe(false);
      expect(same.written).toBe(false);
      expect(newer).toEqual({ written: true });
      const item = await read(pk);
      expect(item?.version).toEqual(N(7));
      expect(item?.value).toEqual(S('seven'));
    });

    it('settles two events of one version by their tiebreak, whichever arrives first', async () => {
      // Prepare
      const [a, b] = [fresh('ENTITY#t'), fresh('ENTITY#t')];

      // Act: the same two events, in both orders.
      await write(a, 5, 'low', '1:evt_b');
      await write(a, 5, 'high', '2:evt_a');
      await write(b, 5, 'high', '2:evt_a');
      const loser = await write(b, 5, 'low', '1:evt_b');

      // Assess
      expect((await read(a))?.value).toEqual(S('high'));
      expect((await read(b))?.value).toEqual(S('high'));
      expect(loser).toMatchObject({ written: false });
    });

    it('leaves the item’s other attributes alone, and takes over an item that has no version yet', async () => {
      // Prepare
      const pk = fresh('ENTITY#o');
      await applyOnce({
        client: db.client,
        tableName: db.consumerTable,
        key: { pk: S(pk) },
        eventId: 'evt_counter',
        update: { add: ['#n :one'] },
        names: { '#n': 'counter' },
        values: { ':one': N(1) },
      });

      // Act
      const written = await write(pk, 1, 'state');

      // Assess
      expect(written).toEqual({ written: true });
      const item = await read(pk);
      expect(item?.counter).toEqual(N(1));
      expect(item?.value).toEqual(S('state'));
    });

    it('leaves every one of 50 entities at its highest version after 1,000 shuffled updates delivered with duplicates', async () => {
      // Prepare: 20 versions of each of 50 entities, each update one event, in a
      // seeded random order; a third of them delivered twice or three times, as
      // other SQS messages, some in the same batch and some in later ones.
      const random = seeded(20_261_123);
      const run = randomUUID().slice(0, 8);
      const entities = Array.from({ length: 50 }, (_, i) => `ENTITY#ooo-${run}-${i}`);
      const updates = entities.flatMap((entity) =>
        Array.from({ length: 20 }, (_, v) => {
          const version = v + 1;
          const event: HookonceEvent = {
            ...envelope(`${run}-${entity}-v${version}`, 'entity.updated'),
            data: { entity, version, value: `${entity}@${version}` },
          };
          return event;
        }),
      );
      const deliveries = shuffle(
        updates.flatMap((event) => {
          const copies = random() < 1 / 3 ? 1 + Math.floor(random() * 2) : 0;
          return Array.from({ length: 1 + copies }, () => event);
        }),
        random,
      );
      const effects = new Map<string, number>();
      const options: ExactlyOnceOptions = {
        consumer: 'it-ooo',
        tableName: db.consumerTable,
        client: db.client,
        clock: { now: () => T0 },
        log: silent,
      };
      const handler = consume<{ entity: string; version: number; value: string }>(async (event) => {
        effects.set(event.id, (effects.get(event.id) ?? 0) + 1);
        await writeIfNewer({
          client: db.client,
          tableName: db.consumerTable,
          key: { pk: S(event.data?.entity ?? '') },
          version: event.data?.version ?? 0,
          state: { value: S(event.data?.value ?? '') },
        });
      }, options);

      // Act: batches of 10, four invocations at a time, as Lambda would run them.
      const records: SQSRecord[] = deliveries.map((event, i) =>
        sqsRecord(`m-${run}-${i}`, JSON.stringify(event)),
      );
      const batches: SQSRecord[][] = [];
      for (let i = 0; i < records.length; i += 10) batches.push(records.slice(i, i + 10));
      const failed: string[] = [];
      for (let i = 0; i < batches.length; i += 4) {
        const answers = await Promise.all(
          batches
            .slice(i, i + 4)
            .map((batch) => handler(sqsEvent(...batch), lambdaContext(randomUUID(), 30_000))),
        );
        for (const a of answers) failed.push(...a.batchItemFailures.map((f) => f.itemIdentifier));
      }
      // Copies that met their event in flight in a concurrent batch come back, as SQS would bring them.
      const byId = new Map(records.map((r) => [r.messageId, r]));
      const retry = failed.map((id) => byId.get(id) as SQSRecord);
      const retried =
        retry.length > 0
          ? await handler(sqsEvent(...retry), lambdaContext(randomUUID(), 30_000))
          : { batchItemFailures: [] };

      // Assess
      expect(deliveries.length).toBeGreaterThan(1_000);
      expect(retried.batchItemFailures).toEqual([]);
      expect(effects.size).toBe(1_000);
      expect([...effects.values()].every((n) => n === 1)).toBe(true);
      const finals = await Promise.all(entities.map((pk) => read(pk)));
      expect(finals.map((item) => item?.version?.N)).toEqual(entities.map(() => '20'));
      expect(finals.map((item) => item?.value?.S)).toEqual(entities.map((e) => `${e}@20`));
    });
  });

  describe('Function: applyOnce', () => {
    const addOnce = (pk: string, eventId: string, amount: number, remember?: number) =>
      applyOnce({
        client: db.client,
        tableName: db.consumerTable,
        key: { pk: S(pk) },
        eventId,
        update: { add: ['#total :amount'] },
        names: { '#total': 'total' },
        values: { ':amount': N(amount) },
        remember,
      });

    it('applies an effect once per event, and records the event in the same write', async () => {
      // Prepare
      const pk = fresh('CUSTOMER#a');

      // Act
      const first = await addOnce(pk, 'evt_1', 100);
      const again = await addOnce(pk, 'evt_1', 100);
      const other = await addOnce(pk, 'evt_2', 50);

      // Assess
      expect([first, again, other].map((o) => o.outcome)).toEqual([
        'applied',
        'already_applied',
        'applied',
      ]);
      const item = await read(pk);
      expect(item?.total).toEqual(N(150));
      expect(item?.appliedEvents).toEqual({ L: [S('evt_1'), S('evt_2')] });
      expect(item?.appliedCount).toEqual(N(2));
    });

    it('remembers the last `remember` events in a ring, and forgets the oldest', async () => {
      // Prepare
      const pk = fresh('CUSTOMER#r');

      // Act
      for (const id of ['e1', 'e2', 'e3', 'e4']) await addOnce(pk, id, 1, 3);
      const recent = await addOnce(pk, 'e2', 1, 3);
      const forgotten = await addOnce(pk, 'e1', 1, 3);

      // Assess
      expect(recent.outcome).toBe('already_applied');
      expect(forgotten.outcome).toBe('applied');
      const item = await read(pk);
      expect(item?.total).toEqual(N(5));
      expect(item?.appliedEvents).toEqual({ L: [S('e4'), S('e1'), S('e3')] });
    });

    it('answers condition_failed and changes nothing when the effect’s own condition fails', async () => {
      // Prepare
      const pk = fresh('CUSTOMER#c');

      // Act
      const outcome = await applyOnce({
        client: db.client,
        tableName: db.consumerTable,
        key: { pk: S(pk) },
        eventId: 'evt_c',
        update: { set: ['#s = :s'] },
        names: { '#s': 'status' },
        values: { ':s': S('x') },
        condition: 'attribute_exists(pk)',
      });

      // Assess
      expect(outcome).toEqual({ outcome: 'condition_failed' });
      expect(await read(pk)).toBeUndefined();
    });

    it('applies each of 12 concurrent events on one item once, and a second round of them not at all', async () => {
      // Prepare
      const pk = fresh('CUSTOMER#k');
      const ids = Array.from({ length: 12 }, (_, i) => `evt_k${i}`);

      // Act
      const first = await Promise.all(ids.map((id) => addOnce(pk, id, 10)));
      const second = await Promise.all(ids.map((id) => addOnce(pk, id, 10)));

      // Assess
      expect(first.every((o) => o.outcome === 'applied')).toBe(true);
      expect(second.every((o) => o.outcome === 'already_applied')).toBe(true);
      const item = await read(pk);
      expect(item?.total).toEqual(N(120));
      expect(item?.appliedCount).toEqual(N(12));
    });
  });

  describe('The hard case: a crash between the effect and its done-mark', () => {
    let options: ExactlyOnceOptions;
    beforeAll(() => {
      options = {
        consumer: 'it-hard',
        tableName: db.consumerTable,
        client: db.client,
        log: silent,
      };
    });

    /**
     * One invocation that dies right after the effect: the guard's before hook
     * claims, the effect runs, and nothing after it runs (no done-mark, no
     * release, no answer to SQS), as when the process is killed.
     */
    async function crashAfterEffect(
      event: HookonceEvent,
      effect: (event: HookonceEvent) => Promise<void>,
    ): Promise<void> {
      const { exactlyOnce } = await import('../../functions/consumers/guard.ts');
      const middleware = exactlyOnce({ ...options, clock: { now: () => T0 } });
      const request = {
        event: sqsEvent(sqsRecord(`m-${randomUUID()}`, JSON.stringify(event))),
        context: lambdaContext(randomUUID(), 10_000),
        response: undefined,
        error: undefined,
        internal: {},
      };
      await middleware.before?.(request as never);
      await effect(event);
    }

    /** When the crashed invocation's claim lapses: its remaining 10 s plus the guard's 30 s margin. */
    const LEASE_END = T0 + 10_000 + 30_000;

    /** The same message again, from SQS after its visibility timeout, at `now`. */
    const redeliver = (
      event: HookonceEvent,
      effect: (event: HookonceEvent) => Promise<void>,
      now: number,
    ) =>
      consume(effect, { ...options, clock: { now: () => now } })(
        sqsEvent(sqsRecord(`m-${randomUUID()}`, JSON.stringify(event))),
        lambdaContext(randomUUID(), 10_000),
      );

    it('runs a plain effect again once the lease has lapsed, and not before (as the docs say)', async () => {
      // Prepare
      const event = envelope(fresh('msg_hard_plain'));
      let runs = 0;
      const effect = async () => {
        runs += 1;
      };
      await crashAfterEffect(event, effect);

      // Act
      const whileLeased = await redeliver(event, effect, LEASE_END);
      const afterLease = await redeliver(event, effect, LEASE_END + 1);
      const later = await redeliver(event, effect, LEASE_END + 10_000);

      // Assess: the lease was the invocation's remaining 10 s plus the 30 s margin.
      expect(whileLeased.batchItemFailures).toHaveLength(1);
      expect(afterLease.batchItemFailures).toEqual([]);
      expect(later.batchItemFailures).toEqual([]);
      expect(runs).toBe(2);
    });

    it('applies an applyOnce effect once, the re-run after the lease finding it recorded', async () => {
      // Prepare
      const event = envelope(fresh('msg_hard_once'));
      const pk = fresh('CUSTOMER#hard');
      const outcomes: string[] = [];
      const effect = async (e: HookonceEvent) => {
        const applied = await applyOnce({
          client: db.client,
          tableName: db.consumerTable,
          key: { pk: S(pk) },
          eventId: e.id,
          update: { add: ['#total :amount'] },
          names: { '#total': 'total' },
          values: { ':amount': N(4200) },
        });
        outcomes.push(applied.outcome);
      };
      await crashAfterEffect(event, effect);

      // Act
      const answer = await redeliver(event, effect, LEASE_END + 1);
      const again = await redeliver(event, effect, LEASE_END + 10_000);

      // Assess
      expect(answer.batchItemFailures).toEqual([]);
      expect(again.batchItemFailures).toEqual([]);
      expect(outcomes).toEqual(['applied', 'already_applied']);
      expect((await read(pk))?.total).toEqual(N(4200));
    });

    it('leaves a writeIfNewer entity as the first run wrote it, even after a newer version landed meanwhile', async () => {
      // Prepare
      const pk = fresh('INVOICE#hard');
      const event = {
        ...envelope(fresh('msg_hard_versioned')),
        data: { version: 5, status: 'open' },
      };
      const effect = async (e: HookonceEvent) => {
        const data = e.data as { version: number; status: string };
        await writeIfNewer({
          client: db.client,
          tableName: db.consumerTable,
          key: { pk: S(pk) },
          version: data.version,
          state: { status: S(data.status) },
        });
      };
      await crashAfterEffect(event, effect);
      await effect({ ...envelope(fresh('msg_hard_next')), data: { version: 6, status: 'paid' } });

      // Act
      const answer = await redeliver(event, effect, LEASE_END + 1);

      // Assess
      expect(answer.batchItemFailures).toEqual([]);
      const item = await read(pk);
      expect(item?.status).toEqual(S('paid'));
      expect(item?.version).toEqual(N(6));
    });
  });
});
