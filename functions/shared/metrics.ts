import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { LogFields } from './log.ts';

/**
 * hookonce's metrics: counts in CloudWatch's embedded metric format (EMF), log
 * lines that CloudWatch turns into metrics, with no API call on the request
 * path. The counts of a request (or of a consumer's event) ride on the one log
 * line that ends it: an EMF document is any JSON line with an `_aws` key, and
 * CloudWatch keeps the line's other keys as log fields (Tally, and the port's
 * emf()). Other counts are written by Powertools Metrics as lines of their own.
 * The cores count through the small MetricsPort; the CDK construct builds its
 * alarms and dashboard from the same names (infra/observability.ts).
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

/** One count: a metric, its dimensions besides `service`, and what it adds. */
export interface Count {
  readonly name: MetricName;
  readonly dimensions: Dimensions;
  readonly value: number;
}

export interface MetricsPort {
  /** Adds `value` (default 1) to a count with these dimensions. */
  count(name: MetricName, dimensions?: Dimensions, value?: number): void;
  /**
   * The fields that make one log line of this service an EMF document of
   * `counts`: `_aws` (its `Timestamp` in epoch milliseconds, the namespace,
   * dimension sets and metric names), each dimension and each metric's value as
   * a key of its own. The `service` dimension is the line's own `service` key. Empty
   * when metrics are off; undefined when the counts cannot share one document
   * (one dimension with two values, or one metric under two dimension sets):
   * count() writes them then. A port without it writes every count itself.
   */
  emf?(counts: readonly Count[], timestamp: number): LogFields | undefined;
}

/** Counts nothing: for tests and tools that do not measure. */
export const noMetrics: MetricsPort = { count: () => undefined };

/**
 * The counts of one request or one consumed event, kept until the line that
 * ends it is written and then carried by that line (folded in as EMF), or, by a
 * port that cannot fold them, written on their own.
 */
export class Tally implements MetricsPort {
  private readonly counts: Count[] = [];

  public count(name: MetricName, dimensions: Dimensions = {}, value = 1): void {
    if (value !== 0) this.counts.push({ name, dimensions, value });
  }

  /** The fields to add to the line that ends it (none when `port` writes the counts itself); the counts are forgotten. */
  public fields(port: MetricsPort, timestamp: number): LogFields {
    const counts = this.counts.splice(0);
    if (counts.length === 0) return {};
    const folded = port.emf?.(counts, timestamp);
    if (folded) return folded;
    for (const c of counts) port.count(c.name, c.dimensions, c.value);
    return {};
  }

  /** Writes the counts through `port` on their own (no line ends it), and forgets them. */
  public writeApart(port: MetricsPort): void {
    for (const c of this.counts.splice(0)) port.count(c.name, c.dimensions, c.value);
  }
}

/** The EMF fields of `counts` in `namespace`, or undefined when they cannot share one document. */
export function emfFields(
  namespace: string,
  counts: readonly Count[],
  timestamp: number,
): LogFields | undefined {
  const values: Record<string, string | number> = {};
  const directives = new Map<string, { dimensions: string[]; metrics: string[] }>();
  const dimensionsOf = new Map<string, string>();
  for (const c of counts) {
    const dimensions: string[] = [];
    for (const [key, value] of Object.entries(c.dimensions)) {
      if (!value) continue;
      if (key in values && values[key] !== value) return undefined;
      values[key] = value;
      dimensions.push(key);
    }
    const set = dimensions.join(',');
    const earlier = dimensionsOf.get(c.name);
    if (earlier !== undefined && earlier !== set) return undefined;
    if (earlier === undefined) {
      dimensionsOf.set(c.name, set);
      const directive = directives.get(set) ?? { dimensions, metrics: [] };
      directive.metrics.push(c.name);
      directives.set(set, directive);
    }
    values[c.name] = ((values[c.name] as number | undefined) ?? 0) + c.value;
  }
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [...directives.values()].map((d) => ({
        Namespace: namespace,
        Dimensions: [['service', ...d.dimensions]],
        Metrics: d.metrics.map((name) => ({ Name: name, Unit: MetricUnit.Count })),
      })),
    },
    ...values,
  };
}

/** POWERTOOLS_METRICS_DISABLED, else POWERTOOLS_DEV, as Powertools Metrics reads them. */
function metricsOffByEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  const yes = (v: string | undefined) => v !== undefined && ['true', '1'].includes(v.toLowerCase());
  const disabled = env.POWERTOOLS_METRICS_DISABLED;
  return disabled !== undefined ? yes(disabled) : yes(env.POWERTOOLS_DEV);
}

export interface EmfMetricsOptions {
  /** The `service` dimension. */
  readonly service: string;
  /** @default METRICS_NAMESPACE */
  readonly namespace?: string;
  /** Where each EMF line of count() goes. @default stdout, through Powertools */
  readonly write?: (line: string) => void;
  /**
   * No metrics: count() writes nothing and emf() folds nothing into a line.
   * @default POWERTOOLS_METRICS_DISABLED (else POWERTOOLS_DEV) when no `write` is given, else false
   */
  readonly disabled?: boolean;
}

/**
 * Counts as EMF. count() writes each count at once, through Powertools
 * Metrics, as one EMF object with its own dimensions (Powertools shares one
 * dimension set across everything a flush holds), so callers count totals, not
 * each item. emf() renders counts as the fields of a log line instead, for a
 * core that writes one line per request (see Tally).
 * POWERTOOLS_METRICS_DISABLED=true turns both off (the local runtime does).
 */
export function emfMetrics(options: EmfMetricsOptions): MetricsPort {
  const namespace = options.namespace ?? METRICS_NAMESPACE;
  const disabled = options.disabled ?? (options.write ? false : metricsOffByEnv(process.env));
  const metrics = new Metrics({ namespace, serviceName: options.service });
  return {
    emf: (counts, timestamp) => (disabled ? {} : emfFields(namespace, counts, timestamp)),
    count(name, dimensions = {}, value = 1) {
      if (value === 0 || disabled) return;
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
