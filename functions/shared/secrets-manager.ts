import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DependencyError } from './errors.ts';
import { parseSecretList, type SecretSource } from './secrets.ts';

/** How long a fetched secret is trusted before it is read again (rotation takes effect within this). */
export const SECRET_MAX_AGE_SECONDS = 300;

/**
 * Secrets from AWS Secrets Manager, one secret per provider holding a JSON list
 * of its active secrets. Fetched through Powertools' cached provider, so a warm
 * Lambda reads each secret at most once per SECRET_MAX_AGE_SECONDS.
 */
export function secretsManagerSecrets(options: {
  secretIds: Readonly<Record<string, string>>;
  client?: SecretsManagerClient;
  maxAgeSeconds?: number;
}): SecretSource {
  const provider = new SecretsProvider(options.client ? { awsSdkV3Client: options.client } : {});
  const maxAge = options.maxAgeSeconds ?? SECRET_MAX_AGE_SECONDS;
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
      return raw ? parseSecretList(raw) : [];
    },
  };
}
