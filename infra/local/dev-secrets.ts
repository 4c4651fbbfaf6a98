import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ResolvedProvider, usesSecrets } from '../../functions/shared/declaration.ts';
import type { Env } from '../../functions/shared/env.ts';
import { secretEnvKey } from '../../functions/shared/secrets.ts';

export interface ProviderSecret {
  /** The value handed to the function as HOOKONCE_SECRET_<PROVIDER>. */
  readonly value: string;
  /** Where it came from, for the start-up banner. */
  readonly source: 'env' | 'generated' | 'kept';
  readonly envKey: string;
}

/**
 * A fresh development secret in the format the provider's own dashboard hands out,
 * so what works locally is what works with the real provider.
 */
export function generateSecret(provider: ResolvedProvider): string {
  switch (provider.scheme) {
    case 'standard-webhooks':
      // Symmetric v1 key; the spec asks for 24 to 64 random bytes.
      return `whsec_${randomBytes(24).toString('base64')}`;
    case 'stripe':
      // What `stripe listen` prints: whsec_ and 64 hex digits.
      return `whsec_${randomBytes(32).toString('hex')}`;
    case 'github':
      return randomBytes(20).toString('hex');
    case 'shopify':
      return randomBytes(32).toString('hex');
    case 'slack':
      // A Slack signing secret is 32 hex digits.
      return randomBytes(16).toString('hex');
    case 'twilio':
      // A Twilio auth token is 32 hex digits.
      return randomBytes(16).toString('hex');
    case 'hmac':
      switch (provider.secretEncoding ?? 'raw') {
        case 'base64':
          return randomBytes(32).toString('base64');
        case 'whsec':
          return `whsec_${randomBytes(24).toString('base64')}`;
        default:
          return randomBytes(32).toString('hex');
      }
    case 'token':
      return randomBytes(32).toString('hex');
    case 'basic':
      return `hookonce:${randomBytes(16).toString('hex')}`;
    case 'asymmetric':
    case 'jwt':
      throw new Error(
        `scheme "${provider.scheme}" takes no secret: its public keys are in the declaration`,
      );
  }
}

/**
 * Each provider's secret: `HOOKONCE_SECRET_<PROVIDER>` when set; otherwise a
 * development secret generated once and kept in the data folder, so restarts
 * and the signing CLI keep using the same one. With no data folder (tests),
 * generated secrets live only in memory.
 */
export function resolveSecrets(
  providers: Readonly<Record<string, ResolvedProvider>>,
  env: Env,
  file: string | undefined,
): Record<string, ProviderSecret> {
  const kept: Record<string, string> =
    file && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  let changed = false;
  const out: Record<string, ProviderSecret> = {};
  for (const [name, provider] of Object.entries(providers)) {
    // Public keys (asymmetric, jwt) are in the declaration: no secret to set or generate.
    if (!usesSecrets(provider)) continue;
    const envKey = secretEnvKey(name);
    const fromEnv = env[envKey];
    if (fromEnv?.trim()) {
      out[name] = { value: fromEnv, source: 'env', envKey };
      continue;
    }
    const existing = kept[name];
    if (existing) {
      out[name] = { value: existing, source: 'kept', envKey };
      continue;
    }
    kept[name] = generateSecret(provider);
    changed = true;
    out[name] = { value: kept[name], source: 'generated', envKey };
  }
  if (file && changed) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(kept, null, 2)}\n`, { mode: 0o600 });
  }
  return out;
}
