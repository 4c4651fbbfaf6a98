import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { runCli } from '../../infra/cli/cli.ts';
import { type LocalConsoleParts, localSendTest } from '../../infra/console/local.ts';
import { type LocalRuntime, startLocal } from '../../infra/local/runtime.ts';

/**
 * `hookonce send <preset>` through a real local runtime, for presets of three
 * kinds: one verified with a public key (discord, whose development key pair
 * `npm start` makes), one that sends a JWT (plaid, likewise) and one signed
 * inside its body (adyen), beside a plain HMAC preset (paddle).
 */

const declaration: HookonceDeclaration = {
  name: 'e2e-presets',
  providers: {
    discord: { preset: 'discord' },
    plaid: { preset: 'plaid' },
    adyen: { preset: 'adyen' },
    paddle: { preset: 'paddle' },
  },
  subscribers: {},
};

describe('hookonce send for presets, on the local runtime', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  const lines: string[] = [];

  const hookonce = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, {
      env: { HOOKONCE_DATA_DIR: dataDir, HOOKONCE_CONFIG: 'hookonce.config.mjs' },
      cwd: dataDir,
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      fetch,
      // The runtime's ingest checks signed times against the wall clock.
      now: () => Date.now(),
    });
    return { code, out: out.join('\n') };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookonce-e2e-presets-'));
    writeFileSync(
      join(dataDir, 'hookonce.config.mjs'),
      `export const declaration = ${JSON.stringify(declaration)};\n`,
    );
    runtime = await startLocal({
      declaration,
      port: 0,
      dataDir,
      env: {},
      output: (line) => lines.push(line),
      pollWaitSeconds: 1,
    });
  });

  afterAll(async () => {
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('makes a development key pair for each keyless keyed preset, kept in keys.json, recorded in local.json', () => {
    const keys = JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8'));
    expect(Object.keys(keys).sort()).toEqual(['discord', 'plaid']);
    expect(keys.discord.kind).toBe('ed25519');
    expect(keys.plaid.kind).toBe('p-256');
    expect(statSync(join(dataDir, 'keys.json')).mode & 0o777).toBe(0o600);
    const local = JSON.parse(readFileSync(join(dataDir, 'local.json'), 'utf8'));
    expect(local.keys).toEqual({
      discord: { source: 'generated', file: 'keys.json' },
      plaid: { source: 'generated', file: 'keys.json' },
    });
    expect(runtime.developmentKeys.discord?.publicKey).toBe(keys.discord.publicKey);
    expect(JSON.stringify(local)).not.toContain('PRIVATE KEY');
  });

  it('sends discord signed with its development key: accepted, then the same body is a duplicate', async () => {
    const first = await hookonce('send', 'discord');
    const again = await hookonce('send', 'discord');
    expect(first.out).toContain('< 202 Accepted');
    expect(first.out).toContain('signed with the development key in keys.json');
    expect(first.code).toBe(0);
    expect(again.out).toContain('"duplicate":true');
    expect(again.code).toBe(0);
    expect(first.out + again.out).not.toContain('PRIVATE KEY');
  });

  it('sends plaid as a JWT over the body’s SHA-256, signed with its development key', async () => {
    const sent = await hookonce('send', 'plaid');
    expect(sent.out).toContain('< 202 Accepted');
    expect(sent.out).toMatch(/plaid-verification: eyJ/);
    expect(sent.code).toBe(0);
  });

  it('sends adyen with each item’s signature written into the body', async () => {
    const sent = await hookonce('send', 'adyen');
    expect(sent.out).toContain('< 202 Accepted');
    expect(sent.out).toContain('type AUTHORISATION');
    expect(sent.code).toBe(0);
  });

  it('sends paddle with the secret npm start generated, keyed by its signed event_id', async () => {
    const sent = await hookonce('send', 'paddle', '--id', 'evt_e2e_presets_1');
    expect(sent.out).toContain('< 202 Accepted');
    expect(sent.out).toContain('{"id":"paddle:evt_e2e_presets_1","duplicate":false}');
  });

  it('never prints a private key at start', () => {
    expect(lines.join('\n')).not.toContain('PRIVATE KEY');
  });

  it('lets the console send plaid a test webhook, signed with the development key', async () => {
    // Prepare: what the runtime hands the console's test sender.
    const keys = JSON.parse(readFileSync(join(dataDir, 'keys.json'), 'utf8'));
    const sendTest = localSendTest({
      declaration: runtime.declaration,
      secrets: runtime.secrets,
      developmentKeys: keys,
      apiUrl: runtime.url,
    } as unknown as LocalConsoleParts);

    // Act
    const sent = await sendTest('plaid');

    // Assess
    expect([200, 202]).toContain(sent.status);
  });
});
