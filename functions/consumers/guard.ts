import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import type {
  Context,
  SQSBatchItemFailure,
  SQSBatchResponse,
  SQSEvent,
  SQSRecord,
} from 'aws-lambda';
import type { HookonceEvent } from '../fanout/envelope.ts';
import { BACKGROUND_CLIENT_CONFIG } from '../shared/aws.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { createLogger, errorFields, type LogFields, type Logger } from '../shared/log.ts';
import {
  emfMetrics,
  METRIC,
  type MetricName,
  type MetricsPort,
  SERVICE,
  Tally,
} from '../shared/metrics.ts';
import {
  type ClaimLease,
  ClaimStore,
  type ClaimStorePort,
  DEFAULT_LEASE_MARGIN_MS,
  type DoneMarkRetry,
  leaseOutliving,
  markDone,
} from './claims.ts';
import { readConsumerConfig } from './config.ts';
import { type PayloadOptions, readEvent, withData } from './payload.ts';

export interface ExactlyOnceOptions {
  /** Names the consumer in its claims. @default the subscriber name from HOOKONCE_SUBSCRIBER */
  consumer?: string;
  /** The claims table. @default HOOKONCE_CONSUMER_TABLE */
  tableName?: string;
  /** How long a DONE claim is kept: copies arriving within it are skipped. @default 7 days */
  retentionSeconds?: number;
  client?: DynamoDBClient;
  clock?: Clock;
  /**
   * Where the guard logs: one line per event (effect applied, duplicate
   * skipped, failed), at INFO for the first two.
   * @default a Powertools Logger, whose line for each event also carries the event's metrics
   */
  log?: Logger;
  /**
   * Counts effects, duplicates skipped and failures: folded into each event's
   * line when the guard logs with its own logger and the port can fold them
   * (emf()), else counted per batch. @default EMF
   */
  metrics?: MetricsPort;
  /**
   * Added to the invocation's remaining time when sizing the lease, so a claim
   * outlives the invocation that took it (see DEFAULT_LEASE_MARGIN_MS).
   * @default 30000
   */
  leaseMarginMs?: number;
  /** Reads the payloads of events too large to travel in their message (`dataref`). @default an S3 client made on first use */
  s3?: PayloadOptions['s3'];
  /** How a done-mark that failed on DynamoDB is tried again. @default 3 attempts, 100 ms then 200 ms apart */
  doneMarkRetry?: DoneMarkRetry;
  /** The claims, as a port: tests wrap the real store to inject failures. @default a ClaimStore on `tableName` */
  claims?: ClaimStorePort;
}

/**
 * What the guard reads and writes of a middy request: middy's `Request`, by
 * shape. The package's types name no middy type, so an app compiles them with
 * `skipLibCheck` off whether or not middy's own declarations do.
 */
export interface GuardRequest {
  event: SQSEvent;
  context: Context;
  response: SQSBatchResponse | null | undefined;
  error: Error | null | undefined;
}

/** The guard as a middy middleware: `middy().use(exactlyOnce())`. */
export interface GuardMiddleware {
  before(request: GuardRequest): Promise<void>;
  after(request: GuardRequest): Promise<void>;
  onError(request: GuardRequest): Promise<void>;
}

/** A Lambda handler for an SQS event source with partial batch responses. */
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** What the guard puts on the Lambda context for the handler. */
export interface BatchGuard {
  /** The envelope a record carries (already parsed and validated). */
  eventOf(record: SQSRecord): HookonceEvent;
  /**
   * Marks the record's effect done; called as soon as the effect returns.
   * `fields` go on the event's `effect applied` line.
   */
  complete(record: SQSRecord, fields?: LogFields): Promise<void>;
  /** Gives the claim back and reports the record in batchItemFailures. */
  fail(record: SQSRecord, error: unknown): Promise<void>;
}

export type GuardedContext = Context & { exactlyOnce: BatchGuard };

interface Claimed {
  readonly record: SQSRecord;
  /** With `data` filled in once claimed (see withData). */
  event: HookonceEvent;
  /** Copies of the same event in this batch, acknowledged or retried with it. */
  readonly copies: SQSRecord[];
  state: 'claimed' | 'done' | 'failed';
}

/** What every line about one event carries: its id, provider and delivery id. */
const eventFields = (event: HookonceEvent): LogFields => ({
  eventId: event.id,
  provider: event.provider,
  deliveryId: event.deliveryid,
});

/**
 * The exactly-once guard for SQS-triggered consumers (a middy middleware).
 *
 * Before the handler, each record's event id (the envelope's `id`, never the
 * SQS message id) is claimed with one conditional write, under a lease of the
 * invocation's remaining time plus a margin, so no copy of the event runs while
 * this invocation may; events already DONE are acknowledged and removed from
 * the batch, events another invocation holds are retried later. After the
 * handler, each claimed event is marked DONE (tried again on a DynamoDB error)
 * or released, and the answer carries `batchItemFailures` for exactly the
 * records to retry, so the rest of the batch goes on. A poison record (no envelope)
 * is reported failed every time and reaches the DLQ after maxReceiveCount.
 */
export function exactlyOnce(options: ExactlyOnceOptions = {}): GuardMiddleware {
  const config =
    options.consumer && options.tableName
      ? {
          subscriber: options.consumer,
          tableName: options.tableName,
          retentionSeconds: options.retentionSeconds,
        }
      : readConsumerConfig(process.env);
  const consumer = options.consumer ?? config.subscriber;
  const claims =
    options.claims ??
    new ClaimStore({
      client: options.client ?? new DynamoDBClient(BACKGROUND_CLIENT_CONFIG),
      tableName: options.tableName ?? config.tableName,
      retentionSeconds: options.retentionSeconds ?? config.retentionSeconds ?? 7 * 24 * 3600,
    });
  const clock = options.clock ?? systemClock;
  const service = process.env.POWERTOOLS_SERVICE_NAME || SERVICE.consumer;
  const log = (options.log ?? createLogger({ service })).child({ consumer });
  const metrics = options.metrics ?? emfMetrics({ service });
  // The guard's own logger prints each event's line, which can carry its metrics;
  // a logger of the caller's may not write JSON to stdout, so the batch counts them.
  const folds = options.log === undefined && metrics.emf !== undefined;
  const margin = options.leaseMarginMs ?? DEFAULT_LEASE_MARGIN_MS;
  const batches = new WeakMap<object, Batch>();
  type Counted = 'effects' | 'duplicates' | 'failures';
  const METRIC_OF: Record<Counted, MetricName> = {
    effects: METRIC.consumerEffects,
    duplicates: METRIC.consumerDuplicates,
    failures: METRIC.consumerFailures,
  };

  class Batch {
    readonly claimed = new Map<string, Claimed>();
    readonly failures = new Set<string>();
    /** What this batch counts when its lines cannot carry it: effects applied, duplicates skipped, records failed. */
    readonly counts = { effects: 0, duplicates: 0, failures: 0 };
    lease: ClaimLease;
    constructor(lease: ClaimLease) {
      this.lease = lease;
    }
    find(record: SQSRecord): Claimed | undefined {
      for (const c of this.claimed.values()) if (c.record.messageId === record.messageId) return c;
      return undefined;
    }
    /** The one line of an event's outcome, and its count: on the line, or in the batch's. */
    note(
      counted: Counted,
      level: 'info' | 'warn' | 'error',
      message: string,
      fields: LogFields,
    ): void {
      if (!folds) {
        this.counts[counted]++;
        log[level](message, fields);
        return;
      }
      const tally = new Tally();
      tally.count(METRIC_OF[counted], { subscriber: consumer });
      log[level](message, { ...fields, ...tally.fields(metrics, clock.now()) });
    }
    async complete(c: Claimed, fields: LogFields = {}): Promise<void> {
      if (c.state !== 'claimed') return;
      c.state = 'done';
      const claim = { consumer, eventId: c.event.id, owner: this.lease.owner };
      try {
        const kept = await markDone(
          claims,
          claim,
          () => clock.now(),
          options.doneMarkRetry,
          (error) =>
            log.warn('could not mark done; trying again', {
              ...eventFields(c.event),
              ...errorFields(error),
            }),
        );
        if (kept)
          this.note('effects', 'info', 'effect applied', { ...fields, ...eventFields(c.event) });
        else this.note('effects', 'warn', 'claim lost before completion', eventFields(c.event));
      } catch (error) {
        // The effect happened. Retrying the message would run it again once the
        // lease lapses, so it is acknowledged: only a later copy could run it twice.
        this.note('effects', 'error', 'could not mark done; the message is acknowledged anyway', {
          ...eventFields(c.event),
          ...errorFields(error),
        });
      }
    }
    async fail(c: Claimed, error: unknown): Promise<void> {
      if (c.state !== 'claimed') return;
      c.state = 'failed';
      this.note('failures', 'warn', 'effect failed; the message will be retried', {
        ...eventFields(c.event),
        ...errorFields(error),
      });
      for (const r of [c.record, ...c.copies]) this.failures.add(r.messageId);
      // The failure stays on the claim, for `hookonce dlq peek` to show.
      await claims
        .release(consumer, c.event.id, this.lease.owner, { error, at: clock.now() })
        .catch((e: unknown) => {
          log.warn(
            'could not release claim; it frees itself when its lease lapses',
            errorFields(e),
          );
        });
    }
  }

  const before = async (request: GuardRequest): Promise<void> => {
    const { context } = request;
    const now = clock.now();
    const remaining =
      typeof context.getRemainingTimeInMillis === 'function'
        ? context.getRemainingTimeInMillis()
        : 30_000;
    // The lease outlives this invocation: no copy runs the effect while it may still be running.
    const batch = new Batch(leaseOutliving(`${context.awsRequestId}`, now, remaining, margin));
    batches.set(context, batch);

    for (const record of request.event.Records) {
      const event = readEvent(record.body);
      if (!event) {
        batch.note('failures', 'error', 'poison message: not a hookonce envelope', {
          messageId: record.messageId,
        });
        batch.failures.add(record.messageId);
        continue;
      }
      const same = batch.claimed.get(event.id);
      if (same) same.copies.push(record);
      else batch.claimed.set(event.id, { record, event, copies: [], state: 'claimed' });
    }

    await Promise.all(
      [...batch.claimed.values()].map(async (c) => {
        try {
          const result = await claims.claim(consumer, c.event.id, batch.lease, now);
          if (result.outcome === 'done') {
            batch.note('duplicates', 'info', 'duplicate skipped', eventFields(c.event));
            batch.claimed.delete(c.event.id);
          } else if (result.outcome === 'in_progress') {
            for (const r of [c.record, ...c.copies]) batch.failures.add(r.messageId);
            batch.claimed.delete(c.event.id);
          }
        } catch (error) {
          batch.note('failures', 'error', 'claim failed; the message will be retried', {
            ...eventFields(c.event),
            ...errorFields(error),
          });
          for (const r of [c.record, ...c.copies]) batch.failures.add(r.messageId);
          batch.claimed.delete(c.event.id);
        }
      }),
    );

    // An effect always finds `data`: a body kept in S3 is read once per claimed event.
    await Promise.all(
      [...batch.claimed.values()].map(async (c) => {
        try {
          c.event = await withData(c.event, { s3: options.s3 });
        } catch (error) {
          await batch.fail(c, error);
          batch.claimed.delete(c.event.id);
        }
      }),
    );

    const guard: BatchGuard = {
      eventOf(record) {
        const c = batch.find(record);
        if (!c) throw new Error(`record ${record.messageId} is not claimed in this batch`);
        return c.event;
      },
      async complete(record, fields) {
        const c = batch.find(record);
        if (c) await batch.complete(c, fields);
      },
      async fail(record, error) {
        const c = batch.find(record);
        if (c) await batch.fail(c, error);
      },
    };
    (context as GuardedContext).exactlyOnce = guard;
    request.event = { ...request.event, Records: [...batch.claimed.values()].map((c) => c.record) };
  };

  const finish = async (request: GuardRequest, threw: boolean) => {
    const batch = batches.get(request.context);
    if (!batch) return;
    const reported = new Set(
      (request.response?.batchItemFailures ?? []).map((f) => f.itemIdentifier),
    );
    await Promise.all(
      [...batch.claimed.values()].map((c) =>
        threw || reported.has(c.record.messageId)
          ? batch.fail(c, threw ? request.error : new Error('reported failed by the handler'))
          : batch.complete(c),
      ),
    );
    const failures: SQSBatchItemFailure[] = [...batch.failures].map((id) => ({
      itemIdentifier: id,
    }));
    request.response = { batchItemFailures: failures };
    const dims = { subscriber: consumer };
    metrics.count(METRIC.consumerEffects, dims, batch.counts.effects);
    metrics.count(METRIC.consumerDuplicates, dims, batch.counts.duplicates);
    metrics.count(METRIC.consumerFailures, dims, batch.counts.failures);
  };

  return {
    before,
    after: (request) => finish(request, false),
    onError: async (request) => {
      log.error(
        'handler failed; its unfinished records will be retried',
        errorFields(request.error),
      );
      await finish(request, true);
    },
  };
}

/** What an effect gets besides its event. */
export interface EffectMeta {
  readonly record: SQSRecord;
  readonly context: Context;
  /**
   * Adds fields (ids, names, outcomes: never the payload) to the guard's
   * `effect applied` line of this event, so that an effect is logged in one
   * line. Set by eachEvent() and consume().
   */
  readonly annotate?: (fields: LogFields) => void;
}

/** Per-event effect, as a team writes it. */
export type Effect<Data = unknown> = (
  event: HookonceEvent<Data>,
  meta: EffectMeta,
) => Promise<void>;

/**
 * A batch handler that runs `effect` once per claimed event, concurrently,
 * marking each DONE the moment its effect returns.
 */
export function eachEvent<Data = unknown>(effect: Effect<Data>): SqsBatchHandler {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const guard = (context as Partial<GuardedContext>).exactlyOnce;
    if (!guard) throw new Error('eachEvent runs behind the exactlyOnce() middleware');
    await Promise.all(
      event.Records.map(async (record) => {
        const fields: LogFields = {};
        const annotate = (more: LogFields) => Object.assign(fields, more);
        try {
          await effect(guard.eventOf(record) as HookonceEvent<Data>, { record, context, annotate });
        } catch (error) {
          await guard.fail(record, error);
          return;
        }
        await guard.complete(record, fields);
      }),
    );
    return { batchItemFailures: [] };
  };
}

/** The whole consumer in one call: `export const handler = consume(async (event) => { … })`. */
export function consume<Data = unknown>(
  effect: Effect<Data>,
  options: ExactlyOnceOptions = {},
): SqsBatchHandler {
  return middy<SQSEvent, SQSBatchResponse>().use(exactlyOnce(options)).handler(eachEvent(effect));
}
