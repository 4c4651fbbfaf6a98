import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, ProjectionType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { type CfnSecret, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PAYLOAD_PREFIX } from '../../functions/deliveries/payloads.ts';
import { INGEST_ENV, ingestEnvironment } from '../../functions/ingest/config.ts';
import {
  longestRetentionDays,
  type ResolvedDeclaration,
  usesSecrets,
} from '../../functions/shared/declaration.ts';
import { INGEST_FUNCTION } from '../functions.ts';
import { serviceNames } from '../observability.ts';
import { DELIVERIES_TABLE } from '../tables.ts';
import type { FanOut } from './fanout.ts';
import { bind, type FunctionDefaults, hookonceFunction } from './function.ts';

/**
 * What the ingest function does to the deliveries table (functions/deliveries/store.ts):
 * the conditional claim, the take-over and PUBLISHED updates, the consistent read
 * of a conflicting record. Nothing else: no scan, no delete, no batch.
 */
const INGEST_TABLE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:GetItem'];

/** Large bodies: the ingest function stores them, and removes one whose delivery it did not claim. */
const INGEST_PAYLOAD_ACTIONS = ['s3:PutObject', 's3:DeleteObject'];

/**
 * One JSON object per request in the API's access logs (for Logs Insights):
 * what an operator reads of a request, and nothing else. Headers and bodies are
 * never logged, so neither signatures nor payloads are. Left out: the user
 * agent (the same for every delivery of a provider, which the path names), the
 * route key (the method and path say it), the response length (the answers are
 * short JSON of a known shape), the integration's status (200 from Lambda even
 * when the function answered 5xx) and latency (the response latency less API
 * Gateway's few milliseconds).
 */
export const ACCESS_LOG_FIELDS = {
  // API Gateway's id of the request, which it answers in `apigw-requestid` and AWS support asks for.
  requestId: '$context.requestId',
  // When it arrived, in epoch milliseconds: exact, and shorter than the CLF date.
  requestTimeEpoch: '$context.requestTimeEpoch',
  // Who sent it: to check a provider's published addresses, or to find where a flood comes from.
  sourceIp: '$context.identity.sourceIp',
  // POST for a delivery, GET for a subscription check.
  method: '$context.httpMethod',
  // The provider, as the path names it (`/webhooks/<provider>`).
  path: '$context.path',
  // The answer the provider got.
  status: '$context.status',
  // How long the provider waited for it, in milliseconds.
  responseLatency: '$context.responseLatency',
  // Why API Gateway answered 5xx itself (the function failed, timed out or was throttled); `-` otherwise.
  integrationError: '$context.integrationErrorMessage',
};

export interface IntakeProps {
  readonly declaration: ResolvedDeclaration;
  readonly fanOut: FanOut;
  readonly functionDefaults: FunctionDefaults;
  /** What happens to the deliveries table, the bucket and the secrets when they leave the stack. */
  readonly removalPolicy: RemovalPolicy;
  /** DynamoDB deletion protection on the deliveries table. */
  readonly deletionProtection: boolean;
  /** Memory of the ingest function in MB. */
  readonly ingestMemorySize: number;
  /** @default none reserved */
  readonly reservedConcurrency?: number;
}

/**
 * The intake: the HTTP API, the ingest function behind it, the deliveries
 * table it claims each delivery in, the bucket for bodies too large to travel
 * inline, and one secret per provider.
 */
export class Intake extends Construct {
  public readonly api: HttpApi;
  /** The access logs of the HTTP API. */
  public readonly accessLogs: LogGroup;
  public readonly ingestFunction: LambdaFunction;
  public readonly deliveriesTable: TableV2;
  /** Payloads too large to travel inline. */
  public readonly payloadBucket: Bucket;
  /** By provider: created here, or the existing one the provider names. */
  public readonly secrets: Readonly<Record<string, ISecret>>;

  public constructor(scope: Construct, id: string, props: IntakeProps) {
    super(scope, id);
    const { declaration, functionDefaults, removalPolicy } = props;

    // Keyed as infra/tables.ts says, like the local one (infra/local/resources.ts).
    // TableV2 so that replicas can be added later.
    const idx = DELIVERIES_TABLE.pendingIndex;
    this.deliveriesTable = new TableV2(this, 'Deliveries', {
      partitionKey: { name: DELIVERIES_TABLE.partitionKey, type: AttributeType.STRING },
      timeToLiveAttribute: DELIVERIES_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection,
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

    // Bodies too large for an item or an SNS message. Objects live one day longer
    // than the dedup window that can still refer to them.
    this.payloadBucket = new Bucket(this, 'Payloads', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{ expiration: Duration.days(longestRetentionDays(declaration) + 1) }],
      removalPolicy,
      autoDeleteObjects: false,
    });

    this.secrets = this.providerSecrets(declaration, removalPolicy);
    this.ingestFunction = this.ingest(props);
    const api = this.httpApi(declaration, functionDefaults);
    this.api = api.api;
    this.accessLogs = api.accessLogs;
  }

  /** One secret per provider that takes secrets, holding the JSON list of its active signing secrets. */
  private providerSecrets(
    declaration: ResolvedDeclaration,
    removalPolicy: RemovalPolicy,
  ): Record<string, ISecret> {
    const secrets: Record<string, ISecret> = {};
    for (const [provider, resolved] of Object.entries(declaration.providers)) {
      // A provider whose public keys are in the declaration (asymmetric, jwt) has no secret.
      if (!usesSecrets(resolved)) continue;
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
    return secrets;
  }

  /** The ingest function, with exactly the grants its environment names. */
  private ingest(props: IntakeProps): LambdaFunction {
    const { declaration, fanOut } = props;
    const fn = hookonceFunction(this, 'Ingest', props.functionDefaults, {
      description: `${declaration.name}: POST /webhooks/{provider}`,
      entry: INGEST_FUNCTION.entry,
      shipped: 'ingest',
      handler: INGEST_FUNCTION.handler,
      timeout: Duration.seconds(INGEST_FUNCTION.timeoutSeconds),
      memorySize: props.ingestMemorySize,
      reservedConcurrentExecutions: props.reservedConcurrency,
      serviceName: serviceNames(declaration.name).ingest,
    });
    // How the function names each secret, and what its policy names. A secret imported
    // by name has no complete ARN here: the function asks for it by name, and the policy
    // matches the six characters Secrets Manager appended to the name.
    const secretIds: Record<string, string> = {};
    const secretPolicyArns: string[] = [];
    for (const [provider, secret] of Object.entries(this.secrets)) {
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
      fn,
      ingestEnvironment({
        tableName: this.deliveriesTable.tableName,
        topicArn: fanOut.topic.topicArn,
        providers: { ...declaration.providers },
        retentionSeconds: declaration.retentionDays * 24 * 3600,
        pendingShards: declaration.pendingShards,
        payloadBucket: this.payloadBucket.bucketName,
        // None when every provider's keys are in the declaration: no secret to read, no grant.
        ...(secretPolicyArns.length > 0 ? { secretIds } : {}),
      }),
      {
        // The table itself only: the ingest function never reads an index.
        [INGEST_ENV.table]: (grantee) =>
          Grant.addToPrincipal({
            grantee,
            actions: INGEST_TABLE_ACTIONS,
            resourceArns: [this.deliveriesTable.tableArn],
          }),
        [INGEST_ENV.topicArn]: (grantee) => fanOut.grantPublish(grantee),
        // Its own providers' secrets only, and only to read their value.
        ...(secretPolicyArns.length > 0
          ? {
              [INGEST_ENV.secretIds]: (grantee: IGrantable) =>
                Grant.addToPrincipal({
                  grantee,
                  actions: ['secretsmanager:GetSecretValue'],
                  resourceArns: secretPolicyArns,
                }),
            }
          : {}),
        [INGEST_ENV.providers]: null,
        [INGEST_ENV.retentionSeconds]: null,
        [INGEST_ENV.pendingShards]: null,
        // It writes large bodies, and deletes one it stored for a delivery whose claim
        // it lost; it never reads them.
        [INGEST_ENV.payloadBucket]: (grantee) =>
          Grant.addToPrincipal({
            grantee,
            actions: INGEST_PAYLOAD_ACTIONS,
            resourceArns: [this.payloadBucket.arnForObjects(`${PAYLOAD_PREFIX}*`)],
          }),
      },
    );
    return fn;
  }

  /**
   * The HTTP API: POST /webhooks/{provider} (and GET, for a provider's subscription
   * check) to the ingest function, on a throttled, logged stage.
   */
  private httpApi(
    declaration: ResolvedDeclaration,
    defaults: FunctionDefaults,
  ): { api: HttpApi; accessLogs: LogGroup } {
    const api = new HttpApi(this, 'Api', {
      description: `${declaration.name}: webhook ingestion`,
      createDefaultStage: false,
    });
    // The $default stage, throttled as the declaration says, with access logs.
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: defaults.logRetention,
      encryptionKey: defaults.logsKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'ApiStage', {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle: declaration.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    const routes = api.addRoutes({
      path: '/webhooks/{provider}',
      // GET answers Meta's subscription check (subscriptionCheck); the function says 405 to the rest.
      methods: [HttpMethod.POST, HttpMethod.GET],
      integration: new HttpLambdaIntegration('Ingest', this.ingestFunction, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
    });
    // API Gateway may invoke the ingest function for this API's routes (SourceArn, set
    // by the integration once, for any method of the path) and from this account only.
    for (const route of routes) {
      const invoke = route.node.tryFindChild('Ingest-Permission');
      if (!(invoke instanceof CfnPermission)) {
        throw new Error('the ingest route has no Ingest-Permission to restrict to this account');
      }
      invoke.sourceAccount = Stack.of(this).account;
    }
    return { api, accessLogs };
  }
}
