import { AccountPrincipal, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnSubscription, ITopic, Subscription } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { type SubscriberFilter, toFilterPolicy } from '../functions/shared/declaration.ts';

/**
 * Subscribes a queue to hookonce's topic as every subscriber is subscribed: raw
 * message delivery (the SQS body is the CloudEvents envelope itself) and the
 * filter as the exact JSON of toFilterPolicy(), on the `provider` and `type`
 * message attributes. The queue policy that lets the topic send is added too.
 *
 * - Same CDK app: `hookonce.subscribeQueue(queue, filter)`.
 * - Another CDK app, or another account: import the topic from the stack's
 *   `TopicArn` output and call this in your own stack:
 *
 *       const topic = Topic.fromTopicArn(this, 'Hookonce', 'arn:aws:sns:…:hookonce-Events…');
 *       subscribeToHookonce(topic, queue, { types: ['stripe.invoice.'] });
 *
 *   The subscription is then created in your stack (next to your queue). From
 *   another account, the topic's owner first lets you subscribe:
 *   `allowSubscriptionsFrom(hookonce.topic, '<your account id>')`.
 */
export function subscribeToHookonce(
  topic: ITopic,
  queue: IQueue,
  filter: SubscriberFilter = {},
): Subscription {
  const subscription = topic.addSubscription(
    new SqsSubscription(queue, { rawMessageDelivery: true }),
  );
  const filterPolicy = toFilterPolicy(filter);
  if (filterPolicy) {
    const cfn = subscription.node.defaultChild as CfnSubscription;
    cfn.filterPolicy = filterPolicy;
    cfn.filterPolicyScope = 'MessageAttributes';
  }
  return subscription;
}

/**
 * Lets another account subscribe its own SQS queues to the topic (and nothing
 * else): `sns:Subscribe` for that account's principals, SQS protocol only.
 */
export function allowSubscriptionsFrom(topic: ITopic, account: string): void {
  if (!/^\d{12}$/.test(account)) throw new Error(`"${account}" is not an AWS account id`);
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: `AllowSqsSubscriptionsFrom${account}`,
      actions: ['sns:Subscribe'],
      principals: [new AccountPrincipal(account)],
      resources: [topic.topicArn],
      conditions: { StringEquals: { 'sns:Protocol': 'sqs' } },
    }),
  );
}
