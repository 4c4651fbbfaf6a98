import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_INLINE_PAYLOAD_BYTES } from '../../functions/ingest/ingest.ts';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_BATCHING_WINDOW_SECONDS,
  DEFAULT_PENDING_SHARDS,
  DEFAULT_RETENTION_DAYS,
} from '../../functions/shared/declaration.ts';
import { SWEEP_INTERVAL_SECONDS } from '../../functions/sweeper/config.ts';
import { INGEST_FUNCTION, SWEEPER_FUNCTION } from '../functions.ts';
import { type CliIo, type Command, UsageError } from './command.ts';
import { PRICE_TABLE, type PriceName, price } from './prices.ts';

/** What the estimate is for: a month of traffic and the shape of the deployment. */
export interface CostInput {
  /** Webhook deliveries a month (distinct delivery ids). */
  readonly webhooks: number;
  /** Subscribers receiving every event (each with its queue, DLQ and consumer). */
  readonly subscribers: number;
  /** Providers declared (a secret, an alarm and a few metrics each). */
  readonly providers: number;
  /** A typical body. */
  readonly payloadBytes: number;
  /** Copies a provider sends again, as a share of deliveries (retries after a timeout, redeliveries). */
  readonly duplicateRate: number;
  readonly ingestMemoryMb: number;
  /** Billed duration of one ingest invocation: verify, PutItem, Publish, UpdateItem. */
  readonly ingestMs: number;
  readonly consumerMemoryMb: number;
  /** Billed duration per message of a consumer: the guard's two writes and a small effect. */
  readonly consumerMs: number;
  /** Records per consumer invocation at most (a subscriber's batchSize). */
  readonly batchSize: number;
  /** How long the event source waits to fill a batch (a subscriber's batchingWindowSeconds). */
  readonly batchingWindowSeconds: number;
  /**
   * X-Ray active tracing on the functions (the construct's `tracing: true`), which
   * Lambda samples itself: the first request each second, then 5 %.
   */
  readonly tracing: boolean;
  /** The functions' log level. */
  readonly logLevel: 'info' | 'debug';
}

/** The default configuration (infra/hookonce.config.ts with one subscriber) and its assumptions. */
export const DEFAULT_COST_INPUT: CostInput = {
  webhooks: 1_000_000,
  subscribers: 1,
  providers: 1,
  payloadBytes: 2 * 1024,
  duplicateRate: 0.05,
  ingestMemoryMb: INGEST_FUNCTION.memorySize,
  ingestMs: 50,
  consumerMemoryMb: 256,
  consumerMs: 30,
  batchSize: DEFAULT_BATCH_SIZE,
  batchingWindowSeconds: DEFAULT_BATCHING_WINDOW_SECONDS,
  tracing: false,
  logLevel: 'info',
};

/**
 * What one webhook costs, counted by bench row B7 (test/bench/b7-cost.ts): the
 * local runtime on DynamoDB Local behind counting proxies, `payloadBytes`
 * bodies, one subscriber whose effect does nothing. Written to
 * cost-measured.json by a full `npm run bench`.
 */
export interface MeasuredCost {
  readonly date: string;
  readonly command: string;
  readonly dynamodb: string;
  readonly deliveries: number;
  readonly duplicates: number;
  readonly payloadBytes: number;
  readonly subscribers: number;
  readonly perDelivery: {
    /** Claim, mark and the pending index's two writes. */
    readonly deliveriesWru: number;
    readonly pendingIndexWru: number;
    readonly claimWru: number;
    readonly snsPublishes: number;
    readonly s3Requests: number;
    readonly ingestInvocations: number;
    readonly ingestLogLines: number;
    readonly ingestLogBytes: number;
  };
  readonly perDuplicate: {
    /** Conditional claims refused per copy; each billed like the claim (its answer reports no capacity). */
    readonly failedClaims: number;
    readonly failedClaimWru: number;
    /** Any other write a copy makes. */
    readonly deliveriesWru: number;
    readonly ingestInvocations: number;
    readonly ingestLogLines: number;
    readonly ingestLogBytes: number;
  };
  readonly perRequest: {
    /** API Gateway's access log line, rendered from the construct's format. */
    readonly accessLogBytes: number;
  };
  readonly perMessage: {
    readonly consumerWru: number;
    readonly consumerLogLines: number;
    readonly consumerLogBytes: number;
  };
  /** Per consumer invocation (a batch): SQS receives that returned messages, and deletes. */
  readonly perBatch: {
    readonly messages: number;
    readonly receives: number;
    readonly deletes: number;
  };
  /** Log lines and bytes with the functions at debug level, per request and per event. */
  readonly debug: {
    readonly ingestLogLines: number;
    readonly ingestLogBytes: number;
    readonly consumerLogLines: number;
    readonly consumerLogBytes: number;
  };
}

/**
 * The figures of the last full bench run, kept next to this module (the
 * package ships them); `undefined` if there are none, and the estimate then
 * says every line is assumed.
 */
export function loadMeasuredCost(
  file = join(dirname(fileURLToPath(import.meta.url)), 'cost-measured.json'),
): MeasuredCost | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as MeasuredCost;
  } catch {
    return undefined;
  }
}

/**
 * What stands in for a measurement where there is none: a body of another size
 * than B7's, the billed durations (the bench runs on a laptop, not in Lambda),
 * and what the local runtime cannot show.
 */
export const ASSUMPTIONS = {
  /** Deliveries item attributes besides the body (the kept headers are compressed with it). */
  itemOverheadBytes: 280,
  /**
   * Share of its size a JSON body keeps once compressed with brotli in the item:
   * 33 % over the provider payloads of the compression benchmark (docs/benchmarks.md).
   */
  compressedShare: 0.33,
  /** CloudEvents envelope and SNS attributes besides the payload. */
  envelopeOverheadBytes: 700,
  /** The guard's claim and done, per event. */
  consumerWru: 2,
  /** Ingest lines per request (the outcome line with its metrics). */
  ingestLogBytes: 560,
  /** The access log line. */
  accessLogBytes: 200,
  /** The guard's line per event. */
  consumerLogBytes: 500,
  /** Lambda polls an idle queue with long polls (20 s) from about five pollers. */
  idlePollsPerQueueMonth: 5 * ((30 * 86_400) / 20),
  /** Lambda's sampling of a traced function: the first request each second, then 5 % (not configurable). */
  xrayReservoirPerSecond: 1,
  xrayRate: 0.05,
  /** CloudWatch Logs counts each log event as its bytes plus 26. */
  logEventOverheadBytes: 26,
  sweeperMs: 100,
  secondsPerMonth: 30 * 86_400,
} as const;

/** Where a line's quantity comes from. */
export type Basis = 'measured' | 'modelled' | 'assumed' | 'given';

export interface CostLine {
  readonly service: string;
  readonly what: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
  /**
   * measured: counted by B7; modelled: measured per batch and scaled by a model
   * of batching; assumed: a stated figure (ASSUMPTIONS, or the input's durations);
   * given: follows from the input alone.
   */
  readonly basis: Basis;
}

export interface CostEstimate {
  readonly input: CostInput;
  /** Grows with the traffic. */
  readonly variable: readonly CostLine[];
  /** A month of the deployment, whatever the traffic. */
  readonly fixed: readonly CostLine[];
  readonly variableUsd: number;
  readonly fixedUsd: number;
  readonly totalUsd: number;
  /** The variable cost of one million deliveries. */
  readonly perMillionUsd: number;
  /**
   * The bench run the measured lines come from; `applies` is false when it sent
   * bodies of another size, and its counts then give way to assumptions.
   */
  readonly measured?: {
    readonly date: string;
    readonly command: string;
    readonly payloadBytes: number;
    readonly applies: boolean;
  };
}

const KB = 1024;
const GB = 1024 ** 3;

/** Chunks a size is billed in: API Gateway 512 KB, SNS and SQS 64 KB, DynamoDB 1 KB. */
const chunks = (bytes: number, size: number): number => Math.max(1, Math.ceil(bytes / size));

/** Traces X-Ray records of `requests` spread over a month: Lambda's reservoir, then its rate. */
function sampledTraces(requests: number): number {
  const reservoir = ASSUMPTIONS.xrayReservoirPerSecond * ASSUMPTIONS.secondsPerMonth;
  return Math.min(requests, reservoir) + ASSUMPTIONS.xrayRate * Math.max(0, requests - reservoir);
}

/**
 * Messages per consumer batch: what arrives on a queue while the event source
 * waits (batchingWindowSeconds), at least one, at most batchSize. Traffic spread
 * evenly over the month; bursts fill batches better.
 */
export function batchFill(input: CostInput): number {
  const perSecond = input.webhooks / ASSUMPTIONS.secondsPerMonth;
  return Math.min(input.batchSize, 1 + perSecond * input.batchingWindowSeconds);
}

/**
 * The monthly bill of a hookonce deployment for `input`, line by line, at the
 * prices of PRICE_TABLE, from B7's counts where they apply (`measured`, for a
 * body of the size B7 sent) and stated assumptions elsewhere. Per delivery: one
 * API request, one ingest invocation, the deliveries table's writes (claim,
 * mark, pending index), one SNS publish; per copy sent again: one request, one
 * invocation and a refused conditional claim, billed like a write. Per
 * subscriber and delivery: SNS's send into the queue, the receives and deletes
 * of its batch, a share of a consumer invocation, the guard's writes. Bodies
 * over 96 KiB go to S3 instead of the item and the envelope.
 */
export function estimateCost(input: CostInput, measured?: MeasuredCost): CostEstimate {
  const n = input.webhooks;
  const k = input.subscribers;
  const duplicates = n * input.duplicateRate;
  const copies = n + duplicates;
  const inline = input.payloadBytes <= DEFAULT_INLINE_PAYLOAD_BYTES;
  // Write units depend on the body's size: B7's count serves for bodies of its size
  // only. Requests, the guard's writes and log lines do not.
  const m = measured && measured.payloadBytes === input.payloadBytes ? measured : undefined;
  const itemBytes =
    (inline ? input.payloadBytes * ASSUMPTIONS.compressedShare : 200) +
    ASSUMPTIONS.itemOverheadBytes;
  const itemWru = chunks(itemBytes, KB);
  const envelopeBytes = (inline ? input.payloadBytes : 200) + ASSUMPTIONS.envelopeOverheadBytes;
  const messages = n * k;
  const fill = batchFill(input);
  const batches = messages / fill;
  const debug = input.logLevel === 'debug';
  const line = (
    service: string,
    what: string,
    quantity: number,
    priceName: PriceName,
    unit: string,
    basis: Basis,
  ): CostLine => ({ service, what, quantity, unit, usd: quantity * price(priceName), basis });
  /** A Lambda's two lines: its invocations, and its arm64 compute for a memory size and duration. */
  const lambda = (
    service: string,
    what: string,
    invocations: number,
    basis: Basis,
    compute: { memoryMb: number; ms: number; times: number },
  ): CostLine[] => [
    line(service, what, invocations, 'lambdaRequest', 'requests', basis),
    line(
      service,
      `arm64, ${compute.memoryMb} MB × ${compute.ms} ms`,
      compute.times * (compute.memoryMb / 1024) * (compute.ms / 1000),
      'lambdaArmGbSecond',
      'GB-s',
      'assumed',
    ),
  ];
  const measuredOr = (value: number | undefined, fallback: number) =>
    value === undefined
      ? { value: fallback, basis: 'assumed' as Basis }
      : { value, basis: 'measured' as Basis };

  const deliveriesWru = measuredOr(m?.perDelivery.deliveriesWru, 2 * itemWru + 2);
  const failedWru = measuredOr(
    m && m.perDuplicate.failedClaims * m.perDuplicate.failedClaimWru + m.perDuplicate.deliveriesWru,
    itemWru,
  );
  const consumerWru = measuredOr(measured?.perMessage.consumerWru, ASSUMPTIONS.consumerWru);
  const perBatch = measured?.perBatch ?? { receives: 1, deletes: 1, messages: 1 };
  // Each log event counts its bytes and 26 more. Lambda's own START, END and REPORT
  // lines are not written (its system log level is WARN), so none are counted.
  const event = ASSUMPTIONS.logEventOverheadBytes;
  const ingestLog = measuredOr(
    measured &&
      (debug
        ? copies * (measured.debug.ingestLogBytes + event * measured.debug.ingestLogLines)
        : n * (measured.perDelivery.ingestLogBytes + event * measured.perDelivery.ingestLogLines) +
          duplicates *
            (measured.perDuplicate.ingestLogBytes + event * measured.perDuplicate.ingestLogLines)),
    copies * (ASSUMPTIONS.ingestLogBytes + event),
  );
  const accessLog = measuredOr(
    measured && copies * (measured.perRequest.accessLogBytes + event),
    copies * (ASSUMPTIONS.accessLogBytes + event),
  );
  const consumerLog = measuredOr(
    measured &&
      messages *
        (debug
          ? measured.debug.consumerLogBytes + event * measured.debug.consumerLogLines
          : measured.perMessage.consumerLogBytes + event * measured.perMessage.consumerLogLines),
    messages * (ASSUMPTIONS.consumerLogBytes + event),
  );

  const variable: CostLine[] = [
    line(
      'API Gateway',
      'HTTP API requests, copies included',
      copies * chunks(input.payloadBytes, 512 * KB),
      'apiGatewayHttpRequest',
      'requests',
      'given',
    ),
    ...lambda('Lambda: ingest', 'invocations', copies, 'given', {
      memoryMb: input.ingestMemoryMb,
      ms: input.ingestMs,
      times: copies,
    }),
    line(
      'DynamoDB: deliveries',
      m
        ? 'claim, mark and pending index, per delivery'
        : `claim + mark (${itemWru} WRU each) + 2 pending-index writes`,
      n * deliveriesWru.value,
      'dynamoWriteRequestUnit',
      'WRU',
      deliveriesWru.basis,
    ),
    line(
      'DynamoDB: deliveries',
      'refused conditional claims of copies',
      duplicates * failedWru.value,
      'dynamoWriteRequestUnit',
      'WRU',
      failedWru.basis,
    ),
    line(
      'SNS',
      'one publish per delivery',
      n * (measured?.perDelivery.snsPublishes ?? 1) * chunks(envelopeBytes, 64 * KB),
      'snsPublish',
      'publishes',
      measured ? 'measured' : 'given',
    ),
    line(
      'SQS',
      `SNS's send; receive + delete per batch of ${formatFill(fill)}`,
      (messages + batches * (perBatch.receives + perBatch.deletes)) *
        chunks(envelopeBytes, 64 * KB),
      'sqsRequest',
      'requests',
      'modelled',
    ),
    ...lambda(
      'Lambda: consumers',
      `invocations (batches of ${formatFill(fill)})`,
      batches,
      'modelled',
      { memoryMb: input.consumerMemoryMb, ms: input.consumerMs, times: messages },
    ),
    line(
      'DynamoDB: consumer state',
      "the guard's claim + done",
      messages * consumerWru.value,
      'dynamoWriteRequestUnit',
      'WRU',
      consumerWru.basis,
    ),
    line(
      'CloudWatch Logs',
      `ingest lines (${input.logLevel})`,
      ingestLog.value / GB,
      'logsIngestedGb',
      'GB',
      ingestLog.basis,
    ),
    line(
      'CloudWatch Logs',
      'API access log',
      accessLog.value / GB,
      'logsIngestedGb',
      'GB',
      accessLog.basis,
    ),
    line(
      'CloudWatch Logs',
      `consumer lines (${input.logLevel})`,
      consumerLog.value / GB,
      'logsIngestedGb',
      'GB',
      consumerLog.basis,
    ),
  ];
  if (input.tracing) {
    variable.push(
      line(
        'X-Ray',
        'traces (Lambda samples 1/s, then 5 %)',
        sampledTraces(copies + batches),
        'xrayTrace',
        'traces',
        'given',
      ),
    );
  }
  if (!inline) {
    const retentionMonths = (DEFAULT_RETENTION_DAYS + 1) / 30;
    variable.push(
      line('S3', 'large bodies stored', n, 's3Put', 'PUTs', 'given'),
      line('S3', 'large bodies read by consumers', messages, 's3Get', 'GETs', 'given'),
      line(
        'S3',
        'storage until expiry',
        (n * input.payloadBytes * retentionMonths) / GB,
        's3StorageGbMonth',
        'GB-months',
        'given',
      ),
    );
  }

  const p = input.providers;
  const sweeps = ASSUMPTIONS.secondsPerMonth / SWEEP_INTERVAL_SECONDS;
  const fixed: CostLine[] = [
    line('KMS', 'the key of the topics and log groups', 1, 'kmsKeyMonth', 'keys', 'given'),
    line('Secrets Manager', 'one secret per provider', p, 'secretMonth', 'secrets', 'given'),
    line(
      'CloudWatch',
      'alarm metrics',
      // 5xx rate (2), sweeper recoveries (1), errors (2) and parked (1), a signature
      // alarm per provider; per subscriber a DLQ alarm (1), a subscription-DLQ alarm (1)
      // and a consumer-errors alarm (2).
      6 + p + 4 * k,
      'alarmMetricMonth',
      'metrics',
      'given',
    ),
    line('CloudWatch', 'the dashboard', 1, 'dashboardMonth', 'dashboards', 'given'),
    line(
      'CloudWatch',
      'EMF metrics with data',
      // Received, Published, Duplicate, SignatureRejected per provider; effects and
      // duplicates skipped per subscriber. Others appear only when they happen.
      4 * p + 2 * k,
      'customMetricMonth',
      'metrics',
      'given',
    ),
    line(
      'SQS',
      'idle long polls of the event sources',
      k * ASSUMPTIONS.idlePollsPerQueueMonth,
      'sqsRequest',
      'requests',
      'assumed',
    ),
    ...lambda('Lambda: sweeper', 'one run a minute', sweeps, 'given', {
      memoryMb: SWEEPER_FUNCTION.memorySize,
      ms: ASSUMPTIONS.sweeperMs,
      times: sweeps,
    }),
    line(
      'DynamoDB: deliveries',
      'the sweeper’s queries of every pending shard',
      sweeps * DEFAULT_PENDING_SHARDS,
      'dynamoReadRequestUnit',
      'RRU',
      'given',
    ),
  ];

  const sum = (lines: readonly CostLine[]) => lines.reduce((total, l) => total + l.usd, 0);
  const variableUsd = sum(variable);
  const fixedUsd = sum(fixed);
  return {
    input,
    variable,
    fixed,
    variableUsd,
    fixedUsd,
    totalUsd: variableUsd + fixedUsd,
    perMillionUsd: n > 0 ? variableUsd / (n / 1e6) : 0,
    ...(measured
      ? {
          measured: {
            date: measured.date,
            command: measured.command,
            payloadBytes: measured.payloadBytes,
            applies: m !== undefined,
          },
        }
      : {}),
  };
}

const formatFill = (fill: number): string =>
  Number.isInteger(fill) ? String(fill) : fill.toFixed(1);
/**
 * What the knobs do to the bill of `input`: batchSize and batchingWindowSeconds
 * to SQS requests and consumer invocations, tracing and the log level to the
 * total. Each is the whole estimate again with one knob changed.
 */
export function knobEffects(input: CostInput, measured?: MeasuredCost) {
  const base = estimateCost(input, measured);
  const perMillion = (e: CostEstimate) => e.perMillionUsd;
  const quantity = (e: CostEstimate, service: string) =>
    e.variable
      .filter((l) => l.service === service && l.unit === 'requests')
      .reduce((t, l) => t + l.quantity, 0);
  const batching = [
    [1, 0],
    [10, 0],
    [10, 1],
    [10, 5],
    [10, 20],
  ].map(([batchSize = 1, batchingWindowSeconds = 0]) => {
    const variant = { ...input, batchSize, batchingWindowSeconds };
    const e = estimateCost(variant, measured);
    return {
      batchSize,
      batchingWindowSeconds,
      fill: batchFill(variant),
      sqsRequests: quantity(e, 'SQS'),
      consumerInvocations: quantity(e, 'Lambda: consumers'),
      perMillionUsd: perMillion(e),
    };
  });
  const delta = (change: Partial<CostInput>) =>
    perMillion(estimateCost({ ...input, ...change }, measured)) - perMillion(base);
  return {
    base: perMillion(base),
    batching,
    tracingAddsUsd: delta({ tracing: true }) - delta({ tracing: false }),
    debugLogsAddUsd: delta({ logLevel: 'debug' }) - delta({ logLevel: 'info' }),
  };
}

const count = (value: number): string =>
  value >= 100 || Number.isInteger(value)
    ? Math.round(value).toLocaleString('en-US')
    : value.toLocaleString('en-US', { maximumFractionDigits: 2 });
const usd = (value: number): string =>
  `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

const BASIS_MARK: Record<Basis, string> = {
  measured: 'measured',
  modelled: 'modelled',
  assumed: 'assumed',
  given: '',
};

/** The estimate as the command prints it. */
export function formatEstimate(estimate: CostEstimate): string {
  const { input } = estimate;
  const rows = (lines: readonly CostLine[], perMillion: boolean) =>
    lines.map((l) => {
      const share = perMillion && input.webhooks > 0 ? usd(l.usd / (input.webhooks / 1e6)) : '';
      const unit = l.quantity === 1 ? l.unit.replace(/s$/, '') : l.unit;
      return `  ${l.service.padEnd(25)}${l.what.padEnd(47)}${`${count(l.quantity)} ${unit}`.padStart(24)}${usd(l.usd).padStart(11)}${share.padStart(11)}  ${BASIS_MARK[l.basis]}`.trimEnd();
    });
  const width = 2 + 25 + 47 + 24 + 11 + 11 + 10;
  const header = `  ${'service'.padEnd(25)}${'what'.padEnd(47)}${'quantity a month'.padStart(24)}${'a month'.padStart(11)}${'per 1M'.padStart(11)}  basis`;
  const tracing = input.tracing ? 'X-Ray on (1/s, then 5 %)' : 'X-Ray off';
  return [
    `hookonce on AWS: ${count(input.webhooks)} webhooks a month, ${input.subscribers} subscriber(s), ${input.providers} provider(s)`,
    `  bodies of ${count(input.payloadBytes / KB)} KB, ${Math.round(input.duplicateRate * 100)}% sent twice; ingest ${input.ingestMemoryMb} MB × ${input.ingestMs} ms, consumers ${input.consumerMemoryMb} MB × ${input.consumerMs} ms (arm64)`,
    `  batchSize ${input.batchSize}, batchingWindowSeconds ${input.batchingWindowSeconds}; ${tracing}; log level ${input.logLevel}`,
    `  prices: ${PRICE_TABLE.region}, list prices as of ${PRICE_TABLE.asOf}, no free tier (infra/cli/prices.ts)`,
    estimate.measured?.applies
      ? `  measured: per-webhook counts of ${estimate.measured.command}, ${estimate.measured.date.slice(0, 10)} (bench row B7)`
      : estimate.measured
        ? `  measured: per-webhook counts of ${estimate.measured.command}, ${estimate.measured.date.slice(0, 10)}; it sent ${count(estimate.measured.payloadBytes / KB)} KB bodies, so the deliveries table's write units are assumed`
        : '  measured: no bench figures here (`npm run bench` writes them): the counts are assumed',
    '',
    header,
    '  with the traffic',
    ...rows(estimate.variable, true),
    `  ${'-'.repeat(width - 2)}`,
    `  ${'variable'.padEnd(96)}${usd(estimate.variableUsd).padStart(11)}${usd(estimate.perMillionUsd).padStart(11)}`,
    '',
    '  every month, whatever the traffic',
    ...rows(estimate.fixed, false),
    `  ${'-'.repeat(width - 2)}`,
    `  ${'fixed'.padEnd(96)}${usd(estimate.fixedUsd).padStart(11)}`,
    '',
    `  total ${usd(estimate.totalUsd)} a month; ${usd(estimate.perMillionUsd)} per million webhooks plus ${usd(estimate.fixedUsd)} a month`,
    '',
    '  basis: measured = counted by bench row B7 (DynamoDB Local, counting proxies); modelled =',
    '  measured per batch, batches filled by the batching model (--help); assumed = a stated',
    '  figure (durations, sizes B7 did not send); blank = follows from the inputs.',
  ].join('\n');
}

/** What batchSize, batchingWindowSeconds, tracing and the log level do to the bill. */
export function formatKnobs(knobs: ReturnType<typeof knobEffects>, input: CostInput): string {
  const head = `  ${'batchSize'.padStart(9)}${'window'.padStart(8)}${'per batch'.padStart(11)}${'SQS requests'.padStart(16)}${'consumer invocations'.padStart(22)}${'per 1M'.padStart(10)}`;
  const rows = knobs.batching.map(
    (b) =>
      `  ${String(b.batchSize).padStart(9)}${`${b.batchingWindowSeconds} s`.padStart(8)}${formatFill(b.fill).padStart(11)}${count(b.sqsRequests).padStart(16)}${count(b.consumerInvocations).padStart(22)}${usd(b.perMillionUsd).padStart(10)}`,
  );
  const sign = (value: number) => `${value >= 0 ? '+' : '-'}${usd(Math.abs(value))}`;
  return [
    `what the knobs change, at ${count(input.webhooks)} webhooks a month spread evenly (per subscriber):`,
    head,
    ...rows,
    `  tracing: true (Lambda samples 1/s, then 5 %)  ${sign(knobs.tracingAddsUsd)} per million`,
    `  log level debug instead of info               ${sign(knobs.debugLogsAddUsd)} per million`,
  ].join('\n');
}

/** `1000000`, `1,000,000`, `1e6`, `250k`, `1.5M`. */
export function parseAmount(raw: string, what: string): number {
  const match = /^(\d[\d,_]*(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec(raw.trim());
  const value = match?.[1] ? Number(match[1].replace(/[,_]/g, '')) : Number.NaN;
  const scale = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[match?.[2] ?? ''] ?? 1;
  if (!Number.isFinite(value)) {
    throw new UsageError(
      `${what} must be a number such as 1000000, 1e6, 250k or 1.5M, got "${raw}"`,
    );
  }
  return value * scale;
}

/** `--tracing` or `--no-tracing` (the construct's default), not both. */
function tracingOf(on: boolean | undefined, off: boolean | undefined): boolean {
  if (on && off) throw new UsageError('give --tracing or --no-tracing, not both');
  return on === true;
}

function logLevel(raw: string | undefined): CostInput['logLevel'] {
  if (raw === undefined) return DEFAULT_COST_INPUT.logLevel;
  const level = raw.toLowerCase();
  if (level === 'info' || level === 'debug') return level;
  throw new UsageError(`--log-level must be info or debug, got "${raw}"`);
}

export function parseCostArgs(args: readonly string[]): CostInput | 'help' {
  let parsed: ReturnType<typeof parseCostArgsRaw>;
  try {
    parsed = parseCostArgsRaw(args);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  }
  const number = (
    raw: string | undefined,
    what: string,
    fallback: number,
    min: number,
    max: number,
  ) => {
    if (raw === undefined) return fallback;
    const value = parseAmount(raw, what);
    if (value < min || value > max)
      throw new UsageError(`${what} must be between ${min} and ${max}, got ${raw}`);
    return value;
  };
  const whole = (
    raw: string | undefined,
    what: string,
    fallback: number,
    min: number,
    max: number,
  ) => {
    const value = number(raw, what, fallback, min, max);
    if (!Number.isInteger(value))
      throw new UsageError(`${what} must be a whole number, got ${raw}`);
    return value;
  };
  const d = DEFAULT_COST_INPUT;
  return {
    webhooks: whole(v.webhooks, '--webhooks', d.webhooks, 0, 1e12),
    subscribers: whole(v.subscribers, '--subscribers', d.subscribers, 0, 1000),
    providers: whole(v.providers, '--providers', d.providers, 1, 1000),
    payloadBytes: number(v['payload-kb'], '--payload-kb', d.payloadBytes / KB, 0, 4096) * KB,
    duplicateRate: number(v.duplicates, '--duplicates', d.duplicateRate, 0, 10),
    ingestMemoryMb: whole(v.memory, '--memory', d.ingestMemoryMb, 128, 10240),
    ingestMs: number(v['ingest-ms'], '--ingest-ms', d.ingestMs, 1, 10_000),
    consumerMemoryMb: d.consumerMemoryMb,
    consumerMs: number(v['consumer-ms'], '--consumer-ms', d.consumerMs, 1, 900_000),
    batchSize: whole(v['batch-size'], '--batch-size', d.batchSize, 1, 10),
    batchingWindowSeconds: number(
      v['batching-window'],
      '--batching-window',
      d.batchingWindowSeconds,
      0,
      300,
    ),
    tracing: tracingOf(v.tracing, v['no-tracing']),
    logLevel: logLevel(v['log-level']),
  };
}

function parseCostArgsRaw(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      webhooks: { type: 'string', short: 'n' },
      subscribers: { type: 'string', short: 's' },
      providers: { type: 'string', short: 'p' },
      'payload-kb': { type: 'string' },
      duplicates: { type: 'string' },
      memory: { type: 'string' },
      'ingest-ms': { type: 'string' },
      'consumer-ms': { type: 'string' },
      'batch-size': { type: 'string' },
      'batching-window': { type: 'string' },
      tracing: { type: 'boolean' },
      'no-tracing': { type: 'boolean' },
      'log-level': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

const HELP = `Estimates the monthly AWS bill of a hookonce deployment, line by line, from one
price table (infra/cli/prices.ts: us-east-1 list prices, their date and sources) and
the per-webhook counts of the last full bench run (row B7: requests, write units and
log bytes counted on the local runtime with DynamoDB Local).

options:
  -n, --webhooks N         deliveries a month (1000000, 1e6, 250k, 1.5M)    default 1M
  -s, --subscribers K      subscribers receiving every event                 default 1
  -p, --providers P        providers declared                                default 1
      --payload-kb KB      a typical body; over 96 KiB it goes through S3    default 2
      --duplicates R       copies providers send again, per delivery         default 0.05
      --memory MB          the ingest function's memory                      default 256
      --ingest-ms MS       billed time of one ingest invocation              default 50
      --consumer-ms MS     billed time of a consumer, per message            default 30
      --batch-size N       a subscriber's batchSize (1 to 10)                default 10
      --batching-window S  a subscriber's batchingWindowSeconds              default 0
      --tracing            X-Ray on (the construct's tracing: true)         default off
      --no-tracing         X-Ray off, as deployed by default
      --log-level LEVEL    info or debug                                     default info
      --json               the estimate and the knobs as JSON

Measured lines (B7, 2 KB bodies): the deliveries table's and the guard's write units,
the refused claims of copies, SNS publishes, the bytes each function and the access
log write. Modelled: SQS receives, deletes and consumer invocations, measured per
batch; a batch holds what arrives during the batching window (traffic spread evenly
over the month), at least one message, at most batchSize. Assumed: billed durations,
and counts for body sizes B7 did not send.`;

export const costCommand: Command = {
  name: 'cost',
  summary: 'estimate the monthly AWS bill for a volume of webhooks',
  usage: 'hookonce cost [--webhooks N] [--subscribers K] [options]',
  help: HELP,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const input = parseCostArgs(args);
    if (input === 'help') {
      io.out(`usage: ${this.usage}\n\n${HELP}`);
      return 0;
    }
    const measured = loadMeasuredCost();
    const estimate = estimateCost(input, measured);
    const knobs = knobEffects(input, measured);
    io.out(
      args.includes('--json')
        ? JSON.stringify({ ...estimate, knobs }, null, 2)
        : `${formatEstimate(estimate)}\n\n${formatKnobs(knobs, input)}`,
    );
    return 0;
  },
};
