import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Acknowledgement } from '../providers/types.ts';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

const JSON_HEADERS = { 'content-type': 'application/json' };

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** Every error answer: `{"error": code, "message": text}`. */
export function problem(
  statusCode: number,
  error: string,
  message: string,
  headers: Record<string, string> = {},
): HttpResponse {
  return json(statusCode, { error, message }, headers);
}

export const accepted = (id: string): HttpResponse => json(202, { id, duplicate: false });
export const duplicate = (id: string): HttpResponse => json(200, { id, duplicate: true });

/** A sender's own acknowledgement of a stored delivery (Verdict's `acknowledgement`). */
export const acknowledged = (ack: Acknowledgement): HttpResponse => ({
  statusCode: ack.statusCode,
  headers: { 'content-type': ack.contentType },
  body: ack.body,
});

export const retryAfter = (seconds: number): Record<string, string> => ({
  'retry-after': String(Math.max(1, Math.ceil(seconds))),
});

/** A 5xx never says more than this. */
export const internalError = (): HttpResponse =>
  problem(
    500,
    'internal_error',
    'hookonce could not process the webhook; the provider should retry',
  );
