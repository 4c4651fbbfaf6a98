/**
 * `npm run bench` (full) and `npm run bench -- --quick` (the smoke run, under a
 * minute). `--only B1,B3` runs some of them. Prints one table and writes it, with
 * the date and the machine, to test/bench/results.md and results.json (a quick or
 * partial run writes results.quick.* or results.partial.*, which git ignores);
 * `--out DIR` writes them to DIR instead. Nothing the functions log or count
 * reaches the terminal: only the progress lines and the table.
 */
import { join, resolve } from 'node:path';
import { benchIngest } from './b1-ingest.ts';
import { benchBundle } from './b2-bundle.ts';
import { benchVerify } from './b3-verify.ts';
import { benchHttp } from './b4-http.ts';
import { benchGuard } from './b5-guard.ts';
import { benchScale } from './b6-scale.ts';
import { benchCost } from './b7-cost.ts';
import {
  formatMachine,
  formatTable,
  machine,
  type Results,
  type Row,
  writeResults,
} from './lib/report.ts';
import { FULL, QUICK, type Section, type Settings } from './lib/settings.ts';

const BENCHES: ReadonlyArray<{
  id: string;
  title: string;
  run: (settings: Settings) => Promise<Section>;
}> = [
  { id: 'B1', title: 'ingest handler in-process vs the SDK floor', run: benchIngest },
  { id: 'B2', title: 'ingest and consumer bundle size, ingest import time', run: benchBundle },
  { id: 'B3', title: 'signature verification per provider', run: benchVerify },
  { id: 'B4', title: 'the local stack over HTTP vs a bare node:http floor', run: benchHttp },
  { id: 'B5', title: 'consumer guard vs Powertools idempotency', run: benchGuard },
  { id: 'B6', title: 'throughput by concurrent senders; memory by deliveries', run: benchScale },
  {
    id: 'B7',
    title: 'what one webhook costs: requests, capacity units, log bytes',
    run: benchCost,
  },
];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  /** `--name value` or `--name=value`. */
  const valued = (name: string) => {
    const arg = args.find((a) => a === name || a.startsWith(`${name}=`));
    const value = arg?.includes('=') ? arg.split('=')[1] : arg && args[args.indexOf(arg) + 1];
    return { arg, value };
  };
  const onlyArg = valued('--only');
  const only = onlyArg.value?.toUpperCase().split(',');
  const outArg = valued('--out');
  const unknown = args.filter(
    (a, i) =>
      a !== '--quick' &&
      a !== onlyArg.arg &&
      a !== outArg.arg &&
      !((args[i - 1] === '--only' || args[i - 1] === '--out') && !a.startsWith('--')),
  );
  if (unknown.length > 0 || (outArg.arg && !outArg.value)) {
    process.stderr.write(
      `unknown arguments: ${unknown.join(' ') || outArg.arg}\nusage: npm run bench [-- --quick] [-- --only B1,B3] [-- --out DIR]\n`,
    );
    return 2;
  }
  const settings = quick ? QUICK : FULL;
  const selected = BENCHES.filter((b) => !only || only.includes(b.id));
  const started = performance.now();
  const m = machine();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`hookonce bench (${quick ? 'quick' : 'full'}) on ${formatMachine(m)}`);

  const rows: Row[] = [];
  const notes: Record<string, string[]> = {};
  const failures: string[] = [];
  for (const bench of selected) {
    const t = performance.now();
    log(`${bench.id} ${bench.title} …`);
    try {
      const section = await bench.run(settings);
      rows.push(...section.rows);
      notes[bench.id] = section.notes;
      log(`${bench.id} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      failures.push(`${bench.id}: ${message}`);
      log(`${bench.id} FAILED: ${message}`);
    }
  }

  const results: Results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    command: `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
    machine: m,
    seconds: (performance.now() - started) / 1000,
    rows,
    notes,
  };
  const name = quick ? 'results.quick' : only ? 'results.partial' : 'results';
  const dir = outArg.value ? resolve(outArg.value) : import.meta.dirname;
  writeResults(results, join(dir, `${name}.md`), join(dir, `${name}.json`));
  process.stdout.write(`\n${formatTable(rows)}\n\n`);
  log(
    `${rows.length} rows in ${results.seconds.toFixed(0)} s; written to ${outArg.value ? dir : 'test/bench'}/${name}.md and ${name}.json`,
  );
  if (failures.length > 0) {
    log(`\n${failures.length} benchmark(s) failed:\n${failures.join('\n')}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
