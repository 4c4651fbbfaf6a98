/**
 * The system under test for B4 and B6, in a process of its own (the load
 * generator runs in the bench process): the real local runtime (`startLocal`,
 * as `npm start` runs it, state in memory) and, with `--floor`, the floor server:
 * a bare node:http server that makes the same SDK calls on the same emulators.
 * Prints one JSON line with the URLs, then serves a control endpoint:
 * GET /drain waits until the subscribers' queues are empty; GET /memory drains,
 * collects garbage and answers process.memoryUsage(). Stops on SIGTERM.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { INGEST_CLIENT_CONFIG } from '../../functions/shared/aws.ts';
import { startLocal } from '../../infra/local/runtime.ts';
import { BENCH_EVENT_TYPE, clientConfig } from './lib/local.ts';
import { createFloor } from './peers/floor.ts';

const runtime = await startLocal({ port: 0, output: () => undefined });
const { endpoints, resources, declaration } = runtime;

async function listen(server: Server): Promise<string> {
  server.keepAliveTimeout = 5_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

let floorUrl: string | undefined;
if (process.argv.includes('--floor')) {
  const floor = createFloor({
    dynamodb: new DynamoDBClient({ ...INGEST_CLIENT_CONFIG, ...clientConfig(endpoints.dynamodb) }),
    sns: new SNSClient({ ...INGEST_CLIENT_CONFIG, ...clientConfig(endpoints.sns) }),
    tableName: resources.deliveriesTable,
    topicArn: resources.topicArn,
    provider: 'standard',
    eventType: BENCH_EVENT_TYPE,
    retentionSeconds: declaration.retentionDays * 24 * 3600,
    pendingShards: declaration.pendingShards,
  });
  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        const deliveryId = String(req.headers['webhook-id'] ?? '');
        return floor({
          deliveryId,
          body,
          headers: req.headers as Record<string, string | undefined>,
          owner: randomUUID(),
        }).then((outcome) => {
          res.writeHead(outcome === 'published' ? 202 : 200, {
            'content-type': 'application/json',
          });
          res.end(
            JSON.stringify({ id: `standard:${deliveryId}`, duplicate: outcome === 'duplicate' }),
          );
        });
      })
      .catch(() => {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"error":"dependency_unavailable"}');
      });
  });
  floorUrl = await listen(server);
}

const sqs = new SQSClient(clientConfig(endpoints.sqs));
/**
 * Waits until every subscriber queue is empty (its consumer has caught up); at
 * most about `limitMs`, counted in polls 100 ms apart rather than on the clock.
 */
async function drain(limitMs = 600_000): Promise<number> {
  for (let polls = Math.ceil(limitMs / 100); ; polls--) {
    let left = 0;
    for (const q of Object.values(resources.subscribers)) {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: q.queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      left +=
        Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    }
    if (left === 0 || polls <= 1) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
const control = createServer((req, res) => {
  const answer = async (): Promise<unknown> => {
    const left = await drain();
    if (req.url === '/memory') {
      gc?.();
      await new Promise((r) => setTimeout(r, 50));
      gc?.();
      return { left, ...process.memoryUsage() };
    }
    return { left };
  };
  answer().then(
    (body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    },
    (error: Error) => {
      res.writeHead(500);
      res.end(error.message);
    },
  );
});
const controlUrl = await listen(control);

process.stdout.write(
  `${JSON.stringify({ runtime: runtime.url, floor: floorUrl, control: controlUrl })}\n`,
);
process.on('SIGTERM', () => {
  runtime.stop().finally(() => process.exit(0));
});
