import type { Env } from './env.ts';
import { ConfigError } from './errors.ts';

/** Where a provider's active secrets come from. Several may be active at once (rotation). */
export interface SecretSource {
  get(provider: string): Promise<readonly string[]>;
}

export const secretEnvKey = (provider: string): string =>
  `HOOKONCE_SECRET_${provider.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/** Splits `a,b` or a JSON list `["a","b"]` into the active secrets. */
export function parseSecretList(raw: string): string[] {
  const trimmed = raw.trim();
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch {
      // Not chained: V8's message quotes the text it failed on, that is the secrets.
      throw new ConfigError('a secret list that starts with "[" must be a JSON array of strings');
    }
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
      throw new ConfigError('a secret list must be a JSON array of strings');
    }
    return list.map((s: string) => s.trim()).filter((s) => s.length > 0);
  }
  return trimmed
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Secrets from `HOOKONCE_SECRET_<PROVIDER>` (comma-separated for rotation): what
 * the local runtime uses. Read once, at cold start; a missing one fails there.
 */
export function envSecrets(
  env: Env,
  providers: readonly string[],
): SecretSource & { readonly all: ReadonlyMap<string, readonly string[]> } {
  const secrets = new Map<string, readonly string[]>();
  for (const provider of providers) {
    const key = secretEnvKey(provider);
    const raw = env[key];
    let list: string[];
    try {
      list = raw ? parseSecretList(raw) : [];
    } catch (error) {
      throw new ConfigError(`${key}: ${(error as Error).message}`, { cause: error });
    }
    if (list.length === 0)
      throw new ConfigError(`no secret for provider "${provider}": set ${key}`);
    secrets.set(provider, list);
  }
  return {
    all: secrets,
    get: async (provider) => secrets.get(provider) ?? [],
  };
}
