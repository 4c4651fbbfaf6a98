import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_ENV } from '../../functions/consumers/config.ts';
import { INGEST_ENV } from '../../functions/ingest/config.ts';
import {
  type HookonceDeclaration,
  resolveDeclaration,
  toFilterPolicy,
} from '../../functions/shared/declaration.ts';
import { SWEEPER_ENV } from '../../functions/sweeper/config.ts';
import { declaration as defaultDeclaration } from '../../infra/hookonce.config.ts';
import { Hookonce } from '../../infra/hookonce.ts';
import { HookonceStack } from '../../infra/stack.ts';
import { CONSUMER_TABLE, DELIVERIES_TABLE } from '../../infra/tables.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE_ENTRY = 'functions/consumers/example/handler.ts';

/** The context `cdk synth` reads from cdk.json, so the tests synthesize what the CLI does. */
const cdkContext = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;

/** Two providers, two subscribers: `billing` filtered (a provider, an exact type, a prefix), `audit` not. */
const declaration: HookonceDeclaration = {
  name: 'hooktest',
  providers: {
    standard: { scheme: 'standard-webhooks' },
    acme: { scheme: 'standard-webhooks', maxBodyBytes: 64 * 1024 },
  },
  subscribers: {
    billing: {
      filter: { providers: ['acme'], types: ['acme.invoice.paid', 'acme.customer.*'] },
      consumer: { entry: EXAMPLE_ENTRY, timeoutSeconds: 20, memorySize: 512 },
      batchSize: 5,
      maxReceiveCount: 3,
    },
    audit: { consumer: { entry: EXAMPLE_ENTRY } },
  },
  retentionDays: 3,
  pendingShards: 8,
};
const resolved = resolveDeclaration(declaration);

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
};

/** What Powertools reads, set on every function beside its own variables. */
const powertoolsVariables = (service: string) => ({
  POWERTOOLS_SERVICE_NAME: `hooktest-${service}`,
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_LOGGER_SAMPLE_RATE: '0',
});
type CfnResourceJson = { Type: string; Properties?: Record<string, unknown> };
const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('Stack: HookonceStack', () => {
  let app: App;
  let stack: HookonceStack;
  let hookonce: Hookonce;
  let template: Template;
  const idOf = (construct: IConstruct): string =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  /** The statements of the policy attached to a function's role. */
  const statementsOf = (fn: IConstruct & { role?: IConstruct }): Statement[] => {
    if (!fn.role) throw new Error('no role');
    const roleId = idOf(fn.role);
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) },
      }),
    );
    return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  };

  beforeAll(() => {
    // One synthesis for every test: it bundles three functions with esbuild.
    app = new App({ context: cdkContext() });
    stack = new HookonceStack(app, 'HookonceTest', { declaration });
    hookonce = stack.hookonce;
    template = Template.fromStack(stack);
  });

  describe('HTTP API', () => {
    it('has exactly the routes POST and GET /webhooks/{provider}, to the ingest function, payload 2.0', () => {
      template.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
      template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
      const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
        Properties: {
          IntegrationType: 'AWS_PROXY',
          PayloadFormatVersion: '2.0',
          IntegrationUri: { 'Fn::GetAtt': [idOf(hookonce.ingestFunction), 'Arn'] },
        },
      });
      const [integrationId] = Object.keys(integrations);
      expect(integrationId).toBeDefined();
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: 'POST /webhooks/{provider}',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
      });
      // GET answers a provider's subscription check (Meta's hub.challenge), on the same function.
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: 'GET /webhooks/{provider}',
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
      });
    });

    it('outputs the endpoint URL of every provider', () => {
      for (const provider of ['Standard', 'Acme']) {
        template.hasOutput(`${provider}EndpointUrl`, {
          Value: {
            'Fn::Join': [
              '',
              [
                { 'Fn::GetAtt': [idOf(hookonce.api), 'ApiEndpoint'] },
                `/webhooks/${provider.toLowerCase()}`,
              ],
            ],
          },
        });
      }
    });
  });

  describe('functions', () => {
    it('runs every function on Node.js 24, arm64, from a bundled ESM handler', () => {
      // ingest, sweeper, and the two consumers
      template.resourceCountIs('AWS::Lambda::Function', 4);
      template.allResourcesProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
    });

    it('gives the ingest function 10 s, 256 MB and exactly the INGEST_ENV variables', () => {
      const fn = template.toJSON().Resources[idOf(hookonce.ingestFunction)].Properties;
      expect(fn.Timeout).toBe(10);
      expect(fn.MemorySize).toBe(256);
      const env = fn.Environment.Variables as Record<string, unknown>;
      const powertools = powertoolsVariables('ingest');
      expect(Object.keys(env).sort()).toEqual(
        [...Object.values(INGEST_ENV), ...Object.keys(powertools)].sort(),
      );
      expect(env).toMatchObject(powertools);
      expect(env[INGEST_ENV.table]).toEqual({ Ref: idOf(hookonce.deliveriesTable) });
      expect(env[INGEST_ENV.topicArn]).toEqual({ Ref: idOf(hookonce.topic) });
      expect(JSON.parse(env[INGEST_ENV.providers] as string)).toEqual(resolved.providers);
      expect(env[INGEST_ENV.retentionSeconds]).toBe(String(3 * 86_400));
      expect(env[INGEST_ENV.pendingShards]).toBe('8');
      // {"standard":"<arn>","acme":"<arn>"}, the ARNs joined in by CloudFormation.
      const secretIds = JSON.stringify(env[INGEST_ENV.secretIds]);
      for (const provider of ['standard', 'acme']) {
        const secret = hookonce.secrets[provider];
        if (!secret) throw new Error(`no secret for ${provider}`);
        expect(secretIds).toContain(JSON.stringify({ Ref: idOf(secret) }));
      }
    });

    it('gives each consumer its declared entry settings and the CONSUMER_ENV variables', () => {
      for (const [name, sub] of Object.entries(resolved.subscribers)) {
        const fn = hookonce.consumerFunctions[name];
        if (!fn) throw new Error(`no consumer for ${name}`);
        template.hasResourceProperties('AWS::Lambda::Function', {
          Timeout: sub.consumer.timeoutSeconds,
          MemorySize: sub.consumer.memorySize,
          Environment: {
            Variables: {
              [CONSUMER_ENV.table]: { Ref: idOf(hookonce.consumerTable) },
              [CONSUMER_ENV.subscriber]: name,
              [CONSUMER_ENV.retentionSeconds]: String(3 * 86_400),
            },
          },
        });
      }
    });

    it('bundles the ingest handler into one lean ESM file without dev-only packages', () => {
      // The code's S3 key is <asset hash>.zip; the bundle sits in asset.<hash>/.
      const fn = template.toJSON().Resources[idOf(hookonce.ingestFunction)];
      const hash = (fn.Properties.Code.S3Key as string).replace(/\.zip$/, '');
      const bundle = join(app.synth().directory, `asset.${hash}`, 'index.mjs');
      const code = readFileSync(bundle, 'utf8');
      // The require shim first, then the handler with the AWS SDK bundled in.
      expect(code.startsWith('import { createRequire as __hookonceCreateRequire }')).toBe(true);
      expect(code).toContain('DynamoDB_20120810');
      for (const devOnly of ['standardwebhooks', 'dynalite', 'fauxqs', 'aws-cdk-lib']) {
        expect(code).not.toContain(devOnly);
      }
      expect(code).not.toContain('sourceMappingURL');
      expect(statSync(bundle).size).toBeLessThan(1024 * 1024);
    });
  });

  describe('tables', () => {
    it('keys the deliveries table on pk, on demand, with PITR, TTL and the sparse pending index', () => {
      const idx = DELIVERIES_TABLE.pendingIndex;
      const table = template.toJSON().Resources[idOf(hookonce.deliveriesTable)];
      expect(table.Type).toBe('AWS::DynamoDB::GlobalTable');
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        GlobalSecondaryIndexes: [
          {
            IndexName: 'pending',
            KeySchema: [
              { AttributeName: idx.partitionKey, KeyType: 'HASH' },
              { AttributeName: idx.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        Replicas: [
          expect.objectContaining({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      });
      expect(table.Properties.AttributeDefinitions).toEqual(
        expect.arrayContaining([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'pendingShard', AttributeType: 'S' },
          { AttributeName: 'leaseUntil', AttributeType: 'N' },
        ]),
      );
      expect(table.Properties.AttributeDefinitions).toHaveLength(3);
    });

    it('keys the consumer table on pk, on demand, with PITR and TTL', () => {
      const table = template.toJSON().Resources[idOf(hookonce.consumerTable)];
      expect(table.Type).toBe('AWS::DynamoDB::GlobalTable');
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: CONSUMER_TABLE.partitionKey, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: CONSUMER_TABLE.partitionKey, AttributeType: 'S' }],
        TimeToLiveSpecification: { AttributeName: CONSUMER_TABLE.ttlAttribute, Enabled: true },
        Replicas: [
          expect.objectContaining({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      });
      expect(table.Properties.GlobalSecondaryIndexes).toBeUndefined();
    });
  });

  describe('payload bucket', () => {
    it('encrypts, blocks public access, refuses plain HTTP and expires objects a day after the dedup window', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: [{ ExpirationInDays: resolved.retentionDays + 1, Status: 'Enabled' }],
        },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('tells the ingest function and every consumer its name', () => {
      const bucketRef = { Ref: idOf(hookonce.payloadBucket) };
      for (const fn of [hookonce.ingestFunction, ...Object.values(hookonce.consumerFunctions)]) {
        const props = template.toJSON().Resources[idOf(fn)].Properties;
        expect(props.Environment.Variables[INGEST_ENV.payloadBucket]).toEqual(bucketRef);
      }
    });
  });

  describe('sweeper', () => {
    it('runs every minute, with the table, topic and sweep settings in its environment', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [
          Match.objectLike({ Arn: { 'Fn::GetAtt': [idOf(hookonce.sweeperFunction), 'Arn'] } }),
        ],
      });
      const props = template.toJSON().Resources[idOf(hookonce.sweeperFunction)].Properties;
      const powertools = powertoolsVariables('sweeper');
      expect(Object.keys(props.Environment.Variables).sort()).toEqual(
        [...Object.values(SWEEPER_ENV), ...Object.keys(powertools)].sort(),
      );
      expect(props.Environment.Variables).toMatchObject(powertools);
      expect(props.Timeout).toBe(60);
    });
  });

  describe('secrets', () => {
    it('makes one secret per provider that starts as an empty list, nothing generated', () => {
      template.resourceCountIs('AWS::SecretsManager::Secret', 2);
      template.allResourcesProperties('AWS::SecretsManager::Secret', {
        SecretString: '[]',
        GenerateSecretString: Match.absent(),
        Description: Match.stringLikeRegexp('JSON list'),
      });
    });
  });

  describe('fan-out', () => {
    it('makes the events topic and the alarms topic, both encrypted with the stack’s key', () => {
      template.resourceCountIs('AWS::SNS::Topic', 2);
      const keyArn = { 'Fn::GetAtt': [idOf(hookonce.key), 'Arn'] };
      for (const topic of [hookonce.topic, hookonce.alarmTopic]) {
        expect(template.toJSON().Resources[idOf(topic)].Properties.KmsMasterKeyId).toEqual(keyArn);
      }
    });

    for (const name of ['billing', 'audit']) {
      describe(`subscriber ${name}`, () => {
        const sub = () => {
          const s = resolved.subscribers[name];
          const q = hookonce.queues[name];
          if (!s || !q) throw new Error(`no subscriber ${name}`);
          return { ...s, ...q };
        };

        it('has a queue that redrives to its DLQ after the declared receives', () => {
          const { queue, deadLetterQueue, maxReceiveCount, visibilityTimeoutSeconds } = sub();
          const resources = template.toJSON().Resources;
          expect(resources[idOf(queue)].Properties).toEqual({
            RedrivePolicy: {
              deadLetterTargetArn: { 'Fn::GetAtt': [idOf(deadLetterQueue), 'Arn'] },
              maxReceiveCount,
            },
            VisibilityTimeout: visibilityTimeoutSeconds,
            SqsManagedSseEnabled: true,
          });
          expect(resources[idOf(deadLetterQueue)].Properties).toEqual({
            MessageRetentionPeriod: 14 * 86_400,
            SqsManagedSseEnabled: true,
            RedriveAllowPolicy: { redrivePermission: 'allowAll' },
          });
        });

        it('lets only the topic send to its queue, and refuses plain HTTP', () => {
          const { queue } = sub();
          template.hasResourceProperties('AWS::SQS::QueuePolicy', {
            Queues: [{ Ref: idOf(queue) }],
            PolicyDocument: {
              Statement: Match.arrayWith([
                Match.objectLike({
                  Effect: 'Deny',
                  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                }),
                Match.objectLike({
                  Effect: 'Allow',
                  Action: 'sqs:SendMessage',
                  Principal: { Service: 'sns.amazonaws.com' },
                  Condition: { ArnEquals: { 'aws:SourceArn': { Ref: idOf(hookonce.topic) } } },
                }),
              ]),
            },
          });
        });

        it('subscribes its queue with raw delivery and the exact filter policy', () => {
          const { queue, filter } = sub();
          const subscriptions = Object.values(
            template.findResources('AWS::SNS::Subscription', {
              Properties: { Endpoint: { 'Fn::GetAtt': [idOf(queue), 'Arn'] } },
            }),
          );
          expect(subscriptions).toHaveLength(1);
          const props = subscriptions[0]?.Properties;
          expect(props).toMatchObject({
            Protocol: 'sqs',
            RawMessageDelivery: true,
            TopicArn: { Ref: idOf(hookonce.topic) },
          });
          expect(props.FilterPolicy).toEqual(toFilterPolicy(filter));
          if (name === 'billing') {
            expect(props.FilterPolicy).toEqual({
              provider: ['acme'],
              type: ['acme.invoice.paid', { prefix: 'acme.customer.' }],
            });
            expect(props.FilterPolicyScope).toBe('MessageAttributes');
          } else {
            expect(props.FilterPolicy).toBeUndefined();
          }
        });

        it('feeds its consumer in declared batches that may fail partly', () => {
          const { batchSize, queue } = sub();
          const fn = hookonce.consumerFunctions[name];
          if (!fn) throw new Error(`no consumer ${name}`);
          template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
            EventSourceArn: { 'Fn::GetAtt': [idOf(queue), 'Arn'] },
            FunctionName: { Ref: idOf(fn) },
            BatchSize: batchSize,
            FunctionResponseTypes: ['ReportBatchItemFailures'],
          });
        });

        it('outputs its queue and DLQ URLs', () => {
          const { queue, deadLetterQueue } = sub();
          const key = name.charAt(0).toUpperCase() + name.slice(1);
          template.hasOutput(`${key}QueueUrl`, { Value: { Ref: idOf(queue) } });
          template.hasOutput(`${key}DeadLetterQueueUrl`, { Value: { Ref: idOf(deadLetterQueue) } });
        });
      });
    }
  });

  describe('IAM', () => {
    const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
      'Fn::GetAtt': [idOf(construct), attribute],
    });
    const payloads = (pattern = 'payloads/*') => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [idOf(hookonce.payloadBucket), 'Arn'] }, `/${pattern}`]],
    });
    /** Every function writes its own log group (and, tracing being off by default, sends no X-Ray segments). */
    const common = (fn: IConstruct) => [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        // Its log group is its sibling, `<id>Logs`.
        Resource: getAtt((fn.node.scope as IConstruct).node.findChild(`${fn.node.id}Logs`)),
      },
    ];
    const publish = () => [
      { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: idOf(hookonce.topic) } },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: getAtt(hookonce.key),
      },
    ];
    const sorted = (statements: Statement[]) =>
      [...statements].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

    it('lets the ingest function write deliveries, publish, store large bodies and read its secrets, nothing more', () => {
      const fn = hookonce.ingestFunction;
      const secretArns = Object.values(hookonce.secrets)
        .map((s) => ({ Ref: idOf(s) }))
        .sort((a, b) => a.Ref.localeCompare(b.Ref));
      expect(sorted(statementsOf(fn))).toEqual(
        sorted([
          ...common(fn),
          {
            Effect: 'Allow',
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
            Resource: getAtt(hookonce.deliveriesTable),
          },
          ...publish(),
          { Effect: 'Allow', Action: ['s3:DeleteObject', 's3:PutObject'], Resource: payloads() },
          { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArns },
        ]),
      );
    });

    it('lets the sweeper query the pending index, take deliveries over and publish, nothing more', () => {
      const fn = hookonce.sweeperFunction;
      expect(sorted(statementsOf(fn))).toEqual(
        sorted([
          ...common(fn),
          {
            Effect: 'Allow',
            Action: 'dynamodb:UpdateItem',
            Resource: getAtt(hookonce.deliveriesTable),
          },
          {
            Effect: 'Allow',
            Action: 'dynamodb:Query',
            Resource: {
              'Fn::Join': ['', [getAtt(hookonce.deliveriesTable), '/index/pending']],
            },
          },
          ...publish(),
        ]),
      );
    });

    it('lets each consumer claim its own keys, write its effects, read its providers’ payloads and consume its own queue, nothing more', () => {
      // billing's filter admits acme only; audit's admits every provider.
      const readable: Record<string, unknown> = {
        billing: payloads('payloads/acme/*'),
        audit: payloads(),
      };
      for (const [name, fn] of Object.entries(hookonce.consumerFunctions)) {
        const queue = hookonce.queues[name]?.queue as IConstruct;
        const tableActions = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
        expect(sorted(statementsOf(fn))).toEqual(
          sorted([
            ...common(fn),
            {
              Effect: 'Allow',
              Action: tableActions,
              Resource: getAtt(hookonce.consumerTable),
              Condition: {
                'ForAllValues:StringLike': {
                  'dynamodb:LeadingKeys': [`CLAIM#${name}#*`, `CLAIM#${name}.*#*`],
                },
              },
            },
            {
              Effect: 'Allow',
              Action: tableActions,
              Resource: getAtt(hookonce.consumerTable),
              Condition: {
                'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': ['CLAIM#*#*'] },
              },
            },
            { Effect: 'Allow', Action: 's3:GetObject', Resource: readable[name] },
            {
              Effect: 'Allow',
              Action: [
                'sqs:ChangeMessageVisibility',
                'sqs:DeleteMessage',
                'sqs:GetQueueAttributes',
                'sqs:GetQueueUrl',
                'sqs:ReceiveMessage',
              ],
              Resource: getAtt(queue),
            },
          ]),
        );
      }
    });

    it('gives every function a role of its own with no managed policy', () => {
      const roles = template.findResources('AWS::IAM::Role');
      expect(Object.keys(roles)).toHaveLength(4);
      for (const role of Object.values(roles)) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
        expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
          },
        ]);
      }
    });

    it('allows no wildcard action in any policy, and the key only to the account and CloudWatch', () => {
      const resources = Object.values(template.toJSON().Resources) as CfnResourceJson[];
      const documents = resources.flatMap((r) => {
        const doc = (r.Properties?.PolicyDocument ?? r.Properties?.KeyPolicy) as
          | { Statement?: Statement[] }
          | undefined;
        return doc ? [{ type: r.Type, statements: doc.Statement ?? [] }] : [];
      });
      const allows = documents.flatMap((d) =>
        d.statements.filter((s) => s.Effect === 'Allow').map((s) => ({ type: d.type, s })),
      );
      expect(allows.length).toBeGreaterThan(0);
      for (const { type, s } of allows) {
        for (const action of actionsOf(s)) {
          // The one exception is KMS's own: a key policy must leave the key manageable by
          // the account (it delegates to IAM; no role here is granted kms:*).
          if (type === 'AWS::KMS::Key' && action === 'kms:*') {
            expect(s).toMatchObject({ Principal: { AWS: expect.anything() } });
            expect(JSON.stringify(s)).toContain(':root');
            continue;
          }
          expect(action).not.toContain('*');
        }
      }
    });
  });
});

describe('Construct: Hookonce', () => {
  /** A stack that skips bundling, for checks that fail before any function is built. */
  const unbundledStack = () =>
    new Stack(new App({ context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] } }), 'S');

  it('refuses a consumer entry outside the project', () => {
    const bad: HookonceDeclaration = {
      ...declaration,
      subscribers: { stray: { consumer: { entry: '../elsewhere/handler.ts' } } },
    };
    expect(() => new Hookonce(unbundledStack(), 'H', { declaration: bad })).toThrow(
      /subscriber "stray": function entry "..\/elsewhere\/handler.ts" must lie inside/,
    );
  });

  it('passes an invalid declaration’s problems on, before building anything', () => {
    const bad: HookonceDeclaration = {
      ...declaration,
      subscribers: {
        slow: {
          consumer: { entry: EXAMPLE_ENTRY, timeoutSeconds: 60 },
          visibilityTimeoutSeconds: 30,
        },
      },
    };
    const stack = unbundledStack();
    expect(() => new Hookonce(stack, 'H', { declaration: bad })).toThrow(
      /subscriber "slow": visibilityTimeoutSeconds/,
    );
    expect(stack.node.findAll()).toHaveLength(2); // the stack and the Hookonce itself
  });
});

describe('App: the default declaration', () => {
  it('synthesizes, with its provider route and its subscriber', () => {
    const app = new App({ context: cdkContext() });
    const stack = new HookonceStack(app, 'Hookonce', { declaration: defaultDeclaration });
    const template = Template.fromStack(stack);
    const { providers, subscribers } = resolveDeclaration(defaultDeclaration);
    // ingest and sweeper, and a consumer per subscriber
    template.resourceCountIs('AWS::Lambda::Function', 2 + Object.keys(subscribers).length);
    template.resourceCountIs('AWS::SecretsManager::Secret', Object.keys(providers).length);
    // per subscriber: its queue, its DLQ and its subscription's DLQ
    template.resourceCountIs('AWS::SQS::Queue', 3 * Object.keys(subscribers).length);
    template.hasOutput('StandardEndpointUrl', {});
    expect(app.synth().getStackByName('Hookonce').template).toBeDefined();
  });
});
