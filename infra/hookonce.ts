import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, ProjectionType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import {
  AnyPrincipal,
  ArnPrincipal,
  Effect,
  Grant,
  type IGrantable,
  type IRole,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Architecture, CfnPermission, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import {
  LogLevel,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { type CfnSecret, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { type Subscription, Topic } from 'aws-cdk-lib/aws-sns';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONSUMER_ENV, consumerEnvironment } from '../functions/consumers/config.ts';
import { PAYLOAD_PREFIX } from '../functions/deliveries/payloads.ts';
import { PENDING_INDEX } from '../functions/deliveries/store.ts';
import { INGEST_ENV, ingestEnvironment } from '../functions/ingest/config.ts';
import {
  filterProblems,
  type HookonceDeclaration,
  longestRetentionDays,
  type ResolvedDeclaration,
  resolveDeclaration,
  type SubscriberFilter,
} from '../functions/shared/declaration.ts';
import {
  DEFAULT_SWEEP_GRACE_SECONDS,
  DEFAULT_SWEEP_MAX_ATTEMPTS,
  DEFAULT_SWEEP_MAX_PER_RUN,
  SWEEP_INTERVAL_SECONDS,
  SWEEPER_ENV,
  sweeperEnvironment,
} from '../functions/sweeper/config.ts';
import { ANY_CLAIM_KEY_PATTERN, ownClaimKeyPatterns, payloadObjectPatterns } from './access.ts';
import { INGEST_FUNCTION, SWEEPER_FUNCTION } from './functions.ts';
import { acknowledgeControlTowerFindings, acknowledgeFindings } from './nag.ts';
import { type AlarmThresholds, Observability, serviceNames } from './observability.ts';
import { deadLetterQueue, subscribeToHookonce, subscribeWithDeadLetters } from './subscribe.ts';
import { CONSUMER_TABLE, DELIVERIES_TABLE } from './tables.ts';

/** The repository root: entries in the declaration are relative to it. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * What the ingest function does to the deliveries table (functions/deliveries/store.ts):
 * the conditional claim, the take-over and PUBLISHED updates, the consistent read
 * of a conflicting record. Nothing else: no scan, no delete, no batch.
 */
const INGEST_TABLE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'];

/** Large bodies: the ingest function stores them, and removes one whose delivery it did not claim. */
const INGEST_PAYLOAD_ACTIONS = ['s3:PutObject', 's3:DeleteObject'];

/** The sweeper queries the pending index and takes deliveries over (UpdateItem); nothing else. */
const SWEEPER_TABLE_ACTIONS = ['dynamodb:UpdateItem'];
const SWEEPER_INDEX_ACTIONS = ['dynamodb:Query'];

/**
 * What the consumer guard does to the consumer table (functions/consumers/claims.ts):
 * the conditional claim, the DONE and release updates, the read of a conflicting
 * claim. A consumer whose own effects need more adds it to its role
 * (`hookonce.consumerFunctions[name].addToRolePolicy(…)`).
 */
const CONSUMER_TABLE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'];

/**
 * What CloudWatch Logs needs of the key to encrypt a log group and read it back:
 * the exact actions of the wildcards AWS documents (Encrypt*, Decrypt*,
 * ReEncrypt*, GenerateDataKey*, Describe*), without the key-pair ones.
 */
const LOGS_KEY_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:DescribeKey',
];

/**
 * What a publisher needs of the topic's KMS key: a data key to encrypt the message
 * with, and Decrypt (SNS checks it). Named exactly: the L2 grant says GenerateDataKey*.
 */
const PUBLISH_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];

/**
 * One JSON object per request in the API's access logs (for Logs Insights): who,
 * which route, the answer, and what the integration said. Headers and bodies are
 * never logged, so neither signatures nor payloads are.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integrationErrorMessage',
};

/**
 * esbuild makes ESM, and CommonJS dependencies bundled into it still call
 * `require` (for Node built-ins): give them one.
 */
const REQUIRE_SHIM =
  "import { createRequire as __hookonceCreateRequire } from 'node:module'; const require = __hookonceCreateRequire(import.meta.url);";

export interface HookonceProps {
  /** Providers and subscribers: the single source of truth (DESIGN.md §6). */
  readonly declaration: HookonceDeclaration;
  /**
   * The folder the declaration's entry paths are relative to, and where
   * package-lock.json lives.
   * @default the repository root of this file
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
   * X-Ray active tracing on every function (Lambda's own segments: invocation,
   * init, overhead). Off saves X-Ray's cost, about $5 per million traces past
   * the free tier.
   * @default true
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
   * The functions' log level (POWERTOOLS_LOG_LEVEL).
   * @default 'INFO'
   */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * The share of invocations, 0 to 1, that log at DEBUG whatever the level
   * (POWERTOOLS_LOGGER_SAMPLE_RATE): a sample of the detail without its volume.
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

/** An entry of the declaration as an absolute path; it must lie inside the project. */
function entryPath(projectRoot: string, entry: string): string {
  const path = resolve(projectRoot, entry);
  const inside = relative(projectRoot, path);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new Error(`function entry "${entry}" must lie inside ${projectRoot}`);
  }
  return path;
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
 * A variable that names a resource comes with the grant to use it; a plain
 * setting comes with `null`.
 */
type Bindings = Readonly<Record<string, ((grantee: IGrantable) => unknown) | null>>;

/**
 * Sets a function's environment and, for each variable naming a resource, the
 * grant that lets the function use that resource: in one call, so a handler
 * never gets a name it may not use (aws-solutions-constructs does the same).
 * Every variable must be listed, so one added to ingestEnvironment() or
 * consumerEnvironment() without its grant fails the synth.
 */
function bind(fn: NodejsFunction, environment: Record<string, string>, bindings: Bindings): void {
  const unbound = Object.keys(environment).filter((key) => !(key in bindings));
  const unknown = Object.keys(bindings).filter((key) => !(key in environment));
  if (unbound.length > 0 || unknown.length > 0) {
    throw new Error(
      `${fn.node.path}: environment and grants disagree (no grant: ${unbound.join(', ') || '-'}; ` +
        `no variable: ${unknown.join(', ') || '-'})`,
    );
  }
  for (const [key, value] of Object.entries(environment)) {
    fn.addEnvironment(key, value);
    bindings[key]?.(fn);
  }
}

/**
 * hookonce on AWS: the HTTP API and ingest function, the deliveries and
 * consumer-state tables, the SNS topic, and per subscriber a queue, its DLQ
 * and a consumer function (DESIGN.md §1). The same declaration drives the
 * local runtime (infra/local), which builds the same resources on emulators.
 */
export class Hookonce extends Construct {
  /** The declaration with its defaults filled in. */
  public readonly declaration: ResolvedDeclaration;
  public readonly api: HttpApi;
  public readonly topic: Topic;
  public readonly deliveriesTable: TableV2;
  public readonly consumerTable: TableV2;
  /** Payloads too large to travel inline. */
  public readonly payloadBucket: Bucket;
  /** Publishes deliveries that were stored but never published; runs every minute. */
  public readonly sweeperFunction: NodejsFunction;
  /**
   * One secret per provider, holding the JSON list of its active signing secrets:
   * created by the stack, or the existing one the provider names (secretArn, secretName).
   */
  public readonly secrets: Readonly<Record<string, ISecret>>;
  /** The customer managed key (rotated yearly) that encrypts both topics. */
  public readonly key: Key;
  /** Every alarm publishes here: subscribe an email, a chat integration or a pager. */
  public readonly alarmTopic: Topic;
  /** The alarms, the CloudWatch dashboard and the metrics they show. */
  public readonly observability: Observability;
  /** The access logs of the HTTP API. */
  public readonly accessLogs: LogGroup;
  public readonly ingestFunction: NodejsFunction;
  /** By subscriber name. */
  public readonly queues: Readonly<Record<string, SubscriberQueues>>;
  /** By subscriber name. */
  public readonly consumerFunctions: Readonly<Record<string, NodejsFunction>>;

  private readonly projectRoot: string;
  private readonly logRetention: RetentionDays;
  private readonly functionDefaults: {
    readonly tracing: boolean;
    readonly logLevel: string;
    readonly debugLogSampleRate: number;
  };

  public constructor(scope: Construct, id: string, props: HookonceProps) {
    super(scope, id);
    const declaration = resolveDeclaration(props.declaration);
    for (const warning of declaration.warnings)
      Annotations.of(this).addWarningV2('hookonce:declaration', warning);
    this.declaration = declaration;
    this.projectRoot = props.projectRoot ?? REPO_ROOT;
    this.logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const debugLogSampleRate = props.debugLogSampleRate ?? 0;
    if (!(debugLogSampleRate >= 0 && debugLogSampleRate <= 1)) {
      throw new Error(`debugLogSampleRate must be between 0 and 1, got ${debugLogSampleRate}`);
    }
    this.functionDefaults = {
      tracing: props.tracing ?? true,
      logLevel: props.logLevel ?? 'INFO',
      debugLogSampleRate,
    };
    checkEntries(declaration, this.projectRoot);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retentionSeconds = declaration.retentionDays * 24 * 3600;
    const deletionProtection = props.deletionProtection ?? true;
    const reserved = props.reservedConcurrency ?? {};

    // The tables (DESIGN.md §3), keyed as infra/tables.ts says, like the local ones
    // (infra/local/resources.ts). TableV2 so that replicas can be added later.
    const idx = DELIVERIES_TABLE.pendingIndex;
    this.deliveriesTable = new TableV2(this, 'Deliveries', {
      partitionKey: { name: DELIVERIES_TABLE.partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute: DELIVERIES_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection,
      // Sparse: only RECEIVED deliveries carry pendingShard, so the sweeper queries
      // what is left to publish; sharded so no single GSI partition runs hot.
      globalSecondaryIndexes: [
        {
          indexName: idx.name,
          partitionKey: { name: idx.partitionKey, type: AttributeType.STRING },
          sortKey: { name: idx.sortKey, type: AttributeType.NUMBER },
          projectionType: ProjectionType.KEYS_ONLY,
        },
      ],
      removalPolicy,
    });
    this.consumerTable = new TableV2(this, 'ConsumerState', {
      partitionKey: { name: CONSUMER_TABLE.partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute: CONSUMER_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection,
      removalPolicy,
    });

    // Bodies too large for an item or an SNS message (DESIGN.md §3). Objects live
    // one day longer than the dedup window that can still refer to them.
    this.payloadBucket = new Bucket(this, 'Payloads', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{ expiration: Duration.days(longestRetentionDays(declaration) + 1) }],
      removalPolicy,
      autoDeleteObjects: false,
    });

    // Encryption at rest for both topics and every log group. A customer managed key,
    // because CloudWatch can only publish alarms to a topic whose key policy lets it;
    // rotated yearly. It encrypts messages in flight and logs that leave with the
    // stack, so it leaves with the stack too (after KMS's waiting period).
    this.key = new Key(this, 'Key', {
      description: `${declaration.name}: encrypts the events and alarms topics and the log groups`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(7),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.allowLogsToUseKey();
    this.limitGrantsToAwsServices();
    this.topic = new Topic(this, 'Events', {
      displayName: `${declaration.name} events`,
      enforceSSL: true,
      masterKey: this.key,
    });
    this.alarmTopic = new Topic(this, 'Alarms', {
      displayName: `${declaration.name} alarms`,
      enforceSSL: true,
      masterKey: this.key,
    });

    const secrets: Record<string, ISecret> = {};
    for (const provider of Object.keys(declaration.providers)) {
      const existing = declaration.existingSecrets[provider];
      if (existing) {
        // The provider names its own secret: import it, create none, grant read on it only.
        secrets[provider] =
          'arn' in existing
            ? Secret.fromSecretCompleteArn(this, `Secret-${provider}`, existing.arn)
            : Secret.fromSecretNameV2(this, `Secret-${provider}`, existing.name);
        continue;
      }
      const secret = new Secret(this, `Secret-${provider}`, {
        description:
          `${declaration.name}: the active signing secrets of webhook provider "${provider}", ` +
          'as a JSON list of strings, e.g. ["whsec_..."]; list two while rotating.',
        removalPolicy,
      });
      // The template holds no secret: the secret starts as the empty list (every
      // delivery is answered 401 until it is filled), and the operator puts the real
      // value once after the first deploy:
      //   aws secretsmanager put-secret-value --secret-id <SecretArn output> \
      //     --secret-string '["whsec_..."]'
      // CloudFormation writes SecretString when the secret is created and when this
      // value changes in the template, so leave '[]' as it is. The ingest function
      // re-reads the secret within SECRET_MAX_AGE_SECONDS (5 minutes).
      const cfn = secret.node.defaultChild as CfnSecret;
      cfn.generateSecretString = undefined;
      cfn.secretString = '[]';
      secrets[provider] = secret;
    }
    this.secrets = secrets;

    this.ingestFunction = this.nodejsFunction('Ingest', {
      description: `${declaration.name}: POST /webhooks/{provider}`,
      entry: INGEST_FUNCTION.entry,
      handler: INGEST_FUNCTION.handler,
      timeout: Duration.seconds(INGEST_FUNCTION.timeoutSeconds),
      memorySize: props.ingestMemorySize ?? INGEST_FUNCTION.memorySize,
      reservedConcurrentExecutions: reserved.ingest,
      service: 'ingest',
    });
    // How the function names each secret, and what its policy names. A secret imported
    // by name has no complete ARN here: the function asks for it by name, and the policy
    // matches the six characters Secrets Manager appended to the name.
    const secretIds: Record<string, string> = {};
    const secretPolicyArns: string[] = [];
    for (const [provider, secret] of Object.entries(secrets)) {
      const existing = declaration.existingSecrets[provider];
      if (existing && 'name' in existing) {
        secretIds[provider] = existing.name;
        secretPolicyArns.push(`${secret.secretArn}-??????`);
      } else {
        secretIds[provider] = secret.secretArn;
        secretPolicyArns.push(secret.secretArn);
      }
    }
    bind(
      this.ingestFunction,
      ingestEnvironment({
        tableName: this.deliveriesTable.tableName,
        topicArn: this.topic.topicArn,
        providers: { ...declaration.providers },
        retentionSeconds,
        pendingShards: declaration.pendingShards,
        payloadBucket: this.payloadBucket.bucketName,
        secretIds,
      }),
      {
        // The table itself only: the ingest function never reads an index.
        [INGEST_ENV.table]: (fn) =>
          Grant.addToPrincipal({
            grantee: fn,
            actions: INGEST_TABLE_ACTIONS,
            resourceArns: [this.deliveriesTable.tableArn],
          }),
        [INGEST_ENV.topicArn]: (fn) => this.grantPublish(fn),
        // Its own providers' secrets only, and only to read their value.
        [INGEST_ENV.secretIds]: (fn) =>
          Grant.addToPrincipal({
            grantee: fn,
            actions: ['secretsmanager:GetSecretValue'],
            resourceArns: secretPolicyArns,
          }),
        [INGEST_ENV.providers]: null,
        [INGEST_ENV.retentionSeconds]: null,
        [INGEST_ENV.pendingShards]: null,
        // It writes large bodies, and deletes one it stored for a delivery whose claim
        // it lost; it never reads them.
        [INGEST_ENV.payloadBucket]: (fn) =>
          Grant.addToPrincipal({
            grantee: fn,
            actions: INGEST_PAYLOAD_ACTIONS,
            resourceArns: [this.payloadBucket.arnForObjects(`${PAYLOAD_PREFIX}*`)],
          }),
      },
    );

    this.sweeperFunction = this.nodejsFunction('Sweeper', {
      description: `${declaration.name}: publishes deliveries stored but never published`,
      entry: SWEEPER_FUNCTION.entry,
      handler: SWEEPER_FUNCTION.handler,
      timeout: Duration.seconds(SWEEPER_FUNCTION.timeoutSeconds),
      memorySize: SWEEPER_FUNCTION.memorySize,
      reservedConcurrentExecutions: reserved.sweeper,
      service: 'sweeper',
    });
    bind(
      this.sweeperFunction,
      sweeperEnvironment({
        tableName: this.deliveriesTable.tableName,
        topicArn: this.topic.topicArn,
        pendingShards: declaration.pendingShards,
        retentionSeconds,
        graceSeconds: DEFAULT_SWEEP_GRACE_SECONDS,
        maxPerRun: DEFAULT_SWEEP_MAX_PER_RUN,
        maxAttempts: DEFAULT_SWEEP_MAX_ATTEMPTS,
      }),
      {
        // It queries the pending index and takes deliveries over; it never creates one.
        [SWEEPER_ENV.table]: (fn) => {
          Grant.addToPrincipal({
            grantee: fn,
            actions: SWEEPER_TABLE_ACTIONS,
            resourceArns: [this.deliveriesTable.tableArn],
          });
          Grant.addToPrincipal({
            grantee: fn,
            actions: SWEEPER_INDEX_ACTIONS,
            resourceArns: [`${this.deliveriesTable.tableArn}/index/${PENDING_INDEX}`],
          });
        },
        [SWEEPER_ENV.topicArn]: (fn) => this.grantPublish(fn),
        [SWEEPER_ENV.pendingShards]: null,
        [SWEEPER_ENV.retentionSeconds]: null,
        [SWEEPER_ENV.graceSeconds]: null,
        [SWEEPER_ENV.maxPerRun]: null,
        [SWEEPER_ENV.maxAttempts]: null,
      },
    );
    this.allowOnlyToPublish([this.ingestFunction, this.sweeperFunction]);
    new Rule(this, 'SweepSchedule', {
      description: `${declaration.name}: run the sweeper`,
      schedule: Schedule.rate(Duration.seconds(SWEEP_INTERVAL_SECONDS)),
      targets: [new LambdaFunction(this.sweeperFunction, { retryAttempts: 0 })],
    });

    this.api = new HttpApi(this, 'Api', {
      description: `${declaration.name}: webhook ingestion`,
      createDefaultStage: false,
    });
    // The $default stage, throttled as the declaration says, with access logs.
    this.accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: this.logRetention,
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'ApiStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: declaration.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    const [route] = this.api.addRoutes({
      path: '/webhooks/{provider}',
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('Ingest', this.ingestFunction, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
    });
    // API Gateway may invoke the ingest function for this API's route (SourceArn, set
    // by the integration) and from this account only.
    const invoke = route?.node.tryFindChild('Ingest-Permission');
    if (!(invoke instanceof CfnPermission)) {
      throw new Error('the ingest route has no Ingest-Permission to restrict to this account');
    }
    invoke.sourceAccount = Stack.of(this).account;

    const queues: Record<string, SubscriberQueues> = {};
    const consumers: Record<string, NodejsFunction> = {};
    for (const [name, subscriber] of Object.entries(declaration.subscribers)) {
      const scope = new Construct(this, `Subscriber-${name}`);
      const { consumer } = subscriber;

      // What the consumer gave up on; only SQS's redrive from the queue writes to it.
      const consumerDeadLetters = deadLetterQueue(scope, 'DeadLetterQueue');
      const queue = new Queue(scope, 'Queue', {
        visibilityTimeout: Duration.seconds(subscriber.visibilityTimeoutSeconds),
        deadLetterQueue: {
          queue: consumerDeadLetters,
          maxReceiveCount: subscriber.maxReceiveCount,
        },
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      // The same subscription any other team's queue gets (infra/subscribe.ts), with
      // its own DLQ for what SNS cannot deliver; Observability alarms on both DLQs.
      const { deadLetterQueue: subscriptionDeadLetterQueue } = subscribeWithDeadLetters(
        this.topic,
        queue,
        subscriber.filter,
      );
      queues[name] = {
        queue,
        deadLetterQueue: consumerDeadLetters,
        subscriptionDeadLetterQueue,
      };

      const fn = this.nodejsFunction('Consumer', {
        description: `${declaration.name}: consumer of subscriber "${name}"`,
        entry: consumer.entry,
        handler: consumer.handler,
        timeout: Duration.seconds(consumer.timeoutSeconds),
        memorySize: consumer.memorySize,
        reservedConcurrentExecutions: reserved.consumers,
        service: 'consumer',
        scope,
      });
      bind(
        fn,
        consumerEnvironment({
          tableName: this.consumerTable.tableName,
          subscriber: name,
          // A claim outlives every delivery it guards: a replay of any kept delivery is a duplicate.
          retentionSeconds: longestRetentionDays(declaration) * 24 * 3600,
          payloadBucket: this.payloadBucket.bucketName,
        }),
        {
          // The guard's claims and the consumer's own effects live in this table:
          // its own claims only (no other subscriber's can be forged or marked DONE),
          // and any key that is no claim for its effects.
          [CONSUMER_ENV.table]: (grantee) => {
            Grant.addToPrincipal({
              grantee,
              actions: CONSUMER_TABLE_ACTIONS,
              resourceArns: [this.consumerTable.tableArn],
              conditions: {
                'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ownClaimKeyPatterns(name) },
              },
            });
            Grant.addToPrincipal({
              grantee,
              actions: CONSUMER_TABLE_ACTIONS,
              resourceArns: [this.consumerTable.tableArn],
              conditions: {
                'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': [ANY_CLAIM_KEY_PATTERN] },
              },
            });
          },
          [CONSUMER_ENV.subscriber]: null,
          [CONSUMER_ENV.retentionSeconds]: null,
          // To read payloads that were too large for the envelope (`dataref`): those
          // of the providers its filter admits only.
          [CONSUMER_ENV.payloadBucket]: (grantee) =>
            Grant.addToPrincipal({
              grantee,
              actions: ['s3:GetObject'],
              resourceArns: payloadObjectPatterns(subscriber.filter).map((pattern) =>
                this.payloadBucket.arnForObjects(pattern),
              ),
            }),
        },
      );
      fn.addEventSource(
        new SqsEventSource(queue, {
          batchSize: subscriber.batchSize,
          reportBatchItemFailures: true,
          ...(subscriber.batchingWindowSeconds > 0
            ? { maxBatchingWindow: Duration.seconds(subscriber.batchingWindowSeconds) }
            : {}),
          ...(subscriber.maxConcurrency !== undefined
            ? { maxConcurrency: subscriber.maxConcurrency }
            : {}),
        }),
      );
      consumers[name] = fn;
    }
    this.queues = queues;
    this.consumerFunctions = consumers;

    this.observability = new Observability(this, 'Observability', {
      declaration,
      api: this.api,
      ingestFunction: this.ingestFunction,
      sweeperFunction: this.sweeperFunction,
      queues,
      consumerFunctions: consumers,
      alarmTopic: this.alarmTopic,
      key: this.key,
      thresholds: props.alarms,
    });
    acknowledgeFindings(this, { tracing: this.functionDefaults.tracing });
    acknowledgeControlTowerFindings(this, { logRetention: this.logRetention });
  }

  /** The CloudWatch dashboard's URL in the console. */
  public get dashboardUrl(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.observability.dashboard.dashboardName}`;
  }

  /** Publish to the events topic: sns:Publish on it, and its key's data keys, nothing wider. */
  private grantPublish(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: ['sns:Publish'],
      resourceArns: [this.topic.topicArn],
    });
    Grant.addToPrincipal({
      grantee,
      actions: PUBLISH_KEY_ACTIONS,
      resourceArns: [this.key.keyArn],
    });
  }

  /**
   * The events topic's policy names its publishers: they may publish, and every
   * other principal, of this account or any, is refused (an explicit deny, which
   * no IAM policy of the account overrides), so nothing else can forge an event.
   */
  private allowOnlyToPublish(publishers: readonly NodejsFunction[]): void {
    const roleArns = publishers.map((fn) => (fn.role as IRole).roleArn);
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyHookonceFunctionsPublish',
        principals: roleArns.map((arn) => new ArnPrincipal(arn)),
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
      }),
    );
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'NoOtherPublisher',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': roleArns } },
      }),
    );
  }

  /**
   * CloudWatch Logs encrypts the log groups with the key, as itself: the key
   * policy lets it for this account's log groups in this region only.
   */
  private allowLogsToUseKey(): void {
    const { account, region, partition } = Stack.of(this);
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchLogsUseKey',
        principals: [new ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: LOGS_KEY_ACTIONS,
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${account}:log-group:*`,
          },
        },
      }),
    );
  }

  /**
   * Only AWS services, acting for a resource, may be given grants on the key:
   * nobody can hand a grant to a principal of their choosing (AWS Control
   * Tower's CT.KMS.PR.3).
   */
  private limitGrantsToAwsServices(): void {
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'GrantsOnlyForAwsServices',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: {
          BoolIfExists: {
            'kms:GrantIsForAWSResource': 'false',
            'aws:PrincipalIsAWSService': 'false',
          },
        },
      }),
    );
  }

  /**
   * Subscribes a queue that this construct did not make (another team's, in
   * this app) to the topic, as the declared subscribers are: raw message
   * delivery, `filter` as its SNS filter policy, the queue policy that lets the
   * topic send, and a subscription DLQ (next to the queue) whose alarm
   * publishes to `alarmTopic`. From another app or account, use
   * subscribeToHookonce() from infra/subscribe.ts with the TopicArn output.
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

  /** A function as every hookonce function is built: Node.js 24 on arm64, one lean ESM bundle. */
  private nodejsFunction(
    id: string,
    props: Pick<
      NodejsFunctionProps,
      | 'description'
      | 'entry'
      | 'handler'
      | 'timeout'
      | 'memorySize'
      | 'reservedConcurrentExecutions'
    > & {
      entry: string;
      scope?: Construct;
      /** Its `service` in logs and metrics. */
      service: keyof ReturnType<typeof serviceNames>;
    },
  ): NodejsFunction {
    const scope = props.scope ?? this;
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: this.logRetention,
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role, allowed to write to its own log group and nothing else until
    // bind() adds what its handler uses (no AWSLambdaBasicExecutionRole: that one
    // may create any log group and write to all of them).
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    Grant.addToPrincipal({
      grantee: role,
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resourceArns: [logGroup.logGroupArn],
    });
    const { tracing, logLevel, debugLogSampleRate } = this.functionDefaults;
    return new NodejsFunction(scope, id, {
      description: props.description,
      entry: entryPath(this.projectRoot, props.entry),
      handler: props.handler,
      timeout: props.timeout,
      memorySize: props.memorySize,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role,
      tracing: tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      // Read by Powertools Logger (functions/shared/log.ts).
      environment: {
        POWERTOOLS_SERVICE_NAME: serviceNames(this.declaration.name)[props.service],
        POWERTOOLS_LOG_LEVEL: logLevel,
        POWERTOOLS_LOGGER_SAMPLE_RATE: String(debugLogSampleRate),
      },
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      projectRoot: this.projectRoot,
      depsLockFilePath: join(this.projectRoot, 'package-lock.json'),
      // The SDK v3 clients reuse connections on their own; no variable needed.
      awsSdkConnectionReuse: false,
      logGroup,
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        minify: true,
        sourceMap: false,
        // Bundle everything, the AWS SDK included: one file, pinned versions, and
        // tree-shaking keeps only the clients a function uses.
        externalModules: [],
        mainFields: ['module', 'main'],
        banner: REQUIRE_SHIM,
        logLevel: LogLevel.WARNING,
      },
    });
  }
}
