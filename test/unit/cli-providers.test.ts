import { describe, expect, it } from 'vitest';
import { PRESETS, type PresetName } from '../../functions/providers/presets.ts';
import { runCli } from '../../infra/cli/cli.ts';
import { catalog, declarationSnippet } from '../../infra/cli/providers.ts';
import { NOW } from '../support/providers.ts';

/** `hookonce providers`: every preset listed, each row read from the preset's own options. */

async function hookonce(...argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runCli(argv, {
    env: {},
    cwd: '/nowhere',
    out: (t) => out.push(...t.split('\n')),
    err: (t) => out.push(...t.split('\n')),
    fetch: () => Promise.reject(new Error('no network in this test')),
    now: () => NOW,
  });
  return { code, out };
}

const presetNames = Object.keys(PRESETS) as PresetName[];

describe('Command: hookonce providers', () => {
  it('lists every preset, alphabetically, then every built-in scheme', async () => {
    // Act
    const { code, out } = await hookonce('providers');

    // Assess
    expect(code).toBe(0);
    const names = out.slice(1).map((line) => line.split(/\s+/)[0]);
    expect(names).toEqual([
      ...[...presetNames].sort(),
      'stripe',
      'github',
      'shopify',
      'slack',
      'twilio',
      'standard-webhooks',
    ]);
    expect(presetNames.length).toBeGreaterThanOrEqual(30);
  });

  it.each(presetNames)('shows the headers %s’s options name', (name) => {
    // Prepare
    const options = PRESETS[name] as Record<string, unknown> & { scheme: string };
    const entry = catalog().find((e) => e.name === name);
    if (!entry) throw new Error(`${name} not listed`);

    // Assess: the family, then each header as the options give it.
    expect(entry.family).toBe(options.scheme);
    const header = options.header as string | undefined;
    if (options.scheme === 'basic') expect(entry.signature).toMatch(/^authorization /);
    else if (header) expect(entry.signature.split(' ')[0]).toBe(header);
    else expect(entry.signature).toContain(`body ${options.signatureField as string}`);
    const structured = options.structured as { timestampKey?: string } | undefined;
    if (options.timestampHeader) expect(entry.timestamp).toBe(options.timestampHeader);
    else if (structured?.timestampKey) {
      expect(entry.timestamp).toBe(`${header} ${structured.timestampKey}=`);
    } else if (options.timestampField) {
      expect(entry.timestamp).toBe(`body ${options.timestampField as string}`);
    } else if (options.maxAgeSeconds !== undefined) expect(entry.timestamp).toBe('claim iat');
    else expect(entry.timestamp).toBe('—');
    const id = options.deliveryId as { header?: string; jsonField?: string } | undefined;
    expect(entry.id).toBe(id?.header ?? (id?.jsonField ? `body ${id.jsonField}` : '—'));
    if (options.eventTypeHeader) expect(entry.type).toBe(options.eventTypeHeader);
    else if (options.eventTypeField) expect(entry.type).toBe(`body ${options.eventTypeField}`);
    else expect(entry.type).toBe(`fixed "${options.eventType as string}"`);
  });

  it('says which ids are signed, and how long keys are kept', () => {
    const row = (name: string) => catalog().find((e) => e.name === name);
    // A signed template id, a signed body id, an unsigned header id.
    expect(row('clerk')).toMatchObject({ id: 'svix-id', idSigned: true, retentionDays: 7 });
    expect(row('paddle')).toMatchObject({ id: 'body event_id', idSigned: true });
    expect(row('razorpay')).toMatchObject({ idSigned: false, retentionDays: 30 });
    expect(row('adyen')).toMatchObject({ retentionDays: 35 });
    expect(row('github')).toMatchObject({
      kind: 'scheme',
      id: 'x-github-delivery',
      idSigned: false,
    });
  });

  it('prints the names on one line with --names', async () => {
    const { code, out } = await hookonce('providers', '--names');
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    for (const name of presetNames) expect(out[0]).toContain(name);
  });

  it('shows one preset in detail, with a declaration to paste', async () => {
    // Act
    const { code, out } = await hookonce('providers', 'discord');

    // Assess
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('signature    x-signature-ed25519 (<hex>)');
    expect(text).toContain('timestamp    x-signature-timestamp (±300 s)');
    expect(text).toContain(
      "discord: { preset: 'discord', publicKeys: ['<the sender’s public key>'] },",
    );
  });

  it('shows a timestamp signed in the body, its window, and the key taken without it', async () => {
    // Act
    const { code, out } = await hookonce('providers', 'linear');

    // Assess
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('timestamp    body webhookTimestamp (±60 s)');
    expect(text).toContain('delivery id  linear-delivery (not signed: kept beside the key)');
    expect(text).toContain(
      'key          SHA-256 of what is signed, without the body’s webhookTimestamp (a retry carries a new one)',
    );
    expect(text).toContain('keys kept    7 days');
  });

  it('quotes a name with a dash in the snippet, and asks no key of a secret family', () => {
    const entry = catalog().find((e) => e.name === 'coinbase-commerce');
    if (!entry) throw new Error('not listed');
    expect(declarationSnippet(entry)).toContain(
      "'coinbase-commerce': { preset: 'coinbase-commerce' },",
    );
  });

  it('refuses a name it does not know, with the usage', async () => {
    const { code, out } = await hookonce('providers', 'nosuch');
    expect(code).toBe(2);
    expect(out[0]).toContain('no preset or scheme "nosuch"');
  });
});
