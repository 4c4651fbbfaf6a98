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

    it('reads list, with a provider, a status in any case and a limit', () => {
      expect(parseDeliveriesArgs(['list'])).toEqual({
        action: 'list',
        provider: undefined,
        status: undefined,
        max: 20,
        segments: 4,
        stack: undefined,
        region: undefined,
      });
      expect(
        parseDeliveriesArgs([
          'list',
          '--provider',
          'stripe',
          '--status',
          'received',
          '--limit',
          '5',
          '--stack',
          'Hookonce',
        ]),
      ).toEqual({
        action: 'list',
        provider: 'stripe',
        status: 'RECEIVED',
        max: 5,
        segments: 4,
        stack: 'Hookonce',
        region: undefined,
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
      [[], 'say what to do: list, failed or show <provider> <id>'],
      [['pending'], 'say what to do: list, failed or show <provider> <id> (not "pending")'],
      [['show', 'github'], 'show needs a provider and an id'],
      [['show', 'github', 'a', 'b'], 'unexpected argument "b"'],
      [['failed', 'extra'], 'unexpected argument "extra"'],
      [['failed', '--max', '0'], '--max is a whole number from 1 to 1000'],
      [['failed', '--segments', 'x'], '--segments is a whole number from 1 to 1000'],
      [['failed', '--status', 'FAILED'], '--status is an option of list'],
      [['show', 'github', 'x', '--limit', '3'], '--limit is an option of list'],
      [['failed', '--state', 'FAILED'], "Unknown option '--state'"],
      [['list', 'extra'], 'unexpected argument "extra"'],
      [['list', '--max', '5'], 'list takes --limit, not --max'],
      [['list', '--status', 'DONE'], '--status is one of RECEIVED, PUBLISHED, FAILED'],
      [['list', '--limit', '1001'], '--limit is a whole number from 1 to 1000'],
      [['list', '--segments', '0'], '--segments is a whole number from 1 to 1000'],
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
      expect(overview.out).toMatch(/deliveries\s+list the newest deliveries, show one, or list/);
      expect(help.out).toContain(
        'usage: hookonce deliveries list [--provider P] [--status S] [--limit N] | show <provider> <id> | failed [--max N]  [--stack NAME]',
      );
      expect(help.out).toContain('about $0.03, per listing');
      expect(none.code).toBe(2);
      expect(none.err).toContain('no running hookonce found (local.json is missing)');
    });
  });
});
