import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_FILE, lockDataDir } from '../../infra/local/data-lock.ts';
import { DEFAULT_PORTS, startSettings } from '../../infra/local/settings.ts';

/** The pid of a process that has exited: it holds nothing any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  if (child.pid === undefined) throw new Error('could not run node');
  return child.pid;
}

describe('Module: npm start’s settings and its data folder', () => {
  describe('Function: startSettings', () => {
    it('uses the same ports at every start: 3000, the console on 3001, DynamoDB on 8000, SNS/SQS/S3 on 4566', () => {
      // Act
      const settings = startSettings({});

      // Assess
      expect(DEFAULT_PORTS).toEqual({ api: 3000, console: 3001, dynamodb: 8000, aws: 4566 });
      expect(settings).toEqual({
        ports: { api: 3000, console: 3001, dynamodb: 8000, aws: 4566 },
        dataDir: '.hookonce',
        dynamodb: 'dynalite',
      });
    });

    it('takes PORT, HOOKONCE_CONSOLE_PORT, HOOKONCE_DYNAMODB_PORT and HOOKONCE_AWS_PORT, 0 for a free one', () => {
      // Act
      const settings = startSettings({
        PORT: '3100',
        HOOKONCE_CONSOLE_PORT: '3101',
        HOOKONCE_DYNAMODB_PORT: '0',
        HOOKONCE_AWS_PORT: '4600',
        HOOKONCE_DATA_DIR: '/tmp/h',
        HOOKONCE_DYNAMODB: 'dynamodb-local',
      });

      // Assess
      expect(settings).toEqual({
        ports: { api: 3100, console: 3101, dynamodb: 0, aws: 4600 },
        dataDir: '/tmp/h',
        dynamodb: 'dynamodb-local',
      });
    });

    it.each([
      ['HOOKONCE_DYNAMODB_PORT', 'eight'],
      ['HOOKONCE_AWS_PORT', '70000'],
      ['PORT', '-1'],
      ['HOOKONCE_AWS_PORT', '45.5'],
    ])('refuses %s=%s, naming the variable', (name, value) => {
      // Act
      const read = () => startSettings({ [name]: value });

      // Assess
      expect(read).toThrow(`${name} must be a port number (0 picks a free one), got "${value}"`);
    });

    it('refuses a DynamoDB it does not know', () => {
      expect(() => startSettings({ HOOKONCE_DYNAMODB: 'cassandra' })).toThrow(
        'HOOKONCE_DYNAMODB is dynalite or dynamodb-local, got "cassandra"',
      );
    });
  });

  describe('Function: lockDataDir', () => {
    const root = mkdtempSync(join(tmpdir(), 'hookonce-lock-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('writes its pid in the folder, refuses the folder while that process lives, and gives it back', () => {
      // Prepare
      const dir = join(root, 'held');

      // Act
      const release = lockDataDir(dir);
      const held = readFileSync(join(dir, LOCK_FILE), 'utf8');
      let refused: unknown;
      try {
        lockDataDir(dir);
      } catch (error) {
        refused = error;
      }
      release();
      const again = lockDataDir(dir);
      again();

      // Assess
      expect(held).toBe(`${process.pid}\n`);
      expect(refused).toBeInstanceOf(DataDirInUseError);
      expect(refused).toMatchObject({ pid: process.pid, dir });
      expect((refused as Error).message).toBe(
        `another hookonce (pid ${process.pid}) is using ${dir}`,
      );
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    });

    it('takes over a lock left by a process that is gone, and one that holds no pid', () => {
      // Prepare
      const stale = join(root, 'stale');
      const garbled = join(root, 'garbled');
      const dead = deadPid();
      lockDataDir(stale, dead); // never released: as a kill -9 leaves it
      lockDataDir(garbled);
      writeFileSync(join(garbled, LOCK_FILE), 'not a pid');

      // Act
      const releaseStale = lockDataDir(stale);
      const releaseGarbled = lockDataDir(garbled);

      // Assess
      expect(readFileSync(join(stale, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
      expect(readFileSync(join(garbled, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
      releaseStale();
      releaseGarbled();
    });

    it('leaves alone a lock another process took after it: release removes only its own', () => {
      // Prepare
      const dir = join(root, 'taken-over');
      const release = lockDataDir(dir);
      writeFileSync(join(dir, LOCK_FILE), `${process.ppid}\n`);

      // Act
      release();

      // Assess
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.ppid}\n`);
    });
  });
});
