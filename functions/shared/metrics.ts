import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * hookonce's metrics: counts in CloudWatch's embedded metric format (EMF),
 * written by Powertools Metrics as log lines that CloudWatch turns into
 * metrics, with no API call on the request path. The cores count through the
 * small MetricsPort; the CDK construct builds its alarms and dashboard from
 * the same names (infra/observability.ts).
 *
 * Dimensions stay low-cardinality: `service` (set by Powertools), and then only
 * a declared provider or subscriber name, a reason code or a dependency name.
 * Never a delivery id, an event id or anything a request chooses.
 */
export const METRICS_NAMESPACE = 'hookonce';

/** The `service` dimension (and log key) of each function. */
export const SERVICE = {
  ingest: 'hookonce-ingest',
  sweeper: 'hookonce-sweeper',
  consumer: 'hookonce-consumer',
} as const;

/** The `service` dimension (and log key) of each function of a deployment named `name`. */
export const serviceNames = (name: string) => ({
  ingest: `${name}-ingest`,
  sweeper: `${name}-sweeper`,
  consumer: `${name}-consumer`,
});

/** Every metric hookonce emits, and the dimensions each carries besides `service`. */
export const METRIC = {
  /** A request for a declared provider (ingest; provider). */
  received: 'Received',
  /** A new delivery stored and published (ingest; provider). */
  published: 'Published',
  /** A delivery id seen again, already published: answered 200 (ingest; provider). */
  duplicate: 'Duplicate',
  /**
   * A signed delivery id seen again with another body: answered as a duplicate,
   * the first body kept (ingest; provider).
   */
  payloadChanged: 'PayloadChanged',
  /** A request refused with a 4xx (ingest; provider, reason). */
  rejected: 'Rejected',
  /** A request refused for its signature or timestamp, any reason (ingest; provider). */
  signatureRejected: 'SignatureRejected',
  /** A stale claim taken over and published by a retry (ingest; provider). */
  takenOver: 'TakenOver',
  /** Another invocation held the delivery: answered 409 in_progress (ingest; provider). */
  inProgress: 'InProgress',
  /** A dependency failed: answered 503 (ingest; provider, dependency). */
  unavailable: 'Unavailable',
  /** Deliveries stored but never published, published by the sweeper (sweeper). */
  sweeperRecovered: 'SweeperRecovered',
  /** Deliveries the sweeper could not publish this run; a later run tries again (sweeper). */
  sweeperFailed: 'SweeperFailed',
  /** Deliveries the sweeper gave up on after its attempts: parked FAILED, kept, listed by `hookonce deliveries failed` (sweeper). */
  sweeperParked: 'SweeperParked',
  /** Effects a consumer applied (consumer; subscriber). */
  consumerEffects: 'ConsumerEffects',
  /** Events a consumer had already applied, skipped by the guard (consumer; subscriber). */
  consumerDuplicates: 'ConsumerDuplicatesSkipped',
  /** Records a consumer failed on: effect errors, claim errors, poison messages (consumer; subscriber). */
  consumerFailures: 'ConsumerFailures',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Dimension names the metrics use; values are declared names or fixed codes. */
export type Dimensions = Readonly<
  Partial<Record<'provider' | 'reason' | 'dependency' | 'subscriber', string>>
>;

export interface MetricsPort {
  /** Adds `value` (default 1) to a count with these dimensions. */
  count(name: MetricName, dimensions?: Dimensions, value?: number): void;
}

/** Counts nothing: for tests and tools that do not measure. */
export const noMetrics: MetricsPort = { count: () => undefined };

export interface EmfMetricsOptions {
  /** The `service` dimension. */
  readonly service: string;
  /** @default METRICS_NAMESPACE */
  readonly namespace?: string;
  /** Where each EMF line goes. @default stdout, through Powertools */
  readonly write?: (line: string) => void;
}

/**
 * Counts as EMF through Powertools Metrics. Each count is written at once as
 * one EMF object with its own dimensions (Powertools shares one dimension set
 * across everything a flush holds), so callers count totals, not each item:
 * the consumer guard counts a batch's effects in one call.
 * POWERTOOLS_METRICS_DISABLED=true turns the output off (the local runtime does).
 */
export function emfMetrics(options: EmfMetricsOptions): MetricsPort {
  const metrics = new Metrics({
    namespace: options.namespace ?? METRICS_NAMESPACE,
    serviceName: options.service,
  });
  return {
    count(name, dimensions = {}, value = 1) {
      if (value === 0) return;
      for (const [key, dimension] of Object.entries(dimensions)) {
        if (dimension) metrics.addDimension(key, dimension);
      }
      metrics.addMetric(name, MetricUnit.Count, value);
      if (options.write) {
        options.write(JSON.stringify(metrics.serializeMetrics()));
        metrics.clearMetrics();
        metrics.clearDimensions();
      } else {
        metrics.publishStoredMetrics();
      }
    },
  };
}
