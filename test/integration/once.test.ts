import { describe, expect, it } from 'vitest';
import { ClaimStore } from '../../functions/consumers/claims.ts';
import { consume } from '../../functions/consumers/guard.ts';
import { createOnce, type Once, OnceInProgressError } from '../../functions/consumers/once.ts';
import { DependencyError } from '../../functions/shared/errors.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { backends, testDeclaration, useDynamo } from '../support/backends.ts';
import { envelope, lambdaContext, sqsEvent, sqsRecord } from '../support/events.ts';
import { until } from '../support/eventually.ts';

const T0 = Date.UTC(2100, 0, 1);
const silent = createLogger({}, 'error', () => undefined);

let sequence = 0;
const freshKey = (): string => {
  sequence += 1;
  return `nightly-report:2100-01-${sequence}`;
};

describe.each(backends)('Function: createOnce (on %s)', (kind) => {
  const db = useDynamo(kind, testDeclaration('it-once'));
  let now = T0;
  const onceAt = (options: { leaseMs?: number; scope?: string } = {}): Once =>
    createOnce({
      scope: options.scope ?? 'reports',
      tableName: db.consumerTable,
      client: db.client,
      clock: { now: () => now },
      log: silent,
      leaseMs: options.leaseMs,
    });

  it('runs fn once per key and answers what it returned; later calls do not run it', async () => {
    // Prepare
    const once = onceAt();
    const key = freshKey();
    let runs = 0;
    const fn = async () => {
      runs += 1;
      return `report #${runs}`;
    };

    // Act
    const first = await once(key, fn);
    const second = await once(key, fn);
    const other = await once(freshKey(), fn);

    // Assess
    expect(first).toEqual({ applied: true, value: 'report #1' });
    expect(second).toEqual({ applied: false });
    expect(other).toEqual({ applied: true, value: 'report #2' });
    expect(runs).toBe(2);
  });

  it('refuses a second caller while the first holds the key, with when to try again', async () => {
    // Prepare
    const once = onceAt({ leaseMs: 20_000 });
    const key = freshKey();
    let release: () => void = () => undefined;
    const running = once(key, () => new Promise<void>((r) => (release = r)));
    await until(async () => (await claimOf(key))?.status === 'IN_PROGRESS');

    // Act
    const second = await once(key, async () => 'never').catch((e: unknown) => e);
    release();

    // Assess
    expect(second).toBeInstanceOf(OnceInProgressError);
    expect(second).toMatchObject({ key, scope: 'reports', leaseUntil: T0 + 20_000 });
    expect(await running).toEqual({ applied: true, value: undefined });
  });

  it('gives the key back when fn throws, keeping the error on it, so the retry runs fn', async () => {
    // Prepare
    const once = onceAt();
    const key = freshKey();
    const failure = new Error('the mail server said no');

    // Act
    const thrown = await once(key, async () => {
      throw failure;
    }).catch((e: unknown) => e);
    const stored = await claimOf(key);
    const retry = await once(key, async () => 'sent');

    // Assess
    expect(thrown).toBe(failure);
    expect(stored).toMatchObject({ leaseUntil: 0, lastError: 'Error: the mail server said no' });
    expect(retry).toEqual({ applied: true, value: 'sent' });
  });

  it('runs fn again after a caller died holding the key, once its lease has lapsed', async () => {
    // Prepare: a caller claims and never finishes (its process died).
    const once = onceAt({ leaseMs: 5_000 });
    const key = freshKey();
    void once(key, () => new Promise(() => undefined));
    await until(async () => (await claimOf(key))?.status === 'IN_PROGRESS');

    // Act
    now = T0 + 4_999;
    const early = await once(key, async () => 'early').catch((e: unknown) => e);
    now = T0 + 5_001;
    const late = await once(key, async () => 'late');
    now = T0;

    // Assess
    expect(early).toBeInstanceOf(OnceInProgressError);
    expect(late).toEqual({ applied: true, value: 'late' });
  });

  it('holds the key until the caller’s deadline plus 30 s, whatever leaseMs says', async () => {
    // Prepare: a caller with 10 s left claims and is still running fn.
    const once = onceAt({ leaseMs: 1_000 });
    const key = freshKey();
    void once(key, () => new Promise(() => undefined), { deadline: T0 + 10_000 });
    await until(async () => (await claimOf(key))?.status === 'IN_PROGRESS');

    // Act
    now = T0 + 10_000 + 29_999;
    const beforeTheMargin = await once(key, async () => 'early').catch((e: unknown) => e);
    now = T0 + 10_000 + 30_001;
    const after = await once(key, async () => 'late');
    now = T0;

    // Assess
    expect((await claimOf(key, 'reports'))?.status).toBe('DONE');
    expect(beforeTheMargin).toBeInstanceOf(OnceInProgressError);
    expect(beforeTheMargin).toMatchObject({ leaseUntil: T0 + 40_000 });
    expect(after).toEqual({ applied: true, value: 'late' });
  });

  it('tries the done-mark again after a DynamoDB failure, so the key ends DONE', async () => {
    // Prepare
    const real = new ClaimStore({
      client: db.client,
      tableName: db.consumerTable,
      retentionSeconds: 60,
    });
    let completes = 0;
    const once = createOnce({
      scope: 'reports',
      tableName: db.consumerTable,
      clock: { now: () => now },
      log: silent,
      doneMarkRetry: { sleep: async () => undefined },
      claims: {
        claim: (...args) => real.claim(...args),
        release: (...args) => real.release(...args),
        complete: (...args) => {
          completes += 1;
          return completes === 1
            ? Promise.reject(new DependencyError('dynamodb', 'DynamoDB complete failed'))
            : real.complete(...args);
        },
      },
    });
    const key = freshKey();

    // Act
    const first = await once(key, async () => 'sent');
    const again = await once(key, async () => 'sent twice');

    // Assess
    expect(first).toEqual({ applied: true, value: 'sent' });
    expect(completes).toBe(2);
    expect((await claimOf(key))?.status).toBe('DONE');
    expect(again).toEqual({ applied: false });
  });

  it('keeps its keys apart from the guard’s claims: inside a consumer, the same event id is two keys', async () => {
    // Prepare: the consumer's default scope is `<subscriber>.once`.
    const event = envelope(`msg_once_${freshKey()}`);
    const once = createOnce({
      scope: 'billing.once',
      tableName: db.consumerTable,
      client: db.client,
      clock: { now: () => T0 },
      log: silent,
    });
    const sent: string[] = [];
    const handler = consume(
      async (e) => {
        await once(e.id, async () => {
          sent.push(e.id);
        });
      },
      {
        consumer: 'billing',
        tableName: db.consumerTable,
        client: db.client,
        clock: { now: () => T0 },
        log: silent,
      },
    );

    // Act
    const answer = await handler(
      sqsEvent(sqsRecord('m-once', JSON.stringify(event))),
      lambdaContext('once-invocation'),
    );

    // Assess
    expect(answer.batchItemFailures).toEqual([]);
    expect(sent).toEqual([event.id]);
  });

  const claimOf = (key: string, scope = 'reports') =>
    new ClaimStore({ client: db.client, tableName: db.consumerTable, retentionSeconds: 60 }).get(
      scope,
      key,
    );
});
