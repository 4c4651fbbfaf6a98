import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { consume } from '../../functions/consumers/guard.ts';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import { createIngestHandler, type IngestHandler } from '../../functions/ingest/wiring.ts';
import { emfMetrics, METRIC, METRICS_NAMESPACE, SERVICE } from '../../functions/shared/metrics.ts';
import {
  drainQueue,
  OTHER_SECRET,
  signStandard,
  TEST_SECRET,
  testDeclaration,
  useDynamo,
  useMessaging,
} from '../support/backends.ts';
import { lambdaContext, sqsEvent, sqsRecord, webhookEvent } from '../support/events.ts';
import { emulatorIngestEnvironment } from '../support/ingest-env.ts';

const declaration = testDeclaration('it-observability');
const T0 = Date.UTC(2100, 0, 1);
const clock = { now: () => T0 };

/** What must never be printed: the signing secret (and its key bytes) and the payloads. */
const SECRET_KEY = TEST_SECRET.slice('whsec_'.length);
const PAYLOAD_MARKER = 'card-4242-4242-4242-4242-held-by-the-payload';
const OTHER_PAYLOAD_MARKER = 'iban-DE89-3704-0044-0532-0130-00-other-body';
const LARGE_PAYLOAD_MARKER = 'large-body-of-ssn-078-05-1120';

type Emf = {
  _aws: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
} & Record<string, unknown>;

/**
 * Everything the functions print while `run` goes: stdout and stderr, where
 * Powertools Logger writes (a request's metrics ride on its last line), and the
 * EMF lines of metrics written on their own.
 */
async function capture(
  run: (emf: (line: string) => void) => Promise<void>,
): Promise<{ lines: string[]; emf: Emf[] }> {
  const lines: string[] = [];
  const grab = (chunk: unknown): boolean => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(grab);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(grab);
  try {
    await run((line) => lines.push(line));
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const emf = lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as Emf);
  return { lines, emf };
}

/** The sum of one metric over the EMF documents that declare it with exactly these dimensions. */
function total(emf: Emf[], name: string, dimensions: Record<string, string>): number {
  let sum = 0;
  for (const line of emf) {
    for (const directive of line._aws.CloudWatchMetrics) {
      if (!directive.Metrics.some((m) => m.Name === name)) continue;
      const dims = directive.Dimensions[0] ?? [];
      const same =
        dims.length === Object.keys(dimensions).length &&
        dims.every((d) => line[d] === dimensions[d]);
      if (same && typeof line[name] === 'number') sum += line[name] as number;
    }
  }
  return sum;
}

/** The values of every dimension every document declares: what CloudWatch makes metrics of. */
function dimensionValues(emf: Emf[]): unknown[] {
  return emf.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((d) => (d.Dimensions[0] ?? []).map((k) => line[k])),
  );
}

describe('Observability: the ingest path and the consumer guard', () => {
  const db = useDynamo('dynalite', declaration);
  const messaging = useMessaging(declaration);
  let restoreEnvironment = (): void => undefined;
  let captured: { lines: string[]; emf: Emf[] };
  const answers: number[] = [];

  beforeAll(async () => {
    const { env, restore } = emulatorIngestEnvironment({
      db,
      messaging,
      declaration,
      retentionSeconds: 86_400,
      secrets: { HOOKONCE_SECRET_STANDARD: TEST_SECRET },
    });
    restoreEnvironment = restore;

    // Prepare: the production wiring with its own Powertools Logger at DEBUG, the
    // most it ever prints, and EMF metrics written where the test reads them.
    captured = await capture(async (emf) => {
      const handler: IngestHandler = createIngestHandler(
        { ...env, POWERTOOLS_LOG_LEVEL: 'DEBUG' },
        { clock, metrics: emfMetrics({ service: SERVICE.ingest, write: emf }) },
      );
      const post = async (provider: string, id: string, body: string, secret = TEST_SECRET) => {
        const headers = signStandard({ id, at: T0, body, secret });
        const event = webhookEvent({ provider, headers, body });
        const answer = (await handler(
          event,
          lambdaContext(randomUUID()),
        )) as APIGatewayProxyStructuredResultV2;
        answers.push(answer.statusCode ?? 0);
      };
      const body = JSON.stringify({ type: 'invoice.paid', card: PAYLOAD_MARKER });
      const large = JSON.stringify({
        type: 'invoice.large',
        note: LARGE_PAYLOAD_MARKER.repeat(5_000),
      });

      // Act: every outcome of the ingest path that logs something.
      await post('standard', 'msg_obs_1', body); // 202
      await post('standard', 'msg_obs_1', body); // 200 duplicate
      await post('standard', 'msg_obs_1', JSON.stringify({ other: OTHER_PAYLOAD_MARKER })); // 200, payload changed
      await post('standard', 'msg_obs_2', body, OTHER_SECRET); // 401
      await post('nobody', 'msg_obs_3', body); // 404
      await post('standard', 'msg_obs_4', large); // 202, through S3

      // …and the consumer guard, with its default Powertools logger, fed what was published.
      const queue = messaging.subscribers.all;
      if (!queue) throw new Error('no queue for subscriber "all"');
      const bodies = await drainQueue(messaging.sqs, queue.queueUrl);
      const consumer = consume(async () => undefined, {
        consumer: 'all',
        tableName: db.consumerTable,
        client: db.client,
        clock,
        metrics: emfMetrics({ service: SERVICE.consumer, write: emf }),
      });
      const records = bodies.map((b, i) => sqsRecord(`m${i}`, b));
      await consumer(sqsEvent(...records), lambdaContext(randomUUID()));
      await consumer(sqsEvent(...records), lambdaContext(randomUUID())); // every one a duplicate
      await consumer(sqsEvent(sqsRecord('poison', 'not an envelope')), lambdaContext(randomUUID()));
      expect(bodies.map((b) => (JSON.parse(b) as HookonceEvent).deliveryid).sort()).toEqual([
        'msg_obs_1',
        'msg_obs_4',
      ]);
    });
  });

  afterAll(() => {
    restoreEnvironment();
  });

  it('answers as the HTTP contract says (the scenario ran)', () => {
    expect(answers).toEqual([202, 200, 200, 401, 404, 202]);
  });

  it('prints neither the secret nor any payload in any line, at DEBUG', () => {
    const logs = captured.lines.filter((l) => l.includes('"message"'));
    expect(logs.length).toBeGreaterThan(10);
    expect(logs.some((l) => l.includes('"level":"DEBUG"'))).toBe(true);
    for (const line of captured.lines) {
      for (const forbidden of [
        TEST_SECRET,
        SECRET_KEY,
        OTHER_SECRET.slice('whsec_'.length),
        PAYLOAD_MARKER,
        OTHER_PAYLOAD_MARKER,
        LARGE_PAYLOAD_MARKER,
      ]) {
        expect(line).not.toContain(forbidden);
      }
    }
  });

  it('prints JSON lines with level, message, service and the delivery id and provider once they are known', () => {
    const logs = captured.lines
      .filter((l) => l.startsWith('{') && l.includes('"message"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const ingest = logs.filter((l) => l.service === SERVICE.ingest);
    const accepted = ingest.find((l) => l.message === 'accepted');
    expect(accepted).toMatchObject({
      level: 'INFO',
      provider: 'standard',
      deliveryId: 'msg_obs_1',
      outcome: 'published',
      function_request_id: expect.any(String),
      cold_start: expect.any(Boolean),
    });
    expect(ingest.find((l) => l.message === 'duplicate')).toMatchObject({
      provider: 'standard',
      deliveryId: 'msg_obs_1',
    });
    const consumer = logs.filter((l) => l.service === SERVICE.consumer);
    expect(consumer.find((l) => l.message === 'duplicate skipped')).toMatchObject({
      consumer: 'all',
      provider: 'standard',
      deliveryId: expect.stringMatching(/^msg_obs_/),
      eventId: expect.stringMatching(/^standard:msg_obs_/),
    });
  });

  it('counts each outcome as EMF in the hookonce namespace, by provider and reason', () => {
    const { emf } = captured;
    for (const line of emf) {
      expect(line._aws.CloudWatchMetrics[0]?.Namespace).toBe(METRICS_NAMESPACE);
    }
    const ingest = { service: SERVICE.ingest, provider: 'standard' };
    expect(total(emf, METRIC.received, ingest)).toBe(5);
    expect(total(emf, METRIC.published, ingest)).toBe(2);
    expect(total(emf, METRIC.duplicate, ingest)).toBe(2);
    expect(total(emf, METRIC.payloadChanged, ingest)).toBe(1);
    expect(total(emf, METRIC.rejected, { ...ingest, reason: 'signature_mismatch' })).toBe(1);
    expect(total(emf, METRIC.signatureRejected, ingest)).toBe(1);
    // An unknown provider is counted without its name: the path is the request's choice.
    expect(
      total(emf, METRIC.rejected, { service: SERVICE.ingest, reason: 'unknown_provider' }),
    ).toBe(1);
    // No dimension is a request's choice: the delivery ids are log fields of the line, not dimensions.
    const values = dimensionValues(emf);
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      expect(String(value)).not.toContain('nobody');
      expect(String(value)).not.toContain('msg_obs_');
    }
  });

  it('counts the consumer’s effects, duplicates skipped and failures by subscriber', () => {
    const dims = { service: SERVICE.consumer, subscriber: 'all' };
    expect(total(captured.emf, METRIC.consumerEffects, dims)).toBe(2);
    expect(total(captured.emf, METRIC.consumerDuplicates, dims)).toBe(2);
    expect(total(captured.emf, METRIC.consumerFailures, dims)).toBe(1);
  });
});
