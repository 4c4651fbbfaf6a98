/**
 * `hookonce providers`: every preset and built-in scheme, with what its sender
 * sends. Each preset's row is derived from its options (functions/providers/
 * presets.ts), resolved as a declaration would resolve it, never kept in a
 * second table; the built-in schemes' rows name their verifiers' own header
 * constants.
 */
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';
import { GITHUB_HEADERS } from '../../functions/providers/github.ts';
import { PRESETS, type PresetName } from '../../functions/providers/presets.ts';
import { SHOPIFY_HEADERS } from '../../functions/providers/shopify.ts';
import { SLACK_HEADERS } from '../../functions/providers/slack.ts';
import { STANDARD_HEADERS } from '../../functions/providers/standard-webhooks.ts';
import { TWILIO_HEADERS } from '../../functions/providers/twilio.ts';
import {
  DEFAULT_TOLERANCE_SECONDS,
  type ProviderDeclaration,
  type ResolvedProvider,
  resolveDeclaration,
  type SchemeName,
  signsDeliveryId,
  signsTimestamp,
  usesSecrets,
} from '../../functions/shared/declaration.ts';
import { secretEnvKey } from '../../functions/shared/secrets.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';

/** One row of the catalog: what a sender of this kind sends, and what hookonce makes of it. */
export interface CatalogEntry {
  readonly name: string;
  /** A preset of a family, or a scheme of its own. */
  readonly kind: 'preset' | 'scheme';
  readonly family: SchemeName;
  /** Where the signature or the credentials are, and their form. */
  readonly signature: string;
  /** Where the signed timestamp is; '—' when none is signed. */
  readonly timestamp: string;
  /** Where the sender's delivery id is; '—' when it sends none. */
  readonly id: string;
  /** Whether the signature covers that id (only then does it key a delivery). */
  readonly idSigned: boolean;
  /** Where the event type comes from. */
  readonly type: string;
  /** Days a delivery's key is kept, with the default declaration's retentionDays. */
  readonly retentionDays: number;
  /** The resolved provider (presets and schemes alike), for the detail view. */
  readonly provider: ResolvedProvider;
}

/** The built-in schemes, in the order docs/providers.md presents them. */
const SCHEME_NAMES = [
  'stripe',
  'github',
  'shopify',
  'slack',
  'twilio',
  'standard-webhooks',
] as const;

/** What the built-in schemes send: their verifiers' header names, in words. */
const SCHEME_ROWS: Readonly<
  Record<
    (typeof SCHEME_NAMES)[number],
    Pick<CatalogEntry, 'signature' | 'timestamp' | 'id' | 'type'>
  >
> = {
  stripe: {
    signature: 'stripe-signature (t=…,v1=<hex>)',
    timestamp: 'stripe-signature t=',
    id: 'body id',
    type: 'body type',
  },
  github: {
    signature: `${GITHUB_HEADERS.signature} (sha256=<hex>)`,
    timestamp: '—',
    id: GITHUB_HEADERS.delivery,
    type: GITHUB_HEADERS.event,
  },
  shopify: {
    signature: `${SHOPIFY_HEADERS.signature} (<base64>)`,
    timestamp: '—',
    id: SHOPIFY_HEADERS.eventId,
    type: SHOPIFY_HEADERS.topic,
  },
  slack: {
    signature: `${SLACK_HEADERS.signature} (v0=<hex>)`,
    timestamp: SLACK_HEADERS.timestamp,
    id: 'body event_id',
    type: 'body event.type',
  },
  twilio: {
    signature: `${TWILIO_HEADERS.signature} (<base64>)`,
    timestamp: '—',
    id: TWILIO_HEADERS.idempotencyToken,
    type: 'fixed "twilio" (eventType)',
  },
  'standard-webhooks': {
    signature: `${STANDARD_HEADERS.signature} (v1,<base64> v1a,<base64>)`,
    timestamp: STANDARD_HEADERS.timestamp,
    id: STANDARD_HEADERS.id,
    type: 'body type',
  },
};

/** Public keys a keyed preset resolves with, for the catalog only: made once, never shown. */
let placeholderKeys: { ed25519: string; p256: string } | undefined;
function placeholders(): { ed25519: string; p256: string } {
  placeholderKeys ??= {
    ed25519: generateKeyPairSync('ed25519').publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string,
    p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string,
  };
  return placeholderKeys;
}

/** A preset as a declaration would give it, with a placeholder key where it needs one. */
function presetDeclaration(name: PresetName): ProviderDeclaration {
  const options = PRESETS[name];
  if (options.scheme === 'asymmetric') {
    const key = options.algorithm === 'ed25519' ? placeholders().ed25519 : placeholders().p256;
    return { preset: name, publicKeys: [key] } as ProviderDeclaration;
  }
  if (options.scheme === 'jwt') {
    const algorithms: readonly string[] = options.algorithms ?? [];
    const key = algorithms.includes('ES256') ? placeholders().p256 : placeholders().ed25519;
    return { preset: name, publicKeys: [key] } as ProviderDeclaration;
  }
  return { preset: name } as ProviderDeclaration;
}

const resolveOne = (name: string, declared: ProviderDeclaration): ResolvedProvider => {
  const provider = resolveDeclaration({ providers: { p: declared }, subscribers: {} }).providers.p;
  if (!provider) throw new Error(`${name} did not resolve`);
  return provider;
};

/** Where a signature family's signature is, and its form. */
function signatureOf(p: ResolvedProvider): string {
  switch (p.scheme) {
    case 'hmac':
    case 'asymmetric': {
      const value = `<${p.encoding}>`;
      if (p.header === undefined) return `body ${p.signatureField} (${value})`;
      const s = p.structured;
      if (s) {
        const items = [
          ...(s.timestampKey !== undefined ? [`${s.timestampKey}${s.assignment}…`] : []),
          `${s.signatureKey}${s.assignment}${value}`,
        ];
        return `${p.header} (${items.join(s.separator)})`;
      }
      return `${p.header} (${p.prefix}${value})`;
    }
    case 'token':
      return `${p.header} (${p.prefix}<token>)`;
    case 'basic':
      return 'authorization (Basic <user:password>)';
    case 'jwt':
      return `${p.header} (${p.prefix}<${p.algorithms.join('|')} JWT>)`;
    default:
      return SCHEME_ROWS[p.scheme].signature;
  }
}

function timestampOf(p: ResolvedProvider): string {
  if (p.scheme === 'hmac' || p.scheme === 'asymmetric') {
    if (p.timestampHeader !== undefined) return p.timestampHeader;
    if (p.structured?.timestampKey !== undefined) {
      return `${p.header} ${p.structured.timestampKey}${p.structured.assignment}`;
    }
    if (p.scheme === 'hmac' && p.timestampField !== undefined) return `body ${p.timestampField}`;
    return '—';
  }
  if (p.scheme === 'jwt') return p.maxAgeSeconds !== undefined ? 'claim iat' : '—';
  return '—';
}

function idOf(p: ResolvedProvider): string {
  if (!('deliveryId' in p) || p.deliveryId === undefined) return '—';
  const id = p.deliveryId;
  if ('header' in id) return id.header;
  if ('jsonField' in id) return `body ${id.jsonField}`;
  return `claim ${id.claim}`;
}

function typeOf(p: ResolvedProvider): string {
  if (!('eventTypeField' in p || 'eventTypeHeader' in p || 'eventType' in p)) return 'webhook';
  const e = p as { eventTypeField?: string; eventTypeHeader?: string; eventType?: string };
  if (e.eventTypeHeader !== undefined) return e.eventTypeHeader;
  if (e.eventTypeField !== undefined) return `body ${e.eventTypeField}`;
  if (e.eventType !== undefined) return `fixed "${e.eventType}"`;
  return 'webhook';
}

let cached: readonly CatalogEntry[] | undefined;

/** Every preset, alphabetically, then every built-in scheme. */
export function catalog(): readonly CatalogEntry[] {
  if (cached) return cached;
  const presets = (Object.keys(PRESETS) as PresetName[]).sort().map((name): CatalogEntry => {
    const provider = resolveOne(name, presetDeclaration(name));
    return {
      name,
      kind: 'preset',
      family: provider.scheme,
      signature: signatureOf(provider),
      timestamp: timestampOf(provider),
      id: idOf(provider),
      idSigned: idOf(provider) !== '—' && signsDeliveryId(provider),
      type: typeOf(provider),
      retentionDays: provider.retentionDays,
      provider,
    };
  });
  const schemes = SCHEME_NAMES.map((name): CatalogEntry => {
    const provider = resolveOne(name, { scheme: name } as ProviderDeclaration);
    return {
      name,
      kind: 'scheme',
      family: provider.scheme,
      ...SCHEME_ROWS[name],
      idSigned: signsDeliveryId(provider),
      retentionDays: provider.retentionDays,
      provider,
    };
  });
  cached = [...presets, ...schemes];
  return cached;
}

/** The catalog as a table: one line per preset or scheme. */
export function catalogTable(entries: readonly CatalogEntry[]): string[] {
  const rows = [
    ['name', 'family', 'signature', 'timestamp', 'delivery id', 'id signed', 'event type', 'kept'],
    ...entries.map((e) => [
      e.name,
      e.kind === 'preset' ? e.family : 'scheme',
      e.signature,
      e.timestamp,
      e.id,
      e.id === '—' ? '—' : e.idSigned ? 'yes' : 'no',
      e.type,
      `${e.retentionDays} d`,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** What a preset needs beside `preset` in a declaration, as a snippet to paste. */
export function declarationSnippet(entry: CatalogEntry): string {
  const { name, provider } = entry;
  const key = /^[a-z][a-z0-9]*$/.test(name) ? name : `'${name}'`;
  let value: string;
  if (entry.kind === 'scheme') value = `{ scheme: '${name}' }`;
  else if (provider.scheme === 'asymmetric') {
    value = `{ preset: '${name}', publicKeys: ['<the sender’s public key>'] }`;
  } else if (provider.scheme === 'jwt') {
    value = `{ preset: '${name}', jwks: { keys: [/* the sender’s JWKS keys */] } }`;
  } else value = `{ preset: '${name}' }`;
  const keyed = entry.kind === 'preset' && !usesSecrets(provider);
  return [
    '// hookonce.config.ts',
    ...(keyed
      ? [
          `// locally you may write { preset: '${name}' } alone: npm start then makes a development key pair`,
        ]
      : []),
    'export const declaration = {',
    '  providers: {',
    `    ${key}: ${value},`,
    '  },',
    '  subscribers: {},',
    '};',
  ].join('\n');
}

/** What keys a delivery of an entry, in words. */
function keyOf(entry: CatalogEntry): string {
  const p = entry.provider;
  if (entry.idSigned) return 'the signed id';
  if (p.scheme === 'jwt' && p.deliveryKey === 'token')
    return 'SHA-256 of the token’s header and claims';
  if (p.scheme === 'hmac' && p.timestampField !== undefined) {
    return `SHA-256 of what is signed, without the body’s ${p.timestampField} (a retry carries a new one)`;
  }
  return 'SHA-256 of what is signed';
}

/** One entry in detail: every line of the table's row, the options, the snippet. */
export function catalogDetail(entry: CatalogEntry): string[] {
  const p = entry.provider;
  const window =
    signsTimestamp(p) && p.scheme !== 'jwt'
      ? ` (±${('toleranceSeconds' in p ? p.toleranceSeconds : undefined) ?? DEFAULT_TOLERANCE_SECONDS} s)`
      : '';
  const jwtAge =
    p.scheme === 'jwt' && p.maxAgeSeconds !== undefined
      ? ` (at most ${p.maxAgeSeconds} s old)`
      : '';
  const credentials = usesSecrets(p)
    ? `a secret: ${secretEnvKey(entry.name)} locally (else generated by \`npm start\`), the provider's Secrets Manager secret on AWS`
    : 'the sender’s public keys, in the declaration (`npm start` makes a development pair when none is given)';
  const lines = [
    `${entry.name}  (${entry.kind === 'preset' ? `preset of the ${entry.family} family` : 'built-in scheme'})`,
    '',
    `  signature    ${entry.signature}`,
    `  timestamp    ${entry.timestamp}${window}${jwtAge}`,
    `  delivery id  ${entry.id}${entry.id === '—' ? '' : entry.idSigned ? ' (signed: it keys a delivery)' : ' (not signed: kept beside the key)'}`,
    `  key          ${keyOf(entry)}`,
    `  event type   ${entry.type}`,
    `  keys kept    ${entry.retentionDays} days`,
    `  verified by  ${credentials}`,
  ];
  if (entry.kind === 'preset') {
    lines.push('', '  options (functions/providers/presets.ts)');
    for (const line of JSON.stringify(PRESETS[entry.name as PresetName], null, 2).split('\n')) {
      lines.push(`    ${line}`);
    }
  }
  lines.push(
    '',
    '  declare it',
    ...declarationSnippet(entry)
      .split('\n')
      .map((l) => `    ${l}`),
  );
  lines.push('', `  try it       npx hookonce send ${entry.name}   (once \`npm start\` serves it)`);
  return lines;
}

export const providersCommand: Command = {
  name: 'providers',
  summary: 'list the presets and built-in schemes hookonce verifies, or show one',
  usage: 'hookonce providers [<name>] [--names]',
  help: `Lists every preset (a family's options for one sender) and every built-in scheme:
the headers its sender sends (signature, timestamp, delivery id, event type),
whether the signature covers the id (only then does the id key a delivery), and
how long keys are kept by default. With a name, shows that one in detail, with a
declaration to paste into hookonce.config.ts.

  <name>     a preset or scheme to show in detail
  --names    only the names, on one line
  -h, --help this help

Examples:
  npx hookonce providers
  npx hookonce providers paddle`,
  async run(args, io) {
    let parsed: ReturnType<
      typeof parseArgs<{
        options: { names: { type: 'boolean' }; help: { type: 'boolean'; short: 'h' } };
        allowPositionals: true;
      }>
    >;
    try {
      parsed = parseArgs({
        args: [...args],
        allowPositionals: true,
        strict: true,
        options: { names: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (parsed.values.help) {
      io.out(`usage: ${this.usage}\n\n${this.help}`);
      return 0;
    }
    const [name, ...extra] = parsed.positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const entries = catalog();
    if (name === undefined) {
      if (parsed.values.names) {
        const presets = entries.filter((e) => e.kind === 'preset').map((e) => e.name);
        const schemes = entries.filter((e) => e.kind === 'scheme').map((e) => e.name);
        io.out(`presets: ${presets.join(', ')}; schemes: ${schemes.join(', ')}`);
        return 0;
      }
      for (const line of catalogTable(entries)) io.out(line);
      return 0;
    }
    const entry = entries.find((e) => e.name === name);
    if (!entry) {
      throw new UsageError(
        `no preset or scheme "${name}"; \`hookonce providers\` lists ${entries.length}`,
      );
    }
    for (const line of catalogDetail(entry)) io.out(line);
    return 0;
  },
};
