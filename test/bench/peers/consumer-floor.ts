/**
 * B2's consumer floor: the least a guarded SQS consumer of hookonce needs, the
 * DynamoDB client for one conditional PutItem per record, and the S3 client for
 * the payloads too large to travel in the message (`dataref`), with partial
 * batch responses. Built with the deployed functions' esbuild settings; never deployed.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

const dynamodb = new DynamoDBClient({});
const s3 = new S3Client({});
const tableName = process.env.HOOKONCE_CONSUMER_TABLE ?? 'claims';

async function payloadOf(event: { data?: unknown; dataref?: string }): Promise<unknown> {
  if (!event.dataref) return event.data;
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(event.dataref) ?? [];
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse((await out.Body?.transformToString()) ?? 'null');
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const failed: string[] = [];
  for (const record of event.Records) {
    const envelope = JSON.parse(record.body) as { id: string; data?: unknown; dataref?: string };
    try {
      await dynamodb.send(
        new PutItemCommand({
          TableName: tableName,
          Item: { pk: { S: `CLAIM#${envelope.id}` } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      console.log(`applied ${envelope.id}`, await payloadOf(envelope));
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException')
        failed.push(record.messageId);
    }
  }
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}
