import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** API Gateway's own limit on a request body. */
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Lambda's limit on a synchronous invocation's payload: the whole event, as JSON. */
export const LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export const ROUTE_KEY = 'POST /webhooks/{provider}';
/** The GET route, for a provider's subscription check (Meta's hub.challenge). */
export const GET_ROUTE_KEY = 'GET /webhooks/{provider}';
const ROUTE = /^\/webhooks\/([^/]+)\/?$/;

/**
 * Content types API Gateway HTTP APIs hand to Lambda as text; any other body
 * arrives base64-encoded with isBase64Encoded: true.
 */
const TEXT_TYPES = [
  /^text\//,
  /^application\/(json|xml|javascript)\b/,
  /^application\/[\w.+-]+\+(json|xml)\b/,
];

export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.toLowerCase();
  return TEXT_TYPES.some((re) => re.test(type));
}

export interface HttpGateway {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export type Invoke = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The local stand-in for the HTTP API: `POST /webhooks/{provider}` (and GET, for
 * a provider's subscription check),
 * turned into a payload-2.0 event for the ingest function, and its answer
 * turned back into HTTP. Anything else gets API Gateway's 404.
 */
export async function startHttpGateway(options: {
  port: number;
  host: string;
  invoke: Invoke;
  onRequest?: (line: { method: string; path: string; status: number; ms: number }) => void;
}): Promise<HttpGateway> {
  const server: Server = createServer((req, res) => {
    const started = performance.now();
    handle(req, res, options.invoke)
      .catch(() => send(res, 500, { message: 'Internal Server Error' }))
      .finally(() =>
        options.onRequest?.({
          method: req.method ?? '',
          path: (req.url ?? '').split('?')[0] ?? '',
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        }),
      );
  });
  server.keepAliveTimeout = 5_000;
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The answer to a path that cannot be decoded; it never repeats the path it was sent. */
export const MALFORMED_PATH = {
  error: 'malformed_path',
  message:
    'the request path has a malformed percent-encoding: a % must be followed by two hexadecimal digits, and the bytes they spell must be UTF-8; encode each path segment (encodeURIComponent) before sending',
} as const;

/** The path's segment, percent-decoded; undefined when it is not valid percent-encoded UTF-8. */
function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The request target as a URL; undefined when it does not parse. */
function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://local');
  } catch {
    return undefined;
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, invoke: Invoke): Promise<void> {
  const url = parseTarget(req.url);
  if (!url) {
    req.resume();
    return send(res, 400, MALFORMED_PATH);
  }
  const match = ROUTE.exec(url.pathname);
  if ((req.method !== 'POST' && req.method !== 'GET') || !match?.[1]) {
    req.resume();
    return send(res, 404, { message: 'Not Found' });
  }
  const provider = decodeSegment(match[1]);
  if (provider === undefined) {
    req.resume();
    return send(res, 400, MALFORMED_PATH);
  }
  const body = await readBody(req, API_GATEWAY_MAX_BODY_BYTES);
  if (body === undefined) return send(res, 413, { message: 'Request Too Large' });

  const event = toEvent(req, url, provider, body);
  // A body API Gateway takes can still be too large for Lambda once it sits in the
  // event (base64 makes binary bodies 4/3 larger): AWS refuses those too.
  if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_MAX_PAYLOAD_BYTES) {
    return send(res, 413, { message: 'Request Too Large' });
  }
  let result: APIGatewayProxyStructuredResultV2;
  try {
    result = await invoke(event);
  } catch {
    // A function error or timeout: API Gateway answers 500 and hides the rest.
    return send(res, 500, { message: 'Internal Server Error' });
  }
  const status = result.statusCode ?? 200;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const payload = result.body === undefined ? '' : result.body;
  res.writeHead(status, headers);
  res.end(result.isBase64Encoded ? Buffer.from(payload, 'base64') : payload);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function toEvent(
  req: IncomingMessage,
  url: URL,
  provider: string,
  body: Buffer,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (name === 'cookie' || !values) continue;
    headers[name] = values.join(',');
  }
  // API Gateway adds these; URL-signing schemes (Twilio) rebuild the public URL from them.
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
  headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
  headers['x-forwarded-proto'] = 'http';
  const cookies = req.headers.cookie?.split(/;\s*/).filter(Boolean);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const text = isTextContentType(headers['content-type']);
  const now = new Date();
  const host = headers.host ?? 'localhost';
  const method = req.method === 'GET' ? 'GET' : 'POST';
  const routeKey = method === 'GET' ? GET_ROUTE_KEY : ROUTE_KEY;
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    pathParameters: { provider },
    body: body.length === 0 ? undefined : text ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !text,
  } as APIGatewayProxyEventV2;
}
