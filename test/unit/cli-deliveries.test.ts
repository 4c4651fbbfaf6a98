import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../infra/cli/cli.ts';
import { parseDeliveriesArgs } from '../../infra/cli/parked.ts';

const empty = mkdtempSync(join(tmpdir(), 'hookonce-cli-deliveries-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

async function cli(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    env: { HOOKONCE_DATA_DIR: empty },
    cwd: empty,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    fetch,
    now: () => Date.UTC(2100, 0, 1),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('Module: hookonce deliveries', () => {
  describe('Function: parseDeliveriesArgs', () => {
    it('reads failed, with a limit, segments and a stack', () => {
      // Act
      const local = parseDeliveriesArgs(['failed']);
      const stack = parseDeliveriesArgs([
        'failed',
        '--max',
        '5',
        '--segments',
        '8',
        '--stack',
        'Hookonce',
        '--region',
        'eu-west-1',
      ]);

      // Assess
      expect(local).toEqual({
        action: 'failed',
        max: 20,
        segments: 4,
        stack: undefined,
        region: undefined,
      });
      expect(stack).toEqual({
        action: 'failed',
        max: 5,
        segments: 8,
        stack: 'Hookonce',
        region: 'eu-west-1',
      });
    });

    it('reads show with a provider and an id', () => {
      // Act
      const show = parseDeliveriesArgs(['show', 'github', '72d3162e', '--stack', 'Hookonce']);

      // Assess
      expect(show).toMatchObject({
        action: 'show',
        provider: 'github',
        id: '72d3162e',
        stack: 'Hookonce',
      });
    });

    it.each([
      [[], 'say what to do: failed or show <provider> <id>'],
      [['pending'], 'say what to do: failed or show <provider> <id> (not "pending")'],
      [['show', 'github'], 'show needs a provider and an id'],
      [['show', 'github', 'a', 'b'], 'unexpected argument "b"'],
      [['failed', 'extra'], 'unexpected argument "extra"'],
      [['failed', '--max', '0'], '--max is a whole number from 1 to 1000'],
      [['failed', '--segments', 'x'], '--segments is a whole number from 1 to 1000'],
      [['failed', '--status', 'FAILED'], "Unknown option '--status'"],
    ])('refuses %j: %s', (args, message) => {
      expect(() => parseDeliveriesArgs(args)).toThrow(message);
    });
  });

  describe('Function: runCli', () => {
    it('lists the command, prints its help, and says how to start hookonce when none runs', async () => {
      // Act
      const overview = await cli(['--help']);
      const help = await cli(['deliveries', '--help']);
      const none = await cli(['deliveries', 'failed']);

      // Assess
      expect(overview.out).toMatch(/deliveries\s+show one delivery, or list those the sweeper/);
      expect(help.out).toContain(
        'usage: hookonce deliveries show <provider> <id> | failed [--max N] [--stack NAME]',
      );
      expect(none.code).toBe(2);
      expect(none.err).toContain('no running hookonce found (local.json is missing)');
    });
  });
});
