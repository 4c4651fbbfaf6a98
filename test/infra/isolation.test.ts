import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { claimPk } from '../../functions/consumers/claims.ts';
import { payloadObjectKey } from '../../functions/deliveries/payloads.ts';
import { declaration } from '../../infra/hookonce.config.ts';
import { HookonceStack } from '../../infra/stack.ts';
import { allowSubscriptionsFrom, subscribeToHookonce } from '../../infra/subscribe.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, read by path in assertions
type Json = any;
type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Principal?: Json;
  Resource?: Json;
  Condition?: Record<string, Record<string, unknown>>;
};

const ROOT = join(import.meta.dirname, '..', '..');
/** What `cdk synth` reads from cdk.json, without bundling: these tests read the template only. */
const context = (): Record<string, unknown> => ({
  ...JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context,
  'aws:cdk:bundling-stacks': [],
});
const TEAM_ACCOUNT = '222222222222';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:111111111111:Hookonce-Events1234';

const listOf = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** IAM's StringLike: `*` is any run of characters, `?` any one. */
const iamLike = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  ).test(value);

describe('Isolation: nothing else in the account can forge or swallow an event', () => {
  let stack: HookonceStack;
  let template: Template;
  let team: Template;
  let other: Template;
  const idOf = (construct: IConstruct): string =>
    Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
  const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
    'Fn::GetAtt': [idOf(construct), attribute],
  });
  const resourcesOf = (t: Template, type: string): Json[] =>
    Object.values(t.findResources(type)) as Json[];
  const statementsOfPolicyOn = (t: Template, type: string, key: string, ref: Json): Statement[] =>
    resourcesOf(t, type)
      .filter((p) => JSON.stringify(p.Properties[key]).includes(JSON.stringify(ref)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  const roleStatements = (fn: { role?: IConstruct }): Statement[] => {
    const roleId = idOf(fn.role as IConstruct);
    return resourcesOf(template, 'AWS::IAM::Policy')
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  };
  const roleArn = (fn: { role?: IConstruct }) => getAtt(fn.role as Role);

  beforeAll(() => {
    // One synthesis of each app for every test: the repository's own stack, with
    // another account allowed to subscribe and another team's queue subscribed from
    // its own stack; and a team in another app and account that only has the ARN.
    const app = new App({ context: context() });
    stack = new HookonceStack(app, 'Hookonce', { declaration });
    allowSubscriptionsFrom(stack.hookonce.topic, TEAM_ACCOUNT);
    const teamStack = new Stack(app, 'Team');
    stack.hookonce.subscribeQueue(new Queue(teamStack, 'TeamQueue'), { providers: ['github'] });
    template = Template.fromStack(stack);
    team = Template.fromStack(teamStack);

    const otherStack = new Stack(new App(), 'OtherAccount', {
      env: { account: TEAM_ACCOUNT, region: 'us-east-1' },
    });
    const topic = Topic.fromTopicArn(otherStack, 'Hookonce', TOPIC_ARN);
    subscribeToHookonce(topic, new Queue(otherStack, 'Invoices'), { types: ['stripe.invoice.'] });
    other = Template.fromStack(otherStack);
  });

  describe('the events topic', () => {
    const topicStatements = () =>
      statementsOfPolicyOn(template, 'AWS::SNS::TopicPolicy', 'Topics', {
        Ref: idOf(stack.hookonce.topic),
      });

    it('lets exactly the ingest and sweeper roles publish', () => {
      const { ingestFunction, sweeperFunction } = stack.hookonce;
      const allows = topicStatements().filter(
        (s) => s.Effect === 'Allow' && listOf(s.Action).includes('sns:Publish'),
      );
      expect(allows).toEqual([
        {
          Sid: 'OnlyHookonceFunctionsPublish',
          Effect: 'Allow',
          Action: 'sns:Publish',
          Principal: { AWS: [roleArn(ingestFunction), roleArn(sweeperFunction)] },
          Resource: { Ref: idOf(stack.hookonce.topic) },
        },
      ]);
    });

    it('refuses every other principal, whatever its own IAM policy allows', () => {
      const { ingestFunction, sweeperFunction } = stack.hookonce;
      expect(topicStatements()).toContainEqual({
        Sid: 'NoOtherPublisher',
        Effect: 'Deny',
        Action: 'sns:Publish',
        Principal: { AWS: '*' },
        Resource: { Ref: idOf(stack.hookonce.topic) },
        Condition: {
          ArnNotEquals: {
            'aws:PrincipalArn': [roleArn(ingestFunction), roleArn(sweeperFunction)],
          },
        },
      });
    });

    it('lets another account subscribe only SQS queues of its own', () => {
      const subscribe = topicStatements().filter((s) => listOf(s.Action).includes('sns:Subscribe'));
      expect(subscribe).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Principal: {
            AWS: {
              'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${TEAM_ACCOUNT}:root`]],
            },
          },
          Condition: {
            StringEquals: { 'sns:Protocol': 'sqs' },
            StringLike: {
              'sns:Endpoint': {
                'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sqs:*:${TEAM_ACCOUNT}:*`]],
              },
            },
          },
        }),
      ]);
    });
  });

  describe('queues', () => {
    const allowsOn = (t: Template, queue: IConstruct) =>
      statementsOfPolicyOn(t, 'AWS::SQS::QueuePolicy', 'Queues', { Ref: idOf(queue) }).filter(
        (s) => s.Effect === 'Allow',
      );
    const onlyTheTopicSends = (topicArn: Json) => [
      {
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Principal: { Service: 'sns.amazonaws.com' },
        Resource: expect.anything(),
        Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
      },
    ];

    for (const name of Object.keys(declaration.subscribers)) {
      it(`lets only the topic send to ${name}’s queue and its subscription DLQ, and nobody to its DLQ`, () => {
        const queues = stack.hookonce.queues[name];
        if (!queues) throw new Error(`no queues for ${name}`);
        const topic = { Ref: idOf(stack.hookonce.topic) };
        expect(allowsOn(template, queues.queue)).toEqual(onlyTheTopicSends(topic));
        expect(allowsOn(template, queues.subscriptionDeadLetterQueue)).toEqual(
          onlyTheTopicSends(topic),
        );
        // Only the queue's redrive (inside SQS, no queue policy involved) fills its DLQ.
        expect(allowsOn(template, queues.deadLetterQueue)).toEqual([]);
        const resources = template.toJSON().Resources;
        expect(resources[idOf(queues.queue)].Properties.RedrivePolicy.deadLetterTargetArn).toEqual(
          getAtt(queues.deadLetterQueue),
        );
      });
    }

    it('gives every queue a DLQ, or marks it as one', () => {
      for (const t of [template, team, other]) {
        const queues = Object.entries(t.findResources('AWS::SQS::Queue')) as [string, Json][];
        const dlqs = new Set(
          [
            ...queues.map(([, q]) => q.Properties?.RedrivePolicy?.deadLetterTargetArn),
            ...resourcesOf(t, 'AWS::SNS::Subscription').map(
              (s) => s.Properties.RedrivePolicy?.deadLetterTargetArn,
            ),
          ]
            .filter(Boolean)
            .map((arn) => arn['Fn::GetAtt'][0]),
        );
        for (const [id, queue] of queues) {
          // A queue another team owns is theirs to give a DLQ (TeamQueue, Invoices).
          if (/TeamQueue|Invoices/.test(id) && !dlqs.has(id)) continue;
          if (dlqs.has(id)) {
            expect(queue.Properties.RedriveAllowPolicy).toEqual({ redrivePermission: 'allowAll' });
          } else {
            expect(queue.Properties.RedrivePolicy).toBeDefined();
          }
        }
      }
    });
  });

  describe('subscriptions', () => {
    it('redrives every SNS subscription to a DLQ of its own that the topic may write to, with an alarm', () => {
      const cases: [Template, Json][] = [
        [template, { Ref: idOf(stack.hookonce.topic) }],
        [team, expect.anything()], // the topic's ARN, imported from the hookonce stack
        [other, TOPIC_ARN],
      ];
      let checked = 0;
      for (const [t, topicArn] of cases) {
        const subscriptions = resourcesOf(t, 'AWS::SNS::Subscription');
        expect(subscriptions.length).toBeGreaterThan(0);
        const targets = new Set<string>();
        for (const subscription of subscriptions) {
          const target = subscription.Properties.RedrivePolicy?.deadLetterTargetArn;
          expect(target).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
          const dlqId = target['Fn::GetAtt'][0] as string;
          targets.add(dlqId);
          expect(t.toJSON().Resources[dlqId].Type).toBe('AWS::SQS::Queue');
          // SNS parks there only if the DLQ's policy lets the topic send.
          const allows = statementsOfPolicyOn(t, 'AWS::SQS::QueuePolicy', 'Queues', {
            Ref: dlqId,
          }).filter((s) => s.Effect === 'Allow');
          expect(allows).toEqual([
            expect.objectContaining({
              Action: 'sqs:SendMessage',
              Principal: { Service: 'sns.amazonaws.com' },
              Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
            }),
          ]);
          // …and someone hears of it as soon as it holds a message.
          const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm').filter(
            (a) =>
              a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
              JSON.stringify(a.Properties.Dimensions).includes(`"${dlqId}"`),
          );
          expect(alarms).toHaveLength(1);
          expect(alarms[0].Properties).toMatchObject({
            Threshold: 0,
            ComparisonOperator: 'GreaterThanThreshold',
          });
          checked += 1;
        }
        expect(targets.size).toBe(subscriptions.length); // one DLQ per subscription
      }
      // example, billing, the team's queue, the other account's queue
      expect(checked).toBe(Object.keys(declaration.subscribers).length + 2);
    });

    it('publishes the alarm of a queue subscribed with subscribeQueue() to the alarm topic', () => {
      const [alarm] = resourcesOf(team, 'AWS::CloudWatch::Alarm');
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain(
        idOf(stack.hookonce.alarmTopic),
      );
      expect(alarm.Properties.OKActions).toEqual(alarm.Properties.AlarmActions);
    });
  });

  describe('consumer claims', () => {
    const tableStatements = (name: string) =>
      roleStatements(stack.hookonce.consumerFunctions[name] as { role?: IConstruct }).filter(
        (s) => JSON.stringify(s.Resource) === JSON.stringify(getAtt(stack.hookonce.consumerTable)),
      );
    const leadingKeys = (s: Statement, operator: string): string[] =>
      listOf(s.Condition?.[operator]?.['dynamodb:LeadingKeys'] as string | string[] | undefined);
    /** What a consumer's role lets it do to an item with this partition key. */
    const mayTouch = (name: string, pk: string): boolean =>
      tableStatements(name).some((s) => {
        if (s.Condition === undefined) return true;
        const like = leadingKeys(s, 'ForAllValues:StringLike');
        const notLike = leadingKeys(s, 'ForAllValues:StringNotLike');
        if (like.length > 0) return like.some((p) => iamLike(p, pk));
        if (notLike.length > 0) return !notLike.some((p) => iamLike(p, pk));
        return false;
      });

    it('keeps a claim as long as the longest-kept delivery (30 days, for GitHub), so a replay of any kept delivery is a duplicate', () => {
      for (const name of Object.keys(declaration.subscribers)) {
        const fn = stack.hookonce.consumerFunctions[name] as IConstruct;
        const props = template.toJSON().Resources[idOf(fn)].Properties;
        expect(props.Environment.Variables.HOOKONCE_CLAIM_RETENTION_SECONDS).toBe(
          String(30 * 86_400),
        );
      }
    });

    it('conditions every statement on the consumer table on the partition key', () => {
      for (const name of Object.keys(declaration.subscribers)) {
        const statements = tableStatements(name);
        expect(statements).toHaveLength(2);
        for (const s of statements) {
          expect(Object.keys(s.Condition ?? {})).toHaveLength(1);
        }
        expect(statements.map((s) => leadingKeys(s, 'ForAllValues:StringLike'))).toContainEqual([
          `CLAIM#${name}#*`,
          `CLAIM#${name}.*#*`,
        ]);
      }
    });

    it('lets a consumer claim what its guard and once() claim, no other subscriber’s claims, and write its effects', () => {
      expect(mayTouch('billing', claimPk('billing', 'evt_1'))).toBe(true);
      expect(mayTouch('billing', claimPk('billing.once', 'invoice-in_1'))).toBe(true);
      expect(mayTouch('billing', claimPk('billing.nightly', 'run-1'))).toBe(true);
      expect(mayTouch('billing', claimPk('example', 'evt_1'))).toBe(false);
      expect(mayTouch('billing', claimPk('example.once', 'k'))).toBe(false);
      expect(mayTouch('example', claimPk('billing', 'evt_1'))).toBe(false);
      // a name that starts like billing's is another subscriber's
      expect(mayTouch('billing', claimPk('billing-eu', 'evt_1'))).toBe(false);
      // Its own effects may use any key that is not a claim.
      expect(mayTouch('billing', 'INVOICE#in_1')).toBe(true);
      expect(mayTouch('billing', 'CUSTOMER#cus_1')).toBe(true);
      expect(mayTouch('example', 'LEDGER#example#evt_1')).toBe(true);
    });
  });

  describe('payloads', () => {
    const payloadStatements = (fn: { role?: IConstruct }) =>
      roleStatements(fn).filter((s) => listOf(s.Action).some((a) => a.startsWith('s3:')));
    const objects = (pattern: string) => ({
      'Fn::Join': ['', [getAtt(stack.hookonce.payloadBucket), `/${pattern}`]],
    });

    it('lets a filtered consumer read only its providers’ payloads, an unfiltered one all of them', () => {
      const { billing, example } = stack.hookonce.consumerFunctions;
      expect(payloadStatements(billing as { role?: IConstruct })).toEqual([
        { Effect: 'Allow', Action: 's3:GetObject', Resource: objects('payloads/stripe/*') },
      ]);
      expect(payloadStatements(example as { role?: IConstruct })).toEqual([
        { Effect: 'Allow', Action: 's3:GetObject', Resource: objects('payloads/*') },
      ]);
      // The prefix is where payloadObjectKey() puts the provider.
      const key = (provider: string) => payloadObjectKey({ provider, deliveryId: 'd1' }, 'ab12');
      expect(iamLike('payloads/stripe/*', key('stripe'))).toBe(true);
      expect(iamLike('payloads/stripe/*', key('github'))).toBe(false);
      expect(iamLike('payloads/stripe/*', key('stripe-eu'))).toBe(false);
    });

    it('lets the ingest function store and delete payloads under the prefix, and not read them', () => {
      expect(payloadStatements(stack.hookonce.ingestFunction)).toEqual([
        {
          Effect: 'Allow',
          Action: ['s3:DeleteObject', 's3:PutObject'],
          Resource: objects('payloads/*'),
        },
      ]);
    });
  });

  describe('the API and the key', () => {
    it('lets API Gateway invoke the ingest function for this API’s routes (POST and GET), from this account only', () => {
      const permissions = resourcesOf(template, 'AWS::Lambda::Permission').filter(
        (p) => p.Properties.Principal === 'apigateway.amazonaws.com',
      );
      expect(permissions).toHaveLength(2);
      for (const permission of permissions) {
        expect(permission.Properties).toMatchObject({
          FunctionName: getAtt(stack.hookonce.ingestFunction),
          SourceAccount: { Ref: 'AWS::AccountId' },
          SourceArn: { 'Fn::Join': expect.anything() },
        });
        expect(JSON.stringify(permission.Properties.SourceArn)).toContain(idOf(stack.hookonce.api));
      }
    });

    it('encrypts every log group with the stack’s key, which CloudWatch Logs may use for this account only', () => {
      const groups = resourcesOf(template, 'AWS::Logs::LogGroup');
      // the API's access logs, and one per function
      expect(groups).toHaveLength(3 + Object.keys(declaration.subscribers).length);
      for (const group of groups) {
        expect(group.Properties.KmsKeyId).toEqual(getAtt(stack.hookonce.key));
      }
      const key = template.toJSON().Resources[idOf(stack.hookonce.key)];
      expect(key.Properties.KeyPolicy.Statement).toContainEqual(
        expect.objectContaining({
          Sid: 'CloudWatchLogsUseKey',
          Effect: 'Allow',
          Principal: {
            Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
          Condition: {
            ArnLike: {
              'kms:EncryptionContext:aws:logs:arn': {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':logs:',
                    { Ref: 'AWS::Region' },
                    ':',
                    { Ref: 'AWS::AccountId' },
                    ':log-group:*',
                  ],
                ],
              },
            },
          },
        }),
      );
    });

    it('lets only AWS services, for a resource, be given grants on the key', () => {
      const key = template.toJSON().Resources[idOf(stack.hookonce.key)];
      expect(key.Properties.KeyPolicy.Statement).toContainEqual({
        Sid: 'GrantsOnlyForAwsServices',
        Effect: 'Deny',
        Action: 'kms:CreateGrant',
        Principal: { AWS: '*' },
        Resource: '*',
        Condition: {
          BoolIfExists: {
            'kms:GrantIsForAWSResource': 'false',
            'aws:PrincipalIsAWSService': 'false',
          },
        },
      });
    });
  });
});
