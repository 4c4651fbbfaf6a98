import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { consume } from '../../functions/consumers/guard.ts';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import { startDynalite } from '../../infra/local/emulators.ts';
import { ensureTables } from '../../infra/local/resources.ts';
import { localNames } from '../../infra/names.ts';
import { envelope, lambdaContext, sqsEvent, sqsRecord } from '../support/events.ts';
import {
  benchDeclaration,
  clientConfig,
  discardingLogger,
  discardingMetrics,
  uniqueId,
} from './lib/local.ts';
import { type Measured, type Row, row } from './lib/report.ts';
import type { Section, Settings } from './lib/settings.ts';
import { alternate, median, medianOf } from './lib/stats.ts';
import { IDEMPOTENCY_KEY, powertoolsConsumer } from './peers/powertools-consumer.ts';

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);

/** A client whose write requests (PutItem, UpdateItem, DeleteItem, failed or not) are counted. */
function countingClient(endpoint: string): { client: DynamoDBClient; writes: () => number } {
  const client = new DynamoDBClient(clientConfig(endpoint));
  let writes = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (WRITES.has(context.commandName ?? '')) writes++;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountWrites' },
  );
  return { client, writes: () => writes };
}

type Consumer = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

interface Trial {
  readonly msPerMessage: number;
  readonly writesPerMessage: number;
}

/**
 * B5: the consumer guard (consume() from functions/consumers/guard.ts) against
 * Powertools (processPartialResponse + makeIdempotent with its DynamoDB layer)
 * around the same effect, both on one dynalite: DynamoDB writes and time per
 * message, for new events and for copies of events already done.
 */
export async function benchGuard(settings: Settings): Promise<Section> {
  const { rounds, batches, batchSize } = settings.b5;
  const declaration = benchDeclaration('bench-guard');
  const dynamo = await startDynalite();
  const admin = new DynamoDBClient(clientConfig(dynamo.endpoint));
  const guardClient = countingClient(dynamo.endpoint);
  const peerClient = countingClient(dynamo.endpoint);
  try {
    await ensureTables(admin, declaration);
    const idempotencyTable = 'bench-guard-idempotency';
    await admin.send(
      new CreateTableCommand({
        TableName: idempotencyTable,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: IDEMPOTENCY_KEY, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_KEY, AttributeType: 'S' }],
      }),
    );

    // The same effect for both: count the event, so applying one twice is seen.
    const applied = new Map<string, number>();
    const effect = async (event: HookonceEvent): Promise<void> => {
      applied.set(event.id, (applied.get(event.id) ?? 0) + 1);
    };
    const consumers: Record<string, { handler: Consumer; writes: () => number }> = {
      hookonce: {
        handler: consume(effect, {
          client: guardClient.client,
          tableName: localNames(declaration).consumerTable,
          consumer: 'bench',
          retentionSeconds: 7 * 24 * 3600,
          log: discardingLogger('hookonce-consumer'),
          metrics: discardingMetrics('hookonce-consumer'),
        }) as unknown as Consumer,
        writes: guardClient.writes,
      },
      powertools: {
        handler: powertoolsConsumer({
          client: peerClient.client,
          tableName: idempotencyTable,
          effect,
        }),
        writes: peerClient.writes,
      },
    };

    const batchOf = () =>
      sqsEvent(
        ...Array.from({ length: batchSize }, () => {
          const id = uniqueId('b5');
          return sqsRecord(uniqueId('message'), JSON.stringify(envelope(id)));
        }),
      );

    const trial = async (subject: string, events: SQSEvent[]): Promise<Trial> => {
      const c = consumers[subject];
      if (!c) throw new Error(`no consumer ${subject}`);
      const before = c.writes();
      const perMessage: number[] = [];
      for (const event of events) {
        const context = lambdaContext(uniqueId('invocation'), 30_000);
        const t = performance.now();
        const response = await c.handler(event, context);
        perMessage.push((performance.now() - t) / event.Records.length);
        if (response.batchItemFailures.length > 0)
          throw new Error(`${subject}: ${response.batchItemFailures.length} records failed`);
      }
      const messages = events.length * batchSize;
      return {
        msPerMessage: median(perMessage),
        writesPerMessage: (c.writes() - before) / messages,
      };
    };

    // A warm-up of each, untimed.
    for (const subject of Object.keys(consumers)) await trial(subject, [batchOf(), batchOf()]);

    const fresh = new Map<string, SQSEvent[]>();
    const newRuns = await alternate(rounds, Object.keys(consumers), async (subject, round) => {
      const events = Array.from({ length: batches }, batchOf);
      fresh.set(`${subject}#${round}`, events);
      return trial(subject, events);
    });
    // The same messages again, as SQS redelivers them: every one is already done.
    const duplicateRuns = await alternate(rounds, Object.keys(consumers), (subject, round) =>
      trial(subject, fresh.get(`${subject}#${round}`) ?? []),
    );
    const twice = [...applied.values()].filter((n) => n !== 1).length;
    if (twice > 0) throw new Error(`${twice} events were applied more than once`);

    const rows: Row[] = [];
    for (const [kind, runs] of [
      ['new event', newRuns],
      ['copy of a done event', duplicateRuns],
    ] as const) {
      const m = (subject: string, pick: (t: Trial) => number, unit: Measured['unit']) => ({
        label: subject === 'hookonce' ? 'hookonce guard' : 'peer: Powertools makeIdempotent',
        value: medianOf(runs, subject, pick),
        unit,
      });
      const writes = (s: string) => m(s, (t) => t.writesPerMessage, 'writes/msg');
      const ms = (s: string) => m(s, (t) => t.msPerMessage, 'ms');
      rows.push(
        row({
          id: 'B5',
          measure: `consumer DynamoDB writes per message, ${kind}`,
          subject: writes('hookonce'),
          reference: writes('powertools'),
          target: kind === 'new event' ? { op: '<=', value: 2, on: 'subject' } : undefined,
        }),
        row({
          id: 'B5',
          measure: `consumer time per message, ${kind}`,
          subject: ms('hookonce'),
          reference: ms('powertools'),
          target: { op: '<=', value: 1 },
        }),
      );
    }
    return {
      rows,
      notes: [
        `consumer: batches of ${batchSize} SQS records carrying hookonce envelopes, one batch at a time as one Lambda invocation each; hookonce: \`consume(effect)\` (the exactlyOnce middleware and eachEvent); peer: Powertools \`processPartialResponse\` (BatchProcessor, SQS) with \`makeIdempotent\` keyed on \`powertools_json(body).id\` and \`DynamoDBPersistenceLayer\` (test/bench/peers/powertools-consumer.ts); the same in-memory effect; both on one dynalite. Writes: PutItem, UpdateItem and DeleteItem requests counted by a middleware on each side's own client, failed conditional writes included (they consume capacity too). Time: the median per batch divided by its size, median over ${rounds} rounds of ${batches} batches alternating the two; copies: the same batches sent again. Every event was checked to be applied exactly once.`,
        "the writes target is on hookonce's own figure: at most two per new message (the claim PutItem and the DONE UpdateItem); Powertools also writes twice (PutItem INPROGRESS, UpdateItem COMPLETED).",
      ],
    };
  } finally {
    admin.destroy();
    guardClient.client.destroy();
    peerClient.client.destroy();
    await dynamo.stop();
  }
}
