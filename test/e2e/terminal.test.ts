import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { runCli } from '../../infra/cli/cli.ts';
import type { CliIo } from '../../infra/cli/command.ts';
import { runConsole, stackConsoleOptions } from '../../infra/cli/console.ts';
import { runTail } from '../../infra/cli/tail.ts';
import { openTarget } from '../../infra/cli/target.ts';
import { startConsole } from '../../infra/console/server.ts';
import { type LocalRuntime, startLocal } from '../../infra/local/runtime.ts';

const STRIPE_SECRET = 'whsec_e2e0terminal0stripe0secret';
const GITHUB_SECRET = 'e2e-terminal-github-secret';

const declaration: HookonceDeclaration = {
  name: 'e2eterm',
  providers: { stripe: { scheme: 'stripe' }, github: { scheme: 'github' } },
  subscribers: { tap: { consumer: { entry: 'test/e2e/fixtures/tap.ts' } } },
};

describe('Terminal views on the local runtime: hookonce deliveries list, tail and console', () => {
  let runtime: LocalRuntime;
  let dataDir: string;

  const io = (out: string[], err: string[]): CliIo => ({
    env: {
      HOOKONCE_DATA_DIR: dataDir,
      HOOKONCE_SECRET_STRIPE: STRIPE_SECRET,
      HOOKONCE_SECRET_GITHUB: GITHUB_SECRET,
    },
    cwd: dataDir,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    fetch,
    // The CLI signs for a runtime that checks timestamps against the wall clock.
    now: () => Date.now(),
  });
  const hookonce = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, io(out, err));
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  /** A promise, and what settles it. */
  const signal = () => {
    let fire = () => {};
    const fired = new Promise<void>((resolve) => {
      fire = resolve;
    });
    return { fired, fire };
  };
  /** The rows of a listing, without its heading: one array of cells per delivery. */
  const rows = (out: string) =>
    out
      .split('\n')
      .slice(2)
      .map((line) => line.trim().split(/\s{2,}/));

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookonce-e2e-terminal-'));
    runtime = await startLocal({
      declaration,
      port: 0,
      dataDir,
      env: { HOOKONCE_SECRET_STRIPE: STRIPE_SECRET, HOOKONCE_SECRET_GITHUB: GITHUB_SECRET },
      output: () => undefined,
      consolePort: 0,
    });
    // One after the other: each is received after the one before.
    for (const argv of [
      ['send', 'stripe', '--id', 'evt_term_1', '--type', 'invoice.paid'],
      ['send', 'stripe', '--id', 'evt_term_1', '--type', 'invoice.paid'],
      ['send', 'github', '--id', '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b'],
      ['send', 'stripe', '--id', 'evt_term_2', '--type', 'charge.succeeded'],
      ['send', 'stripe', '--id', 'evt_term_3', '--secret', 'whsec_not_the_one'],
    ]) {
      await hookonce(...argv);
    }
  });

  afterAll(async () => {
    await runtime?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists the stored deliveries, newest first, once each, with the provider’s id where it is not the key', async () => {
    // Act
    const list = await hookonce('deliveries', 'list');

    // Assess
    expect(list.code).toBe(0);
    expect(list.out.split('\n')[0]).toBe(
      'deliveries on the local runtime (local.json): 3 (3 items scanned)',
    );
    expect(list.out.split('\n')[1]).toMatch(
      /^ {2}received\s+provider\s+delivery id\s+provider's id\s+type\s+status\s+attempts$/,
    );
    const listed = rows(list.out);
    expect(listed.map((r) => [r[1], r[3], r[4], r[5], r[6]])).toEqual([
      ['stripe', '-', 'stripe.charge.succeeded', 'PUBLISHED', '1'],
      ['github', '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b', 'github.push', 'PUBLISHED', '1'],
      ['stripe', '-', 'stripe.invoice.paid', 'PUBLISHED', '1'],
    ]);
    expect(listed[0]?.[2]).toBe('evt_term_2');
    expect(listed[1]?.[2]).toMatch(/^[0-9a-f]{64}$/);
    for (const row of listed) expect(row[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('filters by provider and status, and keeps the newest up to the limit', async () => {
    // Act
    const stripe = await hookonce('deliveries', 'list', '--provider', 'stripe');
    const newest = await hookonce('deliveries', 'list', '--limit', '1');
    const pending = await hookonce('deliveries', 'list', '--status', 'received');

    // Assess
    expect(stripe.out.split('\n')[0]).toBe(
      'deliveries (of stripe) on the local runtime (local.json): 2 (3 items scanned)',
    );
    expect(rows(stripe.out).map((r) => r[2])).toEqual(['evt_term_2', 'evt_term_1']);
    expect(newest.out.split('\n')[0]).toBe(
      'deliveries on the local runtime (local.json): the newest 1 of 3 (3 items scanned)',
    );
    expect(rows(newest.out).map((r) => r[2])).toEqual(['evt_term_2']);
    expect(pending.code).toBe(0);
    expect(pending.out).toBe(
      'deliveries (RECEIVED) on the local runtime (local.json): 0 (3 items scanned)',
    );
  });

  it('says where the console of npm start is', async () => {
    const where = await hookonce('console');
    expect(where.code).toBe(0);
    expect(where.out).toBe(`the console of the local runtime (local.json): ${runtime.consoleUrl}`);
  });

  it('shows the newest requests, oldest of them first, and exits with --recent N --no-follow', async () => {
    const result = await hookonce('tail', '--recent', '3', '--no-follow', '--provider', 'stripe');

    expect(result.code).toBe(0);
    const lines = result.out.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/ stripe +200 +duplicate +evt_term_1 +invoice\.paid /);
    expect(lines[1]).toMatch(/ stripe +202 +published +evt_term_2 +charge\.succeeded /);
    expect(lines[2]).toMatch(/ stripe +401 +rejected signature_mismatch +- /);
  });

  it('tails each request as it ends, from the console’s stream, until Ctrl-C', async () => {
    // Prepare: tail, and send once it follows the stream.
    const out: string[] = [];
    const err: string[] = [];
    const following = signal();
    const printed = signal();
    let interrupt = () => {};
    const context = io(out, err);
    const tail = runTail(
      ['--provider', 'stripe'],
      {
        ...context,
        out: (t) => {
          out.push(t);
          if (out.length === 3) printed.fire();
        },
        err: (t) => {
          err.push(t);
          if (t.startsWith('tail of')) following.fire();
        },
      },
      {
        isTTY: false,
        onInterrupt: (stop) => {
          interrupt = stop;
          return () => undefined;
        },
      },
    );
    await following.fired;

    // Act
    await hookonce('send', 'github');
    await hookonce('send', 'stripe', '--id', 'evt_term_live', '--type', 'invoice.paid');
    await hookonce('send', 'stripe', '--id', 'evt_term_live', '--type', 'invoice.paid');
    await hookonce('send', 'stripe', '--id', 'evt_term_forged', '--secret', 'whsec_not_the_one');
    await printed.fired;
    interrupt();

    // Assess
    expect(await tail).toBe(0);
    expect(err).toEqual([
      `tail of the local runtime (local.json, console ${runtime.consoleUrl}): each webhook request as it ends; Ctrl-C to stop`,
    ]);
    const cells = out.map((line) => line.split(/\s{2,}/));
    expect(cells.map((c) => c.slice(1, 5))).toEqual([
      ['stripe', '202', 'published', 'evt_term_live'],
      ['stripe', '200', 'duplicate', 'evt_term_live'],
      ['stripe', '401', 'rejected signature_mismatch', '-'],
    ]);
    for (const c of cells) {
      expect(c[0]).toMatch(/^\d\d:\d\d:\d\d$/);
      expect(c.at(-1)).toMatch(/^\d+ ms$/);
    }
  });

  it('serves a stack’s console from the command’s builder, read-only, until Ctrl-C (here on the local target and its activity)', async () => {
    // Prepare: the local runtime's tables and queues, its in-memory activity, and
    // outputs as a stack would give them.
    const out: string[] = [];
    const err: string[] = [];
    const interrupted = signal();
    const served = signal();
    const context = io(out, err);
    const outputs = {
      StripeEndpointUrl: `${runtime.url}/webhooks/stripe`,
      StripeSecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:stripe-AbC',
      GithubEndpointUrl: `${runtime.url}/webhooks/github`,
      GithubSecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:github-DeF',
    };

    // Act
    const running = runConsole(
      ['--stack', 'Local', '--port', '0'],
      {
        ...context,
        out: (t) => {
          out.push(t);
          if (t === 'Ctrl-C to stop') served.fire();
        },
      },
      {
        start: startConsole,
        interrupted: () => interrupted.fired,
        build: async (args) => {
          const target = await openTarget({
            env: context.env,
            cwd: dataDir,
            declaration: runtime.declaration,
          });
          return {
            options: stackConsoleOptions({
              target: { ...target, outputs },
              declaration: runtime.declaration,
              stack: args.stack,
              activity: runtime.activity,
              consumers: { counts: async () => ({}) },
              port: args.port,
              writable: args.allowWrites,
            }),
            description: `stack ${args.stack} (here: ${target.description})`,
            close: () => target.close(),
          };
        },
      },
      runtime.declaration,
    );
    await served.fired;
    const url = /: (http:\/\/127\.0\.0\.1:\d+)$/.exec(out[0] ?? '')?.[1] ?? '';
    const requests = (await (await fetch(`${url}/api/requests?provider=stripe`)).json()) as {
      requests: Array<{ status: number; outcome: string; deliveryId?: string }>;
    };
    const providers = await (await fetch(`${url}/providers`)).text();
    const test = await fetch(`${url}/providers/stripe/test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
      body: 'token=x',
    });
    const refusal = await test.text();
    interrupted.fire();
    const code = await running;

    // Assess
    expect(out[0]).toBe(
      `hookonce console for stack Local (here: the local runtime (local.json)): ${url}`,
    );
    expect(out).toContain(
      '  read-only: replay, redrive and test webhooks are off (--allow-writes turns them on)',
    );
    expect(requests.requests.map((r) => [r.status, r.outcome, r.deliveryId])).toEqual(
      expect.arrayContaining([
        [202, 'published', 'evt_term_1'],
        [200, 'duplicate', 'evt_term_1'],
        [401, 'rejected', undefined],
      ]),
    );
    expect(providers).toContain(
      'Secrets Manager: arn:aws:secretsmanager:us-east-1:000000000000:secret:stripe-AbC',
    );
    expect(providers).toContain(`${runtime.url}/webhooks/stripe`);
    expect(test.status).toBe(403);
    expect(refusal).toContain('this console is read-only');
    expect(code).toBe(0);
    await expect(fetch(`${url}/api/requests`)).rejects.toThrow();
  });
});
