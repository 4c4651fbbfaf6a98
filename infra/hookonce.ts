import { Annotations, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { type LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Subscription, Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  filterProblems,
  type HookonceDeclaration,
  longestRetentionDays,
  type ResolvedDeclaration,
  resolveDeclaration,
  type SubscriberFilter,
} from '../functions/shared/declaration.ts';
import { FanOut } from './constructs/fanout.ts';
import {
  checkDebugLogSampleRate,
  entryPath,
  type FunctionDefaults,
  type HookonceFunctionProps,
  hookonceFunction,
} from './constructs/function.ts';
import { Intake } from './constructs/intake.ts';
import { groupOnly, keepLogicalIds } from './constructs/logical-ids.ts';
import { HookonceSubscriber } from './constructs/subscriber.ts';
import { Sweeper } from './constructs/sweeper.ts';
import { INGEST_FUNCTION } from './functions.ts';
import { acknowledgeControlTowerFindings, acknowledgeFindings } from './nag.ts';
import {
  type AlarmThresholds,
  DEFAULT_THRESHOLDS,
  Observability,
  serviceNames,
} from './observability.ts';
import { subscribeToHookonce } from './subscribe.ts';
import { CONSUMER_TABLE } from './tables.ts';

export { HookonceSubscriber, type HookonceSubscriberProps } from './constructs/subscriber.ts';

export interface HookonceProps {
  /** Providers and subscribers: the single source of truth. */
  readonly declaration: HookonceDeclaration;
  /**
   * The folder the declaration's entry paths are relative to, and where
   * package-lock.json lives: the app's own folder.
   * @default the current directory (where `cdk synth` runs)
   */
  readonly projectRoot?: string;
  /**
   * What happens to the stateful resources (both tables and the provider
   * secrets) when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Memory of the ingest function in MB (CPU grows with it).
   * @default 256
   */
  readonly ingestMemorySize?: number;
  /**
   * How long the functions' logs and the API's access logs are kept (their log
   * groups leave with the stack).
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * X-Ray active tracing on the ingest, sweeper and consumer functions
   * (Lambda's own segments: invocation, init, overhead). Lambda samples itself,
   * at a rate no sampling rule changes: the first request each second and 5 % of
   * the rest, so every request while the traffic stays under one a second. X-Ray
   * bills about $5 per million traces past its free tier. The HTTP API does not
   * trace (API Gateway HTTP APIs cannot).
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * DynamoDB deletion protection on both tables: a table cannot be deleted, by
   * CloudFormation or anyone, until it is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Concurrency reserved for each function: a cap on how many run at once, and a
   * guarantee that others in the account cannot take it. Unset, a function
   * shares the account's unreserved pool.
   * @default none reserved
   */
  readonly reservedConcurrency?: {
    readonly ingest?: number;
    readonly sweeper?: number;
    /** Each consumer's own, the same for all subscribers. */
    readonly consumers?: number;
  };
  /**
   * The lowest level the functions print (POWERTOOLS_LOG_LEVEL). At INFO a
   * request writes one line, and a consumer one line per event; each carries
   * its metrics, and is printed whatever the level. Lambda's own START, END and
   * REPORT lines are not written (its system log level is WARN).
   * @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * The share of invocations, 0 to 1, that log at DEBUG whatever the level
   * (POWERTOOLS_LOGGER_SAMPLE_RATE): a sample of the detail without its volume.
   * Above 0, Lambda's application log level is DEBUG, so the sampled lines pass.
   * @default 0
   */
  readonly debugLogSampleRate?: number;
  /** The alarms' thresholds; every alarm publishes to `alarmTopic`. */
  readonly alarms?: AlarmThresholds;
}

/** The queues of one subscriber. */
export interface SubscriberQueues {
  readonly queue: Queue;
  /** Messages its consumer failed on `maxReceiveCount` times. */
  readonly deadLetterQueue: Queue;
  /** Events SNS could not deliver to `queue` (the subscription's redrive policy). */
  readonly subscriptionDeadLetterQueue: Queue;
}

/**
 * What resolveDeclaration() cannot check: every consumer entry lies inside the
 * project. Checked before anything is built (or bundled).
 */
function checkEntries(declaration: ResolvedDeclaration, projectRoot: string): void {
  const problems: string[] = [];
  for (const [name, s] of Object.entries(declaration.subscribers)) {
    try {
      entryPath(projectRoot, s.consumer.entry);
    } catch (error) {
      problems.push(`subscriber "${name}": ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`hookonce declaration cannot be deployed:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * hookonce on AWS, composed of one construct per concern: the intake (HTTP
 * API, ingest function, deliveries table, payload bucket, provider secrets),
 * the fan-out (events topic, alarm topic, key), one HookonceSubscriber per
 * declared subscriber (queue, DLQs, subscription, consumer, alarms) sharing
 * the consumer-state table, the sweeper, and the observability (alarms and
 * dashboard). The same declaration drives the local runtime (infra/local),
 * which builds the same resources on emulators.
 *
 * The intake, fan-out and sweeper groups are left out of logical IDs: every
 * resource keeps the logical ID it had when they all sat side by side, so an
 * upgrade replaces no table, topic, queue or endpoint.
 */
export class Hookonce extends Construct {
  /** The declaration with its defaults filled in. */
  public readonly declaration: ResolvedDeclaration;
  public readonly intake: Intake;
  public readonly fanOut: FanOut;
  public readonly sweeper: Sweeper;
  /** By subscriber name. */
  public readonly subscribers: Readonly<Record<string, HookonceSubscriber>>;
  public readonly api: HttpApi;
  public readonly topic: Topic;
  public readonly deliveriesTable: TableV2;
  /** Every declared subscriber's claims, each scoped to its own keys. */
  public readonly consumerTable: TableV2;
  /** Payloads too large to travel inline. */
  public readonly payloadBucket: Bucket;
  /** Publishes deliveries that were stored but never published; runs every minute. */
  public readonly sweeperFunction: LambdaFunction;
  /**
   * One secret per provider that takes secrets, holding the JSON list of its active
   * signing secrets: created by the stack, or the existing one the provider names
   * (secretArn, secretName). A provider whose public keys are in the declaration
   * (asymmetric, jwt) has none.
   */
  public readonly secrets: Readonly<Record<string, ISecret>>;
  /** The customer managed key (rotated yearly) that encrypts both topics and the log groups. */
  public readonly key: Key;
  /** Every alarm publishes here: subscribe an email, a chat integration or a pager. */
  public readonly alarmTopic: Topic;
  /** The alarms, the CloudWatch dashboard and the metrics they show. */
  public readonly observability: Observability;
  /** The access logs of the HTTP API. */
  public readonly accessLogs: LogGroup;
  public readonly ingestFunction: LambdaFunction;
  /** By subscriber name. */
  public readonly queues: Readonly<Record<string, SubscriberQueues>>;
  /** By subscriber name. */
  public readonly consumerFunctions: Readonly<Record<string, LambdaFunction>>;

  /** What every function of this deployment shares. */
  private readonly functionDefaults: FunctionDefaults;

  public constructor(scope: Construct, id: string, props: HookonceProps) {
    super(scope, id);
    const declaration = resolveDeclaration(props.declaration);
    for (const warning of declaration.warnings)
      Annotations.of(this).addWarningV2('hookonce:declaration', warning);
    this.declaration = declaration;
    const projectRoot = props.projectRoot ?? process.cwd();
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const debugLogSampleRate = checkDebugLogSampleRate(props.debugLogSampleRate ?? 0);
    checkEntries(declaration, projectRoot);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const deletionProtection = props.deletionProtection ?? true;
    const reserved = props.reservedConcurrency ?? {};

    const fanOut = new FanOut(this, 'FanOut', { name: declaration.name });
    groupOnly(fanOut);
    keepLogicalIds(fanOut);
    this.fanOut = fanOut;
    this.key = fanOut.key;
    this.topic = fanOut.topic;
    this.alarmTopic = fanOut.alarmTopic;
    const functionDefaults: FunctionDefaults = {
      projectRoot,
      logRetention,
      logsKey: fanOut.key,
      tracing: props.tracing ?? false,
      logLevel: props.logLevel ?? 'INFO',
      debugLogSampleRate,
    };
    this.functionDefaults = functionDefaults;

    const intake = new Intake(this, 'Intake', {
      declaration,
      fanOut,
      functionDefaults,
      removalPolicy,
      deletionProtection,
      ingestMemorySize: props.ingestMemorySize ?? INGEST_FUNCTION.memorySize,
      reservedConcurrency: reserved.ingest,
    });
    groupOnly(intake);
    keepLogicalIds(intake);
    this.intake = intake;
    this.api = intake.api;
    this.accessLogs = intake.accessLogs;
    this.ingestFunction = intake.ingestFunction;
    this.deliveriesTable = intake.deliveriesTable;
    this.payloadBucket = intake.payloadBucket;
    this.secrets = intake.secrets;

    this.sweeper = new Sweeper(this, 'Sweep', {
      declaration,
      deliveriesTable: intake.deliveriesTable,
      fanOut,
      functionDefaults,
      reservedConcurrency: reserved.sweeper,
    });
    groupOnly(this.sweeper);
    keepLogicalIds(this.sweeper);
    this.sweeperFunction = this.sweeper.sweeperFunction;
    fanOut.allowOnlyToPublish([this.ingestFunction, this.sweeperFunction]);

    // The claims of every declared subscriber, keyed as infra/tables.ts says.
    this.consumerTable = new TableV2(this, 'ConsumerState', {
      partitionKey: { name: CONSUMER_TABLE.partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute: CONSUMER_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection,
      removalPolicy,
    });

    const thresholds = { ...DEFAULT_THRESHOLDS, ...props.alarms };
    const subscribers: Record<string, HookonceSubscriber> = {};
    const queues: Record<string, SubscriberQueues> = {};
    const consumers: Record<string, LambdaFunction> = {};
    for (const [name, subscriber] of Object.entries(declaration.subscribers)) {
      const built = new HookonceSubscriber(this, `Subscriber-${name}`, {
        ...subscriber,
        name,
        deployment: declaration.name,
        topic: this.topic,
        // The shared table, each consumer's claims scoped to its own keys.
        claims: { table: this.consumerTable },
        // A claim outlives every delivery it guards: a replay of any kept delivery is a duplicate.
        claimRetentionDays: longestRetentionDays(declaration),
        payloadBucket: this.payloadBucket,
        alarmAction: new SnsAction(this.alarmTopic),
        consumerErrorThreshold: thresholds.consumerErrors,
        projectRoot,
        logsKey: fanOut.key,
        logRetention,
        tracing: functionDefaults.tracing,
        logLevel: props.logLevel,
        debugLogSampleRate,
        reservedConcurrency: reserved.consumers,
      });
      subscribers[name] = built;
      queues[name] = {
        queue: built.queue,
        deadLetterQueue: built.deadLetterQueue,
        subscriptionDeadLetterQueue: built.subscriptionDeadLetterQueue,
      };
      consumers[name] = built.consumerFunction;
    }
    this.subscribers = subscribers;
    this.queues = queues;
    this.consumerFunctions = consumers;

    this.observability = new Observability(this, 'Observability', {
      declaration,
      api: this.api,
      ingestFunction: this.ingestFunction,
      sweeperFunction: this.sweeperFunction,
      subscribers,
      alarmTopic: this.alarmTopic,
      key: this.key,
      thresholds: props.alarms,
    });
    // Once more, for what was added to the groups since (policies, permissions).
    keepLogicalIds(this);
    acknowledgeFindings(this, { tracing: functionDefaults.tracing });
    acknowledgeControlTowerFindings(this, { logRetention });
  }

  /** The CloudWatch dashboard's URL in the console. */
  public get dashboardUrl(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.observability.dashboard.dashboardName}`;
  }

  /**
   * Subscribes a queue that this construct did not make (another team's, in
   * this app) to the topic, as the declared subscribers are: raw message
   * delivery, `filter` as its SNS filter policy, the queue policy that lets the
   * topic send, and a subscription DLQ (next to the queue) whose alarm
   * publishes to `alarmTopic`. From another app or account, use
   * HookonceSubscriber, or subscribeToHookonce() for a queue of your own,
   * with the TopicArn output.
   */
  public subscribeQueue(queue: IQueue, filter: SubscriberFilter = {}): Subscription {
    const problems = filterProblems(filter, Object.keys(this.declaration.providers));
    if (problems.length > 0) throw new Error(`subscribeQueue: ${problems.join('; ')}`);
    return subscribeToHookonce(this.topic, queue, filter, {
      alarmAction: new SnsAction(this.alarmTopic),
    });
  }

  /** The URL a provider posts its webhooks to. */
  public endpointUrl(provider: string): string {
    if (!(provider in this.declaration.providers)) {
      throw new Error(`no provider named "${provider}" is declared`);
    }
    return `${this.api.apiEndpoint}/webhooks/${provider}`;
  }

  /**
   * A function built in this construct as every hookonce function is (the B2
   * bench builds its floor and peer bundles with it, to share the bundling
   * settings); its service in logs and metrics is the ingest function's.
   */
  protected nodejsFunction(
    id: string,
    props: Omit<HookonceFunctionProps, 'serviceName'> & { serviceName?: string },
  ): LambdaFunction {
    return hookonceFunction(this, id, this.functionDefaults, {
      ...props,
      serviceName: props.serviceName ?? serviceNames(this.declaration.name).ingest,
    });
  }
}
