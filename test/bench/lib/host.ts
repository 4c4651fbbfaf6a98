import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { BENCH_SECRET, jsonBody, signStandard, uniqueId } from './local.ts';

export interface Host {
  /** The local runtime's gateway. */
  readonly runtime: string;
  /** The floor server, when asked for. */
  readonly floor?: string;
  /** Waits until the consumers have caught up. */
  drain(): Promise<void>;
  /** Memory of the host process once its consumers have caught up, after a GC. */
  memory(): Promise<{ rss: number; heapUsed: number }>;
  stop(): Promise<void>;
}

/** Starts test/bench/host.ts in a process of its own. */
export async function startHost(options: { floor: boolean }): Promise<Host> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--expose-gc',
      join(import.meta.dirname, '..', 'host.ts'),
      ...(options.floor ? ['--floor'] : []),
    ],
    {
      env: { ...process.env, HOOKONCE_SECRET_STANDARD: BENCH_SECRET },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => String(line)),
    exited.then(([code]) => {
      throw new Error(`the bench host exited with code ${code} before it was ready`);
    }),
  ]);
  lines.close();
  const urls = JSON.parse(first) as { runtime: string; floor?: string; control: string };
  const get = async (path: string) => {
    const res = await fetch(`${urls.control}${path}`);
    if (!res.ok) throw new Error(`host ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { left: number; rss: number; heapUsed: number };
  };
  return {
    runtime: urls.runtime,
    floor: urls.floor,
    async drain() {
      const { left } = await get('/drain');
      if (left > 0) throw new Error(`the consumers did not catch up: ${left} messages left`);
    },
    async memory() {
      const m = await get('/memory');
      if (m.left > 0) throw new Error(`the consumers did not catch up: ${m.left} messages left`);
      return { rss: m.rss, heapUsed: m.heapUsed };
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p99Ms: number;
  readonly ok: number;
}

/**
 * autocannon against `url` at a fixed number of connections, every request a new
 * delivery signed as a Standard Webhooks sender signs it (made in this process,
 * not in the server's). Any answer other than 202 fails the trial.
 */
export async function load(options: {
  url: string;
  connections: number;
  seconds?: number;
  amount?: number;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 5 }),
    timeout: 20,
    requests: [
      {
        method: 'POST',
        path: '/webhooks/standard',
        setupRequest: (request) => {
          const id = uniqueId('load');
          const body = jsonBody(1024, id);
          return { ...request, headers: signStandard(id, body), body };
        },
      },
    ],
  });
  const ok = result['2xx'];
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) {
    throw new Error(
      `${options.url}: ${bad} of ${ok + bad} requests failed (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`,
    );
  }
  return { requestsPerSecond: ok / result.duration, p99Ms: result.latency.p99, ok };
}
