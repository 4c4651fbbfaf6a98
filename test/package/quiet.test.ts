import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('npx hookonce in the repository', () => {
  it('prints the usage and no npm warning, whichever Node runs npm (the system one first on PATH)', () => {
    // npm from the system PATH, as a developer's shell finds it: on a machine
    // whose system Node is 20, npm checked the engines against Node 20 and
    // warned on every call, though the CLI itself runs on the Node 24 of
    // node_modules/.bin. npx checks the engines when it first links the project
    // into its cache: a fresh cache makes every run a first one.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `/usr/local/bin:/usr/bin:/bin:${process.env.PATH}`,
      npm_config_cache: mkdtempSync(join(tmpdir(), 'hookonce-npm-cache-')),
    };
    delete env.npm_config_loglevel;
    const run = spawnSync('npx', ['--offline', 'hookonce', '--help'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^usage: hookonce <command>/);
  });
});
