import { Duration, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ResolvedDeclaration } from '../functions/shared/declaration.ts';
import {
  METRIC,
  METRICS_NAMESPACE,
  type MetricName,
  serviceNames,
} from '../functions/shared/metrics.ts';
import type { HookonceSubscriber } from './constructs/subscriber.ts';

/** When each alarm fires. Every window is 5 minutes unless said otherwise. */
export interface AlarmThresholds {
  /**
   * Answers of 5xx as a percentage of all requests to the endpoint (a dependency
   * down, a bug): above this, the alarm fires.
   * @default 5
   */
  readonly ingest5xxPercent?: number;
  /**
   * Requests of one provider refused for their signature or timestamp (401): at
   * or above this many, the alarm fires. A spike means a rotated secret nobody
   * put in, a clock far off, or someone forging deliveries.
   * @default 25
   */
  readonly signatureFailures?: number;
  /**
   * Deliveries the sweeper published because their ingest invocation died: at or
   * above this many, the alarm fires.
   * @default 1
   */
  readonly sweeperRecoveries?: number;
  /**
   * Errors of one subscriber's consumer (invocations that failed plus records
   * that failed in a batch): at or above this many, the alarm fires.
   * @default 5
   */
  readonly consumerErrors?: number;
}

export const DEFAULT_THRESHOLDS: Required<AlarmThresholds> = {
  ingest5xxPercent: 5,
  signatureFailures: 25,
  sweeperRecoveries: 1,
  consumerErrors: 5,
};

/** The alarms' window. */
const WINDOW = Duration.minutes(5);

/** The `service` dimension of each function of a deployment (defined beside the metrics). */
export { serviceNames };

export interface ObservabilityProps {
  readonly declaration: ResolvedDeclaration;
  readonly api: HttpApi;
  readonly ingestFunction: IFunction;
  readonly sweeperFunction: IFunction;
  /** By name: each makes its own alarms (HookonceSubscriber), shown here beside the rest. */
  readonly subscribers: Readonly<Record<string, HookonceSubscriber>>;
  /** Where every alarm publishes; encrypted with `key`. */
  readonly alarmTopic: Topic;
  readonly key: Key;
  readonly thresholds?: AlarmThresholds;
}

/** The alarms of one deployment, by what they watch. */
export interface HookonceAlarms {
  readonly ingest5xxRate: Alarm;
  readonly sweeperRecoveries: Alarm;
  readonly sweeperErrors: Alarm;
  /** A delivery the sweeper gave up publishing: parked FAILED. */
  readonly sweeperParked: Alarm;
  /** By provider. */
  readonly signatureFailures: Readonly<Record<string, Alarm>>;
  /** By subscriber (made by its HookonceSubscriber). */
  readonly deadLetters: Readonly<Record<string, Alarm>>;
  /** By subscriber: events SNS could not deliver to its queue. */
  readonly undelivered: Readonly<Record<string, Alarm>>;
  /** By subscriber. */
  readonly consumerErrors: Readonly<Record<string, Alarm>>;
}

/**
 * hookonce's alarms and dashboard, from the EMF metrics the functions write
 * (functions/shared/metrics.ts) and the metrics AWS keeps for the API, the
 * functions and the queues. Every alarm publishes to the alarm topic, when it
 * fires and when it clears.
 */
export class Observability extends Construct {
  public readonly alarms: HookonceAlarms;
  public readonly dashboard: Dashboard;
  public readonly thresholds: Required<AlarmThresholds>;

  public constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { declaration, api, alarmTopic } = props;
    const thresholds = { ...DEFAULT_THRESHOLDS, ...props.thresholds };
    this.thresholds = thresholds;
    const services = serviceNames(declaration.name);
    const { account } = Stack.of(this);

    // CloudWatch publishes to the alarm topic as itself: the topic's policy lets it
    // for alarms of this account only, and the key's policy lets it encrypt (SNS
    // asks KMS on its behalf, in a request that carries no source account to match).
    alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [alarmTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    props.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsUseKey',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
      }),
    );

    const action = new SnsAction(alarmTopic);
    const alarm = (
      alarmId: string,
      options: {
        metric: IMetric;
        threshold: number;
        comparison: ComparisonOperator;
        description: string;
      },
    ): Alarm => {
      const made = new Alarm(this, alarmId, {
        metric: options.metric,
        threshold: options.threshold,
        comparisonOperator: options.comparison,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // No data is no traffic or no failure: nothing to alarm on.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${declaration.name}: ${options.description}`,
      });
      made.addAlarmAction(action);
      made.addOkAction(action);
      return made;
    };
    const count = (name: MetricName, service: string, dimensions: Record<string, string> = {}) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service, ...dimensions },
        statistic: 'Sum',
        period: WINDOW,
      });

    const requests = api.metricCount({ statistic: 'Sum', period: WINDOW });
    const serverErrors = api.metricServerError({ statistic: 'Sum', period: WINDOW });
    const ingest5xxRate = alarm('Ingest5xxRate', {
      metric: new MathExpression({
        expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
        usingMetrics: { requests, errors: serverErrors },
        label: '5xx %',
        period: WINDOW,
      }),
      threshold: thresholds.ingest5xxPercent,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: `more than ${thresholds.ingest5xxPercent}% of webhook requests answered 5xx in 5 minutes (a dependency down, or a bug: see the ingest logs)`,
    });

    const signatureFailures: Record<string, Alarm> = {};
    for (const provider of Object.keys(declaration.providers)) {
      signatureFailures[provider] = alarm(`SignatureFailures-${provider}`, {
        metric: count(METRIC.signatureRejected, services.ingest, { provider }),
        threshold: thresholds.signatureFailures,
        comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description: `${thresholds.signatureFailures} or more deliveries of provider "${provider}" refused for their signature or timestamp in 5 minutes (a secret rotated at the provider but not in Secrets Manager, or forgeries)`,
      });
    }

    const sweeperRecoveries = alarm('SweeperRecoveries', {
      metric: count(METRIC.sweeperRecovered, services.sweeper),
      threshold: thresholds.sweeperRecoveries,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: `the sweeper published ${thresholds.sweeperRecoveries} or more deliveries whose ingest invocation died before publishing (nothing was lost; look for ingest timeouts or crashes)`,
    });
    const sweeperErrors = alarm('SweeperErrors', {
      metric: new MathExpression({
        // EMF counts exist only when something happened: a gap is a zero.
        expression: 'FILL(errors, 0) + FILL(failed, 0)',
        usingMetrics: {
          errors: props.sweeperFunction.metricErrors({ statistic: 'Sum', period: WINDOW }),
          failed: count(METRIC.sweeperFailed, services.sweeper),
        },
        label: 'sweeper errors',
        period: WINDOW,
      }),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'the sweeper failed or could not publish a delivery in 5 minutes (it retries every minute; deliveries stay stored)',
    });

    const sweeperParked = alarm('SweeperParked', {
      metric: count(METRIC.sweeperParked, services.sweeper),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'the sweeper gave up publishing a delivery after its last attempt and parked it FAILED (list them with `hookonce deliveries failed`; a provider retry publishes one)',
    });

    const deadLetters: Record<string, Alarm> = {};
    const undelivered: Record<string, Alarm> = {};
    const consumerErrors: Record<string, Alarm> = {};
    for (const [subscriber, { alarms }] of Object.entries(props.subscribers)) {
      deadLetters[subscriber] = alarms.deadLetters;
      undelivered[subscriber] = alarms.undelivered;
      consumerErrors[subscriber] = alarms.consumerErrors;
    }
    const depth = (queue: Queue, label: string) =>
      queue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(1),
        label,
      });

    this.alarms = {
      ingest5xxRate,
      sweeperRecoveries,
      sweeperErrors,
      sweeperParked,
      signatureFailures,
      deadLetters,
      undelivered,
      consumerErrors,
    };

    // The dashboard. SEARCH finds every provider and reason that has data, so the
    // graphs follow the declaration without listing it.
    const search = (name: MetricName, service: string, dimensions: string[], label: string) =>
      new MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},${['service', ...dimensions].join(',')}} service="${service}" MetricName="${name}"', 'Sum', 300)`,
        label,
        period: WINDOW,
      });
    const graph = (title: string, left: IMetric[], width = 12) =>
      new GraphWidget({ title, left, width, height: 6, period: WINDOW });
    const dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-${declaration.name}`.replace(
        /[^A-Za-z0-9_-]/g,
        '-',
      ),
      defaultInterval: Duration.hours(3),
    });
    const allAlarms = [
      ingest5xxRate,
      sweeperRecoveries,
      sweeperErrors,
      sweeperParked,
      ...Object.values(signatureFailures),
      ...Object.values(deadLetters),
      ...Object.values(undelivered),
      ...Object.values(consumerErrors),
    ];
    dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${declaration.name}\nWebhooks in (by answer), what happened to them, the sweeper, and each subscriber's consumer and DLQ. Counts are sums per 5 minutes.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: allAlarms, width: 24 }));
    dashboard.addWidgets(
      graph('Ingest answers by status class', [
        api.metricCount({ statistic: 'Sum', period: WINDOW, label: 'all' }),
        new MathExpression({
          expression: 'all - c4 - c5',
          usingMetrics: {
            all: api.metricCount({ statistic: 'Sum', period: WINDOW }),
            c4: api.metricClientError({ statistic: 'Sum', period: WINDOW }),
            c5: api.metricServerError({ statistic: 'Sum', period: WINDOW }),
          },
          label: '2xx',
          period: WINDOW,
        }),
        api.metricClientError({ statistic: 'Sum', period: WINDOW, label: '4xx' }),
        api.metricServerError({ statistic: 'Sum', period: WINDOW, label: '5xx' }),
      ]),
      graph('Ingest latency (ms)', [
        api.metricLatency({ statistic: 'p50', period: WINDOW, label: 'p50' }),
        api.metricLatency({ statistic: 'p99', period: WINDOW, label: 'p99' }),
      ]),
    );
    dashboard.addWidgets(
      graph('Received by provider', [
        search(METRIC.received, services.ingest, ['provider'], 'received'),
      ]),
      graph('Published, duplicates, taken over', [
        search(METRIC.published, services.ingest, ['provider'], 'published'),
        search(METRIC.duplicate, services.ingest, ['provider'], 'duplicate'),
        search(METRIC.takenOver, services.ingest, ['provider'], 'taken over'),
        search(METRIC.inProgress, services.ingest, ['provider'], 'in progress'),
      ]),
    );
    dashboard.addWidgets(
      graph('Rejected by provider and reason', [
        search(METRIC.rejected, services.ingest, ['provider', 'reason'], 'rejected'),
        search(METRIC.rejected, services.ingest, ['reason'], 'rejected'),
      ]),
      graph('Dependencies unavailable (503)', [
        search(METRIC.unavailable, services.ingest, ['provider', 'dependency'], 'unavailable'),
      ]),
    );
    dashboard.addWidgets(
      graph('Sweeper', [
        count(METRIC.sweeperRecovered, services.sweeper).with({ label: 'recovered' }),
        count(METRIC.sweeperFailed, services.sweeper).with({ label: 'failed' }),
        count(METRIC.sweeperParked, services.sweeper).with({ label: 'parked' }),
        props.sweeperFunction.metricErrors({ statistic: 'Sum', period: WINDOW, label: 'errors' }),
      ]),
      graph(
        'DLQ depth',
        Object.entries(props.subscribers).flatMap(([subscriber, queues]) => [
          depth(queues.deadLetterQueue, subscriber),
          depth(queues.subscriptionDeadLetterQueue, `${subscriber} undelivered`),
        ]),
      ),
    );
    const subscribers = Object.keys(props.subscribers);
    dashboard.addWidgets(
      graph(
        'Consumer effects',
        subscribers.map((s) =>
          count(METRIC.consumerEffects, services.consumer, { subscriber: s }).with({ label: s }),
        ),
        8,
      ),
      graph(
        'Consumer duplicates skipped',
        subscribers.map((s) =>
          count(METRIC.consumerDuplicates, services.consumer, { subscriber: s }).with({
            label: s,
          }),
        ),
        8,
      ),
      graph(
        'Consumer errors and failed records',
        subscribers.flatMap((s) => {
          const fn = props.subscribers[s]?.consumerFunction;
          return [
            count(METRIC.consumerFailures, services.consumer, { subscriber: s }).with({
              label: `${s} failed records`,
            }),
            ...(fn
              ? [fn.metricErrors({ statistic: 'Sum', period: WINDOW, label: `${s} errors` })]
              : []),
          ];
        }),
        8,
      ),
    );
    this.dashboard = dashboard;
  }
}
