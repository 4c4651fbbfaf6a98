/**
 * `node test/bench/log-bytes.ts [--json]`: the log lines and bytes one request
 * writes, measured. The production wiring (createIngestHandler, the consumer
 * guard's consume(), their own Powertools Logger and EMF metrics, at the
 * default level) runs in this process against dynalite and fauxqs, with a
 * Lambda context and a trace header shaped as on AWS, and everything written to
 * stdout and stderr is captured per call: a new delivery, the same delivery
 * again (a duplicate), a consumer's effect of it and its copy of it again, with
 * an effect that logs nothing (the guard's own lines) and with the repository's
 * example consumer as it ships (functions/consumers/example/handler.ts). The API's access log line is the stage's format rendered with typical
 * values. Lambda's own START/END/REPORT lines are not written by the code and
 * are not counted here.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { consumerEnvironment } from '../../functions/consumers/config.ts';
import { consume, type SqsBatchHandler } from '../../functions/consumers/guard.ts';
import { ingestEnvironment } from '../../functions/ingest/config.ts';
import { createIngestHandler } from '../../functions/ingest/wiring.ts';
import { S3_PATH_STYLE_ENV } from '../../functions/shared/aws.ts';
import { drainQueue } from '../support/backends.ts';
import { sqsEvent, sqsRecord, webhookEvent } from '../support/events.ts';
import {
  AWS_TRACE_HEADER,
  awsShapedContext,
  captureWrites,
  type Written,
} from '../support/log-capture.ts';
import { renderAccessLogLine } from './lib/access-log.ts';
import {
  BENCH_SECRET,
  benchDeclaration,
  jsonBody,
  pointSdkAt,
  signStandard,
  startBackends,
} from './lib/local.ts';

export interface LogBytes {
  readonly ingest: { readonly new: Written; readonly duplicate: Written };
  readonly consumer: { readonly effect: Written; readonly duplicate: Written };
  readonly example: { readonly effect: Written; readonly duplicate: Written };
  readonly accessLogLine: string;
}

/** Runs one delivery through ingest twice and the consumer twice, capturing what each call writes. */
export async function measureLogBytes(): Promise<LogBytes> {
  const declaration = benchDeclaration('payments');
  const backends = await startBackends(declaration);
  const restore = pointSdkAt({
    dynamodb: backends.dynamo.endpoint,
    fauxqs: backends.fauxqs.endpoint,
  });
  const saved = new Map(
    ['_X_AMZN_TRACE_ID', 'POWERTOOLS_METRICS_DISABLED', 'POWERTOOLS_SERVICE_NAME'].map((k) => [
      k,
      process.env[k],
    ]),
  );
  process.env._X_AMZN_TRACE_ID = AWS_TRACE_HEADER;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  try {
    const handler = createIngestHandler({
      ...ingestEnvironment({
        tableName: backends.resources.deliveriesTable,
        topicArn: backends.resources.topicArn,
        providers: { ...declaration.providers },
        retentionSeconds: declaration.retentionDays * 24 * 3600,
        pendingShards: declaration.pendingShards,
        payloadBucket: backends.resources.payloadBucket,
      }),
      // As the construct sets them (infra/constructs/function.ts), at the default level.
      POWERTOOLS_SERVICE_NAME: 'payments-ingest',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_LOGGER_SAMPLE_RATE: '0',
      HOOKONCE_SECRET_STANDARD: BENCH_SECRET,
      [S3_PATH_STYLE_ENV]: 'true',
    });
    const deliveryId = `msg_${randomUUID()}`;
    const body = jsonBody(2048, deliveryId);
    const post = async (): Promise<Written> => {
      const event = webhookEvent({
        provider: 'standard',
        headers: signStandard(deliveryId, body),
        body,
      });
      const written = await captureWrites(
        () =>
          handler(
            event,
            awsShapedContext('Ingest', randomUUID()),
          ) as Promise<APIGatewayProxyStructuredResultV2>,
      );
      if (written.result.statusCode !== 202 && written.result.statusCode !== 200) {
        throw new Error(`ingest answered ${written.result.statusCode}`);
      }
      return written;
    };
    const ingestNew = await post();
    const ingestDuplicate = await post();

    const queue = backends.resources.subscribers.all;
    if (!queue) throw new Error('no queue for subscriber "all"');
    const [message] = await drainQueue(backends.sqs, queue.queueUrl);
    if (!message) throw new Error('the delivery was not published');
    process.env.POWERTOOLS_SERVICE_NAME = 'payments-consumer';
    const consumer = consume(async () => undefined, {
      consumer: 'all',
      tableName: backends.resources.consumerTable,
      client: backends.dynamodb,
    });
    const receive = (handler: SqsBatchHandler) =>
      captureWrites(() =>
        handler(
          sqsEvent(sqsRecord(randomUUID(), message)),
          awsShapedContext('Consumer', randomUUID()),
        ),
      );
    const effect = await receive(consumer);
    const duplicate = await receive(consumer);

    // The example consumer as deployed: its configuration from the environment, read at import.
    const exampleEnv = consumerEnvironment({
      tableName: backends.resources.consumerTable,
      subscriber: 'example',
      retentionSeconds: 86_400,
      payloadBucket: backends.resources.payloadBucket,
    });
    for (const key of Object.keys(exampleEnv)) saved.set(key, process.env[key]);
    Object.assign(process.env, exampleEnv);
    const example = (await import('../../functions/consumers/example/handler.ts')).handler;
    const exampleEffect = await receive(example);
    const exampleDuplicate = await receive(example);
    return {
      ingest: { new: ingestNew, duplicate: ingestDuplicate },
      consumer: { effect, duplicate },
      example: { effect: exampleEffect, duplicate: exampleDuplicate },
      accessLogLine: renderAccessLogLine({
        status: 202,
        responseLength: 64,
        path: '/webhooks/stripe',
      }),
    };
  } finally {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    restore();
    await backends.stop();
  }
}

/** What CloudWatch Logs counts of the lines: each event's bytes plus 26 (PutLogEvents' batch size rule). */
const counted = (w: Written): number => w.bytes + 26 * w.lines.length;

async function main(): Promise<void> {
  const measured = await measureLogBytes();
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(measured, null, 2)}\n`);
    return;
  }
  const row = (what: string, w: Written) =>
    `${what.padEnd(22)} ${String(w.lines.length).padStart(5)} ${String(w.bytes).padStart(7)} ${String(counted(w)).padStart(7)}`;
  const access = Buffer.byteLength(measured.accessLogLine);
  process.stdout.write(
    [
      `${'call'.padEnd(22)} lines   bytes    +26`,
      row('ingest, new delivery', measured.ingest.new),
      row('ingest, duplicate', measured.ingest.duplicate),
      row('consumer, effect', measured.consumer.effect),
      row('consumer, duplicate', measured.consumer.duplicate),
      row('example, effect', measured.example.effect),
      row('example, duplicate', measured.example.duplicate),
      `${'access log line'.padEnd(22)} ${'1'.padStart(5)} ${String(access).padStart(7)} ${String(access + 26).padStart(7)}`,
      '',
      ...[
        ...measured.ingest.new.lines,
        ...measured.ingest.duplicate.lines,
        ...measured.consumer.effect.lines,
        ...measured.consumer.duplicate.lines,
        ...measured.example.effect.lines,
        ...measured.example.duplicate.lines,
        measured.accessLogLine,
      ].map((l) => `${Buffer.byteLength(l)}  ${l}`),
      '',
    ].join('\n'),
  );
}

if (import.meta.main) await main();
