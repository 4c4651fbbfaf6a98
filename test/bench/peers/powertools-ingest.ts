/**
 * B2's peer: the ingest Lambda as a team would write it without hookonce, on
 * Powertools for AWS Lambda. The signature is checked by the `standardwebhooks`
 * library, the secret read through Powertools' parameters (as hookonce reads
 * it), and the publish made idempotent on the delivery id by `makeIdempotent`
 * with a DynamoDB persistence layer: one conditional PutItem before, one
 * UpdateItem after. Bodies too large for SNS go to S3 first, as hookonce's do. Built with the same esbuild settings as hookonce's; never
 * deployed.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { Webhook } from 'standardwebhooks';

const env = (key: string): string => {
  const value = process.env[key];
  if (!value) throw new Error(`${key} is not set`);
  return value;
};

const topicArn = env('HOOKONCE_TOPIC_ARN');
const secretId = (JSON.parse(env('HOOKONCE_SECRET_IDS')) as Record<string, string>).standard ?? '';
const sns = new SNSClient({});
const s3 = new S3Client({});
const bucket = env('HOOKONCE_PAYLOAD_BUCKET');
/** Bodies above this go to S3 and travel as a reference, as hookonce's do. */
const INLINE_BYTES = 96 * 1024;
const config = new IdempotencyConfig({ eventKeyJmesPath: 'id' });
const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: env('HOOKONCE_DELIVERIES_TABLE'),
  keyAttr: 'pk',
});

interface Delivery {
  readonly id: string;
  readonly type: string;
  readonly data?: unknown;
  readonly dataref?: string;
}

const publishOnce = makeIdempotent(
  async (delivery: Delivery): Promise<{ id: string }> => {
    const id = `standard:${delivery.id}`;
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: JSON.stringify({
          specversion: '1.0',
          id,
          source: 'hookonce/standard',
          type: `standard.${delivery.type}`,
          time: new Date().toISOString(),
          datacontenttype: 'application/json',
          data: delivery.data,
          dataref: delivery.dataref,
        }),
        MessageAttributes: {
          provider: { DataType: 'String', StringValue: 'standard' },
          type: { DataType: 'String', StringValue: `standard.${delivery.type}` },
        },
      }),
    );
    return { id };
  },
  { persistenceStore, config },
);

const answer = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export const handler = async (
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  config.registerLambdaContext(context);
  const secrets = JSON.parse((await getSecret(secretId, { maxAge: 300 })) as string) as string[];
  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  let data: unknown;
  for (const secret of secrets) {
    try {
      data = new Webhook(secret).verify(body, event.headers as Record<string, string>);
      break;
    } catch {
      // the next active secret may have signed it
    }
  }
  if (data === undefined) return answer(401, { error: 'signature_mismatch' });
  const type = (data as { type?: unknown }).type;
  const id = event.headers['webhook-id'] ?? '';
  let dataref: string | undefined;
  if (Buffer.byteLength(body) > INLINE_BYTES) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: id, Body: body }));
    dataref = `s3://${bucket}/${id}`;
  }
  const result = await publishOnce({
    id,
    type: typeof type === 'string' ? type : 'webhook',
    ...(dataref ? { dataref } : { data }),
  });
  return answer(202, result);
};
