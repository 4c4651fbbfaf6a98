import { parseArgs } from 'node:util';
import { DEFAULT_INLINE_PAYLOAD_BYTES } from '../../functions/ingest/ingest.ts';
import {
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
  readonly tracing: boolean;
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
  tracing: false,
};

/**
 * What one delivery weighs besides its body: the item's other attributes
 * (keys, status, hashes, kept headers, lease, TTL), the envelope's fields, and
 * the log lines each function and the API write. Estimates from the code.
 */
export const ASSUMPTIONS = {
  /** Deliveries item attributes besides the payload. */
  itemOverheadBytes: 600,
  /** CloudEvents envelope and SNS attributes besides the payload. */
  envelopeOverheadBytes: 700,
  /**
   * The access log line (about 200 bytes) and the request's one line with its
   * metrics (about 560), measured by test/bench/log-bytes.ts, plus 26 bytes an
   * event as CloudWatch Logs counts them; Lambda's own lines are not written.
   */
  ingestLogBytes: 810,
  /** The guard's one line per event with its metric (about 500 to 540 bytes, measured likewise), plus 26. */
  consumerLogBytes: 560,
  /** SQS requests per message: SNS's send, Lambda's receive and its delete (batches of one). */
  sqsRequestsPerMessage: 3,
  /** Lambda polls an idle queue with long polls (20 s) from about five pollers. */
  idlePollsPerQueueMonth: 5 * ((30 * 86_400) / 20),
  /** X-Ray's default sampling: the first request each second, then 5 %. */
  xrayReservoirPerSecond: 1,
  xrayRate: 0.05,
  sweeperMs: 100,
  secondsPerMonth: 30 * 86_400,
} as const;

export interface CostLine {
  readonly service: string;
  readonly what: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
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
}

const KB = 1024;
const GB = 1024 ** 3;

/** Chunks a size is billed in: API Gateway 512 KB, SNS and SQS 64 KB, DynamoDB 1 KB. */
const chunks = (bytes: number, size: number): number => Math.max(1, Math.ceil(bytes / size));

/** Traces X-Ray records of `requests` spread over a month, with its default sampling rule. */
function sampledTraces(requests: number): number {
  const reservoir = ASSUMPTIONS.xrayReservoirPerSecond * ASSUMPTIONS.secondsPerMonth;
  return Math.min(requests, reservoir) + ASSUMPTIONS.xrayRate * Math.max(0, requests - reservoir);
}

/**
 * The monthly bill of a hookonce deployment for `input`, line by line, at the
 * prices of PRICE_TABLE. Per delivery: one API request, one ingest invocation,
 * the claim PutItem and the PUBLISHED UpdateItem (each as many write units as
 * the item has KB) plus two writes of the sparse pending index (added on claim,
 * removed on mark), one SNS publish; per copy sent again: one request, one
 * invocation and a failed conditional PutItem, which DynamoDB bills like a
 * write. Per subscriber and delivery: SQS's requests, one consumer invocation,
 * the guard's claim and done writes. Bodies over 96 KiB go to S3 instead of
 * the item and the envelope.
 */
export function estimateCost(input: CostInput): CostEstimate {
  const n = input.webhooks;
  const k = input.subscribers;
  const copies = n * (1 + input.duplicateRate);
  const inline = input.payloadBytes <= DEFAULT_INLINE_PAYLOAD_BYTES;
  const itemBytes = (inline ? input.payloadBytes : 200) + ASSUMPTIONS.itemOverheadBytes;
  const itemWru = chunks(itemBytes, KB);
  const envelopeBytes = (inline ? input.payloadBytes : 200) + ASSUMPTIONS.envelopeOverheadBytes;
  const messages = n * k;
  const line = (
    service: string,
    what: string,
    quantity: number,
    priceName: PriceName,
    unit: string,
  ): CostLine => ({ service, what, quantity, unit, usd: quantity * price(priceName) });
  /** A Lambda's two lines: its invocations, and its arm64 compute for a memory size and duration. */
  const lambda = (
    service: string,
    what: string,
    invocations: number,
    memoryMb: number,
    ms: number,
  ): CostLine[] => [
    line(service, what, invocations, 'lambdaRequest', 'requests'),
    line(
      service,
      `arm64, ${memoryMb} MB × ${ms} ms`,
      invocations * (memoryMb / 1024) * (ms / 1000),
      'lambdaArmGbSecond',
      'GB-s',
    ),
  ];

  const variable: CostLine[] = [
    line(
      'API Gateway',
      'HTTP API requests, copies included',
      copies * chunks(input.payloadBytes, 512 * KB),
      'apiGatewayHttpRequest',
      'requests',
    ),
    ...lambda('Lambda: ingest', 'invocations', copies, input.ingestMemoryMb, input.ingestMs),
    line(
      'DynamoDB: deliveries',
      `claim + mark (${itemWru} WRU each) + 2 pending-index writes`,
      n * (2 * itemWru + 2),
      'dynamoWriteRequestUnit',
      'WRU',
    ),
    line(
      'DynamoDB: deliveries',
      'failed conditional claims of copies',
      n * input.duplicateRate * itemWru,
      'dynamoWriteRequestUnit',
      'WRU',
    ),
    line(
      'SNS',
      'one publish per delivery',
      n * chunks(envelopeBytes, 64 * KB),
      'snsPublish',
      'publishes',
    ),
    line(
      'SQS',
      `send, receive, delete × ${k} subscriber(s)`,
      messages * ASSUMPTIONS.sqsRequestsPerMessage * chunks(envelopeBytes, 64 * KB),
      'sqsRequest',
      'requests',
    ),
    ...lambda(
      'Lambda: consumers',
      'invocations (one message each)',
      messages,
      input.consumerMemoryMb,
      input.consumerMs,
    ),
    line(
      'DynamoDB: consumer state',
      "the guard's claim + done",
      messages * 2,
      'dynamoWriteRequestUnit',
      'WRU',
    ),
    line(
      'CloudWatch Logs',
      'function logs, EMF metrics, access logs',
      (copies * ASSUMPTIONS.ingestLogBytes + messages * ASSUMPTIONS.consumerLogBytes) / GB,
      'logsIngestedGb',
      'GB',
    ),
  ];
  if (input.tracing) {
    variable.push(
      line(
        'X-Ray',
        'traces (1/s, then 5 %)',
        sampledTraces(copies + messages),
        'xrayTrace',
        'traces',
      ),
    );
  }
  if (!inline) {
    const retentionMonths = (DEFAULT_RETENTION_DAYS + 1) / 30;
    variable.push(
      line('S3', 'large bodies stored', n, 's3Put', 'PUTs'),
      line('S3', 'large bodies read by consumers', messages, 's3Get', 'GETs'),
      line(
        'S3',
        'storage until expiry',
        (n * input.payloadBytes * retentionMonths) / GB,
        's3StorageGbMonth',
        'GB-months',
      ),
    );
  }

  const p = input.providers;
  const sweeps = ASSUMPTIONS.secondsPerMonth / SWEEP_INTERVAL_SECONDS;
  const fixed: CostLine[] = [
    line('KMS', 'the key of the topics and log groups', 1, 'kmsKeyMonth', 'keys'),
    line('Secrets Manager', 'one secret per provider', p, 'secretMonth', 'secrets'),
    line(
      'CloudWatch',
      'alarm metrics',
      // 5xx rate (2), sweeper recoveries (1), errors (2) and parked (1), a signature
      // alarm per provider; per subscriber a DLQ alarm (1), a subscription-DLQ alarm (1)
      // and a consumer-errors alarm (2).
      6 + p + 4 * k,
      'alarmMetricMonth',
      'metrics',
    ),
    line('CloudWatch', 'the dashboard', 1, 'dashboardMonth', 'dashboards'),
    line(
      'CloudWatch',
      'EMF metrics with data',
      // Received, Published, Duplicate, SignatureRejected per provider; effects and
      // duplicates skipped per subscriber. Others appear only when they happen.
      4 * p + 2 * k,
      'customMetricMonth',
      'metrics',
    ),
    line(
      'SQS',
      'idle long polls of the event sources',
      k * ASSUMPTIONS.idlePollsPerQueueMonth,
      'sqsRequest',
      'requests',
    ),
    ...lambda(
      'Lambda: sweeper',
      'one run a minute',
      sweeps,
      SWEEPER_FUNCTION.memorySize,
      ASSUMPTIONS.sweeperMs,
    ),
    line(
      'DynamoDB: deliveries',
      'the sweeper’s queries of every pending shard',
      sweeps * DEFAULT_PENDING_SHARDS,
      'dynamoReadRequestUnit',
      'RRU',
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
  };
}

const count = (value: number): string =>
  value >= 100 || Number.isInteger(value)
    ? Math.round(value).toLocaleString('en-US')
    : value.toLocaleString('en-US', { maximumFractionDigits: 2 });
const usd = (value: number): string =>
  `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The estimate as the command prints it. */
export function formatEstimate(estimate: CostEstimate): string {
  const { input } = estimate;
  const rows = (lines: readonly CostLine[], perMillion: boolean) =>
    lines.map((l) => {
      const share = perMillion && input.webhooks > 0 ? usd(l.usd / (input.webhooks / 1e6)) : '';
      const unit = l.quantity === 1 ? l.unit.replace(/s$/, '') : l.unit;
      return `  ${l.service.padEnd(25)}${l.what.padEnd(47)}${`${count(l.quantity)} ${unit}`.padStart(24)}${usd(l.usd).padStart(11)}${share.padStart(11)}`.trimEnd();
    });
  const width = 2 + 25 + 47 + 24 + 11 + 11;
  const header = `  ${'service'.padEnd(25)}${'what'.padEnd(47)}${'quantity a month'.padStart(24)}${'a month'.padStart(11)}${'per 1M'.padStart(11)}`;
  return [
    `hookonce on AWS: ${count(input.webhooks)} webhooks a month, ${input.subscribers} subscriber(s), ${input.providers} provider(s)`,
    `  bodies of ${count(input.payloadBytes / KB)} KB, ${Math.round(input.duplicateRate * 100)}% sent twice; ingest ${input.ingestMemoryMb} MB × ${input.ingestMs} ms, consumers ${input.consumerMemoryMb} MB × ${input.consumerMs} ms (arm64); X-Ray ${input.tracing ? 'on' : 'off'}`,
    `  prices: ${PRICE_TABLE.region}, list prices as of ${PRICE_TABLE.asOf}, no free tier (infra/cli/prices.ts)`,
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
    tracing: tracingOf(v.tracing, v['no-tracing']),
  };
}

/** `--tracing` or `--no-tracing` (the construct's default), not both. */
function tracingOf(on: boolean | undefined, off: boolean | undefined): boolean {
  if (on && off) throw new UsageError('give --tracing or --no-tracing, not both');
  return on === true;
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
      tracing: { type: 'boolean' },
      'no-tracing': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

const HELP = `Estimates the monthly AWS bill of a hookonce deployment, line by line, from one
price table (infra/cli/prices.ts: us-east-1 list prices, their date and sources).

options:
  -n, --webhooks N       deliveries a month (1000000, 1e6, 250k, 1.5M)    default 1M
  -s, --subscribers K    subscribers receiving every event                 default 1
  -p, --providers P      providers declared                                default 1
      --payload-kb KB    a typical body; over 96 KiB it goes through S3    default 2
      --duplicates R     copies providers send again, per delivery         default 0.05
      --memory MB        the ingest function's memory                      default 256
      --ingest-ms MS     billed time of one ingest invocation              default 50
      --consumer-ms MS   billed time of a consumer, per message            default 30
      --tracing          with X-Ray (the construct's tracing: true)
      --no-tracing       without X-Ray, as deployed by default
      --json             the estimate as JSON

The quantities follow the code: per delivery one API request, one ingest
invocation, the claim and the mark (1 write unit per KB of item each) plus two
writes of the pending index, one SNS publish; a copy sent again costs a request,
an invocation and a failed conditional write. Per subscriber: three SQS
requests, one consumer invocation and the guard's two writes per event.`;

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
    const estimate = estimateCost(input);
    io.out(args.includes('--json') ? JSON.stringify(estimate, null, 2) : formatEstimate(estimate));
    return 0;
  },
};
