import { request } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type HttpGateway, startHttpGateway } from '../../infra/local/http.ts';

interface Reply {
  status: number;
  contentType: string | undefined;
  body: string;
}

/**
 * POSTs to the gateway with the request target exactly as given: no client-side
 * URL parser gets to re-encode a malformed path before it is sent.
 */
function post(gateway: HttpGateway, path: string, body = '{}'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: gateway.port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('Local HTTP gateway: POST /webhooks/{provider} over real HTTP', () => {
  let gateway: HttpGateway;
  /** The events the gateway handed to the function (a stand-in for the ingest sandbox). */
  const invoked: APIGatewayProxyEventV2[] = [];

  beforeAll(async () => {
    gateway = await startHttpGateway({
      port: 0,
      host: '127.0.0.1',
      invoke: async (event) => {
        invoked.push(event);
        return {
          statusCode: 202,
          headers: { 'content-type': 'application/json' },
          body: '{"accepted":true}',
        };
      },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  beforeEach(() => {
    invoked.length = 0;
  });

  it.each([
    ['an escape cut short', '%E0%A4%A'],
    ['an escape that is not hexadecimal', '%zz'],
    ['bytes that are not UTF-8', '%C3%28'],
  ])(
    'answers 400 malformed_path to a provider segment with %s, without invoking the function',
    async (_, segment) => {
      // Act
      const reply = await post(gateway, `/webhooks/${segment}`);

      // Assess
      expect(reply.status).toBe(400);
      expect(reply.contentType).toBe('application/json');
      const answer = JSON.parse(reply.body) as { error: string; message: string };
      expect(answer).toEqual({ error: 'malformed_path', message: expect.any(String) });
      expect(answer.message).toMatch(/percent-encoding/);
      expect(answer.message).not.toContain(segment);
      expect(invoked).toEqual([]);
    },
  );

  it('still decodes a well-formed escape in the provider name and hands the event to the function', async () => {
    // Act
    const reply = await post(gateway, '/webhooks/my%2Dshop');

    // Assess
    expect(reply.status).toBe(202);
    expect(JSON.parse(reply.body)).toEqual({ accepted: true });
    expect(invoked).toHaveLength(1);
    expect(invoked[0]).toMatchObject({
      rawPath: '/webhooks/my%2Dshop',
      pathParameters: { provider: 'my-shop' },
      body: '{}',
    });
  });

  it('answers 404 to other routes, as API Gateway does', async () => {
    // Act
    const reply = await post(gateway, '/elsewhere/%zz');

    // Assess
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body)).toEqual({ message: 'Not Found' });
    expect(invoked).toEqual([]);
  });
  it('routes GET /webhooks/{provider} to the function with its method, route key and query; other methods and paths get 404', async () => {
    // Act
    const got = await fetch(
      `http://127.0.0.1:${gateway.port}/webhooks/meta?hub.mode=subscribe&hub.challenge=42`,
    );
    await got.arrayBuffer();
    const put = await fetch(`http://127.0.0.1:${gateway.port}/webhooks/meta`, { method: 'PUT' });
    const elsewhere = await fetch(`http://127.0.0.1:${gateway.port}/elsewhere`);

    // Assess
    expect(put.status).toBe(404);
    expect(await put.json()).toEqual({ message: 'Not Found' });
    expect(elsewhere.status).toBe(404);
    await elsewhere.arrayBuffer();
    expect(invoked).toHaveLength(1);
    expect(invoked[0]).toMatchObject({
      routeKey: 'GET /webhooks/{provider}',
      rawPath: '/webhooks/meta',
      rawQueryString: 'hub.mode=subscribe&hub.challenge=42',
      pathParameters: { provider: 'meta' },
      requestContext: { http: { method: 'GET' } },
    });
    expect(invoked[0]?.body).toBeUndefined();
  });
});
