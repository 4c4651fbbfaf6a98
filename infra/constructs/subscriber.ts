import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, type ITable, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ITopic, type Subscription, Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONSUMER_ENV, consumerEnvironment } from '../../functions/consumers/config.ts';
import {
  type ConsumerDeclaration,
  NO_TIMESTAMP_RETENTION_DAYS,
  type ResolvedSubscriber,
  resolveDeclaration,
  type SubscriberDeclaration,
  type SubscriberFilter,
} from '../../functions/shared/declaration.ts';
import { METRIC, METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import { ANY_CLAIM_KEY_PATTERN, ownClaimKeyPatterns, payloadObjectPatterns } from '../access.ts';
import { acknowledgeSubscriberFindings } from '../nag.ts';
import { deadLetterQueue, subscribeWithDeadLetters } from '../subscribe.ts';
import { CONSUMER_TABLE } from '../tables.ts';
import {
  bind,
  checkDebugLogSampleRate,
  type FunctionDefaults,
  hookonceFunction,
  logsKey,
} from './function.ts';

/**
 * What the consumer guard does to the claims table (functions/consumers/claims.ts):
 * the conditional claim, the DONE and release updates, the read of a conflicting
 * claim. A consumer whose own effects need more adds it to its role
 * (`subscriber.consumerFunction.addToRolePolicy(…)`).
 */
const CONSUMER_TABLE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'];

/** The alarms' window for counts. */
const WINDOW = Duration.minutes(5);

/**
 * The value of HOOKONCE_PAYLOAD_BUCKET for a subscriber given no bucket. The
 * guard requires the variable but reads a large payload from the S3 URI its
 * event names (`dataref`); without a bucket the consumer has no grant to read
 * one, so such an event fails and is retried, then parked in the DLQ.
 */
export const NO_PAYLOAD_BUCKET = 'none';

/** Its consumer's claims when they live in a table the subscriber did not make. */
export interface SubscriberClaims {
  /**
   * The table. The consumer may write its own claims only (`CLAIM#<name>#…`
   * and `CLAIM#<name>.<scope>#…`), and any key that is no claim, for its own
   * effects: no other subscriber's claim can be forged or marked DONE.
   */
  readonly table: ITable;
}

export interface HookonceSubscriberProps {
  /**
   * The hookonce events topic: the deployment's `TopicArn` output (from
   * another app or account, whose owner ran `allowSubscriptionsFrom()`), or
   * the topic itself in the same app. Give this or `topicArn`.
   * @default none
   */
  readonly topic?: ITopic;
  /**
   * The events topic's ARN. Give this or `topic`.
   * @default none
   */
  readonly topicArn?: string;
  /**
   * Which events it receives, as an SNS filter policy on the `provider` and
   * `type` message attributes.
   * @default every event
   */
  readonly filter?: SubscriberFilter;
  /** The consumer function: its entry (relative to `projectRoot`), handler, timeout and memory. */
  readonly consumer: ConsumerDeclaration;
  /**
   * The subscriber's name: its claims' prefix (`CLAIM#<name>#…`) and its
   * `subscriber` dimension in metrics. Lower-case letters, digits and dashes.
   * @default the construct's id in lower case
   */
  readonly name?: string;
  /**
   * The name of the hookonce deployment it belongs to: its alarms' descriptions
   * begin with it, and the consumer's `service` in logs and metrics is
   * `<deployment>-consumer`.
   * @default 'hookonce'
   */
  readonly deployment?: string;
  /**
   * Records per consumer invocation, 1 to 10.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long the event source waits to fill a batch, 0 to 300 seconds.
   * @default 0
   */
  readonly batchingWindowSeconds?: number;
  /**
   * The most batches in flight at once, 2 to 1000.
   * @default unset: Lambda scales up to the account's limit
   */
  readonly maxConcurrency?: number;
  /**
   * Receives before a message is parked in the DLQ.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * The queue's visibility timeout in seconds.
   * @default 6 × the consumer timeout + the batching window
   */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * Where its claims live.
   * @default a claims table of its own (TTL, point-in-time recovery)
   */
  readonly claims?: SubscriberClaims;
  /**
   * How long a claim is kept, in days: at least as long as the hookonce
   * deployment keeps a delivery, so a replay of any kept delivery is a duplicate.
   * @default 30 (what hookonce keeps a delivery of a provider that signs no timestamp)
   */
  readonly claimRetentionDays?: number;
  /**
   * The deployment's payload bucket: the consumer may read the payloads too
   * large for the envelope of the providers its filter admits (the bucket's
   * owner must allow it too when it is in another account).
   * @default none: the consumer cannot read large payloads
   */
  readonly payloadBucket?: IBucket;
  /**
   * What each alarm does when it fires and when it clears, e.g. `new SnsAction(topic)`.
   * @default no action: the alarms show in the CloudWatch console only
   */
  readonly alarmAction?: IAlarmAction;
  /**
   * Consumer errors (failed invocations plus failed records) in 5 minutes at
   * or above which its alarm fires.
   * @default 5
   */
  readonly consumerErrorThreshold?: number;
  /**
   * The folder the consumer entry is relative to, and where package-lock.json lives.
   * @default the current directory (where `cdk synth` runs)
   */
  readonly projectRoot?: string;
  /**
   * Encrypts the consumer's log group.
   * @default a key of its own, rotated yearly
   */
  readonly logsKey?: IKey;
  /**
   * How long the consumer's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * X-Ray active tracing on the consumer, sampled by Lambda (the first request
   * each second, 5 % of the rest), as Hookonce's `tracing`.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * The lowest level the consumer prints (POWERTOOLS_LOG_LEVEL), as Hookonce's `logLevel`.
   * @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * The share of invocations, 0 to 1, that log at DEBUG whatever the level.
   * @default 0
   */
  readonly debugLogSampleRate?: number;
  /**
   * Concurrency reserved for the consumer.
   * @default none reserved
   */
  readonly reservedConcurrency?: number;
  /**
   * What happens to its own claims table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection on its own claims table.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/** The alarms of one subscriber. */
export interface SubscriberAlarms {
  /** Its DLQ holds messages its consumer gave up on. */
  readonly deadLetters: Alarm;
  /** Its subscription DLQ holds events SNS could not deliver to its queue. */
  readonly undelivered: Alarm;
  /** Its consumer failed (invocations plus records) at or above the threshold. */
  readonly consumerErrors: Alarm;
}

/**
 * A subscriber's declaration checked and with its defaults filled in, by the
 * same rules as a declared subscriber. Its filter is checked against the
 * providers it names itself (a standalone subscriber does not know the
 * deployment's providers): a type of a provider the filter leaves out is refused.
 */
export function resolveSubscriber(
  name: string,
  subscriber: SubscriberDeclaration,
): ResolvedSubscriber {
  const filter = subscriber.filter ?? {};
  const named = [
    ...(filter.providers ?? []),
    ...(filter.providers?.length ? [] : (filter.types ?? []).map((t) => t.split('.')[0] ?? '')),
  ].filter((p) => /^[a-z][a-z0-9-]{0,31}$/.test(p));
  const providers = Object.fromEntries(
    (named.length > 0 ? named : ['any']).map((p) => [p, { scheme: 'github' as const }]),
  );
  const resolved = resolveDeclaration({ providers, subscribers: { [name]: subscriber } });
  const result = resolved.subscribers[name];
  if (!result) throw new Error(`subscriber "${name}" did not resolve`);
  return result;
}

/**
 * A whole hookonce subscriber: its queue (and DLQ) subscribed to the events
 * topic with raw message delivery, its filter as the SNS filter policy and a
 * subscription DLQ; its consumer function (Node.js 24 on arm64, one ESM
 * bundle) fed from the queue with partial batch failures; the claims that
 * make its effects happen once; and alarms on both DLQs and on the
 * consumer's errors. The declared subscribers of a Hookonce are built by it,
 * and a team's own CDK app makes one from the deployment's `TopicArn`.
 */
export class HookonceSubscriber extends Construct {
  /** Its name: the claims' prefix and the `subscriber` metric dimension. */
  public readonly name: string;
  /** The subscriber with every default filled in. */
  public readonly settings: ResolvedSubscriber;
  public readonly queue: Queue;
  /** Messages its consumer failed on `maxReceiveCount` times. */
  public readonly deadLetterQueue: Queue;
  /** Events SNS could not deliver to `queue` (the subscription's redrive policy). */
  public readonly subscriptionDeadLetterQueue: Queue;
  public readonly subscription: Subscription;
  public readonly consumerFunction: LambdaFunction;
  /** Where its claims live: its own table, or the one `claims` gave. */
  public readonly claimsTable: ITable;
  public readonly alarms: SubscriberAlarms;

  public constructor(scope: Construct, id: string, props: HookonceSubscriberProps) {
    super(scope, id);
    // Checked before anything is built.
    const topic = this.topicOf(props);
    const name = props.name ?? id.toLowerCase();
    this.name = name;
    const settings = resolveSubscriber(name, {
      filter: props.filter ?? {},
      consumer: props.consumer,
      ...(props.batchSize !== undefined ? { batchSize: props.batchSize } : {}),
      ...(props.batchingWindowSeconds !== undefined
        ? { batchingWindowSeconds: props.batchingWindowSeconds }
        : {}),
      ...(props.maxConcurrency !== undefined ? { maxConcurrency: props.maxConcurrency } : {}),
      ...(props.maxReceiveCount !== undefined ? { maxReceiveCount: props.maxReceiveCount } : {}),
      ...(props.visibilityTimeoutSeconds !== undefined
        ? { visibilityTimeoutSeconds: props.visibilityTimeoutSeconds }
        : {}),
    });
    this.settings = settings;
    const deployment = props.deployment ?? 'hookonce';
    const defaults: FunctionDefaults = {
      projectRoot: props.projectRoot ?? process.cwd(),
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      logsKey:
        props.logsKey ??
        logsKey(this, 'LogsKey', `${deployment}: encrypts the logs of subscriber "${name}"`),
      tracing: props.tracing ?? false,
      logLevel: props.logLevel ?? 'INFO',
      debugLogSampleRate: checkDebugLogSampleRate(props.debugLogSampleRate ?? 0),
    };

    // What the consumer gave up on; only SQS's redrive from the queue writes to it.
    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue');
    this.queue = new Queue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(settings.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    // The same subscription any other team's queue gets (infra/subscribe.ts), with
    // its own DLQ for what SNS cannot deliver.
    const subscribed = subscribeWithDeadLetters(topic, this.queue, settings.filter);
    this.subscription = subscribed.subscription;
    this.subscriptionDeadLetterQueue = subscribed.deadLetterQueue;

    this.claimsTable = props.claims?.table ?? this.ownClaimsTable(props);
    const fn = hookonceFunction(this, 'Consumer', defaults, {
      description: `${deployment}: consumer of subscriber "${name}"`,
      entry: settings.consumer.entry,
      handler: settings.consumer.handler,
      timeout: Duration.seconds(settings.consumer.timeoutSeconds),
      memorySize: settings.consumer.memorySize,
      reservedConcurrentExecutions: props.reservedConcurrency,
      serviceName: `${deployment}-consumer`,
    });
    this.consumerFunction = fn;
    const claimsTable = this.claimsTable;
    const bucket = props.payloadBucket;
    bind(
      fn,
      consumerEnvironment({
        tableName: claimsTable.tableName,
        subscriber: name,
        retentionSeconds: (props.claimRetentionDays ?? NO_TIMESTAMP_RETENTION_DAYS) * 24 * 3600,
        payloadBucket: bucket?.bucketName ?? NO_PAYLOAD_BUCKET,
      }),
      {
        // The guard's claims and the consumer's own effects live in this table:
        // its own claims only (no other subscriber's can be forged or marked DONE),
        // and any key that is no claim for its effects.
        [CONSUMER_ENV.table]: (grantee) => {
          Grant.addToPrincipal({
            grantee,
            actions: CONSUMER_TABLE_ACTIONS,
            resourceArns: [claimsTable.tableArn],
            conditions: {
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ownClaimKeyPatterns(name) },
            },
          });
          Grant.addToPrincipal({
            grantee,
            actions: CONSUMER_TABLE_ACTIONS,
            resourceArns: [claimsTable.tableArn],
            conditions: {
              'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [ANY_CLAIM_KEY_PATTERN] },
            },
          });
        },
        [CONSUMER_ENV.subscriber]: null,
        [CONSUMER_ENV.retentionSeconds]: null,
        // To read payloads that were too large for the envelope (`dataref`): those
        // of the providers its filter admits only.
        [CONSUMER_ENV.payloadBucket]: (grantee) => {
          if (!bucket) return;
          Grant.addToPrincipal({
            grantee,
            actions: ['s3:GetObject'],
            resourceArns: payloadObjectPatterns(settings.filter).map((pattern) =>
              bucket.arnForObjects(pattern),
            ),
          });
        },
      },
    );
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: settings.batchSize,
        reportBatchItemFailures: true,
        ...(settings.batchingWindowSeconds > 0
          ? { maxBatchingWindow: Duration.seconds(settings.batchingWindowSeconds) }
          : {}),
        ...(settings.maxConcurrency !== undefined
          ? { maxConcurrency: settings.maxConcurrency }
          : {}),
      }),
    );

    this.alarms = this.makeAlarms(deployment, props);
    acknowledgeSubscriberFindings(this, {
      tracing: defaults.tracing,
      bucket,
      logRetention: defaults.logRetention,
      alarmAction: props.alarmAction !== undefined,
    });
  }

  /** The topic the props name: exactly one of `topic` and `topicArn`. */
  private topicOf(props: HookonceSubscriberProps): ITopic {
    if (props.topic && props.topicArn === undefined) return props.topic;
    if (props.topicArn !== undefined && !props.topic) {
      return Topic.fromTopicArn(this, 'Events', props.topicArn);
    }
    throw new Error(
      `${this.node.path}: give the hookonce events topic as either topic or topicArn (the TopicArn output), not ${props.topic ? 'both' : 'neither'}`,
    );
  }

  /** A claims table of its own, keyed as the shared one (infra/tables.ts). */
  private ownClaimsTable(props: HookonceSubscriberProps): TableV2 {
    return new TableV2(this, 'Claims', {
      partitionKey: { name: CONSUMER_TABLE.partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute: CONSUMER_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Both DLQs alarm as soon as they hold a message; the consumer on its errors. */
  private makeAlarms(deployment: string, props: HookonceSubscriberProps): SubscriberAlarms {
    const name = this.name;
    const threshold = props.consumerErrorThreshold ?? 5;
    const alarm = (
      id: string,
      metric: IMetric,
      options: { threshold: number; comparison: ComparisonOperator; description: string },
    ): Alarm => {
      const made = new Alarm(this, id, {
        metric,
        threshold: options.threshold,
        comparisonOperator: options.comparison,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // No data is no traffic or no failure: nothing to alarm on.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: `${deployment}: ${options.description}`,
      });
      if (props.alarmAction) {
        made.addAlarmAction(props.alarmAction);
        made.addOkAction(props.alarmAction);
      }
      return made;
    };
    const depth = (queue: Queue) =>
      queue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(1),
      });
    return {
      deadLetters: alarm('DeadLettersAlarm', depth(this.deadLetterQueue), {
        threshold: 0,
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: `the DLQ of subscriber "${name}" holds messages its consumer gave up on (inspect and redrive them)`,
      }),
      undelivered: alarm('UndeliveredAlarm', depth(this.subscriptionDeadLetterQueue), {
        threshold: 0,
        comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
        description: `SNS could not deliver events to the queue of subscriber "${name}" and parked them in its subscription DLQ (was the queue deleted, or does its key refuse SNS?): fix that, then move them to the queue`,
      }),
      consumerErrors: alarm(
        'ConsumerErrorsAlarm',
        new MathExpression({
          expression: 'FILL(errors, 0) + FILL(failures, 0)',
          usingMetrics: {
            errors: this.consumerFunction.metricErrors({ statistic: 'Sum', period: WINDOW }),
            failures: new Metric({
              namespace: METRICS_NAMESPACE,
              metricName: METRIC.consumerFailures,
              dimensionsMap: { service: `${deployment}-consumer`, subscriber: name },
              statistic: 'Sum',
              period: WINDOW,
            }),
          },
          label: `${name} errors`,
          period: WINDOW,
        }),
        {
          threshold,
          comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          description: `the consumer of subscriber "${name}" failed ${threshold} or more times in 5 minutes (failed records are retried, then parked in its DLQ)`,
        },
      ),
    };
  }
}
