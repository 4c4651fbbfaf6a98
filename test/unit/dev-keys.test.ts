import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { resolveDeclaration } from '../../functions/shared/declaration.ts';
import { runSend } from '../../infra/cli/send.ts';
import { devKeyKind, withDevelopmentKeys } from '../../infra/local/dev-keys.ts';
import { NOW } from '../support/providers.ts';

/** The development key pairs of keyed providers declared without keys. */

const DISCORD_KEY = '0123456789abcdef'.repeat(4);
const declaration: HookonceDeclaration = {
  providers: {
    discord: { preset: 'discord' },
    declared: { preset: 'discord', publicKeys: [DISCORD_KEY] },
    sendgrid: { preset: 'sendgrid' },
    plaid: { preset: 'plaid' },
    paddle: { preset: 'paddle' },
  },
  subscribers: {},
};

describe('Module: dev-keys', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('names the kind each keyless keyed provider needs, and none for the others', () => {
    expect(
      Object.fromEntries(
        Object.entries(declaration.providers).map(([n, p]) => [n, devKeyKind(p) ?? null]),
      ),
    ).toEqual({
      discord: 'ed25519',
      declared: null,
      sendgrid: 'p-256',
      plaid: 'p-256',
      paddle: null,
    });
  });

  it('generates once, keeps the pairs in the file, and declares their public keys', () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'hookonce-dev-keys-'));
    const file = join(dir, 'keys.json');

    // Act
    const first = withDevelopmentKeys(declaration, file, { generate: true });
    const second = withDevelopmentKeys(declaration, file, { generate: true });

    // Assess
    expect(Object.values(first.keys).map((k) => k.source)).toEqual([
      'generated',
      'generated',
      'generated',
    ]);
    expect(Object.values(second.keys).map((k) => k.source)).toEqual(['kept', 'kept', 'kept']);
    expect(second.keys.discord?.publicKey).toBe(first.keys.discord?.publicKey);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')))).toEqual([
      'discord',
      'sendgrid',
      'plaid',
    ]);
    const resolved = resolveDeclaration(second.declaration).providers;
    expect(resolved.discord).toMatchObject({ publicKeys: [first.keys.discord?.publicKey] });
    expect(resolved.declared).toMatchObject({ publicKeys: [DISCORD_KEY] });
  });

  it('without generate (the CLI), uses only kept pairs', () => {
    const { keys, declaration: out } = withDevelopmentKeys(declaration, undefined, {
      generate: false,
    });
    expect(keys).toEqual({});
    expect(out.providers.discord).toEqual({ preset: 'discord' });
  });

  it('has send refuse a provider whose declared keys the running hookonce checks, saying what to do', async () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'hookonce-dev-keys-'));
    const resolved = resolveDeclaration(
      withDevelopmentKeys(declaration, undefined, { generate: true }).declaration,
    );
    const run = () =>
      runSend(
        { provider: 'declared', url: 'http://127.0.0.1:9/webhooks/declared' },
        {
          env: { HOOKONCE_DATA_DIR: dir },
          cwd: dir ?? '',
          out: () => undefined,
          err: () => undefined,
          fetch: () => Promise.reject(new Error('not called')),
          now: () => NOW,
        },
        resolved,
      );

    // Act, Assess
    await expect(run()).rejects.toThrow(/holds no development key for it/);
  });
});
