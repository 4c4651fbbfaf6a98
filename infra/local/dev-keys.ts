import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PRESETS, type PresetName } from '../../functions/providers/presets.ts';
import type {
  HookonceDeclaration,
  ProviderDeclaration,
} from '../../functions/shared/declaration.ts';

/**
 * Development key pairs for the providers verified with public keys (the
 * `asymmetric` and `jwt` families, and their presets: discord, sendgrid, plaid)
 * that a declaration gives no keys: `npm start` makes one pair per such provider,
 * keeps it in the data folder (keys.json, beside secrets.json, mode 600), hands
 * the ingest function the public key as if declared, and `hookonce send` signs
 * with the private key. Nothing prints a private key. A declaration that gives
 * keys is left as it is: only the sender's private key signs for those.
 */

/** The kinds of key the families verify. */
export type DevKeyKind = 'ed25519' | 'p-256' | 'rsa';

export interface DevKeyPair {
  readonly kind: DevKeyKind;
  /** SPKI PEM: what the ingest function is given. */
  readonly publicKey: string;
  /** PKCS #8 PEM: what `hookonce send` signs with. Never printed. */
  readonly privateKey: string;
}

export interface DevKey extends DevKeyPair {
  /** Made by this start, or kept from an earlier one. */
  readonly source: 'generated' | 'kept';
}

/** The family options of a declared provider, its preset's under its own. */
function optionsOf(declared: ProviderDeclaration): Record<string, unknown> {
  const own = declared as unknown as Record<string, unknown>;
  const preset = own.preset;
  if (typeof preset === 'string' && Object.hasOwn(PRESETS, preset)) {
    return { ...(PRESETS[preset as PresetName] as Record<string, unknown>), ...own };
  }
  return own;
}

/**
 * The kind of development key a provider needs: one verified with public keys
 * and declared without any. Undefined for every other provider.
 */
export function devKeyKind(declared: ProviderDeclaration): DevKeyKind | undefined {
  const o = optionsOf(declared);
  if (o.scheme === 'asymmetric') {
    if (Array.isArray(o.publicKeys) && o.publicKeys.length > 0) return undefined;
    return o.algorithm === 'ed25519' ? 'ed25519' : 'p-256';
  }
  if (o.scheme === 'jwt') {
    if (Array.isArray(o.publicKeys) && o.publicKeys.length > 0) return undefined;
    if (o.jwks !== undefined) return undefined;
    const algorithms = Array.isArray(o.algorithms) ? (o.algorithms as string[]) : [];
    if (algorithms.includes('ES256')) return 'p-256';
    if (algorithms.includes('EdDSA')) return 'ed25519';
    return 'rsa';
  }
  return undefined;
}

/** A fresh key pair of that kind, both halves as PEM. */
export function generateDevKeyPair(kind: DevKeyKind): DevKeyPair {
  const pair =
    kind === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : kind === 'p-256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kind,
    publicKey: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string,
    privateKey: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
}

function readKept(file: string | undefined): Record<string, DevKeyPair> {
  if (!file || !existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, DevKeyPair>;
  } catch {
    return {};
  }
}

/**
 * The declaration with each keyless keyed provider given its development public
 * key, and those keys. With `generate` (the local runtime), a provider without a
 * kept pair of the right kind gets a new one, written to `file`; without it (the
 * CLI), only kept pairs are used. With no file (tests), pairs live in memory.
 */
export function withDevelopmentKeys(
  declaration: HookonceDeclaration,
  file: string | undefined,
  options: { generate: boolean },
): { declaration: HookonceDeclaration; keys: Record<string, DevKey> } {
  const kept = readKept(file);
  const keys: Record<string, DevKey> = {};
  const providers: Record<string, ProviderDeclaration> = {};
  let changed = false;
  for (const [name, declared] of Object.entries(declaration.providers ?? {})) {
    const kind = devKeyKind(declared);
    const existing = kept[name];
    let pair: DevKey | undefined;
    if (kind && existing?.kind === kind && existing.publicKey && existing.privateKey) {
      pair = { ...existing, source: 'kept' };
    } else if (kind && options.generate) {
      const fresh = generateDevKeyPair(kind);
      kept[name] = fresh;
      changed = true;
      pair = { ...fresh, source: 'generated' };
    }
    if (pair) {
      keys[name] = pair;
      providers[name] = { ...declared, publicKeys: [pair.publicKey] } as ProviderDeclaration;
    } else providers[name] = declared;
  }
  if (file && changed) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(kept, null, 2)}\n`, { mode: 0o600 });
  }
  return { declaration: { ...declaration, providers }, keys };
}
