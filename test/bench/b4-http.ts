import { type Host, load, startHost } from './lib/host.ts';
import { type Measured, type Row, row } from './lib/report.ts';
import type { Section, Settings } from './lib/settings.ts';
import { alternate, medianOf } from './lib/stats.ts';

/**
 * B4: the local stack over HTTP (the real `startLocal` runtime: gateway, ingest
 * sandbox, emulators, consumers) against the floor server (bare node:http, the
 * same SDK calls on the same emulators), both in one host process, loaded by
 * autocannon from the bench process at fixed concurrency.
 */
export async function benchHttp(settings: Settings): Promise<Section> {
  const { rounds, seconds, connections } = settings.b4;
  const host: Host = await startHost({ floor: true });
  try {
    const urls: Record<string, string> = { floor: host.floor ?? '', hookonce: host.runtime };
    // Warm both up (JIT, connections, the sandbox's module graph), untimed.
    for (const url of Object.values(urls)) {
      await load({ url, connections, seconds: Math.min(1, seconds) });
      await host.drain();
    }
    const runs = await alternate(rounds, ['floor', 'hookonce'], async (subject) => {
      const result = await load({ url: urls[subject] ?? '', connections, seconds });
      // The consumers catch up before the next trial, so neither inherits the other's backlog.
      await host.drain();
      return result;
    });
    const rps = (subject: string): Measured => ({
      label: subject === 'floor' ? 'floor: node:http + SDK' : 'hookonce local',
      value: medianOf(runs, subject, (r) => r.requestsPerSecond),
      unit: 'req/s',
    });
    const p99 = (subject: string): Measured => ({
      label: subject === 'floor' ? 'floor: node:http + SDK' : 'hookonce local',
      value: medianOf(runs, subject, (r) => r.p99Ms),
      unit: 'ms',
    });
    const rows: Row[] = [
      row({
        id: 'B4',
        measure: `local stack over HTTP, ${connections} connections: throughput`,
        subject: rps('hookonce'),
        reference: rps('floor'),
        target: { op: '>=', value: 0.7 },
      }),
      row({
        id: 'B4',
        measure: `local stack over HTTP, ${connections} connections: p99 latency`,
        subject: p99('hookonce'),
        reference: p99('floor'),
        target: { op: '<=', value: 1 / 0.7 },
      }),
    ];
    return {
      rows,
      notes: [
        `local stack: test/bench/host.ts runs, in one process of its own, \`startLocal({ port: 0 })\` with the default declaration (the standard provider, the example subscriber and its consumer, the sweeper; logging at info, lines discarded) and the floor server (node:http, test/bench/peers/floor.ts's three SDK calls on the runtime's own dynalite and fauxqs, so the floor's events reach the same queue and consumer). autocannon (bench process) at ${connections} connections, ${seconds} s per trial, every request a new signed ${1024}-byte delivery; one untimed warm-up each; ${rounds} rounds alternating floor and hookonce, the consumers drained between trials, medians. The ingest handler runs in the runtime's worker thread, the floor on the host's main thread beside the emulators. p99 target: the 0.7× throughput target read as a cost (≤ 1/0.7 = 1.43×).`,
      ],
    };
  } finally {
    await host.stop();
  }
}
