import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, type CfnElement, cx_api, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_ENV } from '../../functions/consumers/config.ts';
import { HookonceSubscriber } from '../../infra/constructs/subscriber.ts';
import { CFN_GUARD_PLUGIN } from '../../infra/nag.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TOPIC_ARN = 'arn:aws:sns:us-east-1:111111111111:x';
const EXAMPLE_ENTRY = 'functions/consumers/example/handler.ts';
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, read by path in assertions
type Json = any;

/** What `cdk synth` reads from cdk.json, without bundling: these tests read the template. */
const context = (): Record<string, unknown> => ({
  ...JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context,
  'aws:cdk:bundling-stacks': [],
});

type Violation = { ruleName: string; violatingConstructs: { constructPath: string }[] };

describe('Construct: HookonceSubscriber in a team’s own app', () => {
  let app: App;
  let stack: Stack;
  let payments: HookonceSubscriber;
  let template: Template;
  let guardViolations: Violation[];
  let guardConclusion: string;
  const idOf = (construct: IConstruct): string =>
    stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const resources = (): Record<string, Json> => template.toJSON().Resources;

  beforeAll(() => {
    // One synthesis, with AWS Control Tower's controls run as `cdk synth` runs them.
    app = new App({ context: context() });
    Validations.of(app).addPlugins(new CfnGuardValidator());
    stack = new Stack(app, 'Team');
    payments = new HookonceSubscriber(stack, 'Payments', {
      topicArn: TOPIC_ARN,
      filter: { providers: ['stripe'] },
      consumer: { entry: EXAMPLE_ENTRY },
    });
    const assembly = app.synth();
    template = Template.fromJSON(assembly.getStackByName('Team').template);
    const report = JSON.parse(
      readFileSync(join(assembly.directory, cx_api.VALIDATION_REPORT_FILE), 'utf8'),
    );
    const guard = report.pluginReports.find(
      (r: { pluginName: string }) => r.pluginName === CFN_GUARD_PLUGIN,
    );
    guardViolations = guard.violations;
    guardConclusion = guard.conclusion;
  });

  it('subscribes its queue to the topic by ARN with raw delivery, the filter policy and a subscription DLQ', () => {
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription'));
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]?.Properties).toEqual({
      TopicArn: TOPIC_ARN,
      Region: 'us-east-1',
      Protocol: 'sqs',
      Endpoint: { 'Fn::GetAtt': [idOf(payments.queue), 'Arn'] },
      RawMessageDelivery: true,
      FilterPolicy: { provider: ['stripe'] },
      FilterPolicyScope: 'MessageAttributes',
      RedrivePolicy: {
        deadLetterTargetArn: {
          'Fn::GetAtt': [idOf(payments.subscriptionDeadLetterQueue), 'Arn'],
        },
      },
    });
  });

  it('parks what its consumer gives up on in a DLQ after 5 receives', () => {
    const queue = resources()[idOf(payments.queue)].Properties;
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [idOf(payments.deadLetterQueue), 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(queue.VisibilityTimeout).toBe(6 * 30);
  });

  it('feeds the consumer from the queue, reporting partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [idOf(payments.queue), 'Arn'] },
      FunctionName: { Ref: idOf(payments.consumerFunction) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('runs the consumer as hookonce runs its own: Node.js 24 on arm64, untraced, named by the construct', () => {
    const fn = resources()[idOf(payments.consumerFunction)].Properties;
    expect(fn).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 30,
      MemorySize: 256,
      LoggingConfig: { LogFormat: 'JSON', SystemLogLevel: 'WARN', ApplicationLogLevel: 'INFO' },
    });
    expect(fn.TracingConfig).toBeUndefined();
    expect(fn.Environment.Variables).toMatchObject({
      [CONSUMER_ENV.table]: { Ref: idOf(payments.claimsTable) },
      [CONSUMER_ENV.subscriber]: 'payments',
      [CONSUMER_ENV.retentionSeconds]: String(30 * 24 * 3600),
      POWERTOOLS_SERVICE_NAME: 'hookonce-consumer',
    });
  });

  it('keeps its claims in a table of its own, with TTL, and may write only its own claims and non-claim keys', () => {
    const tables = template.findResources('AWS::DynamoDB::GlobalTable');
    expect(Object.keys(tables)).toEqual([idOf(payments.claimsTable)]);
    const table = resources()[idOf(payments.claimsTable)];
    expect(table.Properties.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(table.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: 'expiresAt',
      Enabled: true,
    });
    expect(table.Properties.Replicas[0].PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
    expect(table.DeletionPolicy).toBe('Retain');
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const onTable = statements.filter(
      (s: { Resource: unknown }) =>
        JSON.stringify(s.Resource) ===
        JSON.stringify({ 'Fn::GetAtt': [idOf(payments.claimsTable), 'Arn'] }),
    );
    expect(onTable.map((s: { Condition: unknown }) => s.Condition)).toEqual([
      {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': ['CLAIM#payments#*', 'CLAIM#payments.*#*'],
        },
      },
      { 'ForAllValues:StringNotLike': { 'dynamodb:LeadingKeys': ['CLAIM#*#*'] } },
    ]);
    // No payload bucket given: no S3 grant.
    expect(JSON.stringify(statements)).not.toContain('s3:');
  });

  it('alarms on its DLQ, its subscription DLQ and its consumer’s errors', () => {
    const alarm = (construct: IConstruct) => resources()[idOf(construct)].Properties;
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
    for (const [construct, queue] of [
      [payments.alarms.deadLetters, payments.deadLetterQueue],
      [payments.alarms.undelivered, payments.subscriptionDeadLetterQueue],
    ] as const) {
      expect(alarm(construct)).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(queue), 'QueueName'] } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    const errors = alarm(payments.alarms.consumerErrors);
    expect(errors).toMatchObject({
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(errors.Metrics[0].Expression).toBe('FILL(errors, 0) + FILL(failures, 0)');
    expect(JSON.stringify(errors.Metrics)).toContain(
      JSON.stringify([
        { Name: 'service', Value: 'hookonce-consumer' },
        { Name: 'subscriber', Value: 'payments' },
      ]),
    );
  });

  it('encrypts its consumer’s log group with a rotated key of its own', () => {
    const [logGroup] = Object.values(template.findResources('AWS::Logs::LogGroup'));
    const [keyId] = Object.keys(template.findResources('AWS::KMS::Key'));
    expect(logGroup?.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(resources()[keyId as string].Properties.EnableKeyRotation).toBe(true);
  });

  it('leaves cdk-nag nothing unacknowledged', () => {
    const result = new AwsSolutionsChecks(app).validateScope(stack);
    expect(
      result.violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
      ),
    ).toEqual([]);
  });

  it('leaves AWS Control Tower’s controls (cfn-guard) nothing unacknowledged', () => {
    expect(
      guardViolations.flatMap((v) =>
        v.violatingConstructs.map((c) => `${v.ruleName} @ ${c.constructPath}`),
      ),
    ).toEqual([]);
    expect(guardConclusion).toBe('success');
  });

  it('acknowledges the alarms’ missing action only because none was given, saying what to pass', () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) =>
        c.node.metadata
          .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((m) => Object.keys(m.data as object).map((id) => `${id} @ ${c.node.path}`)),
      )
      .filter((entry) => entry.includes('cloudwatch_alarm_action_check'));
    expect(acknowledged.map((a) => a.replace(/^.*@ Team\/Payments\//, '')).sort()).toEqual([
      'ConsumerErrorsAlarm',
      'DeadLettersAlarm',
      'UndeliveredAlarm',
    ]);
  });

  it('refuses a topic given twice or not at all, and a filter SNS could never match', () => {
    const elsewhere = new Stack(new App({ context: context() }), 'Elsewhere');
    const consumer = { entry: EXAMPLE_ENTRY };
    expect(() => new HookonceSubscriber(elsewhere, 'None', { consumer })).toThrow(
      'give the hookonce events topic as either topic or topicArn (the TopicArn output), not neither',
    );
    // Refused before anything was built for it.
    expect(elsewhere.node.tryFindChild('None')?.node.children).toEqual([]);
    expect(
      () =>
        new HookonceSubscriber(elsewhere, 'Typo', {
          topicArn: TOPIC_ARN,
          consumer,
          filter: { providers: ['stripe'], types: ['github.push'] },
        }),
    ).toThrow(/filter type "github.push" can never match/);
    expect(
      () =>
        new HookonceSubscriber(elsewhere, 'Big', {
          topicArn: TOPIC_ARN,
          consumer,
          batchSize: 11,
        }),
    ).toThrow(/batchSize must be a whole number between 1 and 10/);
  });
});
