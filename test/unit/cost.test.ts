import { describe, expect, it } from 'vitest';
import { runCli } from '../../infra/cli/cli.ts';
import {
  ASSUMPTIONS,
  batchFill,
  type CostEstimate,
  type CostInput,
  DEFAULT_COST_INPUT,
  estimateCost,
  formatEstimate,
  knobEffects,
  loadMeasuredCost,
  type MeasuredCost,
  parseAmount,
} from '../../infra/cli/cost.ts';
import { PRICE_TABLE } from '../../infra/cli/prices.ts';

const quantity = (estimate: CostEstimate, service: string, what: string): number => {
  const line = [...estimate.variable, ...estimate.fixed].find(
    (l) => l.service === service && l.what.includes(what),
  );
  if (!line) throw new Error(`no line "${service}: ${what}"`);
  return line.quantity;
};

const input = (overrides: Partial<CostInput> = {}): CostInput => ({
  ...DEFAULT_COST_INPUT,
  ...overrides,
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    env: {},
    cwd: process.cwd(),
    out: (text) => {
      out += `${text}\n`;
    },
    err: (text) => {
      err += `${text}\n`;
    },
    fetch,
    now: () => 0,
  });
  return { code, out, err };
}

describe('Module: prices', () => {
  it('names its region, its date and a source and unit for every price', () => {
    expect(PRICE_TABLE.region).toBe('us-east-1');
    expect(PRICE_TABLE.asOf).toMatch(/^\d{4}-\d{2}$/);
    for (const entry of Object.values(PRICE_TABLE.prices)) {
      expect(entry.usd).toBeGreaterThan(0);
      expect(entry.source.length).toBeGreaterThan(10);
      expect(entry.unit.length).toBeGreaterThan(5);
    }
  });
});

/** B7's figures as a full bench run writes them, for a 2 KB body (values chosen for the arithmetic). */
const MEASURED: MeasuredCost = {
  date: '2026-12-02T12:00:00.000Z',
  command: 'npm run bench (B7)',
  dynamodb: 'DynamoDB Local',
  deliveries: 1000,
  duplicates: 50,
  payloadBytes: 2048,
  subscribers: 1,
  perDelivery: {
    deliveriesWru: 4,
    pendingIndexWru: 2,
    claimWru: 1,
    snsPublishes: 1,
    s3Requests: 0,
    ingestInvocations: 1,
    ingestLogLines: 1,
    ingestLogBytes: 500,
  },
  perDuplicate: {
    failedClaims: 1,
    failedClaimWru: 1,
    deliveriesWru: 0,
    ingestInvocations: 1,
    ingestLogLines: 1,
    ingestLogBytes: 400,
  },
  perRequest: { accessLogBytes: 200 },
  perMessage: { consumerWru: 2, consumerLogLines: 1, consumerLogBytes: 300 },
  perBatch: { messages: 2, receives: 1, deletes: 1 },
  debug: { ingestLogLines: 3, ingestLogBytes: 1500, consumerLogLines: 2, consumerLogBytes: 900 },
};

const line = (estimate: CostEstimate, service: string, what: string) => {
  const found = [...estimate.variable, ...estimate.fixed].find(
    (l) => l.service === service && l.what.includes(what),
  );
  if (!found) throw new Error(`no line "${service}: ${what}"`);
  return found;
};

describe('Function: estimateCost', () => {
  it('counts per delivery a request, an invocation, the measured write units and a publish', () => {
    // Act
    const estimate = estimateCost(input({ webhooks: 1_000_000, duplicateRate: 0 }), MEASURED);

    // Assess
    expect(quantity(estimate, 'API Gateway', 'requests')).toBe(1_000_000);
    expect(quantity(estimate, 'Lambda: ingest', 'invocations')).toBe(1_000_000);
    expect(line(estimate, 'DynamoDB: deliveries', 'claim, mark')).toMatchObject({
      quantity: 4_000_000,
      basis: 'measured',
    });
    expect(quantity(estimate, 'DynamoDB: deliveries', 'refused conditional')).toBe(0);
    expect(quantity(estimate, 'SNS', 'publish')).toBe(1_000_000);
    expect(quantity(estimate, 'Lambda: ingest', 'arm64')).toBeCloseTo(1e6 * 0.25 * 0.05);
    expect(line(estimate, 'Lambda: ingest', 'arm64').basis).toBe('assumed');
  });

  it('assumes the write units of a body B7 did not send, and says so, keeping the other measured counts', () => {
    // Act: a 2 KB body compresses into a 1 KB item; 10 KB does not.
    const ten = estimateCost(input({ payloadBytes: 10 * 1024, duplicateRate: 0 }), MEASURED);

    // Assess
    const writes = line(ten, 'DynamoDB: deliveries', 'claim + mark');
    expect(writes.basis).toBe('assumed');
    expect(writes.quantity).toBe(1_000_000 * (2 * 4 + 2));
    expect(line(ten, 'DynamoDB: consumer state', 'claim + done').basis).toBe('measured');
    expect(ten.measured).toMatchObject({ applies: false, payloadBytes: 2048 });
  });

  it('assumes every count when there is no bench run', () => {
    // Act
    const estimate = estimateCost(input());

    // Assess
    expect(estimate.measured).toBeUndefined();
    expect(estimate.variable.some((l) => l.basis === 'measured')).toBe(false);
    expect(formatEstimate(estimate)).toContain('no bench figures here');
  });

  it('charges a copy sent again its request, its invocation and its refused conditional claim', () => {
    // Act
    const once = estimateCost(input({ duplicateRate: 0 }), MEASURED);
    const twice = estimateCost(input({ duplicateRate: 1 }), MEASURED);

    // Assess
    expect(quantity(twice, 'API Gateway', 'requests')).toBe(
      2 * quantity(once, 'API Gateway', 'requests'),
    );
    expect(quantity(twice, 'DynamoDB: deliveries', 'refused conditional')).toBe(1_000_000);
    expect(quantity(twice, 'SNS', 'publish')).toBe(quantity(once, 'SNS', 'publish'));
  });

  it("adds, per subscriber, SNS's send, a receive and a delete per batch, a consumer invocation per batch and the guard's writes", () => {
    // Act: no batching window, so batches of one at an even million a month
    const one = estimateCost(input({ subscribers: 1 }), MEASURED);
    const three = estimateCost(input({ subscribers: 3 }), MEASURED);

    // Assess
    expect(quantity(one, 'SQS', "SNS's send")).toBe(3_000_000);
    expect(quantity(three, 'SQS', "SNS's send")).toBe(9_000_000);
    expect(quantity(three, 'Lambda: consumers', 'invocations')).toBe(3_000_000);
    expect(quantity(three, 'DynamoDB: consumer state', 'claim + done')).toBe(6_000_000);
  });

  it('fills batches with what arrives during the batching window, up to batchSize', () => {
    // Prepare: 2,592,000 webhooks a month is one a second
    const perSecond = input({ webhooks: 2_592_000 });

    // Act
    const windowless = batchFill(perSecond);
    const five = batchFill({ ...perSecond, batchingWindowSeconds: 5 });
    const capped = batchFill({ ...perSecond, batchingWindowSeconds: 60 });
    const estimate = estimateCost({ ...perSecond, batchingWindowSeconds: 5 }, MEASURED);

    // Assess
    expect(windowless).toBe(1);
    expect(five).toBe(6);
    expect(capped).toBe(10);
    expect(quantity(estimate, 'Lambda: consumers', 'invocations')).toBeCloseTo(2_592_000 / 6);
    expect(quantity(estimate, 'SQS', "SNS's send")).toBeCloseTo(2_592_000 * (1 + 2 / 6));
  });

  it('bills SNS and SQS per 64 KB and API Gateway per 512 KB', () => {
    // Act
    const seventy = estimateCost(input({ payloadBytes: 70 * 1024 }), MEASURED);

    // Assess
    expect(quantity(seventy, 'SNS', 'publish')).toBe(2_000_000);
    expect(quantity(seventy, 'SQS', "SNS's send")).toBe(6_000_000);
    expect(quantity(seventy, 'API Gateway', 'requests')).toBe(1_050_000);
  });

  it('moves bodies over 96 KiB to S3: small items, one publish, S3 requests and storage', () => {
    // Act
    const large = estimateCost(input({ payloadBytes: 600 * 1024, duplicateRate: 0 }), MEASURED);

    // Assess
    expect(quantity(large, 'DynamoDB: deliveries', 'claim + mark')).toBe(4_000_000);
    expect(quantity(large, 'SNS', 'publish')).toBe(1_000_000);
    expect(quantity(large, 'S3', 'stored')).toBe(1_000_000);
    expect(quantity(large, 'S3', 'read by consumers')).toBe(1_000_000);
    expect(quantity(large, 'API Gateway', 'requests')).toBe(2_000_000);
  });

  it('counts the measured log bytes per request, per copy and per event, and the debug figures at debug level', () => {
    // Act
    const info = estimateCost(input({ duplicateRate: 0.1 }), MEASURED);
    const debug = estimateCost(input({ duplicateRate: 0.1, logLevel: 'debug' }), MEASURED);

    // Assess
    // Each line counts 26 bytes more, as CloudWatch Logs counts an event.
    const GB = 1024 ** 3;
    expect(quantity(info, 'CloudWatch Logs', 'ingest lines')).toBeCloseTo(
      (1e6 * (500 + 26) + 1e5 * (400 + 26)) / GB,
    );
    expect(quantity(info, 'CloudWatch Logs', 'access log')).toBeCloseTo((1.1e6 * 226) / GB);
    expect(quantity(info, 'CloudWatch Logs', 'consumer lines')).toBeCloseTo(
      (1e6 * (300 + 26)) / GB,
    );
    expect(quantity(debug, 'CloudWatch Logs', 'ingest lines')).toBeCloseTo(
      (1.1e6 * (1500 + 3 * 26)) / GB,
    );
    expect(quantity(debug, 'CloudWatch Logs', 'consumer lines')).toBeCloseTo(
      (1e6 * (900 + 2 * 26)) / GB,
    );
  });

  it("traces nothing by default; with tracing, Lambda's reservoir of one a second and then 5 %", () => {
    // Act
    const off = estimateCost(input(), MEASURED);
    const high = estimateCost(
      input({ webhooks: 100_000_000, duplicateRate: 0, tracing: true }),
      MEASURED,
    );

    // Assess
    expect(off.variable.some((l) => l.service === 'X-Ray')).toBe(false);
    const requests = 200_000_000; // the ingest invocations and the consumer batches
    const reservoir = ASSUMPTIONS.xrayReservoirPerSecond * 30 * 86_400;
    expect(quantity(high, 'X-Ray', 'traces')).toBeCloseTo(
      Math.min(requests, reservoir) + 0.05 * (requests - reservoir),
    );
  });

  it('keeps fixed costs apart from the cost per million, and is linear in the traffic without a window', () => {
    // Act
    const none = estimateCost(input({ webhooks: 0 }), MEASURED);
    const million = estimateCost(input({ webhooks: 1_000_000 }), MEASURED);
    const five = estimateCost(input({ webhooks: 5_000_000 }), MEASURED);

    // Assess
    expect(none.variableUsd).toBe(0);
    expect(none.fixedUsd).toBeCloseTo(million.fixedUsd);
    expect(million.totalUsd).toBeCloseTo(million.variableUsd + million.fixedUsd);
    expect(million.perMillionUsd).toBeCloseTo(million.variableUsd);
    expect(five.perMillionUsd).toBeCloseTo(million.perMillionUsd);
  });
});

describe('Function: knobEffects', () => {
  it('shows batching, tracing and debug logs as whole estimates with one knob changed', () => {
    // Act
    const knobs = knobEffects(input(), MEASURED);

    // Assess
    const base = estimateCost(input(), MEASURED).perMillionUsd;
    expect(knobs.base).toBeCloseTo(base);
    const twenty = knobs.batching.find((b) => b.batchingWindowSeconds === 20);
    expect(twenty?.perMillionUsd).toBeCloseTo(
      estimateCost(input({ batchingWindowSeconds: 20 }), MEASURED).perMillionUsd,
    );
    expect(twenty?.consumerInvocations).toBeLessThan(1_000_000);
    expect(knobs.tracingAddsUsd).toBeCloseTo(
      estimateCost(input({ tracing: true }), MEASURED).perMillionUsd - base,
    );
    expect(knobs.debugLogsAddUsd).toBeGreaterThan(0);
  });
});

describe('Function: parseAmount', () => {
  it.each([
    ['1000000', 1e6],
    ['1,000,000', 1e6],
    ['1e6', 1e6],
    ['250k', 250_000],
    ['1.5M', 1_500_000],
  ])('reads %s as %d', (raw, value) => {
    expect(parseAmount(raw, '--webhooks')).toBe(value);
  });

  it('refuses what is not an amount, naming the option', () => {
    expect(() => parseAmount('lots', '--webhooks')).toThrow(/--webhooks must be a number/);
  });
});

describe('Command: hookonce cost', () => {
  it('prints the estimate for a volume and a number of subscribers, with the price date', async () => {
    // Act
    const { code, out } = await cli(['cost', '--webhooks', '2M', '--subscribers', '2']);

    // Assess
    expect(code).toBe(0);
    expect(out).toContain('2,000,000 webhooks a month, 2 subscriber(s)');
    expect(out).toContain(`list prices as of ${PRICE_TABLE.asOf}`);
    const estimate = estimateCost(
      input({ webhooks: 2_000_000, subscribers: 2 }),
      loadMeasuredCost(),
    );
    expect(out).toContain(`$${estimate.perMillionUsd.toFixed(2)} per million webhooks`);
    expect(out).toContain('what the knobs change');
  });

  it('prints JSON with --json', async () => {
    // Act
    const { code, out } = await cli(['cost', '-n', '1e6', '--tracing', '--json']);

    // Assess
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as CostEstimate;
    expect(parsed.input).toMatchObject({ webhooks: 1_000_000, tracing: true });
    expect(parsed.perMillionUsd).toBeCloseTo(
      estimateCost(parsed.input, loadMeasuredCost()).perMillionUsd,
    );
  });

  it('exits 2 with a clear message on a bad amount', async () => {
    // Act
    const { code, err } = await cli(['cost', '--subscribers', '1.5']);

    // Assess
    expect(code).toBe(2);
    expect(err).toContain('--subscribers must be a whole number');
  });

  it('refuses --tracing with --no-tracing', async () => {
    // Act
    const { code, err } = await cli(['cost', '--tracing', '--no-tracing']);

    // Assess
    expect(code).toBe(2);
    expect(err).toContain('give --tracing or --no-tracing, not both');
  });

  it('exits 2 on a log level it does not know', async () => {
    // Act
    const { code, err } = await cli(['cost', '--log-level', 'trace']);

    // Assess
    expect(code).toBe(2);
    expect(err).toContain('--log-level must be info or debug');
  });

  it('is listed in the overview', async () => {
    // Act
    const { out } = await cli(['--help']);

    // Assess
    expect(out).toMatch(/cost\s+estimate the monthly AWS bill/);
  });
});
