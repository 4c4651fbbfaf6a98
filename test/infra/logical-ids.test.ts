import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Names } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { logicalIdOf } from '../../infra/constructs/logical-ids.ts';
import { HookonceSubscriber } from '../../infra/constructs/subscriber.ts';
import { declaration } from '../../infra/hookonce.config.ts';
import { HookonceStack } from '../../infra/stack.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const context = (): Record<string, unknown> => ({
  ...JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context,
  'aws:cdk:bundling-stacks': [],
});

/**
 * The logical IDs the repository's stack had before the construct was split
 * into intake, fan-out, subscribers, sweeper and observability: a resource
 * whose logical ID changes is replaced on the next deploy (a new, empty table;
 * a new topic ARN; a new endpoint URL; queues that lose their messages).
 */
const KEPT: Record<string, string> = {
  HookonceDeliveries3BBD0FAB: 'AWS::DynamoDB::GlobalTable',
  HookonceConsumerStateA47387B7: 'AWS::DynamoDB::GlobalTable',
  HookoncePayloadsD43D4A5D: 'AWS::S3::Bucket',
  HookoncePayloadsPolicy1142493D: 'AWS::S3::BucketPolicy',
  HookonceKey0EBE9DE6: 'AWS::KMS::Key',
  HookonceEventsFCCC3A3E: 'AWS::SNS::Topic',
  HookonceEventsPolicy5063722A: 'AWS::SNS::TopicPolicy',
  HookonceAlarms20F23F2C: 'AWS::SNS::Topic',
  HookonceAlarmsPolicy7EE3E253: 'AWS::SNS::TopicPolicy',
  HookonceSecretstandardB7AB78D7: 'AWS::SecretsManager::Secret',
  HookonceSecretstripe2621B07B: 'AWS::SecretsManager::Secret',
  HookonceIngest25805531: 'AWS::Lambda::Function',
  HookonceIngestLogs68B1403F: 'AWS::Logs::LogGroup',
  HookonceSweeperACF72DD6: 'AWS::Lambda::Function',
  HookonceSweepScheduleFE7F37E6: 'AWS::Events::Rule',
  HookonceSweepScheduleAllowEventRuleHookonceSweeperA7D1542CA138256C: 'AWS::Lambda::Permission',
  HookonceApiE1C109AF: 'AWS::ApiGatewayV2::Api',
  HookonceApiStage53B7A91E: 'AWS::ApiGatewayV2::Stage',
  HookonceApiPOSTwebhooksprovider444CEC35: 'AWS::ApiGatewayV2::Route',
  HookonceApiPOSTwebhooksproviderIngest01BC4302: 'AWS::ApiGatewayV2::Integration',
  HookonceApiAccessLogs22D3C35A: 'AWS::Logs::LogGroup',
  HookonceSubscriberbillingQueueBFA84183: 'AWS::SQS::Queue',
  HookonceSubscriberbillingQueuePolicy59D346E6: 'AWS::SQS::QueuePolicy',
  HookonceSubscriberbillingDeadLetterQueue797E6091: 'AWS::SQS::Queue',
  HookonceSubscriberbillingQueueHookonceEventsE9C4858ADeadLetters44A3E58E: 'AWS::SQS::Queue',
  HookonceSubscriberbillingQueueHookonceEventsE9C4858A8714E654: 'AWS::SNS::Subscription',
  HookonceSubscriberbillingConsumerFC59FB36: 'AWS::Lambda::Function',
  HookonceSubscriberbillingConsumerSqsEventSourceHookonceSubscriberbillingQueue27B7358034894F4D:
    'AWS::Lambda::EventSourceMapping',
  HookonceObservabilityDashboard28477BE4: 'AWS::CloudWatch::Dashboard',
};

describe('Logical IDs across the split into sub-constructs', () => {
  let stack: HookonceStack;
  let resources: Record<string, { Type: string }>;

  beforeAll(() => {
    const app = new App({ context: context() });
    stack = new HookonceStack(app, 'Hookonce', { declaration });
    resources = Template.fromStack(stack).toJSON().Resources;
  });

  it('keeps the tables, the bucket, the topics, the key, the secrets, the API and the queues where they were', () => {
    for (const [id, type] of Object.entries(KEPT))
      expect([id, resources[id]?.Type]).toEqual([id, type]);
    const idOf = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
    expect(idOf(stack.hookonce.deliveriesTable)).toBe('HookonceDeliveries3BBD0FAB');
    expect(idOf(stack.hookonce.consumerTable)).toBe('HookonceConsumerStateA47387B7');
    expect(idOf(stack.hookonce.payloadBucket)).toBe('HookoncePayloadsD43D4A5D');
  });

  it('moves only the subscribers’ alarms, into their subscribers', () => {
    const alarms = Object.keys(resources).filter(
      (id) => resources[id]?.Type === 'AWS::CloudWatch::Alarm',
    );
    expect(alarms.filter((id) => id.startsWith('HookonceSubscriber')).sort()).toEqual(
      ['billing', 'example']
        .flatMap((s) =>
          ['DeadLettersAlarm', 'UndeliveredAlarm', 'ConsumerErrorsAlarm'].map((a) => `${s}/${a}`),
        )
        .map((path) => logicalIdOf(['Hookonce', ...`Subscriber-${path}`.split('/'), 'Resource']))
        .sort(),
    );
  });

  it('builds each declared subscriber with HookonceSubscriber, its claims in the shared table', () => {
    for (const name of ['example', 'billing']) {
      const subscriber = stack.hookonce.subscribers[name];
      expect(subscriber).toBeInstanceOf(HookonceSubscriber);
      expect(subscriber?.claimsTable).toBe(stack.hookonce.consumerTable);
      expect(stack.hookonce.consumerFunctions[name]).toBe(subscriber?.consumerFunction);
      expect(stack.hookonce.queues[name]?.queue).toBe(subscriber?.queue);
    }
  });

  it('computes a logical ID as CDK does', () => {
    // Names.uniqueId follows the same algorithm over the construct's path from the app.
    for (const c of stack.node.findAll().slice(1, 40)) {
      expect(logicalIdOf(c.node.scopes.slice(1).map((s) => s.node.id))).toBe(
        Names.nodeUniqueId(c.node),
      );
    }
  });
});
