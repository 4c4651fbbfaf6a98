import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { Bench, type Task } from 'tinybench';
import { ingestEnvironment } from '../../functions/ingest/config.ts';
import { createIngestHandler } from '../../functions/ingest/wiring.ts';
import { INGEST_CLIENT_CONFIG, S3_PATH_STYLE_ENV } from '../../functions/shared/aws.ts';
import { lambdaContext, webhookEvent } from '../support/events.ts';
import {
  BENCH_EVENT_TYPE,
  BENCH_SECRET,
  benchDeclaration,
  discardingLogger,
  discardingMetrics,
  jsonBody,
  pointSdkAt,
  signStandard,
  startBackends,
  uniqueId,
} from './lib/local.ts';
import { type Measured, type Row, row } from './lib/report.ts';
import type { Section, Settings } from './lib/settings.ts';
import { alternate, closedLoop, medianOf } from './lib/stats.ts';
import { createFloor, type FloorDelivery } from './peers/floor.ts';

/** Body size of every B1 delivery. */
const BODY_BYTES = 1024;
/** Deliveries published once at the start and sent again as the provider's retries. */
const DUPLICATE_POOL = 256;

interface Prepared {
  readonly event: APIGatewayProxyEventV2;
  readonly context: Context;
  readonly floor: FloorDelivery;
}

/** One signed delivery, as API Gateway hands it to the handler and as the floor takes it. */
function prepare(deliveryId: string): Prepared {
  const body = jsonBody(BODY_BYTES, deliveryId);
  const headers = signStandard(deliveryId, body);
  const owner = uniqueId('invocation');
  return {
    event: webhookEvent({ provider: 'standard', headers, body }),
    context: lambdaContext(owner, 10_000),
    floor: { deliveryId, body: Buffer.from(body), headers, owner },
  };
}

type Kind = 'new' | 'duplicate';
const SUBJECTS = ['floor', 'hookonce'] as const;

/**
 * B1: the ingest handler in-process (createIngestHandler, as Lambda runs it) against
 * the floor (peers/floor.ts: the same PutItem, Publish and UpdateItem issued
 * directly), both on the same dynalite and fauxqs in this process, with SDK clients
 * built the same way (INGEST_CLIENT_CONFIG, endpoints from AWS_ENDPOINT_URL_*).
 */
export async function benchIngest(settings: Settings): Promise<Section> {
  const { rounds, timeMs, inFlight, loopMs } = settings.b1;
  const declaration = benchDeclaration('bench-ingest');
  const backends = await startBackends(declaration);
  const restore = pointSdkAt({
    dynamodb: backends.dynamo.endpoint,
    fauxqs: backends.fauxqs.endpoint,
  });
  const retentionSeconds = declaration.retentionDays * 24 * 3600;
  try {
    const handler = createIngestHandler(
      {
        ...ingestEnvironment({
          tableName: backends.resources.deliveriesTable,
          topicArn: backends.resources.topicArn,
          providers: { ...declaration.providers },
          retentionSeconds,
          pendingShards: declaration.pendingShards,
          payloadBucket: backends.resources.payloadBucket,
        }),
        [S3_PATH_STYLE_ENV]: 'true',
        HOOKONCE_SECRET_STANDARD: BENCH_SECRET,
      },
      { log: discardingLogger('hookonce-ingest'), metrics: discardingMetrics('hookonce-ingest') },
    );
    const floor = createFloor({
      dynamodb: new DynamoDBClient(INGEST_CLIENT_CONFIG),
      sns: new SNSClient(INGEST_CLIENT_CONFIG),
      tableName: backends.resources.deliveriesTable,
      topicArn: backends.resources.topicArn,
      provider: 'standard',
      eventType: BENCH_EVENT_TYPE,
      retentionSeconds,
      pendingShards: declaration.pendingShards,
    });

    const send = async (subject: string, p: Prepared, kind: Kind): Promise<void> => {
      if (subject === 'floor') {
        const outcome = await floor(p.floor);
        if (outcome !== (kind === 'new' ? 'published' : 'duplicate'))
          throw new Error(`floor: ${kind} delivery answered ${outcome}`);
        return;
      }
      const response = await handler(p.event, p.context);
      if (response.statusCode !== (kind === 'new' ? 202 : 200))
        throw new Error(
          `hookonce: ${kind} delivery answered ${response.statusCode} ${response.body}`,
        );
    };

    // Deliveries already published: sending them again is what a provider's retry does.
    const published: string[] = [];
    for (let i = 0; i < DUPLICATE_POOL; i++) {
      const id = uniqueId('b1dup');
      await send('hookonce', prepare(id), 'new');
      published.push(id);
    }
    let nextDuplicate = 0;
    const duplicateId = () => published[nextDuplicate++ % published.length] as string;
    const idFor = (kind: Kind) => (kind === 'new' ? uniqueId('b1') : duplicateId());
    await backends.purge();

    // Latency, one delivery at a time: tinybench times each call; the delivery is
    // prepared (signed, turned into an event) in beforeEach, outside the timing.
    const latency = await alternate(rounds, SUBJECTS, async (subject) => {
      const bench = new Bench({ time: timeMs, iterations: 32, warmupTime: 50, throws: true });
      for (const kind of ['new', 'duplicate'] as const) {
        let current: Prepared | undefined;
        bench.add(`${subject} ${kind}`, () => send(subject, current as Prepared, kind), {
          beforeEach() {
            current = prepare(idFor(kind));
          },
        });
      }
      await bench.run();
      await backends.purge();
      return { new: stats(bench.tasks[0]), duplicate: stats(bench.tasks[1]) };
    });

    // Throughput: a closed loop of `inFlight` concurrent deliveries.
    const throughput = await alternate(rounds, SUBJECTS, async (subject) => {
      const result: Record<Kind, number> = { new: 0, duplicate: 0 };
      for (const kind of ['new', 'duplicate'] as const) {
        const items = Array.from({ length: Math.ceil(loopMs * 5) }, () => prepare(idFor(kind)));
        const loop = await closedLoop({
          concurrency: inFlight,
          durationMs: loopMs,
          items,
          send: (p) => send(subject, p, kind),
        });
        result[kind] = loop.opsPerSecond;
        await backends.purge();
      }
      return result;
    });

    const rows: Row[] = [];
    for (const kind of ['new', 'duplicate'] as const) {
      const what = kind === 'new' ? 'new delivery' : 'duplicate';
      for (const [stat, label] of [
        ['p50', 'p50'],
        ['p99', 'p99'],
      ] as const) {
        const m = (subject: string): Measured => ({
          label: subject === 'floor' ? 'floor' : 'hookonce',
          value: medianOf(latency, subject, (r) => r[kind][stat]),
          unit: 'ms',
        });
        rows.push(
          row({
            id: 'B1',
            measure: `ingest latency ${label}, ${what}`,
            subject: m('hookonce'),
            reference: m('floor'),
            target: { op: '<=', value: 1.15 },
          }),
        );
      }
      const t = (subject: string): Measured => ({
        label: subject,
        value: medianOf(throughput, subject, (r) => r[kind]),
        unit: 'ops/s',
      });
      rows.push(
        row({
          id: 'B1',
          measure: `ingest throughput, ${what}, ${inFlight} in flight`,
          subject: t('hookonce'),
          reference: t('floor'),
          target: { op: '>=', value: 1 / 1.15 },
        }),
      );
    }
    return {
      rows,
      notes: [
        `ingest in-process: the handler from createIngestHandler() (middy, the core, its own SDK clients, logging at info and EMF metrics, their lines built and discarded) against the floor, test/bench/peers/floor.ts: the same conditional PutItem, SNS Publish and UpdateItem (PUBLISHED) with the same inputs, issued directly, and nothing else (no signature check, no JSON parse, no middy, no logging). A duplicate is the failed PutItem, plus the consistent GetItem where the emulator returns no item with the failure, for both. Both on one dynalite and one fauxqs in the bench process, ${BODY_BYTES}-byte signed bodies made outside the timing. Latency: tinybench, one delivery at a time, ${timeMs} ms per task; throughput: a closed loop of ${inFlight} deliveries in flight for ${loopMs} ms; ${rounds} rounds alternating floor and hookonce, medians. Throughput targets are the 1.15× cost target read as a rate (≥ 1/1.15 = 0.87×).`,
      ],
    };
  } finally {
    restore();
    await backends.stop();
  }
}

function stats(task: Task | undefined): { p50: number; p99: number } {
  const result = task?.result;
  if (!result || !('latency' in result)) {
    const error = result && 'error' in result ? result.error : undefined;
    throw new Error(`task ${task?.name} did not complete`, { cause: error });
  }
  return { p50: result.latency.p50, p99: result.latency.p99 };
}
