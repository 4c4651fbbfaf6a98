import { randomBytes } from 'node:crypto';
import { ACCESS_LOG_FIELDS } from '../../../infra/constructs/intake.ts';

/**
 * What API Gateway writes for one request with the construct's access log
 * format: each `$context` variable replaced by a value of the length AWS gives
 * it (a request id of API Gateway's shape, its time format, an IPv4 address, a
 * browser-length user agent), so a bench can count the bytes of the line.
 */
export function renderAccessLogLine(request: {
  status: number;
  responseLength: number;
  path: string;
}): string {
  const values: Record<string, string> = {
    '$context.requestId': `${randomBytes(6).toString('base64url').slice(0, 7)}Hcn4FQ=`,
    '$context.requestTime': '02/Dec/2026:11:13:29 +0000',
    '$context.requestTimeEpoch': '1795950809123',
    '$context.httpMethod': 'POST',
    '$context.identity.sourceIp': '54.187.216.72',
    '$context.identity.userAgent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    '$context.routeKey': 'POST /webhooks/{provider}',
    '$context.path': request.path,
    '$context.status': String(request.status),
    '$context.responseLength': String(request.responseLength),
    '$context.responseLatency': '38',
    '$context.integration.status': '200',
    '$context.integration.latency': '35',
    '$context.integrationErrorMessage': '-',
  };
  const line: Record<string, string> = {};
  for (const [key, variable] of Object.entries(ACCESS_LOG_FIELDS)) {
    const value = values[variable];
    if (value === undefined) throw new Error(`no sample value for ${variable} of the access log`);
    line[key] = value;
  }
  return JSON.stringify(line);
}
