import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { METRIC } from '../../functions/shared/metrics.ts';
import { declaration as defaultDeclaration } from '../../infra/hookonce.config.ts';
import { Hookonce, type HookonceProps } from '../../infra/hookonce.ts';
import { HookonceStack } from '../../infra/stack.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE_ENTRY = 'functions/consumers/example/handler.ts';
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, read by path in assertions
type Json = any;

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/webhooks-AbC123';

/**
 * The context `cdk synth` reads, without bundling: these tests read the template,
 * not the code (test/infra/stack.test.ts checks the bundles).
 */
const context = (): Record<string, unknown> => ({
  ...JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context,
  'aws:cdk:bundling-stacks': [],
});

/** Two providers (one with a secret of its own, by ARN), two subscribers, a throttle. */
const declaration: HookonceDeclaration = {
  name: 'prod',
  providers: {
    standard: { scheme: 'standard-webhooks' },
    acme: { scheme: 'github', secretArn: SECRET_ARN },
  },
  subscribers: {
    billing: { consumer: { entry: EXAMPLE_ENTRY } },
    audit: { consumer: { entry: EXAMPLE_ENTRY } },
  },
  throttle: { rateLimit: 250, burstLimit: 500 },
};

function synth(props: Partial<HookonceProps> = {}, decl: HookonceDeclaration = declaration) {
  const app = new App({ context: context() });
  const stack = new HookonceStack(app, 'Prod', { declaration: decl, ...props });
  return { app, stack, hookonce: stack.hookonce, template: Template.fromStack(stack) };
}

/** cdk-nag's AwsSolutions pack on a stack: what it finds that nobody acknowledged. */
function nagFindings(app: App, stack: Stack): string[] {
  const result = new AwsSolutionsChecks(app).validateScope(stack);
  return result.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`),
  );
}

/** Every acknowledgement recorded on the constructs of a stack, with its reason. */
function acknowledgements(stack: Stack): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  for (const construct of stack.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        // CDK keys each acknowledgement as `Annotation::<id>`.
        const id = key.replace(/^annotation::/i, '');
        found.push({ path: construct.node.path, id, reason });
      }
    }
  }
  return found;
}

describe('Construct: Hookonce, ready for production', () => {
  let built: ReturnType<typeof synth>;
  const idOf = (construct: IConstruct): string =>
    built.stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const resources = () => built.template.toJSON().Resources as Record<string, Json>;

  beforeAll(() => {
    built = synth();
  });

  describe('cdk-nag (AwsSolutions)', () => {
    it('finds nothing unacknowledged in the repository’s own stack', () => {
      const app = new App({ context: context() });
      const stack = new HookonceStack(app, 'Hookonce', { declaration: defaultDeclaration });
      expect(nagFindings(app, stack)).toEqual([]);
    });

    it('finds nothing unacknowledged with an imported secret, two subscribers, tracing off and on', () => {
      expect(nagFindings(built.app, built.stack)).toEqual([]);
      const on = synth({ tracing: true });
      expect(nagFindings(on.app, on.stack)).toEqual([]);
    });

    it('acknowledges exactly these findings, each with a reason of its own', () => {
      // cdk-nag's own; test/infra/guard.test.ts checks cfn-guard's.
      const acks = acknowledgements(built.stack).filter((a) => a.id.startsWith('AwsSolutions-'));
      const ids = acks.map((a) => `${a.id} @ ${a.path.replace(/^Prod\/Hookonce\//, '')}`).sort();
      const bucket = idOf(built.hookonce.payloadBucket);
      const subscriptionDlq = (name: string) => {
        const queue = built.hookonce.queues[name]?.subscriptionDeadLetterQueue;
        if (!queue) throw new Error(`no subscription DLQ for ${name}`);
        return queue.node.path.replace(/^Prod\/Hookonce\//, '');
      };
      expect(ids).toEqual(
        [
          'AwsSolutions-APIG4 @ Intake/Api',
          'AwsSolutions-S1 @ Intake/Payloads',
          // Only the secret the stack creates: acme's is imported.
          'AwsSolutions-SMG4 @ Intake/Secret-standard',
          ...[
            'Intake/IngestRole',
            'Subscriber-billing/ConsumerRole',
            'Subscriber-audit/ConsumerRole',
          ].map((role) => `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/payloads/*] @ ${role}`),
          // SNS's DLQ of each subscription, which cdk-nag does not see as a DLQ.
          ...['billing', 'audit'].map((name) => `AwsSolutions-SQS3 @ ${subscriptionDlq(name)}`),
        ].sort(),
      );
      for (const { reason } of acks) expect(reason.length).toBeGreaterThan(120);
      expect(new Set(acks.map((a) => a.reason)).size).toBe(5);
      // Tracing is off by default: no X-Ray statement to acknowledge.
      expect(acks.map((a) => a.id)).not.toContain('AwsSolutions-IAM5[Resource::*]');
    });

    it('acknowledges the X-Ray statement of each function role when tracing is on', () => {
      const on = synth({ tracing: true });
      const xray = acknowledgements(on.stack)
        .filter((a) => a.id === 'AwsSolutions-IAM5[Resource::*]')
        .map((a) => a.path.replace(/^Prod\/Hookonce\//, ''))
        .sort();
      expect(xray).toEqual(
        [
          'Intake/IngestRole',
          'Sweep/SweeperRole',
          'Subscriber-billing/ConsumerRole',
          'Subscriber-audit/ConsumerRole',
        ].sort(),
      );
    });
  });

  describe('secrets', () => {
    it('creates a secret for a provider that names none, and imports the one acme names', () => {
      const secrets = built.template.findResources('AWS::SecretsManager::Secret');
      expect(Object.keys(secrets)).toEqual([idOf(built.hookonce.secrets.standard as IConstruct)]);
      expect(built.hookonce.secrets.acme?.secretArn).toBe(SECRET_ARN);
    });

    it('lets the ingest function read exactly its providers’ secrets, the imported one included', () => {
      const statements = Object.values(
        built.template.findResources('AWS::IAM::Policy', {
          Properties: { Roles: [{ Ref: idOf(built.hookonce.ingestFunction.role as IConstruct) }] },
        }),
      ).flatMap((p) => p.Properties.PolicyDocument.Statement);
      const read = statements.filter((s: { Action: unknown }) =>
        JSON.stringify(s.Action).includes('secretsmanager'),
      );
      expect(read).toEqual([
        {
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: expect.arrayContaining([
            SECRET_ARN,
            { Ref: idOf(built.hookonce.secrets.standard as IConstruct) },
          ]),
        },
      ]);
      expect(read[0].Resource).toHaveLength(2);
    });

    it('imports a secret named by name, with the ARN pattern Secrets Manager gives it', () => {
      const byName = synth(
        {},
        { ...declaration, providers: { acme: { scheme: 'github', secretName: 'acme/webhooks' } } },
      );
      byName.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
      expect(JSON.stringify(byName.template.toJSON())).toContain(':secret:acme/webhooks-??????');
    });

    it('creates no secret, no secret id and no read grant for a provider whose public keys are in the declaration', () => {
      // Prepare
      const discord = {
        preset: 'discord',
        publicKeys: ['0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'],
      } as const;
      const mixed = synth(
        {},
        { ...declaration, providers: { standard: { scheme: 'standard-webhooks' }, discord } },
      );
      const keysOnly = synth({}, { ...declaration, providers: { discord } });
      const ingestVariables = Object.values(
        keysOnly.template.findResources('AWS::Lambda::Function'),
      )
        .map((fn) => fn.Properties.Environment?.Variables ?? {})
        .filter((variables) => 'HOOKONCE_PROVIDERS' in variables);

      // Assess
      expect(Object.keys(mixed.hookonce.secrets)).toEqual(['standard']);
      mixed.template.resourceCountIs('AWS::SecretsManager::Secret', 1);
      keysOnly.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
      expect(JSON.stringify(keysOnly.template.toJSON())).not.toContain('secretsmanager:');
      expect(ingestVariables).toHaveLength(1);
      expect(ingestVariables[0]).not.toHaveProperty('HOOKONCE_SECRET_IDS');
      expect(nagFindings(keysOnly.app, keysOnly.stack)).toEqual([]);
    });

    it('never puts a secret value in a function’s environment', () => {
      for (const fn of Object.values(built.template.findResources('AWS::Lambda::Function'))) {
        const env = JSON.stringify(fn.Properties.Environment);
        expect(env).not.toMatch(/whsec_|SecretString/);
      }
    });
  });

  describe('encryption and transport', () => {
    it('encrypts both topics with one customer managed key that rotates, and lets CloudWatch use it', () => {
      const key = resources()[idOf(built.hookonce.key)];
      expect(key.Properties.EnableKeyRotation).toBe(true);
      expect(key.Properties.KeyPolicy.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: '*',
        }),
      );
      for (const topic of [built.hookonce.topic, built.hookonce.alarmTopic]) {
        expect(resources()[idOf(topic)].Properties.KmsMasterKeyId).toEqual({
          'Fn::GetAtt': [idOf(built.hookonce.key), 'Arn'],
        });
      }
    });

    it('refuses plain HTTP on both topics and lets CloudWatch publish to the alarm topic', () => {
      for (const topic of [built.hookonce.topic, built.hookonce.alarmTopic]) {
        built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
          Topics: [{ Ref: idOf(topic) }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Action: 'sns:Publish',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          },
        });
      }
      built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: idOf(built.hookonce.alarmTopic) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: 'sns:Publish',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            }),
          ]),
        },
      });
    });

    it('encrypts every queue with SQS managed keys and refuses plain HTTP on each', () => {
      const queues = built.template.findResources('AWS::SQS::Queue');
      // per subscriber: its queue, its DLQ and its subscription's DLQ
      expect(Object.keys(queues)).toHaveLength(6);
      for (const queue of Object.values(queues)) {
        expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      }
      const policies = Object.values(built.template.findResources('AWS::SQS::QueuePolicy'));
      const covered = policies
        .filter((p) =>
          JSON.stringify(p.Properties.PolicyDocument).includes('"aws:SecureTransport":"false"'),
        )
        .flatMap((p) => p.Properties.Queues.map((q: { Ref: string }) => q.Ref));
      expect(covered.sort()).toEqual(Object.keys(queues).sort());
    });
  });

  describe('HTTP API', () => {
    it('throttles the $default stage as the declaration says', () => {
      built.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 250, ThrottlingBurstLimit: 500 },
      });
    });

    it('throttles at 1,000 requests/s with bursts of 2,000 by default', () => {
      const app = new App({ context: context() });
      const stack = new HookonceStack(app, 'Hookonce', { declaration: defaultDeclaration });
      Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      });
    });

    it('writes JSON access logs, without headers or bodies, to a log group kept a month', () => {
      const stage = Object.values(built.template.findResources('AWS::ApiGatewayV2::Stage'))[0];
      const settings = stage?.Properties.AccessLogSettings;
      expect(settings.DestinationArn).toEqual({
        'Fn::GetAtt': [idOf(built.hookonce.accessLogs), 'Arn'],
      });
      const format = JSON.parse(settings.Format) as Record<string, string>;
      // What an operator reads of a request (infra/constructs/intake.ts says why each).
      expect(format).toEqual({
        requestId: '$context.requestId',
        requestTimeEpoch: '$context.requestTimeEpoch',
        sourceIp: '$context.identity.sourceIp',
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        responseLatency: '$context.responseLatency',
        integrationError: '$context.integrationErrorMessage',
      });
      expect(settings.Format).not.toMatch(/header|body/i);
      expect(resources()[idOf(built.hookonce.accessLogs)].Properties.RetentionInDays).toBe(30);
    });
  });

  describe('functions', () => {
    it('runs every function on arm64, untraced, with a log group of its own kept a month', () => {
      const functions = Object.values(built.template.findResources('AWS::Lambda::Function'));
      expect(functions).toHaveLength(4);
      for (const fn of functions) {
        expect(fn.Properties.Architectures).toEqual(['arm64']);
        expect(fn.Properties.TracingConfig).toBeUndefined();
        expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
        expect(fn.Properties.LoggingConfig).toEqual({
          LogGroup: { Ref: expect.any(String) },
          // JSON, so Lambda filters by level; its own START/END/REPORT lines not written.
          LogFormat: 'JSON',
          SystemLogLevel: 'WARN',
          ApplicationLogLevel: 'INFO',
        });
        expect(fn.Properties.Environment.Variables.POWERTOOLS_LOG_LEVEL).toBe('INFO');
      }
      const logGroups = Object.values(built.template.findResources('AWS::Logs::LogGroup'));
      expect(logGroups).toHaveLength(5); // four functions and the access logs
      for (const group of logGroups) expect(group.Properties.RetentionInDays).toBe(30);
      expect(JSON.stringify(built.template.toJSON())).not.toContain('xray:');
    });

    it('turns tracing on, reserves concurrency and keeps logs as long as it is told', () => {
      const tuned = synth({
        tracing: true,
        reservedConcurrency: { ingest: 100, sweeper: 1, consumers: 5 },
        logRetention: RetentionDays.THREE_MONTHS,
        logLevel: 'DEBUG',
        debugLogSampleRate: 0.1,
      });
      const json = tuned.template.toJSON().Resources as Record<string, Json>;
      const id = (c: IConstruct) => tuned.stack.getLogicalId(c.node.defaultChild as CfnElement);
      const fnProps = (c: IConstruct) => json[id(c)].Properties;
      expect(fnProps(tuned.hookonce.ingestFunction).ReservedConcurrentExecutions).toBe(100);
      expect(fnProps(tuned.hookonce.sweeperFunction).ReservedConcurrentExecutions).toBe(1);
      for (const fn of Object.values(tuned.hookonce.consumerFunctions)) {
        expect(fnProps(fn).ReservedConcurrentExecutions).toBe(5);
      }
      for (const fn of Object.values(tuned.template.findResources('AWS::Lambda::Function'))) {
        expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
        expect(fn.Properties.Environment.Variables).toMatchObject({
          POWERTOOLS_LOG_LEVEL: 'DEBUG',
          POWERTOOLS_LOGGER_SAMPLE_RATE: '0.1',
        });
        expect(fn.Properties.LoggingConfig.ApplicationLogLevel).toBe('DEBUG');
      }
      expect(JSON.stringify(tuned.template.toJSON())).toContain('xray:PutTraceSegments');
      for (const group of Object.values(tuned.template.findResources('AWS::Logs::LogGroup'))) {
        expect(group.Properties.RetentionInDays).toBe(90);
      }
    });

    it('lets Lambda pass INFO lines whatever logLevel says, and DEBUG ones when a debug sample is drawn', () => {
      const quiet = synth({ logLevel: 'WARN' });
      const sampled = synth({ debugLogSampleRate: 0.01 });
      for (const fn of Object.values(quiet.template.findResources('AWS::Lambda::Function'))) {
        // The lines that carry metrics are INFO lines: the function applies WARN itself.
        expect(fn.Properties.LoggingConfig.ApplicationLogLevel).toBe('INFO');
        expect(fn.Properties.Environment.Variables.POWERTOOLS_LOG_LEVEL).toBe('WARN');
      }
      for (const fn of Object.values(sampled.template.findResources('AWS::Lambda::Function'))) {
        expect(fn.Properties.LoggingConfig.ApplicationLogLevel).toBe('DEBUG');
        expect(fn.Properties.Environment.Variables.POWERTOOLS_LOG_LEVEL).toBe('INFO');
      }
    });

    it('refuses a debug sample rate outside 0 to 1', () => {
      const stack = new Stack(new App({ context: context() }), 'S');
      expect(() => new Hookonce(stack, 'H', { declaration, debugLogSampleRate: 1.5 })).toThrow(
        /debugLogSampleRate must be between 0 and 1/,
      );
    });
  });

  describe('tables', () => {
    it('protects both tables from deletion and keeps point-in-time recovery', () => {
      for (const table of [built.hookonce.deliveriesTable, built.hookonce.consumerTable]) {
        const replica = resources()[idOf(table)].Properties.Replicas[0];
        expect(replica).toMatchObject({
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        });
      }
    });

    it('lets deletion protection be turned off', () => {
      const off = synth({ deletionProtection: false });
      for (const table of Object.values(off.template.findResources('AWS::DynamoDB::GlobalTable'))) {
        expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
      }
    });
  });

  describe('alarms', () => {
    type AlarmJson = { Properties: Record<string, Json> };
    const alarmOf = (construct: IConstruct): AlarmJson['Properties'] =>
      resources()[idOf(construct)].Properties;
    const publishesToAlarmTopic = (props: AlarmJson['Properties']) => {
      const topic = { Ref: idOf(built.hookonce.alarmTopic) };
      expect(props.AlarmActions).toEqual([topic]);
      expect(props.OKActions).toEqual([topic]);
      expect(props.TreatMissingData).toBe('notBreaching');
      expect(props.EvaluationPeriods).toBe(1);
    };

    it('makes one alarm per watch: 5xx rate, sweeper, per provider and per subscriber', () => {
      // 5xx rate, sweeper recoveries, errors and parked; 2 providers;
      // 2 subscribers × (DLQ, subscription DLQ, errors)
      built.template.resourceCountIs('AWS::CloudWatch::Alarm', 4 + 2 + 2 * 3);
    });

    it('fires when more than 5% of requests are answered 5xx in 5 minutes', () => {
      const props = alarmOf(built.hookonce.observability.alarms.ingest5xxRate);
      publishesToAlarmTopic(props);
      expect(props).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold' });
      const api = { Name: 'ApiId', Value: { Ref: idOf(built.hookonce.api) } };
      expect(props.Metrics).toEqual([
        expect.objectContaining({
          Expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
          ReturnData: true,
        }),
        expect.objectContaining({
          Id: 'requests',
          MetricStat: expect.objectContaining({
            Metric: { Dimensions: [api], MetricName: 'Count', Namespace: 'AWS/ApiGateway' },
            Period: 300,
            Stat: 'Sum',
          }),
        }),
        expect.objectContaining({
          Id: 'errors',
          MetricStat: expect.objectContaining({
            Metric: { Dimensions: [api], MetricName: '5xx', Namespace: 'AWS/ApiGateway' },
          }),
        }),
      ]);
    });

    it('fires on 25 signature rejections of one provider in 5 minutes, per provider', () => {
      for (const provider of ['standard', 'acme']) {
        const alarm = built.hookonce.observability.alarms.signatureFailures[provider];
        if (!alarm) throw new Error(`no alarm for ${provider}`);
        const props = alarmOf(alarm);
        publishesToAlarmTopic(props);
        expect(props).toMatchObject({
          Namespace: 'hookonce',
          MetricName: METRIC.signatureRejected,
          Dimensions: [
            { Name: 'provider', Value: provider },
            { Name: 'service', Value: 'prod-ingest' },
          ],
          Statistic: 'Sum',
          Period: 300,
          Threshold: 25,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      }
    });

    it('fires on any sweeper recovery, and on any sweeper error or failed publish', () => {
      const recoveries = alarmOf(built.hookonce.observability.alarms.sweeperRecoveries);
      publishesToAlarmTopic(recoveries);
      expect(recoveries).toMatchObject({
        MetricName: METRIC.sweeperRecovered,
        Dimensions: [{ Name: 'service', Value: 'prod-sweeper' }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      const errors = alarmOf(built.hookonce.observability.alarms.sweeperErrors);
      publishesToAlarmTopic(errors);
      expect(errors).toMatchObject({ Threshold: 1 });
      expect(errors.Metrics[0].Expression).toBe('FILL(errors, 0) + FILL(failed, 0)');
    });

    it('fires as soon as the sweeper parks a delivery FAILED', () => {
      const parked = alarmOf(built.hookonce.observability.alarms.sweeperParked);
      publishesToAlarmTopic(parked);
      expect(parked).toMatchObject({
        Namespace: 'hookonce',
        MetricName: METRIC.sweeperParked,
        Dimensions: [{ Name: 'service', Value: 'prod-sweeper' }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(parked.AlarmDescription).toContain('hookonce deliveries failed');
    });

    it('fires as soon as a subscriber’s DLQ holds a message', () => {
      for (const [name, { deadLetterQueue }] of Object.entries(built.hookonce.queues)) {
        const alarm = built.hookonce.observability.alarms.deadLetters[name];
        if (!alarm) throw new Error(`no DLQ alarm for ${name}`);
        const props = alarmOf(alarm);
        publishesToAlarmTopic(props);
        expect(props).toMatchObject({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [
            { Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(deadLetterQueue), 'QueueName'] } },
          ],
          Statistic: 'Maximum',
          Period: 60,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        });
      }
    });

    it('fires as soon as SNS parks an event it could not deliver to a subscriber’s queue', () => {
      for (const [name, { subscriptionDeadLetterQueue }] of Object.entries(built.hookonce.queues)) {
        const alarm = built.hookonce.observability.alarms.undelivered[name];
        if (!alarm) throw new Error(`no subscription DLQ alarm for ${name}`);
        const props = alarmOf(alarm);
        publishesToAlarmTopic(props);
        expect(props).toMatchObject({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [
            {
              Name: 'QueueName',
              Value: { 'Fn::GetAtt': [idOf(subscriptionDeadLetterQueue), 'QueueName'] },
            },
          ],
          Statistic: 'Maximum',
          Period: 60,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        });
        expect(props.AlarmDescription).toContain(`subscriber "${name}"`);
      }
    });

    it('fires on 5 consumer errors (failed invocations plus failed records) in 5 minutes', () => {
      for (const name of ['billing', 'audit']) {
        const alarm = built.hookonce.observability.alarms.consumerErrors[name];
        if (!alarm) throw new Error(`no consumer alarm for ${name}`);
        const props = alarmOf(alarm);
        publishesToAlarmTopic(props);
        expect(props).toMatchObject({
          Threshold: 5,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
        expect(props.Metrics[0].Expression).toBe('FILL(errors, 0) + FILL(failures, 0)');
        expect(JSON.stringify(props.Metrics)).toContain(
          JSON.stringify([
            { Name: 'service', Value: 'prod-consumer' },
            { Name: 'subscriber', Value: name },
          ]),
        );
      }
    });

    it('takes other thresholds from the construct’s props', () => {
      const tuned = synth({
        alarms: {
          ingest5xxPercent: 1,
          signatureFailures: 100,
          sweeperRecoveries: 10,
          consumerErrors: 1,
        },
      });
      const a = tuned.hookonce.observability.alarms;
      const threshold = (c: IConstruct) =>
        tuned.template.toJSON().Resources[
          tuned.stack.getLogicalId(c.node.defaultChild as CfnElement)
        ].Properties.Threshold;
      expect(threshold(a.ingest5xxRate)).toBe(1);
      expect(threshold(a.signatureFailures.standard as IConstruct)).toBe(100);
      expect(threshold(a.sweeperRecoveries)).toBe(10);
      expect(threshold(a.consumerErrors.billing as IConstruct)).toBe(1);
    });
  });

  describe('dashboard', () => {
    it('shows the alarms, answers by status class, rejections by reason, publishes, the sweeper, DLQs and consumers', () => {
      const dashboard = Object.values(built.template.findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboard).toHaveLength(1);
      const body = JSON.stringify(dashboard[0]?.Properties.DashboardBody);
      for (const title of [
        'Alarms',
        'Ingest answers by status class',
        'Rejected by provider and reason',
        'Published, duplicates, taken over',
        'Sweeper',
        'DLQ depth',
        'Consumer effects',
        'Consumer duplicates skipped',
        'Consumer errors and failed records',
      ]) {
        expect(body).toContain(title);
      }
      expect(body).toContain('MetricName=\\\\\\"Rejected\\\\\\"');
    });
  });

  describe('outputs', () => {
    it('outputs each endpoint URL, the topics, the queues, the tables, the dashboard URL and what the console reads', () => {
      const outputs = Object.keys(built.template.toJSON().Outputs).sort();
      expect(outputs).toEqual(
        [
          'StandardEndpointUrl',
          'StandardSecretArn',
          'AcmeEndpointUrl',
          'AcmeSecretArn',
          'TopicArn',
          'AlarmTopicArn',
          'DashboardUrl',
          'ApiUrl',
          'IngestLogGroupName',
          'MetricsNamespace',
          'DeploymentName',
          'DeliveriesTableName',
          'ConsumerTableName',
          'BillingQueueUrl',
          'BillingDeadLetterQueueUrl',
          'BillingSubscriptionDeadLetterQueueUrl',
          'AuditQueueUrl',
          'AuditDeadLetterQueueUrl',
          'AuditSubscriptionDeadLetterQueueUrl',
        ].sort(),
      );
      built.template.hasOutput('DashboardUrl', {
        Value: {
          'Fn::Join': [
            '',
            [
              'https://',
              { Ref: 'AWS::Region' },
              '.console.aws.amazon.com/cloudwatch/home?region=',
              { Ref: 'AWS::Region' },
              '#dashboards:name=',
              { Ref: idOf(built.hookonce.observability.dashboard) },
            ],
          ],
        },
      });
    });

    it('outputs what `hookonce console --stack` reads: the API, the ingest log group and the metrics names', () => {
      const logGroup = built.hookonce.ingestFunction.logGroup as unknown as IConstruct;
      built.template.hasOutput('IngestLogGroupName', { Value: { Ref: idOf(logGroup) } });
      built.template.hasOutput('ApiUrl', {
        Value: { 'Fn::GetAtt': [idOf(built.hookonce.api), 'ApiEndpoint'] },
      });
      built.template.hasOutput('MetricsNamespace', { Value: 'hookonce' });
      built.template.hasOutput('DeploymentName', { Value: built.hookonce.declaration.name });
    });
  });

  describe('reuse', () => {
    it('is a construct any app can put in a stack of its own, with its own declaration', () => {
      const app = new App({ context: context() });
      const stack = new Stack(app, 'Payments');
      const webhooks = new Hookonce(stack, 'Webhooks', {
        declaration: {
          name: 'payments',
          providers: { stripe: { scheme: 'stripe' } },
          subscribers: { ledger: { consumer: { entry: EXAMPLE_ENTRY } } },
        },
      });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::Lambda::Function', 3);
      expect(webhooks.endpointUrl('stripe')).toContain('/webhooks/stripe');
      expect(nagFindings(app, stack)).toEqual([]);
    });
  });
});
