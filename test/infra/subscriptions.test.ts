import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type HookonceDeclaration,
  resolveDeclaration,
  toFilterPolicy,
} from '../../functions/shared/declaration.ts';
import { declaration as defaultDeclaration } from '../../infra/hookonce.config.ts';
import { HookonceStack } from '../../infra/stack.ts';
import { allowSubscriptionsFrom, subscribeToHookonce } from '../../infra/subscribe.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const cdkContext = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;

const consumer = { entry: 'functions/consumers/example/handler.ts' };
/** A matrix of filters: none, providers only, types only (exact and prefixes), both. */
const declaration: HookonceDeclaration = {
  name: 'subtest',
  providers: {
    standard: { scheme: 'standard-webhooks' },
    stripe: { scheme: 'stripe' },
    github: { scheme: 'github' },
  },
  subscribers: {
    everything: { consumer },
    'github-all': { consumer, filter: { providers: ['github'] } },
    invoices: { consumer, filter: { types: ['stripe.invoice.', 'standard.invoice.*'] } },
    billing: {
      consumer,
      filter: { providers: ['stripe'], types: ['stripe.invoice.paid', 'stripe.charge.'] },
      batchSize: 5,
      batchingWindowSeconds: 20,
      maxConcurrency: 5,
    },
  },
};
const resolved = resolveDeclaration(declaration);
const EXPECTED_POLICIES: Record<string, unknown> = {
  everything: undefined,
  'github-all': { provider: ['github'] },
  invoices: { type: [{ prefix: 'stripe.invoice.' }, { prefix: 'standard.invoice.' }] },
  billing: {
    provider: ['stripe'],
    type: ['stripe.invoice.paid', { prefix: 'stripe.charge.' }],
  },
};
const TEAM_ACCOUNT = '222222222222';

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('Subscriptions in the synthesized template', () => {
  let app: App;
  let stack: HookonceStack;
  let template: Template;
  let team: Template;
  let other: Template;
  const idOf = (s: Stack, construct: IConstruct): string =>
    s.getLogicalId(construct.node.defaultChild as CfnElement);
  const subscriptionOf = (t: Template, queueArn: unknown): Resource['Properties'] => {
    const found = Object.values(
      t.findResources('AWS::SNS::Subscription', { Properties: { Endpoint: queueArn } }),
    ) as Resource[];
    expect(found).toHaveLength(1);
    return (found[0] as Resource).Properties;
  };

  beforeAll(() => {
    // One synthesis of each app for every test: each bundles its functions with esbuild.
    app = new App({ context: cdkContext() });
    stack = new HookonceStack(app, 'SubscriptionsTest', { declaration });
    allowSubscriptionsFrom(stack.hookonce.topic, TEAM_ACCOUNT);
    // Another team's stack in the same app subscribes its own queue.
    const teamStack = new Stack(app, 'TeamStack');
    stack.hookonce.subscribeQueue(new Queue(teamStack, 'TeamQueue'), {
      providers: ['github'],
      types: ['github.pull_request.*'],
    });
    template = Template.fromStack(stack);
    team = Template.fromStack(teamStack);

    // A team in another CDK app and another account, with only the TopicArn output.
    const otherApp = new App();
    const otherStack = new Stack(otherApp, 'OtherAccount', {
      env: { account: TEAM_ACCOUNT, region: 'us-east-1' },
    });
    const topic = Topic.fromTopicArn(
      otherStack,
      'Hookonce',
      'arn:aws:sns:us-east-1:111111111111:SubscriptionsTest-Events1234',
    );
    subscribeToHookonce(topic, new Queue(otherStack, 'Invoices'), { types: ['stripe.invoice.'] });
    other = Template.fromStack(otherStack);
  });

  describe('declared subscribers', () => {
    for (const [name, policy] of Object.entries(EXPECTED_POLICIES)) {
      it(`subscribes ${name}'s queue with raw delivery and exactly its filter policy`, () => {
        const queue = stack.hookonce.queues[name]?.queue as Queue;
        const props = subscriptionOf(template, { 'Fn::GetAtt': [idOf(stack, queue), 'Arn'] });

        expect(props).toMatchObject({
          Protocol: 'sqs',
          RawMessageDelivery: true,
          TopicArn: { Ref: idOf(stack, stack.hookonce.topic) },
        });
        expect(props.FilterPolicy).toEqual(policy);
        expect(props.FilterPolicy).toEqual(
          toFilterPolicy(resolved.subscribers[name]?.filter ?? {}),
        );
        expect(props.FilterPolicyScope).toBe(policy ? 'MessageAttributes' : undefined);
      });
    }

    it('applies the batching window and maximum concurrency to the event source', () => {
      const queue = stack.hookonce.queues.billing?.queue as Queue;
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [idOf(stack, queue), 'Arn'] },
        BatchSize: 5,
        MaximumBatchingWindowInSeconds: 20,
        ScalingConfig: { MaximumConcurrency: 5 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    });

    it('sets neither where the declaration leaves them out', () => {
      const queue = stack.hookonce.queues.everything?.queue as Queue;
      const mappings = Object.values(
        template.findResources('AWS::Lambda::EventSourceMapping', {
          Properties: { EventSourceArn: { 'Fn::GetAtt': [idOf(stack, queue), 'Arn'] } },
        }),
      ) as Resource[];
      expect(mappings).toHaveLength(1);
      expect(mappings[0]?.Properties).not.toHaveProperty('MaximumBatchingWindowInSeconds');
      expect(mappings[0]?.Properties).not.toHaveProperty('ScalingConfig');
    });

    it('keeps a queue’s visibility timeout above the consumer timeout plus the batching window', () => {
      const queue = stack.hookonce.queues.billing?.queue as Queue;
      const props = template.toJSON().Resources[idOf(stack, queue)].Properties;
      expect(props.VisibilityTimeout).toBe(6 * 30 + 20);
    });
  });

  describe('a queue subscribed from outside the declaration', () => {
    it('outputs the topic ARN for teams in other apps and accounts', () => {
      template.hasOutput('TopicArn', { Value: { Ref: idOf(stack, stack.hookonce.topic) } });
    });

    it('subscribes another stack’s queue with its filter, from that stack, and lets the topic send to it', () => {
      const subscriptions = Object.values(
        team.findResources('AWS::SNS::Subscription'),
      ) as Resource[];
      expect(subscriptions).toHaveLength(1);
      expect(subscriptions[0]?.Properties).toMatchObject({
        Protocol: 'sqs',
        RawMessageDelivery: true,
        FilterPolicyScope: 'MessageAttributes',
        FilterPolicy: { provider: ['github'], type: [{ prefix: 'github.pull_request.' }] },
      });
      team.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'sqs:SendMessage',
              Principal: { Service: 'sns.amazonaws.com' },
              Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() } },
            }),
          ]),
        },
      });
    });

    it('refuses a queue that is no construct, before making anything for it', () => {
      const elsewhere = new Stack(new App(), 'NotAQueue');
      const topic = Topic.fromTopicArn(elsewhere, 'Topic', 'arn:aws:sns:us-east-1:1:T');
      expect(() => subscribeToHookonce(topic, {} as Queue)).toThrow(
        'the queue to subscribe must be a construct',
      );
      expect(elsewhere.node.findAll()).toHaveLength(2); // the stack and the imported topic
    });

    it('refuses a filter naming a provider the declaration does not have', () => {
      const elsewhere = new Stack(new App(), 'Elsewhere');
      expect(() =>
        stack.hookonce.subscribeQueue(new Queue(elsewhere, 'Q'), { providers: ['gitlab'] }),
      ).toThrow('subscribeQueue: filter names unknown provider "gitlab"');
    });

    it('subscribes a queue in another account to the topic by its ARN, with the filter', () => {
      const subscriptions = Object.values(
        other.findResources('AWS::SNS::Subscription'),
      ) as Resource[];
      expect(subscriptions).toHaveLength(1);
      expect(subscriptions[0]?.Properties).toMatchObject({
        TopicArn: 'arn:aws:sns:us-east-1:111111111111:SubscriptionsTest-Events1234',
        Protocol: 'sqs',
        RawMessageDelivery: true,
        FilterPolicy: { type: [{ prefix: 'stripe.invoice.' }] },
      });
      other.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'sqs:SendMessage',
              Condition: {
                ArnEquals: {
                  'aws:SourceArn':
                    'arn:aws:sns:us-east-1:111111111111:SubscriptionsTest-Events1234',
                },
              },
            }),
          ]),
        },
      });
    });

    it('lets the other account subscribe its own SQS queues to the topic, and nothing more', () => {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: idOf(stack, stack.hookonce.topic) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: `AllowSqsSubscriptionsFrom${TEAM_ACCOUNT}`,
              Effect: 'Allow',
              Action: 'sns:Subscribe',
              Principal: {
                AWS: {
                  'Fn::Join': [
                    '',
                    ['arn:', { Ref: 'AWS::Partition' }, `:iam::${TEAM_ACCOUNT}:root`],
                  ],
                },
              },
              Resource: { Ref: idOf(stack, stack.hookonce.topic) },
              Condition: {
                StringEquals: { 'sns:Protocol': 'sqs' },
                StringLike: {
                  'sns:Endpoint': {
                    'Fn::Join': [
                      '',
                      ['arn:', { Ref: 'AWS::Partition' }, `:sqs:*:${TEAM_ACCOUNT}:*`],
                    ],
                  },
                },
              },
            },
          ]),
        },
      });
    });
  });
});

describe('App: the default declaration’s second subscriber', () => {
  it('subscribes billing with its filter, changed only in infra/hookonce.config.ts', () => {
    const app = new App({ context: cdkContext() });
    const stack = new HookonceStack(app, 'Hookonce', { declaration: defaultDeclaration });
    const template = Template.fromStack(stack);
    const billing = resolveDeclaration(defaultDeclaration).subscribers.billing;
    const queue = stack.hookonce.queues.billing?.queue as Queue;

    expect(billing).toBeDefined();
    const subscriptions = Object.values(
      template.findResources('AWS::SNS::Subscription', {
        Properties: {
          Endpoint: {
            'Fn::GetAtt': [stack.getLogicalId(queue.node.defaultChild as CfnElement), 'Arn'],
          },
        },
      }),
    ) as Resource[];
    expect(subscriptions.map((s) => s.Properties.FilterPolicy)).toEqual([
      { provider: ['stripe'], type: [{ prefix: 'stripe.invoice.' }, { prefix: 'stripe.charge.' }] },
    ]);
    template.hasOutput('BillingQueueUrl', {});
    template.hasOutput('BillingDeadLetterQueueUrl', {});
  });
});
