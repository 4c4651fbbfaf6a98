import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DependencyError } from './errors.ts';
import type { Logger } from './log.ts';
import { parseSecretList, type SecretSource } from './secrets.ts';

/** How long a fetched secret is trusted before it is read again (rotation takes effect within this). */
export const SECRET_MAX_AGE_SECONDS = 300;

/**
 * Secrets from AWS Secrets Manager, one secret per provider holding a JSON list
 * of its active secrets. Fetched through Powertools' cached provider, so a warm
 * Lambda reads each secret at most once per SECRET_MAX_AGE_SECONDS.
 *
 * A provider whose list is empty (the stack creates each secret as `[]`) gets
 * one warning per max-age that names the secret to fill, never a value; its
 * deliveries are answered 401 until the list holds a secret.
 */
export function secretsManagerSecrets(options: {
  secretIds: Readonly<Record<string, string>>;
  client?: SecretsManagerClient;
  maxAgeSeconds?: number;
  log?: Logger;
  /** Milliseconds since the epoch; spaces the empty-list warnings. @default Date.now */
  now?: () => number;
  /**
   * Checks a provider's list (its verifier's format rules); what it throws is
   * logged, spaced like the empty-list warning, so a mistyped secret is named in
   * the logs instead of showing only as 401s. Its message never holds a secret.
   */
  check?: (provider: string, secrets: readonly string[]) => void;
}): SecretSource {
  const provider = new SecretsProvider(options.client ? { awsSdkV3Client: options.client } : {});
  const maxAge = options.maxAgeSeconds ?? SECRET_MAX_AGE_SECONDS;
  const now = options.now ?? Date.now;
  const warnedAt = new Map<string, number>();
  const warn = (
    name: string,
    id: string,
    message: string,
    fields: Record<string, string> = {},
  ): void => {
    const last = warnedAt.get(name);
    if (last !== undefined && now() - last < maxAge * 1000) return;
    warnedAt.set(name, now());
    options.log?.warn(message, {
      provider: name,
      secretId: id,
      ...fields,
      fix: `aws secretsmanager put-secret-value --secret-id ${id} --secret-string '["<secret>"]'`,
    });
  };
  const malformed = (name: string, list: readonly string[]): string | undefined => {
    try {
      options.check?.(name, list);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : 'malformed';
    }
  };
  return {
    async get(name) {
      const id = options.secretIds[name];
      if (!id) return [];
      let raw: string | undefined;
      try {
        const value = await provider.get(id, { maxAge });
        raw =
          value === undefined || typeof value === 'string'
            ? value
            : Buffer.from(value).toString('utf8');
      } catch (error) {
        throw new DependencyError(
          'secretsmanager',
          `reading the secret of provider "${name}" failed`,
          {
            cause: error,
          },
        );
      }
      const list = raw ? parseSecretList(raw) : [];
      const problem = list.length > 0 ? malformed(name, list) : undefined;
      if (list.length === 0) {
        warn(name, id, 'no active signing secret: every delivery is answered 401');
      } else if (problem) {
        warn(
          name,
          id,
          'a signing secret is malformed: deliveries it should verify are answered 401',
          {
            problem,
          },
        );
      } else {
        warnedAt.delete(name);
      }
      return list;
    },
  };
}
