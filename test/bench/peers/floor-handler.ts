/**
 * B2's floor: an ingest Lambda made of only the SDK clients hookonce's uses
 * (DynamoDB, SNS, S3 for large bodies, Secrets Manager) and the calls of
 * peers/floor.ts. Built with the same esbuild settings as the real one; never
 * deployed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { createFloor } from './floor.ts';

const env = (key: string): string => {
  const value = process.env[key];
  if (!value) throw new Error(`${key} is not set`);
  return value;
};

const floor = createFloor({
  dynamodb: new DynamoDBClient({}),
  sns: new SNSClient({}),
  tableName: env('HOOKONCE_DELIVERIES_TABLE'),
  topicArn: env('HOOKONCE_TOPIC_ARN'),
  provider: 'standard',
  eventType: 'invoice.paid',
  retentionSeconds: 7 * 24 * 3600,
  pendingShards: 16,
});
const secretIds = JSON.parse(env('HOOKONCE_SECRET_IDS')) as Record<string, string>;
const secretsManager = new SecretsManagerClient({});
const s3 = new S3Client({});
const bucket = env('HOOKONCE_PAYLOAD_BUCKET');
/** Bodies above this go to S3 first, as hookonce's do. */
const INLINE_BYTES = 96 * 1024;
let secret: Promise<unknown> | undefined;

export const handler = async (
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  secret ??= secretsManager.send(new GetSecretValueCommand({ SecretId: secretIds.standard }));
  await secret;
  const deliveryId = event.headers['webhook-id'] ?? '';
  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (body.length > INLINE_BYTES) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: deliveryId, Body: body }));
  }
  const outcome = await floor({
    deliveryId,
    body,
    headers: event.headers,
    owner: context.awsRequestId,
  });
  return { statusCode: outcome === 'published' ? 202 : 200, body: '' };
};
