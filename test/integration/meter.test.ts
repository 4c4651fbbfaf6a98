import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoEmulator, Emulator } from '../../infra/local/emulators.ts';
import { startFauxqs } from '../../infra/local/emulators.ts';
import { type Meter, startMeter } from '../bench/lib/meter.ts';
import { backends, localClientConfig, startDynamo } from '../support/backends.ts';

/** B7 counts what AWS bills through this proxy: it must count what the emulators answer. */
describe.each(backends)('Bench meter in front of %s', (kind) => {
  let dynamo: DynamoEmulator;
  let meter: Meter;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startDynamo(kind);
    meter = await startMeter('dynamodb', dynamo.endpoint);
    client = new DynamoDBClient(localClientConfig(meter.endpoint));
    await client.send(
      new CreateTableCommand({
        TableName: 'metered',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'part', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byShard',
            KeySchema: [{ AttributeName: 'part', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    );
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await meter?.stop();
    await dynamo?.stop();
  });

  it('adds up the write units each answer reports, by table, index and operation, and counts refused conditions', async () => {
    // Prepare
    meter.reset();
    const small = { pk: { S: 'a' }, part: { S: 'one' }, body: { S: 'x'.repeat(100) } };
    const large = { pk: { S: 'b' }, body: { S: 'y'.repeat(2_500) } };

    // Act: a 1 KB item in the index, a 3 KB item outside it, a refused conditional put
    await client.send(new PutItemCommand({ TableName: 'metered', Item: small }));
    await client.send(new PutItemCommand({ TableName: 'metered', Item: large }));
    await client
      .send(
        new PutItemCommand({
          TableName: 'metered',
          Item: small,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((error: Error) => error);
    await client.send(
      new UpdateItemCommand({
        TableName: 'metered',
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'REMOVE part',
      }),
    );

    // Assess
    expect(meter.requests.get('DynamoDB.PutItem')).toBe(3);
    expect(meter.requests.get('DynamoDB.UpdateItem')).toBe(1);
    expect(meter.conditionFailures.get('PutItem metered')).toBe(1);
    expect(meter.capacity.get('PutItem metered')?.write).toBe(1 + 3);
    // The refused put reports no capacity: two answers did.
    expect(meter.capacity.get('PutItem metered')?.calls).toBe(2);
    expect(meter.capacity.get('UpdateItem metered')?.write).toBe(1);
    // In the index: the first put and the update that took the item out of it. Only
    // DynamoDB Local reports an index's share (B7 runs on it); dynalite reports none.
    expect(meter.capacity.get('metered/byShard')?.write).toBe(
      kind === 'dynamodb-local' ? 2 : undefined,
    );
  });
});

describe('Bench meter in front of fauxqs', () => {
  let fauxqs: Emulator;
  let meter: Meter;
  let sqs: SQSClient;
  let sns: SNSClient;

  beforeAll(async () => {
    fauxqs = await startFauxqs();
    meter = await startMeter('aws', fauxqs.endpoint);
    sqs = new SQSClient(localClientConfig(meter.endpoint));
    sns = new SNSClient(localClientConfig(meter.endpoint));
  });

  afterAll(async () => {
    sqs?.destroy();
    sns?.destroy();
    await meter?.stop();
    await fauxqs?.stop();
  });

  it('names SQS and SNS calls and tells empty receives from the messages the others returned', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'metered' }));
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'metered' }));
    meter.reset();

    // Act
    await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'one' }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'two' }));
    let received = 0;
    let emptyAnswers = 1;
    let receives = 1;
    while (received < 2) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      receives++;
      received += out.Messages?.length ?? 0;
      if (!out.Messages?.length) emptyAnswers++;
    }
    await sns.send(new PublishCommand({ TopicArn, Message: 'hello' }));

    // Assess
    expect(meter.requests.get('SQS.ReceiveMessage')).toBe(receives);
    expect(meter.requests.get('SQS.SendMessage')).toBe(2);
    expect(meter.requests.get('SNS.Publish')).toBe(1);
    expect(meter.receives.empty).toBe(emptyAnswers);
    expect(meter.receives.messages).toBe(2);
  });
});
