import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { runCli } from '../../infra/cli/cli.ts';
import { type LocalRuntime, startLocal } from '../../infra/local/runtime.ts';

const STRIPE_SECRET = 'whsec_e2e0terminal0stripe0secret';
const GITHUB_SECRET = 'e2e-terminal-github-secret';

const declaration: HookonceDeclaration = {
  name: 'e2eterm',
  providers: { stripe: { scheme: 'stripe' }, github: { scheme: 'github' } },
  subscribers: { tap: { consumer: { entry: 'test/e2e/fixtures/tap.ts' } } },
};

describe('Terminal views on the local runtime: hookonce deliveries list', () => {
  let runtime: LocalRuntime;
  let dataDir: string;

  const hookonce = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, {
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
    return { code, out: out.join('\n'), err: err.join('\n') };
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
});
