import {
  AnyPrincipal,
  ArnPrincipal,
  Effect,
  Grant,
  type IGrantable,
  type IRole,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { logsKey } from './function.ts';

/**
 * What a publisher needs of the topic's KMS key: a data key to encrypt the message
 * with, and Decrypt (SNS checks it). Named exactly: the L2 grant says GenerateDataKey*.
 */
const PUBLISH_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];

export interface FanOutProps {
  /** The deployment's name, in descriptions. */
  readonly name: string;
}

/**
 * The fan-out: the events topic every subscriber's queue is subscribed to, the
 * alarm topic, and the customer managed key that encrypts both and every log
 * group (CloudWatch can only publish alarms to a topic whose key lets it).
 */
export class FanOut extends Construct {
  public readonly key: Key;
  public readonly topic: Topic;
  public readonly alarmTopic: Topic;

  public constructor(scope: Construct, id: string, props: FanOutProps) {
    super(scope, id);
    this.key = logsKey(
      this,
      'Key',
      `${props.name}: encrypts the events and alarms topics and the log groups`,
    );
    this.topic = new Topic(this, 'Events', {
      displayName: `${props.name} events`,
      enforceSSL: true,
      masterKey: this.key,
    });
    this.alarmTopic = new Topic(this, 'Alarms', {
      displayName: `${props.name} alarms`,
      enforceSSL: true,
      masterKey: this.key,
    });
  }

  /** Publish to the events topic: sns:Publish on it, and its key's data keys, nothing wider. */
  public grantPublish(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: ['sns:Publish'],
      resourceArns: [this.topic.topicArn],
    });
    Grant.addToPrincipal({
      grantee,
      actions: PUBLISH_KEY_ACTIONS,
      resourceArns: [this.key.keyArn],
    });
  }

  /**
   * The events topic's policy names its publishers: they may publish, and every
   * other principal, of this account or any, is refused (an explicit deny, which
   * no IAM policy of the account overrides), so nothing else can forge an event.
   */
  public allowOnlyToPublish(publishers: readonly IFunction[]): void {
    const roleArns = publishers.map((fn) => (fn.role as IRole).roleArn);
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyHookonceFunctionsPublish',
        principals: roleArns.map((arn) => new ArnPrincipal(arn)),
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
      }),
    );
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'NoOtherPublisher',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': roleArns } },
      }),
    );
  }
}
