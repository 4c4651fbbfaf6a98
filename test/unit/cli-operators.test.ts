import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { matchesFilterPolicy } from '../../functions/shared/declaration.ts';
import { runCli } from '../../infra/cli/cli.ts';
import type { CliIo } from '../../infra/cli/command.ts';
import { parseDlqArgs } from '../../infra/cli/dlq.ts';
import { progressBar } from '../../infra/cli/progress.ts';
import { parseReplayArgs, replayHeader, replaySummary } from '../../infra/cli/replay.ts';
import { namesFromOutputs, outputKey } from '../../infra/cli/target.ts';
import { PROJECT_ROOT } from '../../infra/local/runtime.ts';

const NOW = Date.UTC(2100, 0, 1, 12);
const empty = mkdtempSync(join(tmpdir(), 'hookonce-cli-ops-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

async function cli(argv: string[], overrides: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    env: { HOOKONCE_DATA_DIR: empty },
    cwd: empty,
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    fetch,
    now: () => NOW,
    ...overrides,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('Module: hookonce replay and dlq (arguments and output)', () => {
  describe('Function: parseReplayArgs', () => {
    it('reads a window, a provider, a type and a dry run; --to defaults to now', () => {
      // Act
      const options = parseReplayArgs(
        [
          '--subscriber',
          'billing',
          '--from',
          '2100-01-01',
          '--provider',
          'stripe',
          '-t',
          'stripe.invoice.',
          '-n',
        ],
        NOW,
      );

      // Assess
      expect(options).toEqual({
        subscriber: 'billing',
        from: Date.UTC(2100, 0, 1),
        to: NOW,
        provider: 'stripe',
        type: 'stripe.invoice.',
        dryRun: true,
        stack: undefined,
        region: undefined,
        segments: 4,
      });
    });

    it.each([
      [['--from', '2100-01-01'], 'name the subscriber to replay to with --subscriber'],
      [['-s', 'b'], 'give the window with --from (and --to, default now)'],
      [['-s', 'b', '--from', 'yesterday'], '--from "yesterday" is not an ISO 8601 time'],
      [['-s', 'b', '--from', '2100-01-02', '--to', '2100-01-01'], '--from must come before --to'],
      [['-s', 'b', '--from', '2100-01-01', '--type', '*'], '--type "*" is neither an event type'],
      [
        ['-s', 'b', '--from', '2100-01-01', '--provider', 'Stripe'],
        '--provider "Stripe" is no provider name',
      ],
      [
        ['-s', 'b', '--from', '2100-01-01', '--segments', '0'],
        '--segments is a whole number from 1 to 1000',
      ],
      [['-s', 'b', '--from', '2100-01-01', '--since', 'x'], "Unknown option '--since'"],
    ])('refuses %j: %s', (args, message) => {
      expect(() => parseReplayArgs(args, NOW)).toThrow(message);
    });
  });

  describe('Function: parseDlqArgs', () => {
    it('takes list without a subscriber, and peek and redrive with one', () => {
      expect(parseDlqArgs(['list'])).toMatchObject({ action: 'list', max: 10 });
      expect(parseDlqArgs(['peek', '-s', 'billing', '--max', '3'])).toMatchObject({
        action: 'peek',
        subscriber: 'billing',
        max: 3,
      });
      expect(() => parseDlqArgs(['redrive'])).toThrow('dlq redrive needs --subscriber NAME');
      expect(() => parseDlqArgs(['purge', '-s', 'x'])).toThrow(
        'say what to do: list, peek, redrive (not "purge")',
      );
      expect(() => parseDlqArgs(['peek', '-s', 'x', '--max', '101'])).toThrow('--max');
    });
  });

  describe('Function: namesFromOutputs', () => {
    it('finds the tables, the topic and each subscriber’s queues by the stack’s output keys', () => {
      // Prepare: what DescribeStacks answers for infra/stack.ts.
      const outputs = [
        { OutputKey: 'TopicArn', OutputValue: 'arn:aws:sns:eu-west-1:111111111111:t' },
        { OutputKey: 'DeliveriesTableName', OutputValue: 'Hookonce-Deliveries' },
        { OutputKey: 'ConsumerTableName', OutputValue: 'Hookonce-ConsumerState' },
        { OutputKey: 'PaymentsTeamQueueUrl', OutputValue: 'https://sqs/q' },
        { OutputKey: 'PaymentsTeamDeadLetterQueueUrl', OutputValue: 'https://sqs/dlq' },
      ];

      // Act
      const names = namesFromOutputs(outputs, ['payments-team'], 'Hookonce');

      // Assess
      expect(outputKey('payments-team')).toBe('PaymentsTeam');
      expect(names).toEqual({
        topicArn: 'arn:aws:sns:eu-west-1:111111111111:t',
        deliveriesTable: 'Hookonce-Deliveries',
        consumerTable: 'Hookonce-ConsumerState',
        queues: { 'payments-team': { queueUrl: 'https://sqs/q', dlqUrl: 'https://sqs/dlq' } },
      });
      expect(() => namesFromOutputs(outputs, ['audit'], 'Hookonce')).toThrow(
        'stack Hookonce has no output AuditQueueUrl',
      );
    });
  });

  describe('Function: matchesFilterPolicy', () => {
    it('refuses a condition it does not know rather than guess', () => {
      const event = { provider: 'stripe', type: 'stripe.invoice.paid' };
      expect(matchesFilterPolicy({ type: [{ prefix: 'stripe.' }] }, event)).toBe(true);
      expect(() => matchesFilterPolicy({ type: [{ 'anything-but': 'x' }] }, event)).toThrow(
        'neither a string nor { "prefix": … }',
      );
      expect(() => matchesFilterPolicy({ region: ['eu'] }, event)).toThrow(
        'the filter policy names the attribute "region"',
      );
    });
  });

  describe('Function: progressBar', () => {
    it('draws in place on a terminal, and clears its line when done', () => {
      // Prepare
      const written: string[] = [];
      let t = 0;
      const bar = progressBar(
        { isTTY: true, columns: 120, write: (s) => written.push(s) },
        'replay',
        200,
        () => t,
      );

      // Act
      bar.update(50, 'scanned · 3 sent');
      t += 10;
      bar.update(60); // within the frame: not drawn
      t += 200;
      bar.update(300); // past the estimate: a count only
      bar.done();

      // Assess
      expect(written).toEqual([
        '\r\x1b[2Kreplay [######------------------]  25%  50/200 scanned · 3 sent',
        '\r\x1b[2Kreplay […]   300',
        '\r\x1b[2K',
      ]);
    });

    it('draws nothing where stderr is not a terminal', () => {
      const written: string[] = [];
      const bar = progressBar({ isTTY: false, write: (s) => written.push(s) }, 'replay', 10);
      bar.update(5);
      bar.done();
      expect(written).toEqual([]);
    });
  });

  describe('Function: replaySummary', () => {
    it('says what was scanned, matched and sent, by type', () => {
      const options = parseReplayArgs(['-s', 'billing', '--from', '2100-01-01'], NOW);
      if (options === 'help') throw new Error('help');

      const lines = [
        ...replayHeader(options, { type: [{ prefix: 'stripe.invoice.' }] }, 'the local runtime'),
        ...replaySummary(options, {
          scanned: 1200,
          inWindow: 30,
          matched: 2,
          sent: 2,
          failed: 0,
          byType: { 'stripe.invoice.paid': 1, 'stripe.invoice.finalized': 1 },
        }),
      ];

      expect(lines).toEqual([
        'replay to billing on the local runtime: deliveries received from 2100-01-01T00:00:00.000Z to 2100-01-01T12:00:00.000Z',
        `  billing's filter policy: {"type":[{"prefix":"stripe.invoice."}]}`,
        "scanned 1,200 deliveries (4 segments): 30 in the window, 2 that billing's filter takes",
        '  stripe.invoice.finalized  1',
        '  stripe.invoice.paid       1',
        "sent 2 events to billing's queue; its consumer skips the ones it has applied already",
      ]);
    });
  });

  describe('Function: runCli', () => {
    it('lists replay and dlq among the commands', async () => {
      const { out } = await cli(['--help']);
      expect(out).toMatch(
        /replay\s+send a subscriber the stored deliveries of a time window again/,
      );
      expect(out).toMatch(/dlq\s+count, show and redrive/);
    });

    it('says how to start hookonce when no local runtime is found', async () => {
      const replay = await cli(['replay', '-s', 'billing', '--from', '2100-01-01']);
      const dlq = await cli(['dlq', 'list']);

      expect(replay.code).toBe(2);
      expect(replay.err).toContain('no running hookonce found (local.json is missing)');
      expect(dlq.err).toContain('start it with `npm start`, or name a deployed stack with --stack');
    });

    it('says plainly when the local runtime has stopped', async () => {
      // Prepare: a local.json left by a runtime that is gone.
      const dir = mkdtempSync(join(tmpdir(), 'hookonce-cli-stopped-'));
      const gone = 'http://127.0.0.1:9';
      writeFileSync(
        join(dir, 'local.json'),
        JSON.stringify({
          dynamodb: gone,
          sqs: gone,
          sns: gone,
          region: 'us-east-1',
          topicArn: 'arn:aws:sns:us-east-1:000000000000:t',
          deliveriesTable: 'd',
          consumerTable: 'c',
          queues: {
            billing: { queueUrl: `${gone}/q`, queueArn: 'a', dlqUrl: `${gone}/d`, dlqArn: 'b' },
          },
        }),
      );

      // Act
      const { code, err } = await cli(['dlq', 'list'], { env: { HOOKONCE_DATA_DIR: dir } });
      rmSync(dir, { recursive: true, force: true });

      // Assess
      expect(code).toBe(1);
      expect(err).toBe(`hookonce dlq: nothing answers at ${gone}: is \`npm start\` running?`);
    });

    describe('with --stack, in a shell that has no AWS region or credentials', () => {
      /**
       * `npx hookonce …` as a child process, in an environment with nothing of AWS:
       * no AWS_* variable, no ~/.aws (HOME is an empty folder, and both files point
       * nowhere), and no instance metadata to ask (what an EC2 host would answer),
       * so nothing it does can reach the network.
       */
      const bare = (args: string[]) => {
        const run = spawnSync(
          process.execPath,
          [join(PROJECT_ROOT, 'infra/cli/main.ts'), ...args],
          {
            cwd: empty,
            env: {
              PATH: process.env.PATH,
              HOME: empty,
              AWS_CONFIG_FILE: join(empty, 'no-such-config'),
              AWS_SHARED_CREDENTIALS_FILE: join(empty, 'no-such-credentials'),
              AWS_EC2_METADATA_DISABLED: 'true',
            },
            encoding: 'utf8',
          },
        );
        return { code: run.status, out: run.stdout, err: run.stderr };
      };
      const commands = [
        ['replay', '-s', 'billing', '--from', '2020-01-01'],
        ['dlq', 'list'],
        ['deliveries', 'failed'],
      ];

      it.each(commands)('%s: exits 1 and says to pass --region or set AWS_REGION', (...args) => {
        // Act
        const { code, out, err } = bare([...args, '--stack', 'Hookonce']);

        // Assess
        expect(code).toBe(1);
        expect(out).toBe('');
        expect(err).toBe(
          `hookonce ${args[0]}: no AWS region: pass --region or set AWS_REGION (or give your AWS profile a region)\n`,
        );
      });

      it.each(commands)('%s: exits 1 and says how to get AWS credentials', (...args) => {
        // Act
        const { code, out, err } = bare([...args, '--stack', 'Hookonce', '--region', 'eu-west-1']);

        // Assess
        expect(code).toBe(1);
        expect(out).toBe('');
        expect(err).toBe(
          `hookonce ${args[0]}: no AWS credentials: run \`aws configure\` (or \`aws sso login\`), or set AWS_PROFILE to a profile that has them\n`,
        );
      });
    });

    it('prints each command’s help', async () => {
      const replay = await cli(['replay', '--help']);
      const dlq = await cli(['help', 'dlq']);

      expect(replay.code).toBe(0);
      expect(replay.out).toContain('usage: hookonce replay --subscriber NAME --from ISO');
      expect(dlq.out).toContain('usage: hookonce dlq list|peek|redrive');
    });
  });
});
