import { type Host, load, startHost } from './lib/host.ts';
import { type Row, row } from './lib/report.ts';
import type { Section, Settings } from './lib/settings.ts';
import { alternate, medianOf } from './lib/stats.ts';

const MB = 1024 * 1024;

/**
 * B6: how cost grows. Throughput of the local runtime over HTTP at 1, 8, 32 and
 * 128 concurrent senders, each against the 1-sender figure; then the memory of
 * a fresh local runtime as deliveries accumulate, against its memory at start.
 */
export async function benchScale(settings: Settings): Promise<Section> {
  const { rounds, seconds, senders, deliveries, checkpoints, connections } = settings.b6;
  const rows: Row[] = [];

  let host: Host = await startHost({ floor: false });
  try {
    await load({ url: host.runtime, connections: 8, seconds: Math.min(1, seconds) });
    await host.drain();
    const names = senders.map(String);
    const runs = await alternate(rounds, names, async (n) => {
      const result = await load({ url: host.runtime, connections: Number(n), seconds });
      await host.drain();
      return result;
    });
    const base = names[0] ?? '1';
    const rps = (n: string) => medianOf(runs, n, (r) => r.requestsPerSecond);
    const p99 = (n: string) => medianOf(runs, n, (r) => r.p99Ms);
    for (const n of names) {
      rows.push(
        row({
          id: 'B6',
          measure: `throughput at ${n} concurrent sender${n === '1' ? '' : 's'} (p99 ${p99(n).toFixed(0)} ms)`,
          subject: { label: `${n} sender${n === '1' ? '' : 's'}`, value: rps(n), unit: 'req/s' },
          reference: { label: `${base} sender`, value: rps(base), unit: 'req/s' },
        }),
      );
    }
  } finally {
    await host.stop();
  }

  host = await startHost({ floor: false });
  try {
    const start = await host.memory();
    let sent = 0;
    for (const checkpoint of checkpoints) {
      while (sent < checkpoint) {
        const amount = Math.min(checkpoint - sent, 5_000);
        const result = await load({ url: host.runtime, connections, amount });
        sent += result.ok;
      }
      const m = await host.memory();
      const label = `after ${checkpoint.toLocaleString('en-US')}`;
      rows.push(
        row({
          id: 'B6',
          measure: `local runtime RSS ${label} deliveries`,
          subject: { label, value: m.rss / MB, unit: 'MB' },
          reference: { label: 'at start', value: start.rss / MB, unit: 'MB' },
        }),
        row({
          id: 'B6',
          measure: `local runtime heap ${label} deliveries`,
          subject: { label, value: m.heapUsed / MB, unit: 'MB' },
          reference: { label: 'at start', value: start.heapUsed / MB, unit: 'MB' },
        }),
      );
    }
  } finally {
    await host.stop();
  }
  return {
    rows,
    notes: [
      `scale: over HTTP, the local runtime alone in test/bench/host.ts (as in B4, no floor), autocannon at ${senders.join(', ')} connections (the concurrent senders), ${seconds} s per trial, ${rounds} round(s) alternating the order, the consumers drained between trials, medians; each against the 1-sender figure (the curve, no target). Memory: a fresh host, ${deliveries.toLocaleString('en-US')} new signed deliveries in all at ${connections} connections (${settings.quick ? 'the quick run sends only these; the full run sends 100,000' : 'the full run'}), measured at start and at ${checkpoints.map((c) => c.toLocaleString('en-US')).join(', ')}, each time once the consumers have caught up and after a forced GC: RSS of the whole process (emulators with every delivery and claim in memory, gateway, pollers, the worker threads of the functions) and the main thread's V8 heap (the emulators' in-memory stores live there).`,
    ],
  };
}
