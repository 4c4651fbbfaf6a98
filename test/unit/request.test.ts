import { describe, expect, it } from 'vitest';
import { toIngestRequest } from '../../functions/ingest/request.ts';
import { lambdaContext, webhookEvent } from '../support/events.ts';

describe('Function: toIngestRequest', () => {
  it('carries the method, the path, the query string and the raw bytes of the API Gateway event', () => {
    // Prepare
    const event = webhookEvent({
      provider: 'acme',
      headers: { 'X-Signature': 'abc', 'Content-Type': 'application/json' },
      body: '{"a":1}',
      base64: true,
    });
    event.rawQueryString = 'x=1&y=%20';

    // Act
    const request = toIngestRequest(event, lambdaContext('inv-1'));

    // Assess
    expect(request).toMatchObject({
      provider: 'acme',
      method: 'POST',
      rawPath: '/webhooks/acme',
      rawQueryString: 'x=1&y=%20',
      domainName: 'localhost',
      headers: { 'x-signature': 'abc', 'content-type': 'application/json' },
      invocationId: 'inv-1',
    });
    expect(request.rawBody.toString()).toBe('{"a":1}');
  });

  it('takes the method API Gateway reports, not an assumed POST', () => {
    // Prepare
    const event = webhookEvent({ provider: 'acme', headers: {}, body: '' });
    event.requestContext.http.method = 'PUT';

    // Act
    const request = toIngestRequest(event, lambdaContext('inv-2'));

    // Assess
    expect(request.method).toBe('PUT');
  });
});
