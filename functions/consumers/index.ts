/**
 * `hookonce/consumer`: what a consumer Lambda needs to apply each hookonce
 * event once. Import only what you use; everything here tree-shakes, and none
 * of it pulls in the CDK, the CLI or the provider verifiers.
 *
 *   import { consume } from 'hookonce/consumer';
 *   export const handler = consume(async (event) => { ... });
 */
export type { EncodedEvent, HookonceEvent } from '../fanout/envelope.ts';
export type { Clock } from '../shared/clock.ts';
export type { LogFields, Logger } from '../shared/log.ts';
export type { MetricsPort } from '../shared/metrics.ts';
export type { ClaimOutcome, DoneMarkRetry } from './claims.ts';
export {
  applyOnce,
  ContentionError,
  type OnceUpdate,
  type OnceUpdateOutcome,
  type UpdateClauses,
  type VersionedOutcome,
  type VersionedWrite,
  writeIfNewer,
} from './entities.ts';
export {
  type BatchGuard,
  consume,
  type Effect,
  type EffectMeta,
  type ExactlyOnceOptions,
  eachEvent,
  exactlyOnce,
  type GuardedContext,
  type GuardMiddleware,
  type GuardRequest,
  type SqsBatchHandler,
} from './guard.ts';
export {
  createOnce,
  type Once,
  type OnceCall,
  OnceInProgressError,
  type OnceOptions,
  type OnceResult,
  once,
} from './once.ts';
export { loadPayload, type PayloadOptions } from './payload.ts';
