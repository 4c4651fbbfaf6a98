import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { IngestRequest } from './ingest.ts';

/** Turns an API Gateway HTTP API (payload 2.0) event into the core's request, bytes untouched. */
export function toIngestRequest(event: APIGatewayProxyEventV2, context: Context): IngestRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const body = event.body ?? '';
  return {
    provider: event.pathParameters?.provider ?? '',
    method: event.requestContext?.http?.method ?? 'POST',
    headers,
    rawBody: Buffer.from(body, event.isBase64Encoded ? 'base64' : 'utf8'),
    rawQueryString: event.rawQueryString ?? '',
    rawPath: event.rawPath ?? '',
    domainName: event.requestContext?.domainName ?? headers.host ?? '',
    invocationId: context.awsRequestId,
    remainingTimeMs: context.getRemainingTimeInMillis(),
  };
}
