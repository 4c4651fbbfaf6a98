/** Small statistics and the alternation every comparison in the bench is run with. */
import { Bench } from 'tinybench';

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear interpolation between the closest ranks (the usual "R-7" quantile). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/**
 * Runs every subject once per round, in alternating order (A B, then B A, …),
 * so drift of a shared, noisy machine falls on both sides alike. Returns each
 * subject's results in round order; quote their median.
 */
export async function alternate<T>(
  rounds: number,
  subjects: readonly string[],
  run: (subject: string, round: number) => Promise<T>,
): Promise<Map<string, T[]>> {
  const results = new Map<string, T[]>(subjects.map((s) => [s, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? subjects : [...subjects].reverse();
    for (const subject of order) results.get(subject)?.push(await run(subject, round));
  }
  return results;
}

/** The median of one field over the rounds of a subject. */
export function medianOf<T>(runs: Map<string, T[]>, subject: string, pick: (run: T) => number) {
  return median((runs.get(subject) ?? []).map(pick));
}

export interface ClosedLoopResult {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly latenciesMs: number[];
}

/**
 * A closed-loop load: `concurrency` senders, each sending its next item as soon
 * as the previous one is answered, until `durationMs` has passed or the items
 * run out. The items are made beforehand so nothing but `send` is measured.
 */
export async function closedLoop<I>(options: {
  concurrency: number;
  durationMs: number;
  items: readonly I[];
  send: (item: I) => Promise<void>;
}): Promise<ClosedLoopResult> {
  const { concurrency, durationMs, items, send } = options;
  let next = 0;
  const latenciesMs: number[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  const sender = async (): Promise<void> => {
    while (performance.now() < deadline && next < items.length) {
      const item = items[next++] as I;
      const t = performance.now();
      await send(item);
      latenciesMs.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const seconds = (performance.now() - started) / 1000;
  return {
    ops: latenciesMs.length,
    seconds,
    opsPerSecond: latenciesMs.length / seconds,
    latenciesMs,
  };
}

/**
 * The tinybench B3 times verifiers with: `timeMs` a task, at least 64 iterations, a
 * short warm-up, the timer's own overhead taken off, a throwing task failing the run.
 */
export const verifierBench = (timeMs: number): Bench =>
  new Bench({
    time: timeMs,
    iterations: 64,
    warmupTime: Math.min(100, timeMs),
    throws: true,
    subtractTimerOverhead: true,
  });
