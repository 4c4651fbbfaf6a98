import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';

/** An API Gateway HTTP API (payload 2.0) event for `POST /webhooks/{provider}`. */
export function webhookEvent(options: {
  provider: string;
  headers: Record<string, string>;
  body: string;
  /** Sends the body base64-encoded, as API Gateway does for binary content types. */
  base64?: boolean;
}): APIGatewayProxyEventV2 {
  const path = `/webhooks/${options.provider}`;
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/{provider}',
    rawPath: path,
    rawQueryString: '',
    headers: options.headers,
    pathParameters: { provider: options.provider },
    isBase64Encoded: options.base64 ?? false,
    body: options.base64 ? Buffer.from(options.body).toString('base64') : options.body,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: 'POST',
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'hookonce-test',
      },
      requestId: 'request',
      routeKey: 'POST /webhooks/{provider}',
      stage: '$default',
      time: '01/Jan/2100:00:00:00 +0000',
      timeEpoch: 0,
    },
  };
}

/** A Lambda context; `awsRequestId` is the invocation id, so each invocation needs its own. */
export function lambdaContext(awsRequestId: string, remainingMs = 10_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'hookonce-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:hookonce-test',
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: '/aws/lambda/hookonce-test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** One SQS record as Lambda's event source mapping delivers it. */
export function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'sns',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:hookonce-test',
    awsRegion: 'us-east-1',
  };
}

export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** An envelope as the ingest path publishes it, for consumer tests. */
export function envelope(deliveryId: string, type = 'invoice.paid'): HookonceEvent {
  return {
    specversion: '1.0',
    id: `standard:${deliveryId}`,
    source: 'hookonce/standard',
    type: `standard.${type}`,
    time: '2100-01-01T00:00:00.000Z',
    datacontenttype: 'application/json',
    data: { type, id: deliveryId },
    provider: 'standard',
    deliveryid: deliveryId,
  };
}
