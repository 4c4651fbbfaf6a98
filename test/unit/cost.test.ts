import { describe, expect, it } from 'vitest';
import { runCli } from '../../infra/cli/cli.ts';
import {
  type CostEstimate,
  type CostInput,
  DEFAULT_COST_INPUT,
  estimateCost,
  parseAmount,
} from '../../infra/cli/cost.ts';
import { PRICE_TABLE, price } from '../../infra/cli/prices.ts';

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

describe('Function: estimateCost', () => {
  it('counts per delivery a request, an invocation, 2 × the item’s write units plus 2 index writes, and a publish', () => {
    // Prepare: 2 KB bodies make a 3 KB item (with its ~600 bytes of attributes).
    const estimate = estimateCost(input({ webhooks: 1_000_000, duplicateRate: 0 }));

    // Assess
    expect(quantity(estimate, 'API Gateway', 'requests')).toBe(1_000_000);
    expect(quantity(estimate, 'Lambda: ingest', 'invocations')).toBe(1_000_000);
    expect(quantity(estimate, 'DynamoDB: deliveries', 'claim + mark')).toBe(8_000_000);
    expect(quantity(estimate, 'DynamoDB: deliveries', 'failed conditional')).toBe(0);
    expect(quantity(estimate, 'SNS', 'publish')).toBe(1_000_000);
    expect(quantity(estimate, 'Lambda: ingest', 'arm64')).toBeCloseTo(1e6 * 0.25 * 0.05);
  });

  it('charges a copy sent again its request, its invocation and a failed conditional write of the item’s size', () => {
    // Act
    const once = estimateCost(input({ duplicateRate: 0 }));
    const twice = estimateCost(input({ duplicateRate: 1 }));

    // Assess
    expect(quantity(twice, 'API Gateway', 'requests')).toBe(
      2 * quantity(once, 'API Gateway', 'requests'),
    );
    expect(quantity(twice, 'DynamoDB: deliveries', 'failed conditional')).toBe(3 * 1_000_000);
    expect(quantity(twice, 'SNS', 'publish')).toBe(quantity(once, 'SNS', 'publish'));
  });

  it('adds, per subscriber, three SQS requests, a consumer invocation and the guard’s two writes per delivery', () => {
    // Act
    const one = estimateCost(input({ subscribers: 1 }));
    const three = estimateCost(input({ subscribers: 3 }));

    // Assess
    expect(quantity(three, 'SQS', 'send, receive, delete')).toBe(9_000_000);
    expect(quantity(three, 'Lambda: consumers', 'invocations')).toBe(3_000_000);
    expect(quantity(three, 'DynamoDB: consumer state', 'claim + done')).toBe(6_000_000);
    const perSubscriber =
      (three.perMillionUsd - one.perMillionUsd) / 2 -
      // logs and traces also grow with the messages
      (3 * price('sqsRequest') +
        price('lambdaRequest') +
        0.25 * 0.03 * price('lambdaArmGbSecond') +
        2 * price('dynamoWriteRequestUnit')) *
        1e6;
    expect(perSubscriber).toBeGreaterThan(0);
    expect(perSubscriber).toBeLessThan(6); // what remains is logs and X-Ray
  });

  it('bills SNS and SQS per 64 KB and API Gateway per 512 KB', () => {
    // Act
    const seventy = estimateCost(input({ payloadBytes: 70 * 1024 }));

    // Assess
    expect(quantity(seventy, 'SNS', 'publish')).toBe(2_000_000);
    expect(quantity(seventy, 'SQS', 'send, receive, delete')).toBe(6_000_000);
    expect(quantity(seventy, 'API Gateway', 'requests')).toBe(1_050_000);
  });

  it('moves bodies over 96 KiB to S3: small items, one publish, S3 requests and storage', () => {
    // Act
    const large = estimateCost(input({ payloadBytes: 600 * 1024, duplicateRate: 0 }));

    // Assess
    expect(quantity(large, 'DynamoDB: deliveries', 'claim + mark')).toBe(4_000_000);
    expect(quantity(large, 'SNS', 'publish')).toBe(1_000_000);
    expect(quantity(large, 'S3', 'stored')).toBe(1_000_000);
    expect(quantity(large, 'S3', 'read by consumers')).toBe(1_000_000);
    expect(quantity(large, 'API Gateway', 'requests')).toBe(2_000_000);
  });

  it('traces everything under one request a second, then 5 %, and nothing with tracing off (the default)', () => {
    // Act
    const low = estimateCost(input({ webhooks: 100_000, duplicateRate: 0, tracing: true }));
    const high = estimateCost(input({ webhooks: 100_000_000, duplicateRate: 0, tracing: true }));
    const off = estimateCost(input({}));

    // Assess
    expect(quantity(low, 'X-Ray', 'traces')).toBe(200_000);
    const seconds = 30 * 86_400;
    expect(quantity(high, 'X-Ray', 'traces')).toBeCloseTo(seconds + 0.05 * (200_000_000 - seconds));
    expect(off.variable.some((l) => l.service === 'X-Ray')).toBe(false);
  });

  it('keeps fixed costs apart from the cost per million', () => {
    // Act
    const none = estimateCost(input({ webhooks: 0 }));
    const million = estimateCost(input({ webhooks: 1_000_000 }));

    // Assess
    expect(none.variableUsd).toBe(0);
    expect(none.fixedUsd).toBeCloseTo(million.fixedUsd);
    expect(million.totalUsd).toBeCloseTo(million.variableUsd + million.fixedUsd);
    expect(million.perMillionUsd).toBeCloseTo(million.variableUsd);
    // Without X-Ray's sampling, which thins out above one request a second, it is linear.
    const untraced = (webhooks: number) => estimateCost(input({ webhooks, tracing: false }));
    expect(untraced(5_000_000).perMillionUsd).toBeCloseTo(untraced(1_000_000).perMillionUsd);
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
    const estimate = estimateCost(input({ webhooks: 2_000_000, subscribers: 2 }));
    expect(out).toContain(`$${estimate.perMillionUsd.toFixed(2)} per million webhooks`);
  });

  it('prints JSON with --json', async () => {
    // Act
    const { code, out } = await cli(['cost', '-n', '1e6', '--no-tracing', '--json']);

    // Assess
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as CostEstimate;
    expect(parsed.input).toMatchObject({ webhooks: 1_000_000, tracing: false });
    expect(parsed.perMillionUsd).toBeCloseTo(estimateCost(parsed.input).perMillionUsd);
  });

  it('adds X-Ray with --tracing, and refuses --tracing with --no-tracing', async () => {
    // Act
    const traced = await cli(['cost', '--tracing', '--json']);
    const both = await cli(['cost', '--tracing', '--no-tracing']);

    // Assess
    expect(traced.code).toBe(0);
    const parsed = JSON.parse(traced.out) as CostEstimate;
    expect(parsed.input.tracing).toBe(true);
    expect(parsed.variable.some((l) => l.service === 'X-Ray')).toBe(true);
    expect(both.code).toBe(2);
    expect(both.err).toContain('not both');
  });

  it('exits 2 with a clear message on a bad amount', async () => {
    // Act
    const { code, err } = await cli(['cost', '--subscribers', '1.5']);

    // Assess
    expect(code).toBe(2);
    expect(err).toContain('--subscribers must be a whole number');
  });

  it('is listed in the overview', async () => {
    // Act
    const { out } = await cli(['--help']);

    // Assess
    expect(out).toMatch(/cost\s+estimate the monthly AWS bill/);
  });
});
