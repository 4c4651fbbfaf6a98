import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  SetSubscriptionAttributesCommand,
  type SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type ResolvedDeclaration, toFilterPolicy } from '../../functions/shared/declaration.ts';
import { localNames } from '../names.ts';
import { CONSUMER_TABLE, DELIVERIES_TABLE } from '../tables.ts';

export interface SubscriberQueues {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

export interface LocalResources {
  readonly deliveriesTable: string;
  readonly consumerTable: string;
  readonly topicArn: string;
  readonly payloadBucket: string;
  readonly subscribers: Readonly<Record<string, SubscriberQueues>>;
}

/** The bucket large bodies go to; created unless it exists. */
export async function ensureBucket(
  s3: S3Client,
  declaration: ResolvedDeclaration,
): Promise<string> {
  const name = localNames(declaration).payloadBucket;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
  } catch (error) {
    const code = (error as Error).name;
    if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
  }
  return name;
}

const DLQ_RETENTION_SECONDS = String(14 * 24 * 3600);

export function tableInputs(declaration: ResolvedDeclaration): CreateTableCommandInput[] {
  const names = localNames(declaration);
  const idx = DELIVERIES_TABLE.pendingIndex;
  return [
    {
      TableName: names.deliveriesTable,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: DELIVERIES_TABLE.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: DELIVERIES_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: idx.partitionKey, AttributeType: 'S' },
        { AttributeName: idx.sortKey, AttributeType: 'N' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: idx.name,
          KeySchema: [
            { AttributeName: idx.partitionKey, KeyType: 'HASH' },
            { AttributeName: idx.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    },
    {
      TableName: names.consumerTable,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: CONSUMER_TABLE.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: CONSUMER_TABLE.partitionKey, AttributeType: 'S' }],
    },
  ];
}

/** Creates both tables unless they exist (state survives restarts), and waits until they are active. */
export async function ensureTables(
  client: DynamoDBClient,
  declaration: ResolvedDeclaration,
): Promise<void> {
  for (const input of tableInputs(declaration)) {
    try {
      await client.send(new CreateTableCommand(input));
    } catch (error) {
      if (
        !(error instanceof ResourceInUseException) &&
        (error as Error).name !== 'ResourceInUseException'
      )
        throw error;
    }
    for (let i = 0; i < 100; i++) {
      const out = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
      if (out.Table?.TableStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: input.TableName,
          TimeToLiveSpecification: { AttributeName: DELIVERIES_TABLE.ttlAttribute, Enabled: true },
        }),
      );
    } catch {
      // dynalite has no TTL, and DynamoDB Local refuses to enable it twice; expired
      // items still count as absent in every condition, so nothing depends on it.
    }
  }
}

/**
 * The topic, and per subscriber a queue with its DLQ and redrive policy,
 * subscribed with raw message delivery and the subscriber's filter policy:
 * the same resources the CDK construct makes, through the same SDK calls an
 * AWS account would take. Safe to run again on every start.
 */
export async function ensureMessaging(
  sns: SNSClient,
  sqs: SQSClient,
  declaration: ResolvedDeclaration,
): Promise<Pick<LocalResources, 'topicArn' | 'subscribers'>> {
  const names = localNames(declaration);
  const topic = await sns.send(new CreateTopicCommand({ Name: names.topic }));
  const topicArn = topic.TopicArn as string;
  const existing = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));

  const subscribers: Record<string, SubscriberQueues> = {};
  for (const [name, s] of Object.entries(declaration.subscribers)) {
    const dlq = await ensureQueue(sqs, names.dlq(name), {
      MessageRetentionPeriod: DLQ_RETENTION_SECONDS,
    });
    const queue = await ensureQueue(sqs, names.queue(name), {
      VisibilityTimeout: String(s.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.arn,
        maxReceiveCount: s.maxReceiveCount,
      }),
    });
    subscribers[name] = {
      queueUrl: queue.url,
      queueArn: queue.arn,
      dlqUrl: dlq.url,
      dlqArn: dlq.arn,
    };

    const policy = toFilterPolicy(s.filter);
    const attributes: Record<string, string> = { RawMessageDelivery: 'true' };
    if (policy) attributes.FilterPolicy = JSON.stringify(policy);
    const current = existing.Subscriptions?.find((sub) => sub.Endpoint === queue.arn);
    if (!current?.SubscriptionArn) {
      await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'sqs',
          Endpoint: queue.arn,
          Attributes: attributes,
        }),
      );
      continue;
    }
    // Already subscribed: bring its attributes in line with the declaration.
    for (const [AttributeName, AttributeValue] of Object.entries({
      ...attributes,
      FilterPolicy: policy ? JSON.stringify(policy) : '',
    })) {
      await sns.send(
        new SetSubscriptionAttributesCommand({
          SubscriptionArn: current.SubscriptionArn,
          AttributeName,
          AttributeValue,
        }),
      );
    }
  }
  return { topicArn, subscribers };
}

async function ensureQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const url = created.QueueUrl as string;
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return { url, arn: attrs.Attributes?.QueueArn as string };
}
