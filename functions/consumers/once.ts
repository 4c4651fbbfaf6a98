import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BACKGROUND_CLIENT_CONFIG } from '../shared/aws.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { optionalIntEnv, requireEnv } from '../shared/env.ts';
import { HookonceError } from '../shared/errors.ts';
import { createLogger, errorFields, type Logger } from '../shared/log.ts';
import {
  ClaimStore,
  type ClaimStorePort,
  DEFAULT_LEASE_MARGIN_MS,
  type DoneMarkRetry,
  leaseOutliving,
  markDone,
} from './claims.ts';
import { CONSUMER_ENV } from './config.ts';

/**
 * `once(key, fn)`: the consumer guard's claim → effect → done, on a key of your
 * choosing, for effects that do not arrive as an SQS batch (a scheduled job, an
 * HTTP handler, a step of a workflow). Same claims table and retention as the
 * guard (see claims.ts). Given the caller's deadline, the lease is the guard's:
 * the deadline plus a margin; without one, a fixed `leaseMs` from the call.
 */

export interface OnceOptions {
  /**
   * Keys are unique within a scope. Never the bare subscriber name: the guard's
   * own claims live there.
   * @default `<HOOKONCE_SUBSCRIBER>.once`
   */
  scope?: string;
  /** The claims table. @default HOOKONCE_CONSUMER_TABLE */
  tableName?: string;
  /** How long a DONE key is remembered: `fn` does not run again for it meanwhile. @default 7 days */
  retentionSeconds?: number;
  /**
   * For a call without a `deadline`: how long, from the call, the key is held
   * while `fn` runs; past it, another caller may take the key over (this one is
   * taken to have crashed), so make it longer than `fn` can take. A call with a
   * `deadline` is held until the deadline plus `leaseMarginMs` instead.
   * @default 30000 (30 s)
   */
  leaseMs?: number;
  /**
   * How long past a call's `deadline` its key is still held (see
   * DEFAULT_LEASE_MARGIN_MS).
   * @default 30000 (30 s)
   */
  leaseMarginMs?: number;
  /** How a done-mark that failed on DynamoDB is tried again. @default 3 attempts, 100 ms then 200 ms apart */
  doneMarkRetry?: DoneMarkRetry;
  /** The claims, as a port: tests wrap the real store to inject failures. @default a ClaimStore on `tableName` */
  claims?: ClaimStorePort;
  client?: DynamoDBClient;
  clock?: Clock;
  log?: Logger;
}

/** What one call did: ran `fn` (and what it answered), or found the key already done. */
export type OnceResult<T> =
  | { readonly applied: true; readonly value: T }
  | { readonly applied: false };

export interface OnceCall {
  /**
   * When this invocation ends at the latest (epoch ms), e.g. from a Lambda
   * context: `Date.now() + context.getRemainingTimeInMillis()`. The key is
   * then held until the deadline plus the margin (`leaseMarginMs`), whatever
   * `leaseMs` says: no other caller runs `fn` while this one may still be
   * running it, and a caller that timed out frees the key 30 s after.
   */
  deadline?: number;
}

/** Another caller holds the key under a live lease: try again after `leaseUntil`. */
export class OnceInProgressError extends HookonceError {
  readonly scope: string;
  readonly key: string;
  /** Epoch milliseconds. */
  readonly leaseUntil: number;
  constructor(scope: string, key: string, leaseUntil: number, options?: ErrorOptions) {
    super(`"${key}" (${scope}) is being applied by another caller until ${leaseUntil}`, options);
    this.name = 'OnceInProgressError';
    this.scope = scope;
    this.key = key;
    this.leaseUntil = leaseUntil;
  }
}

export type Once = <T>(
  key: string,
  fn: () => Promise<T>,
  call?: OnceCall,
) => Promise<OnceResult<T>>;

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600;

/**
 * A `once` bound to a table and a scope. `fn` runs at most once per key while
 * the key is remembered, with the guard's rules:
 *
 * - done before: `fn` does not run; the answer is `{ applied: false }`;
 * - held by another caller under a live lease: OnceInProgressError;
 * - `fn` returns: the key is marked DONE, tried again on a DynamoDB error
 *   (`doneMarkRetry`); should that never land, the answer is still `applied`
 *   (fn has run) and the key frees itself when its lease lapses;
 * - `fn` throws: the claim is given back at once (with the error kept on it) and
 *   the error is rethrown, so a retry runs `fn` again;
 * - the caller dies while `fn` runs: after the lease, the next caller runs `fn`
 *   again. Make `fn` itself idempotent where that matters (applyOnce,
 *   writeIfNewer in entities.ts): no bookkeeping outside the effect's own write
 *   can close that gap.
 */
export function createOnce(options: OnceOptions = {}): Once {
  const env = process.env;
  const tableName = options.tableName ?? requireEnv(env, CONSUMER_ENV.table);
  const scope =
    options.scope ??
    `${requireEnv(env, CONSUMER_ENV.subscriber, 'or pass createOnce({ scope })')}.once`;
  const retentionSeconds =
    options.retentionSeconds ??
    optionalIntEnv(env, CONSUMER_ENV.retentionSeconds, DEFAULT_RETENTION_SECONDS);
  const claims =
    options.claims ??
    new ClaimStore({
      client: options.client ?? new DynamoDBClient(BACKGROUND_CLIENT_CONFIG),
      tableName,
      retentionSeconds,
    });
  const clock = options.clock ?? systemClock;
  const log = (options.log ?? createLogger({ service: 'hookonce-once' })).child({ scope });
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const marginMs = options.leaseMarginMs ?? DEFAULT_LEASE_MARGIN_MS;

  return async <T>(key: string, fn: () => Promise<T>, call: OnceCall = {}) => {
    if (typeof key !== 'string' || key.length === 0) throw new TypeError('once: the key is empty');
    const now = clock.now();
    const owner = randomUUID();
    const lease =
      call.deadline === undefined
        ? { owner, until: now + leaseMs }
        : leaseOutliving(owner, now, call.deadline - now, marginMs);
    const claimed = await claims.claim(scope, key, lease, now);
    if (claimed.outcome === 'done') return { applied: false };
    if (claimed.outcome === 'in_progress') {
      throw new OnceInProgressError(scope, key, claimed.leaseUntil);
    }

    let value: T;
    try {
      value = await fn();
    } catch (error) {
      await claims.release(scope, key, owner, { error, at: clock.now() }).catch((e: unknown) => {
        log.warn('could not release; the key frees itself when its lease lapses', {
          key,
          ...errorFields(e),
        });
      });
      throw error;
    }
    try {
      const kept = await markDone(
        claims,
        { consumer: scope, eventId: key, owner },
        () => clock.now(),
        options.doneMarkRetry,
        (error) => log.warn('could not mark done; trying again', { key, ...errorFields(error) }),
      );
      if (!kept) log.warn('lease lost before completion: fn may run again elsewhere', { key });
    } catch (error) {
      // fn has run: failing the call now would invite a second run.
      log.error('could not mark done; fn has run', { key, ...errorFields(error) });
    }
    return { applied: true, value };
  };
}

let defaultOnce: Once | undefined;

/**
 * `await once(key, fn)` inside a consumer: scope `<subscriber>.once`, the
 * consumer's claims table, a lease of 30 s from the call, or, given
 * `{ deadline }`, until the deadline plus 30 s. Outside a consumer, use createOnce().
 */
export const once: Once = (key, fn, call) => {
  defaultOnce ??= createOnce();
  return defaultOnce(key, fn, call);
};
