import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import { type LogBytes, measureLogBytes } from '../bench/log-bytes.ts';

type Line = Record<string, unknown> & {
  _aws?: {
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
};

/** The metrics a line carries: each metric's name with its dimensions and value. */
function metricsOf(
  line: Line,
): { name: string; dimensions: Record<string, unknown>; value: unknown }[] {
  return (line._aws?.CloudWatchMetrics ?? []).flatMap((directive) =>
    directive.Metrics.map((m) => ({
      name: m.Name,
      dimensions: Object.fromEntries((directive.Dimensions[0] ?? []).map((d) => [d, line[d]])),
      value: line[m.Name],
    })),
  );
}

/**
 * What one request writes to the function's log group, measured on the
 * production wiring (test/bench/log-bytes.ts): the ingest handler and the
 * consumer guard with their own Powertools Logger and EMF metrics, at the
 * default level, on dynalite and fauxqs.
 */
describe('Log lines: one per request, one per consumer outcome, each carrying its metrics', () => {
  let measured: LogBytes;
  const parse = (lines: readonly string[]) => lines.map((l) => JSON.parse(l) as Line);

  beforeAll(async () => {
    measured = await measureLogBytes();
  });

  it('writes exactly one INFO line for a new delivery, with Received and Published folded in', () => {
    const lines = parse(measured.ingest.new.lines);
    expect(lines).toHaveLength(1);
    const [line] = lines as [Line];
    expect(line).toMatchObject({ level: 'INFO', outcome: 'published', status: 202 });
    expect(line._aws?.CloudWatchMetrics.map((d) => d.Namespace)).toEqual([METRICS_NAMESPACE]);
    const dimensions = { service: 'payments-ingest', provider: 'standard' };
    expect(metricsOf(line)).toEqual([
      { name: METRIC.received, dimensions, value: 1 },
      { name: METRIC.published, dimensions, value: 1 },
    ]);
  });

  it('writes exactly one INFO line for a duplicate, with Received and Duplicate folded in', () => {
    const lines = parse(measured.ingest.duplicate.lines);
    expect(lines).toHaveLength(1);
    const [line] = lines as [Line];
    expect(line).toMatchObject({ level: 'INFO', outcome: 'duplicate', status: 200 });
    const dimensions = { service: 'payments-ingest', provider: 'standard' };
    expect(metricsOf(line)).toEqual([
      { name: METRIC.received, dimensions, value: 1 },
      { name: METRIC.duplicate, dimensions, value: 1 },
    ]);
  });

  it('writes exactly one INFO line per consumer outcome, with its count folded in, the effect’s own fields on it', () => {
    const dimensions = { service: 'payments-consumer', subscriber: 'example' };
    const [applied, ...moreApplied] = parse(measured.example.effect.lines);
    const [skipped, ...moreSkipped] = parse(measured.example.duplicate.lines);
    expect([moreApplied, moreSkipped]).toEqual([[], []]);
    expect(applied).toMatchObject({ level: 'INFO', message: 'effect applied', applied: 1 });
    expect(metricsOf(applied as Line)).toEqual([
      { name: METRIC.consumerEffects, dimensions, value: 1 },
    ]);
    expect(skipped).toMatchObject({ level: 'INFO', message: 'duplicate skipped' });
    expect(metricsOf(skipped as Line)).toEqual([
      { name: METRIC.consumerDuplicates, dimensions, value: 1 },
    ]);
    expect(parse(measured.consumer.effect.lines)).toHaveLength(1);
    expect(parse(measured.consumer.duplicate.lines)).toHaveLength(1);
  });

  it('leaves out what is the same on every line of a log group, and the trace id of an untraced request', () => {
    for (const line of parse([...measured.ingest.new.lines, ...measured.example.effect.lines])) {
      for (const key of [
        'function_arn',
        'function_name',
        'function_memory_size',
        'sampling_rate',
        'xray_trace_id',
      ]) {
        expect(line).not.toHaveProperty(key);
      }
    }
    expect(parse(measured.ingest.new.lines)[0]).toHaveProperty('function_request_id');
  });

  it('counts the bytes of the lines it captured', () => {
    const { lines, bytes } = measured.ingest.new;
    expect(bytes).toBe(Buffer.byteLength(lines.join('')));
  });
});
