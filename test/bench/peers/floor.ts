import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { systemClock } from '../../../functions/shared/clock.ts';

/**
 * The floor of the ingest path: the three SDK calls the ingest handler makes for
 * a delivery (the conditional PutItem, the SNS Publish, the UpdateItem that marks
 * it PUBLISHED), with the same inputs, issued directly. Nothing else: no signature
 * check, no JSON parse (the envelope is spliced around the raw body), no event
 * conversion, no middy, no logging. A duplicate costs the same failed PutItem and,
 * where the emulator returns no item with the failure, the same consistent GetItem.
 *
 * It imports nothing of hookonce, so its bundle is the SDK clients alone (B2).
 */
export interface FloorDelivery {
  readonly deliveryId: string;
  /** The raw body. */
  readonly body: Buffer;
  /** Lower-cased request headers. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** Owner of the lease, unique per request. */
  readonly owner: string;
}

export interface FloorOptions {
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly tableName: string;
  readonly topicArn: string;
  readonly provider: string;
  /** The bench's deliveries all carry this type, so the floor need not parse the body for it. */
  readonly eventType: string;
  readonly retentionSeconds: number;
  readonly pendingShards: number;
}

export type FloorOutcome = 'published' | 'duplicate';

const KEPT_HEADERS = ['webhook-id', 'webhook-timestamp', 'content-type', 'user-agent'];
const LEASE_MS = 9_500;

export function createFloor(o: FloorOptions): (d: FloorDelivery) => Promise<FloorOutcome> {
  const type = `${o.provider}.${o.eventType}`;
  return async (d) => {
    const now = systemClock.now();
    const pk = `DELIVERY#${o.provider}#${d.deliveryId}`;
    const headers: Record<string, { S: string }> = {};
    for (const h of KEPT_HEADERS) {
      const v = d.headers[h];
      if (v !== undefined) headers[h] = { S: v };
    }
    const shard = createHash('sha256').update(pk).digest().readUInt32BE(0) % o.pendingShards;
    const nowSeconds = Math.floor(now / 1000);
    try {
      await o.dynamodb.send(
        new PutItemCommand({
          TableName: o.tableName,
          Item: {
            pk: { S: pk },
            provider: { S: o.provider },
            deliveryId: { S: d.deliveryId },
            eventType: { S: o.eventType },
            status: { S: 'RECEIVED' },
            payload: { B: d.body },
            payloadSha256: { S: createHash('sha256').update(d.body).digest('hex') },
            headers: { M: headers },
            receivedAt: { N: String(now) },
            attempts: { N: '1' },
            expiresAt: { N: String(nowSeconds + o.retentionSeconds) },
            contentType: { S: d.headers['content-type'] ?? 'application/json' },
            leaseOwner: { S: d.owner },
            leaseUntil: { N: String(now + LEASE_MS) },
            pendingShard: { S: `PENDING#${shard}` },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowSeconds',
          ExpressionAttributeValues: { ':nowSeconds': { N: String(nowSeconds) } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (!error.Item) {
        await o.dynamodb.send(
          new GetItemCommand({
            TableName: o.tableName,
            Key: { pk: { S: pk } },
            ConsistentRead: true,
          }),
        );
      }
      return 'duplicate';
    }
    const id = `${o.provider}:${d.deliveryId}`;
    const message = `{"specversion":"1.0","id":${JSON.stringify(id)},"source":"hookonce/${o.provider}","type":"${type}","time":"${new Date(now).toISOString()}","provider":"${o.provider}","deliveryid":${JSON.stringify(d.deliveryId)},"datacontenttype":"application/json","data":${d.body.toString('utf8')}}`;
    await o.sns.send(
      new PublishCommand({
        TopicArn: o.topicArn,
        Message: message,
        MessageAttributes: {
          provider: { DataType: 'String', StringValue: o.provider },
          type: { DataType: 'String', StringValue: type },
        },
      }),
    );
    await o.dynamodb.send(
      new UpdateItemCommand({
        TableName: o.tableName,
        Key: { pk: { S: pk } },
        UpdateExpression:
          'SET #status = :published, publishedAt = :now REMOVE pendingShard, leaseUntil',
        ConditionExpression: '#status = :received AND leaseOwner = :owner',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':published': { S: 'PUBLISHED' },
          ':received': { S: 'RECEIVED' },
          ':owner': { S: d.owner },
          ':now': { N: String(systemClock.now()) },
        },
      }),
    );
    return 'published';
  };
}
