import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { capacityUnits, REPORTS_CAPACITY } from '../../support/capacity.ts';

/**
 * A counting reverse proxy between hookonce's functions and an emulator: every
 * AWS request the local runtime makes passes through it, so a bench counts the
 * requests AWS would bill without a hook in the code under measure.
 *
 * In front of DynamoDB it also asks each data-plane call for its consumed
 * capacity (`ReturnConsumedCapacity: INDEXES` added to the request) and adds up
 * what the answers report, per table and index, and counts the conditional
 * writes refused (they are billed too, but their answer carries no capacity).
 * In front of fauxqs (SNS, SQS and S3 on one port) it names each call by its
 * protocol: the JSON target of SQS, the query Action of SNS, the method of S3,
 * and counts the messages each ReceiveMessage answered with.
 */
export interface Meter {
  readonly endpoint: string;
  /** Requests by `Service.Operation`, e.g. `DynamoDB.PutItem`, `SQS.ReceiveMessage`, `SNS.Publish`. */
  readonly requests: Map<string, number>;
  /**
   * Write and read capacity units by `table` or `table/index`, and by `Operation
   * table`, where `calls` counts the answers that reported them.
   */
  readonly capacity: Map<string, { write: number; read: number; calls: number }>;
  /** Conditional writes refused, by `Operation table`. */
  readonly conditionFailures: Map<string, number>;
  /** ReceiveMessage calls that returned no message (idle polls), and the messages the others returned. */
  readonly receives: { empty: number; messages: number };
  /** Forget every count (after setting up, before the measured run). */
  reset(): void;
  stop(): Promise<void>;
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** `AmazonSQS.SendMessage` → `SQS.SendMessage`; an SNS query body → `SNS.Publish`; else S3 by method. */
function nameAwsCall(req: IncomingMessage, body: Buffer): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    const [service, operation] = target.split('.');
    return `${service === 'AmazonSQS' ? 'SQS' : service}.${operation}`;
  }
  const type = String(req.headers['content-type'] ?? '');
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const action = new URLSearchParams(body.toString('utf8')).get('Action');
    // SQS speaks JSON (above); the query protocol here is SNS's.
    if (action) return `SNS.${action}`;
  }
  return `S3.${req.method ?? 'GET'}`;
}

export async function startMeter(kind: 'dynamodb' | 'aws', target: string): Promise<Meter> {
  const upstream = new URL(target);
  const requests = new Map<string, number>();
  const capacity = new Map<string, { write: number; read: number; calls: number }>();
  const conditionFailures = new Map<string, number>();
  const receives = { empty: 0, messages: 0 };
  const bump = <K>(map: Map<K, number>, key: K, by = 1) => map.set(key, (map.get(key) ?? 0) + by);
  /** Adds what one answer reports, by table or index, and by operation. */
  const recordDynamo = (operation: string, table: string, status: number, answer: Buffer) => {
    let parsed: { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[]; __type?: string };
    try {
      parsed = JSON.parse(answer.toString('utf8') || '{}');
    } catch {
      return;
    }
    if (status >= 400) {
      if (parsed.__type?.endsWith('ConditionalCheckFailedException')) {
        bump(conditionFailures, `${operation} ${table}`);
      }
      return;
    }
    const isRead = READS.has(operation);
    const add = (key: string, units: number) => {
      const entry = capacity.get(key) ?? { write: 0, read: 0, calls: 0 };
      const n = Number.isFinite(units) ? units : 0;
      if (isRead) entry.read += n;
      else entry.write += n;
      capacity.set(key, entry);
      return entry;
    };
    const consumed = parsed.ConsumedCapacity;
    for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
      const name = c.TableName ?? table;
      const units = capacityUnits(c);
      add(name, units.table);
      add(`${operation} ${name}`, units.table).calls++;
      for (const [index, n] of Object.entries(units.indexes)) {
        add(`${name}/${index}`, n);
        add(`${operation} ${name}/${index}`, n);
      }
    }
  };

  const server: Server = createServer((req, res) => {
    readAll(req)
      .then(async (raw) => {
        let body = raw;
        let name: string;
        let operation = '';
        let table = '';
        if (kind === 'dynamodb') {
          operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
          name = `DynamoDB.${operation}`;
          if (REPORTS_CAPACITY.has(operation)) {
            const input = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
            table = String(input.TableName ?? '');
            input.ReturnConsumedCapacity = 'INDEXES';
            body = Buffer.from(JSON.stringify(input));
          }
        } else {
          name = nameAwsCall(req, raw);
        }
        bump(requests, name);
        const headers = {
          ...req.headers,
          host: upstream.host,
          'content-length': String(body.length),
        };
        const answer = await new Promise<{
          status: number;
          headers: IncomingMessage['headers'];
          body: Buffer;
        }>((resolve, reject) => {
          const out = request(
            {
              host: upstream.hostname,
              port: upstream.port,
              method: req.method,
              path: req.url,
              headers,
            },
            (upstreamRes) => {
              readAll(upstreamRes).then(
                (b) =>
                  resolve({
                    status: upstreamRes.statusCode ?? 502,
                    headers: upstreamRes.headers,
                    body: b,
                  }),
                reject,
              );
            },
          );
          out.on('error', reject);
          out.end(body);
        });
        if (kind === 'dynamodb' && operation)
          recordDynamo(operation, table, answer.status, answer.body);
        if (name === 'SQS.ReceiveMessage' && answer.status < 400) {
          const got =
            (JSON.parse(answer.body.toString('utf8') || '{}') as { Messages?: unknown[] }).Messages
              ?.length ?? 0;
          if (got === 0) receives.empty++;
          else receives.messages += got;
        }
        const { 'transfer-encoding': _chunked, ...rest } = answer.headers;
        res.writeHead(answer.status, { ...rest, 'content-length': String(answer.body.length) });
        res.end(answer.body);
      })
      .catch((error: Error) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`meter: ${error.message}`);
      });
  });
  server.keepAliveTimeout = 5_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    capacity,
    conditionFailures,
    receives,
    reset() {
      requests.clear();
      capacity.clear();
      conditionFailures.clear();
      receives.empty = 0;
      receives.messages = 0;
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}
