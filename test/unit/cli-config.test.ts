import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../infra/cli/cli.ts';
import { loadDeclaration } from '../../infra/cli/config.ts';
import { declaration as sample } from '../../infra/hookonce.config.ts';

const app = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), 'hookonce-cli-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
};

const ACME = `export const declaration = {
  name: 'acme',
  providers: { acme: { scheme: 'github' } },
  subscribers: {},
};
`;

describe('Function: loadDeclaration', () => {
  it("reads the app's hookonce.config.ts from the folder the CLI runs in", async () => {
    const cwd = app({ 'hookonce.config.ts': ACME });

    const loaded = await loadDeclaration({ cwd, env: {} });

    expect(loaded.file).toBe(join(cwd, 'hookonce.config.ts'));
    expect(Object.keys(loaded.declaration.providers)).toEqual(['acme']);
    expect(loaded.declaration.name).toBe('acme');
  });

  it('reads the module HOOKONCE_CONFIG names, and its default export', async () => {
    const cwd = app({
      'webhooks.mjs':
        'export default { providers: { gh: { scheme: "github" } }, subscribers: {} };',
    });

    const loaded = await loadDeclaration({ cwd, env: { HOOKONCE_CONFIG: 'webhooks.mjs' } });

    expect(Object.keys(loaded.declaration.providers)).toEqual(['gh']);
  });

  it("falls back to the package's sample declaration where the app has none", async () => {
    const loaded = await loadDeclaration({ cwd: app({}), env: {} });

    expect(loaded.file).toBe(undefined);
    expect(Object.keys(loaded.declaration.providers)).toEqual(Object.keys(sample.providers));
  });

  it('names the file when it exports no declaration, or one that is not valid, or is missing', async () => {
    const empty = app({ 'hookonce.config.mjs': 'export const other = 1;' });
    const invalid = app({
      'hookonce.config.mjs':
        'export const declaration = { providers: { x: { scheme: "nope" } }, subscribers: {} };',
    });

    await expect(loadDeclaration({ cwd: empty, env: {} })).rejects.toThrow(
      /hookonce\.config\.mjs exports no declaration/,
    );
    await expect(loadDeclaration({ cwd: invalid, env: {} })).rejects.toThrow(
      /hookonce\.config\.mjs: [\s\S]*unknown scheme "nope"/,
    );
    const partial = app({ 'hookonce.config.mjs': 'export const declaration = { providers: {} };' });
    await expect(loadDeclaration({ cwd: partial, env: {} })).rejects.toThrow(
      /subscribers: missing; give an object, \{\} for none/,
    );
    await expect(
      loadDeclaration({ cwd: empty, env: { HOOKONCE_CONFIG: 'gone.ts' } }),
    ).rejects.toThrow(/HOOKONCE_CONFIG names .*gone\.ts, which does not exist/);
  });
});

describe('the CLI in an app of its own', () => {
  it("signs for the app's providers: a provider only the sample declares is unknown there", async () => {
    const cwd = app({ 'hookonce.config.ts': ACME });
    const err: string[] = [];

    const code = await runCli(['send', 'stripe'], {
      cwd,
      env: {},
      out: () => undefined,
      err: (text) => err.push(text),
      fetch,
      now: () => 0,
    });

    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/no provider "stripe".*it declares acme/);
  });
});
