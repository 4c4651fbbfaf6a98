import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE, serviceNames } from '../functions/shared/metrics.ts';
import { Hookonce, type HookonceProps } from './hookonce.ts';

export interface HookonceStackProps extends StackProps, HookonceProps {}

/** `PaymentsTeam` from `payments-team`: output ids are alphanumeric. */
const pascal = (name: string): string =>
  name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/**
 * The deployable stack: one Hookonce, and the outputs an operator needs (where
 * each provider posts, where to put its secret, what to watch).
 */
export class HookonceStack extends Stack {
  public readonly hookonce: Hookonce;

  public constructor(scope: Construct, id: string, props: HookonceStackProps) {
    super(scope, id, props);
    const hookonce = new Hookonce(this, 'Hookonce', props);
    this.hookonce = hookonce;

    for (const [provider, secret] of Object.entries(hookonce.secrets)) {
      const key = pascal(provider);
      new CfnOutput(this, `${key}EndpointUrl`, {
        description: `Where provider "${provider}" posts its webhooks`,
        value: hookonce.endpointUrl(provider),
      });
      new CfnOutput(this, `${key}SecretArn`, {
        description: `Secret of provider "${provider}": put its signing secrets here as a JSON list`,
        value: secret.secretArn,
      });
    }
    new CfnOutput(this, 'TopicArn', {
      description:
        'The events topic: subscribe a queue of another stack here, with a filter policy',
      value: hookonce.topic.topicArn,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description:
        'Every alarm publishes here: subscribe an email address, a chat integration or a pager',
      value: hookonce.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description:
        'The CloudWatch dashboard: answers, rejections, publishes, the sweeper, DLQs, consumers',
      value: hookonce.dashboardUrl,
    });
    new CfnOutput(this, 'ApiUrl', {
      description: 'The HTTP API: each provider posts to <ApiUrl>/webhooks/<provider>',
      value: hookonce.api.apiEndpoint,
    });
    // What `hookonce console --stack` and `hookonce tail --stack` read.
    new CfnOutput(this, 'IngestLogGroupName', {
      description:
        'Log group of the ingest function: one line per webhook request (outcome, status, ms)',
      value: hookonce.ingestFunction.logGroup.logGroupName,
    });
    const services = serviceNames(hookonce.declaration.name);
    new CfnOutput(this, 'MetricsNamespace', {
      description: `Namespace of the functions' metrics; their service dimension is ${services.ingest}, ${services.sweeper} or ${services.consumer}`,
      value: METRICS_NAMESPACE,
    });
    new CfnOutput(this, 'DeploymentName', {
      description: 'The declaration name: the prefix of the service dimension of the metrics',
      value: hookonce.declaration.name,
    });
    new CfnOutput(this, 'DeliveriesTableName', { value: hookonce.deliveriesTable.tableName });
    new CfnOutput(this, 'ConsumerTableName', { value: hookonce.consumerTable.tableName });
    for (const [subscriber, queues] of Object.entries(hookonce.queues)) {
      const { queue, deadLetterQueue, subscriptionDeadLetterQueue } = queues;
      const key = pascal(subscriber);
      new CfnOutput(this, `${key}QueueUrl`, {
        description: `Queue of subscriber "${subscriber}"`,
        value: queue.queueUrl,
      });
      new CfnOutput(this, `${key}DeadLetterQueueUrl`, {
        description: `DLQ of subscriber "${subscriber}": messages its consumer failed on`,
        value: deadLetterQueue.queueUrl,
      });
      new CfnOutput(this, `${key}SubscriptionDeadLetterQueueUrl`, {
        description: `Subscription DLQ of subscriber "${subscriber}": events SNS could not deliver to its queue`,
        value: subscriptionDeadLetterQueue.queueUrl,
      });
    }
  }
}
