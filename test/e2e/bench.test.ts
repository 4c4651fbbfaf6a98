import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/local/runtime.ts';

describe('npm run bench (quick)', () => {
  const out = mkdtempSync(join(tmpdir(), 'hookonce-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('prints its progress and its table, and not one EMF metric line of the functions it runs', async () => {
    // Prepare: the shell of someone running the bench, without what vitest sets to silence metrics.
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.POWERTOOLS_METRICS_DISABLED;

    // Act: B1 runs the ingest handler and B5 the consumer guard, in the bench's own process.
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, 'test/bench/main.ts'), '--quick', '--only', 'B1,B5', '--out', out],
      { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let printed = '';
    child.stdout.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    const [code] = await once(child, 'exit');

    // Assess
    expect(code).toBe(0);
    expect(printed).toContain('B1 done in');
    expect(printed).toContain('B5 done in');
    expect(printed).not.toContain('"_aws"');
    expect(printed.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
    const results = JSON.parse(readFileSync(join(out, 'results.quick.json'), 'utf8')) as {
      rows: unknown[];
    };
    expect(results.rows.length).toBeGreaterThan(0);
  });

  it('B7 counts a webhook on DynamoDB Local, and a quick run leaves the figures `hookonce cost` reads alone', async () => {
    // Prepare
    const measuredFile = join(PROJECT_ROOT, 'infra/cli/cost-measured.json');
    const before = readFileSync(measuredFile, 'utf8');

    // Act
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, 'test/bench/main.ts'), '--quick', '--only', 'B7', '--out', out],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let printed = '';
    child.stderr.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    const [code] = await once(child, 'exit');

    // Assess
    expect(printed).toContain('B7 done in');
    expect(code).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.quick.json'), 'utf8')) as {
      rows: Array<{ id: string; measure: string; subject: { value: number } }>;
    };
    const b7 = results.rows.filter((r) => r.id === 'B7');
    expect(b7.map((r) => r.measure)).toEqual([
      expect.stringContaining('deliveries table write units'),
      expect.stringContaining('consumer table write units'),
      expect.stringContaining('log bytes per new delivery'),
      expect.stringContaining('log bytes per consumed event'),
    ]);
    // The guard writes a claim and marks it done, each under 1 KB.
    expect(b7[1]?.subject.value).toBe(2);
    expect(readFileSync(measuredFile, 'utf8')).toBe(before);
  }, 300_000);
});
