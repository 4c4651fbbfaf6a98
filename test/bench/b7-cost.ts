import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import Stripe from 'stripe';
import type { MeasuredCost } from '../../infra/cli/cost.ts';
import { PROJECT_ROOT, startLocal } from '../../infra/local/runtime.ts';
import { renderAccessLogLine } from './lib/access-log.ts';
import { clientConfig } from './lib/local.ts';
import { type Meter, startMeter } from './lib/meter.ts';
import { type Row, row } from './lib/report.ts';
import type { Section, Settings } from './lib/settings.ts';

/** Where `hookonce cost` reads the figures of the last full B7 run. */
export const MEASURED_COST_FILE = join(PROJECT_ROOT, 'infra/cli/cost-measured.json');

const PAYLOAD_BYTES = 2 * 1024;
const DUPLICATE_RATE = 0.05;
const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const stripe = new Stripe('sk_test_b7_never_calls_the_api').webhooks;

const WORDS =
  'annual team plan seats renewal proration credit invoice customer portal billing address street city region postal country tax exempt reverse charge discount coupon trial usage metered tier flat fee overage support priority onboarding'.split(
    ' ',
  );

/**
 * A Stripe `invoice.paid` event of exactly `bytes` bytes as Stripe sends it:
 * pretty-printed JSON with ids that differ per event (random, as real ids are,
 * so they compress as real ones do), amounts, a line item, an address and a
 * memo of ordinary words filling the rest.
 */
export function stripeEvent(bytes: number, n: number): { id: string; body: string } {
  const rand = () => randomBytes(9).toString('base64url');
  const id = `evt_1Q${rand()}`;
  const amount = 1_000 + ((n * 7_919) % 90_000);
  const line = (i: number) => ({
    id: `il_1Q${rand()}`,
    object: 'line_item',
    amount: amount / 2,
    currency: 'usd',
    description: `${i + 1} × ${WORDS[(n + i) % WORDS.length]} plan (at $${(amount / 200).toFixed(2)} / month)`,
    discountable: true,
    livemode: false,
    period: { end: 1_798_028_802 + n, start: 1_795_436_802 + n },
    proration: false,
    quantity: 1,
    type: 'subscription',
  });
  const event = {
    id,
    object: 'event',
    api_version: '2025-09-30.clover',
    created: 1_795_436_802 + n,
    data: {
      object: {
        id: `in_1Q${rand()}`,
        object: 'invoice',
        account_country: 'US',
        amount_due: amount,
        amount_paid: amount,
        amount_remaining: 0,
        attempt_count: 1,
        attempted: true,
        billing_reason: 'subscription_cycle',
        collection_method: 'charge_automatically',
        currency: 'usd',
        customer: `cus_${rand()}`,
        customer_address: {
          city: 'Springfield',
          country: 'US',
          line1: `${100 + (n % 800)} Main Street`,
          postal_code: String(10_000 + (n % 89_999)),
          state: 'IL',
        },
        customer_email: `customer${n}@example.com`,
        customer_name: `Customer ${n}`,
        hosted_invoice_url: `https://invoice.stripe.com/i/acct_1Q${rand()}/live_${rand()}${rand()}`,
        lines: {
          object: 'list',
          data: [line(0)],
          has_more: false,
          total_count: 1,
          url: `/v1/invoices/in_1Q${rand()}/lines`,
        },
        livemode: false,
        number: `HOOK-${String(n).padStart(6, '0')}`,
        paid: true,
        status: 'paid',
        subscription: `sub_1Q${rand()}`,
        subtotal: amount,
        total: amount,
        memo: '',
      },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'invoice.paid',
  };
  const render = () => JSON.stringify(event, null, 2);
  let memo = '';
  for (let i = 0; Buffer.byteLength(render()) < bytes; i++) {
    memo += `${memo ? ' ' : ''}${WORDS[(n * 3 + i * 5) % WORDS.length]}`;
    event.data.object.memo = memo;
  }
  event.data.object.memo = memo.slice(0, memo.length - (Buffer.byteLength(render()) - bytes));
  const body = render();
  if (Buffer.byteLength(body) !== bytes)
    throw new Error(`event is ${body.length} bytes, not ${bytes}`);
  return { id, body };
}

interface Phase {
  readonly requests: number;
  readonly statuses: Map<number, number>;
  readonly ingestLines: { count: number; bytes: number };
  readonly consumerLines: { count: number; bytes: number };
  readonly accessLogBytes: number;
  readonly invocations: Map<string, number>;
  readonly dynamo: Meter;
  readonly aws: Meter;
}

/**
 * B7: what one webhook costs, counted rather than assumed. The local runtime
 * (as `npm start` runs it) on DynamoDB Local, with a counting proxy in front of
 * DynamoDB and another in front of SNS/SQS/S3; one Stripe provider, one
 * subscriber whose effect does nothing (so only hookonce's own work is
 * counted). Phase 1 sends N new 2 KB events and waits for the consumer; phase 2
 * sends 5 % of them again. Per phase: requests and capacity units by
 * operation, refused conditional writes, lines and bytes each function logs,
 * invocations; the access log line API Gateway would write is rendered from
 * the construct's format with each request's values.
 */
export async function benchCost(settings: Settings): Promise<Section> {
  const deliveries = settings.quick ? 100 : 1_000;
  const debugDeliveries = settings.quick ? 20 : 100;
  const main = await runCost({ deliveries, level: 'info' });
  const debug = await runCost({ deliveries: debugDeliveries, level: 'debug' });
  const measured = summarize(main, debug, settings);
  if (!settings.quick) writeFileSync(MEASURED_COST_FILE, `${JSON.stringify(measured, null, 2)}\n`);

  const rows: Row[] = [];
  const perDelivery = measured.perDelivery;
  rows.push(
    row({
      id: 'B7',
      measure: 'deliveries table write units per new delivery (claim, mark, pending index)',
      subject: { label: 'measured', value: perDelivery.deliveriesWru, unit: 'writes/msg' },
      reference: {
        label: 'floor: claim, mark, 2 index writes, 1 KB items',
        value: 4,
        unit: 'writes/msg',
      },
      target: { op: '<=', value: 1 },
    }),
    row({
      id: 'B7',
      measure: 'consumer table write units per event (guard claim and done)',
      subject: { label: 'measured', value: measured.perMessage.consumerWru, unit: 'writes/msg' },
      reference: { label: 'floor: claim, done, 1 KB items', value: 2, unit: 'writes/msg' },
      target: { op: '<=', value: 1 },
    }),
    row({
      id: 'B7',
      measure: 'log bytes per new delivery (ingest lines + access log line)',
      subject: {
        label: 'measured',
        value: perDelivery.ingestLogBytes + measured.perRequest.accessLogBytes,
        unit: 'bytes',
      },
      reference: { label: 'the body', value: PAYLOAD_BYTES, unit: 'bytes' },
    }),
    row({
      id: 'B7',
      measure: 'log bytes per consumed event',
      subject: { label: 'measured', value: measured.perMessage.consumerLogBytes, unit: 'bytes' },
      reference: { label: 'the body', value: PAYLOAD_BYTES, unit: 'bytes' },
    }),
  );
  return {
    rows,
    notes: [
      `cost: ${deliveries.toLocaleString('en-US')} new Stripe invoice.paid events of ${PAYLOAD_BYTES} bytes (signed with the stripe package) through the local runtime on DynamoDB Local, then ${Math.round(deliveries * DUPLICATE_RATE)} of them again; one subscriber whose effect does nothing; a counting proxy in front of DynamoDB (ReturnConsumedCapacity INDEXES added to each call) and of SNS/SQS/S3. The deliveries table ${perDelivery.deliveriesWru.toFixed(2)} WRU per delivery (of which the pending index ${perDelivery.pendingIndexWru.toFixed(2)}), a copy's refused claim ${measured.perDuplicate.failedClaims.toFixed(2)} per copy, the consumer table ${measured.perMessage.consumerWru.toFixed(2)} WRU per event; ${perDelivery.snsPublishes.toFixed(2)} SNS publish per delivery; ${measured.perBatch.receives.toFixed(2)} receive and ${measured.perBatch.deletes.toFixed(2)} delete calls per consumer invocation (a batch) of ${measured.perBatch.messages.toFixed(2)} messages at this run's arrival rate; logs ${perDelivery.ingestLogBytes.toFixed(0)} bytes in ${perDelivery.ingestLogLines.toFixed(2)} lines per new delivery, ${measured.perDuplicate.ingestLogBytes.toFixed(0)} per copy, ${measured.perMessage.consumerLogBytes.toFixed(0)} in ${measured.perMessage.consumerLogLines.toFixed(2)} lines per consumed event, ${measured.perRequest.accessLogBytes.toFixed(0)} per access log line; at debug level ${measured.debug.ingestLogBytes.toFixed(0)} and ${measured.debug.consumerLogBytes.toFixed(0)}.${settings.quick ? '' : ' Written to infra/cli/cost-measured.json, which `hookonce cost` reads.'}`,
    ],
  };
}

async function runCost(options: { deliveries: number; level: 'info' | 'debug' }): Promise<Run> {
  const meters: Meter[] = [];
  let dynamo: Meter | undefined;
  let aws: Meter | undefined;
  const lines = { ingest: { count: 0, bytes: 0 }, consumer: { count: 0, bytes: 0 } };
  const invocations = new Map<string, number>();
  const previousLevel = process.env.HOOKONCE_LOG_LEVEL;
  process.env.HOOKONCE_LOG_LEVEL = options.level;
  const runtime = await startLocal({
    port: 0,
    dynamodb: 'dynamodb-local',
    output: () => undefined,
    projectRoot: PROJECT_ROOT,
    env: { HOOKONCE_SECRET_STRIPE: SECRET },
    declaration: {
      name: 'cost',
      providers: { stripe: { scheme: 'stripe' } },
      subscribers: { only: { consumer: { entry: 'test/bench/lib/cost-consumer.ts' } } },
    },
    measure: {
      metrics: true,
      async interpose(service, endpoint) {
        const meter = await startMeter(service, endpoint);
        meters.push(meter);
        if (service === 'dynamodb') dynamo = meter;
        else aws = meter;
        return meter.endpoint;
      },
      line(fn, line) {
        const bucket = fn === 'ingest' ? lines.ingest : fn === 'only' ? lines.consumer : undefined;
        if (!bucket) return;
        bucket.count++;
        bucket.bytes += Buffer.byteLength(line);
      },
      invocation(fn) {
        invocations.set(fn, (invocations.get(fn) ?? 0) + 1);
      },
    },
  }).finally(() => {
    if (previousLevel === undefined) delete process.env.HOOKONCE_LOG_LEVEL;
    else process.env.HOOKONCE_LOG_LEVEL = previousLevel;
  });
  const sqs = new SQSClient(clientConfig(runtime.endpoints.sqs));
  try {
    if (!dynamo || !aws) throw new Error('the meters did not start');
    const url = `${runtime.url}/webhooks/stripe`;
    const queue = runtime.resources.subscribers.only?.queueUrl ?? '';
    const events = Array.from({ length: options.deliveries }, (_, i) =>
      stripeEvent(PAYLOAD_BYTES, i),
    );
    const again = events.filter((_, i) => i % Math.round(1 / DUPLICATE_RATE) === 0);

    const phase = async (bodies: readonly { body: string }[]): Promise<Phase> => {
      for (const meter of meters) meter.reset();
      invocations.clear();
      lines.ingest = { count: 0, bytes: 0 };
      lines.consumer = { count: 0, bytes: 0 };
      const statuses = new Map<number, number>();
      let accessLogBytes = 0;
      let next = 0;
      const sender = async () => {
        for (let i = next++; i < bodies.length; i = next++) {
          const body = bodies[i]?.body ?? '';
          const header = stripe.generateTestHeaderString({ payload: body, secret: SECRET });
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'stripe-signature': header },
            body,
          });
          const answer = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          accessLogBytes += Buffer.byteLength(
            renderAccessLogLine({
              status: res.status,
              responseLength: Buffer.byteLength(answer),
              path: '/webhooks/stripe',
            }),
          );
        }
      };
      await Promise.all(Array.from({ length: 8 }, sender));
      await drained(sqs, queue);
      if (!dynamo || !aws) throw new Error('the meters did not start');
      return {
        requests: bodies.length,
        statuses,
        ingestLines: lines.ingest,
        consumerLines: lines.consumer,
        accessLogBytes,
        invocations: new Map(invocations),
        dynamo: snapshot(dynamo),
        aws: snapshot(aws),
      };
    };
    const fresh = await phase(events);
    const copies = await phase(again);
    const { deliveriesTable, consumerTable } = runtime.resources;
    return {
      fresh,
      again: copies,
      tables: { deliveries: deliveriesTable, consumer: consumerTable },
    };
  } finally {
    sqs.destroy();
    await runtime.stop();
    for (const meter of meters) await meter.stop();
  }
}

/** A copy of a meter's counts as they are now. */
function snapshot(meter: Meter): Meter {
  return {
    ...meter,
    requests: new Map(meter.requests),
    capacity: new Map([...meter.capacity].map(([k, v]) => [k, { ...v }])),
    conditionFailures: new Map(meter.conditionFailures),
    receives: { ...meter.receives },
  };
}

/** Until the subscriber's queue holds no message, visible or in flight (polls 100 ms apart). */
async function drained(sqs: SQSClient, queueUrl: string): Promise<void> {
  for (let polls = 0; polls < 6_000; polls++) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const left =
      Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    if (left === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the subscriber's queue did not drain`);
}

/** The two phases of one runtime, and the names of its tables. */
interface Run {
  readonly fresh: Phase;
  readonly again: Phase;
  readonly tables: { readonly deliveries: string; readonly consumer: string };
}

const sumWhere = (capacity: Meter['capacity'], test: (key: string) => boolean) =>
  [...capacity].filter(([k]) => test(k)).reduce((total, [, v]) => total + v.write, 0);

function summarize(main: Run, debug: Run, settings: Settings): MeasuredCost {
  const { fresh, again } = main;
  const { deliveries, consumer } = main.tables;
  const n = fresh.requests;
  const d = again.requests;
  const ok = (phase: Phase, status: number) => phase.statuses.get(status) ?? 0;
  if (ok(fresh, 202) !== n) {
    throw new Error(`phase 1: ${JSON.stringify([...fresh.statuses])}, expected ${n} × 202`);
  }
  if (ok(again, 200) !== d) {
    throw new Error(`phase 2: ${JSON.stringify([...again.statuses])}, expected ${d} × 200`);
  }
  const writes = (phase: Phase, table: string) =>
    sumWhere(phase.dynamo.capacity, (k) => k === table || k.startsWith(`${table}/`));
  const indexWrites = (phase: Phase, table: string) =>
    sumWhere(phase.dynamo.capacity, (k) => k.startsWith(`${table}/`));
  const claims = fresh.dynamo.capacity.get(`PutItem ${deliveries}`);
  const claimWru = (claims?.write ?? 0) / Math.max(1, claims?.calls ?? 0);
  const failed = [...again.dynamo.conditionFailures]
    .filter(([k]) => k.endsWith(` ${deliveries}`))
    .reduce((t, [, v]) => t + v, 0);
  const messages = fresh.aws.receives.messages;
  const receivesWithMessages =
    (fresh.aws.requests.get('SQS.ReceiveMessage') ?? 0) - fresh.aws.receives.empty;
  const batches = fresh.invocations.get('only') ?? 0;
  const deletes =
    (fresh.aws.requests.get('SQS.DeleteMessageBatch') ?? 0) +
    (fresh.aws.requests.get('SQS.DeleteMessage') ?? 0);
  const perLine = (l: { count: number; bytes: number }, by: number) => ({
    lines: l.count / by,
    bytes: l.bytes / by,
  });
  return {
    date: new Date().toISOString(),
    command: `npm run bench${settings.quick ? ' -- --quick' : ''} (B7)`,
    dynamodb: 'DynamoDB Local',
    deliveries: n,
    duplicates: d,
    payloadBytes: PAYLOAD_BYTES,
    subscribers: 1,
    perDelivery: {
      deliveriesWru: writes(fresh, deliveries) / n,
      pendingIndexWru: indexWrites(fresh, deliveries) / n,
      claimWru,
      snsPublishes: (fresh.aws.requests.get('SNS.Publish') ?? 0) / n,
      s3Requests:
        [...fresh.aws.requests]
          .filter(([k]) => k.startsWith('S3.'))
          .reduce((t, [, v]) => t + v, 0) / n,
      ingestInvocations: (fresh.invocations.get('ingest') ?? 0) / n,
      ingestLogLines: perLine(fresh.ingestLines, n).lines,
      ingestLogBytes: perLine(fresh.ingestLines, n).bytes,
    },
    perDuplicate: {
      failedClaims: failed / d,
      failedClaimWru: claimWru,
      deliveriesWru: writes(again, deliveries) / d,
      ingestInvocations: (again.invocations.get('ingest') ?? 0) / d,
      ingestLogLines: perLine(again.ingestLines, d).lines,
      ingestLogBytes: perLine(again.ingestLines, d).bytes,
    },
    perRequest: {
      accessLogBytes: (fresh.accessLogBytes + again.accessLogBytes) / (n + d),
    },
    perMessage: {
      consumerWru: writes(fresh, consumer) / messages,
      consumerLogLines: perLine(fresh.consumerLines, messages).lines,
      consumerLogBytes: perLine(fresh.consumerLines, messages).bytes,
    },
    perBatch: {
      messages: messages / Math.max(1, batches),
      receives: receivesWithMessages / Math.max(1, batches),
      deletes: deletes / Math.max(1, batches),
    },
    debug: {
      ingestLogLines: debug.fresh.ingestLines.count / debug.fresh.requests,
      ingestLogBytes: debug.fresh.ingestLines.bytes / debug.fresh.requests,
      consumerLogLines:
        debug.fresh.consumerLines.count / Math.max(1, debug.fresh.aws.receives.messages),
      consumerLogBytes:
        debug.fresh.consumerLines.bytes / Math.max(1, debug.fresh.aws.receives.messages),
    },
  };
}
