import { Duration, Names, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { AccountPrincipal, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnSubscription, ITopic, Subscription } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { type IQueue, Queue, QueueEncryption, RedrivePermission } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type SubscriberFilter, toFilterPolicy } from '../functions/shared/declaration.ts';
import { acknowledgeSubscriptionDeadLetterQueue } from './nag.ts';

/** How long a dead-letter queue keeps a parked message: the SQS maximum. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * A dead-letter queue as hookonce makes them: SQS-managed encryption (which
 * SNS can write to without any key policy), SSL only, kept 14 days, and marked
 * as a dead-letter queue for the queues that redrive into it.
 */
export function deadLetterQueue(scope: Construct, id: string): Queue {
  return new Queue(scope, id, {
    retentionPeriod: DEAD_LETTER_RETENTION,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // What SQS allows when this is left out, said explicitly (AWS Control Tower's
    // CT.SQS.PR.1 asks every queue to have a DLQ or be one). byQueue would name
    // the source queue, whose own redrive policy names this one: a cycle
    // CloudFormation refuses.
    redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
  });
}

/** A queue subscribed to the topic, and where SNS keeps what it could not deliver to it. */
export interface QueueSubscription {
  readonly subscription: Subscription;
  /** SNS's dead-letter queue for this subscription (not the queue's own). */
  readonly deadLetterQueue: Queue;
}

/**
 * The subscription every queue gets, declared or not: raw message delivery,
 * the filter as the exact JSON of toFilterPolicy() on the `provider` and
 * `type` message attributes, and a redrive policy to a dead-letter queue of
 * its own, made next to the queue (same stack, same account). An event SNS
 * cannot deliver after its retries (the queue was deleted, or its KMS key
 * does not let SNS use it) is parked there instead of dropped. The queue
 * policy that lets the topic send, and the DLQ policy that lets the topic
 * park, are added too; both name the topic as the only sender.
 */
export function subscribeWithDeadLetters(
  topic: ITopic,
  queue: IQueue,
  filter: SubscriberFilter = {},
): QueueSubscription {
  if (!Construct.isConstruct(queue)) {
    throw new Error(
      'the queue to subscribe must be a construct: a Queue, or one imported with Queue.fromQueueArn()',
    );
  }
  const deadLetters = deadLetterQueue(queue, `${Names.nodeUniqueId(topic.node)}DeadLetters`);
  acknowledgeSubscriptionDeadLetterQueue(deadLetters);
  const subscription = topic.addSubscription(
    new SqsSubscription(queue, { rawMessageDelivery: true, deadLetterQueue: deadLetters }),
  );
  const filterPolicy = toFilterPolicy(filter);
  if (filterPolicy) {
    const cfn = subscription.node.defaultChild as CfnSubscription;
    cfn.filterPolicy = filterPolicy;
    cfn.filterPolicyScope = 'MessageAttributes';
  }
  return { subscription, deadLetterQueue: deadLetters };
}

export interface SubscribeOptions {
  /**
   * What the alarm on the subscription's dead-letter queue does when it fires
   * and when it clears, e.g. `new SnsAction(pagerTopic)`.
   * @default no action: the alarm shows in the CloudWatch console only
   */
  readonly alarmAction?: IAlarmAction;
}

/**
 * Subscribes a queue to hookonce's topic as every subscriber is subscribed
 * (subscribeWithDeadLetters()), with an alarm that fires as soon as the
 * subscription's dead-letter queue holds a message.
 *
 * - Same CDK app: `hookonce.subscribeQueue(queue, filter)`.
 * - Another CDK app, or another account: import the topic from the stack's
 *   `TopicArn` output and call this in your own stack:
 *
 *       const topic = Topic.fromTopicArn(this, 'Hookonce', 'arn:aws:sns:…:hookonce-Events…');
 *       subscribeToHookonce(topic, queue, { types: ['stripe.invoice.'] });
 *
 *   The subscription, its dead-letter queue and the alarm are then created in
 *   your stack (next to your queue). From another account, the topic's owner
 *   first lets you subscribe: `allowSubscriptionsFrom(hookonce.topic, '<your account id>')`.
 *
 * The subscription's dead-letter queue is `subscription.deadLetterQueue`.
 * For a whole subscriber (the queue, its DLQ, a consumer function with the
 * exactly-once guard, its claims and alarms) rather than a queue of your own,
 * use `new HookonceSubscriber(this, 'Payments', { topicArn, filter, consumer })`.
 */
export function subscribeToHookonce(
  topic: ITopic,
  queue: IQueue,
  filter: SubscriberFilter = {},
  options: SubscribeOptions = {},
): Subscription {
  const { subscription, deadLetterQueue: deadLetters } = subscribeWithDeadLetters(
    topic,
    queue,
    filter,
  );
  const alarm = new Alarm(deadLetters, 'NotEmpty', {
    metric: deadLetters.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(1),
    }),
    threshold: 0,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    alarmDescription:
      `SNS could not deliver hookonce events to queue ${queue.node.path} and parked them in ` +
      'its subscription DLQ (was the queue deleted, or does its KMS key refuse SNS?): fix that, ' +
      'then move the messages to the queue',
  });
  if (options.alarmAction) {
    alarm.addAlarmAction(options.alarmAction);
    alarm.addOkAction(options.alarmAction);
  }
  return subscription;
}

/**
 * Lets another account subscribe its own SQS queues to the topic, and nothing
 * else: `sns:Subscribe` for that account's principals, with the SQS protocol
 * only, and only to endpoints (queue ARNs) of that account.
 */
export function allowSubscriptionsFrom(topic: ITopic, account: string): void {
  if (!/^\d{12}$/.test(account)) throw new Error(`"${account}" is not an AWS account id`);
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: `AllowSqsSubscriptionsFrom${account}`,
      actions: ['sns:Subscribe'],
      principals: [new AccountPrincipal(account)],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'sns:Protocol': 'sqs' },
        StringLike: { 'sns:Endpoint': `arn:${Stack.of(topic).partition}:sqs:*:${account}:*` },
      },
    }),
  );
}
