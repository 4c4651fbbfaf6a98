import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../functions/shared/log.ts';
import {
  SECRET_MAX_AGE_SECONDS,
  secretsManagerSecrets,
} from '../../functions/shared/secrets-manager.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:hookonce-standard-AbCdEf';
const OLD = 'whsec_b2xkLXNlY3JldC1vZi10aGUtcHJvdmlkZXI=';
const NEW = 'whsec_bmV3LXNlY3JldC1hZnRlci1yb3RhdGlvbg==';

/**
 * A real SDK client whose `send` answers from `value` and counts the reads: this
 * tests the cache in front of Secrets Manager, not Secrets Manager.
 */
function fakeSecretsManager(initial: string) {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const state = { value: initial, reads: 0, ids: [] as string[] };
  vi.spyOn(client, 'send').mockImplementation(async (command: unknown) => {
    state.reads += 1;
    state.ids.push((command as { input: { SecretId: string } }).input.SecretId);
    return { SecretString: state.value };
  });
  return { client, state };
}

describe('Function: secretsManagerSecrets', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2100, 0, 1) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('Method: get', () => {
    it('reads a provider’s secret once, serves it from the cache, and reads it again after the interval', async () => {
      // Prepare
      const { client, state } = fakeSecretsManager(JSON.stringify([OLD]));
      const secrets = secretsManagerSecrets({ secretIds: { standard: ARN }, client });

      // Act
      const first = await secrets.get('standard');
      state.value = JSON.stringify([NEW, OLD]); // rotation: the new secret is added
      vi.advanceTimersByTime((SECRET_MAX_AGE_SECONDS - 1) * 1000);
      const cached = await secrets.get('standard');
      vi.advanceTimersByTime(2_000);
      const refreshed = await secrets.get('standard');

      // Assess
      expect(first).toEqual([OLD]);
      expect(cached).toEqual([OLD]);
      expect(refreshed).toEqual([NEW, OLD]);
      expect(state.reads).toBe(2);
      expect(state.ids).toEqual([ARN, ARN]);
    });

    it('honours a shorter refresh interval', async () => {
      // Prepare
      const { client, state } = fakeSecretsManager('["whsec_a"]');
      const secrets = secretsManagerSecrets({
        secretIds: { standard: ARN },
        client,
        maxAgeSeconds: 10,
      });

      // Act
      await secrets.get('standard');
      vi.advanceTimersByTime(11_000);
      await secrets.get('standard');

      // Assess
      expect(state.reads).toBe(2);
    });

    it('reads only the secrets of the providers it was given', async () => {
      // Prepare
      const { client, state } = fakeSecretsManager('["whsec_a"]');
      const secrets = secretsManagerSecrets({ secretIds: { standard: ARN }, client });

      // Act
      const other = await secrets.get('stripe');

      // Assess
      expect(other).toEqual([]);
      expect(state.reads).toBe(0);
    });

    it('warns once per interval that an empty list must be filled, naming the secret, never a value', async () => {
      // Prepare
      const { client, state } = fakeSecretsManager('[]');
      const lines: string[] = [];
      const log = createLogger({ service: 'test' }, 'debug', (line) => lines.push(line));
      const secrets = secretsManagerSecrets({ secretIds: { standard: ARN }, client, log });

      // Act
      await secrets.get('standard');
      await secrets.get('standard');
      vi.advanceTimersByTime((SECRET_MAX_AGE_SECONDS + 1) * 1000);
      await secrets.get('standard');
      state.value = JSON.stringify([NEW]);
      vi.advanceTimersByTime((SECRET_MAX_AGE_SECONDS + 1) * 1000);
      const filled = await secrets.get('standard');

      // Assess
      expect(filled).toEqual([NEW]);
      const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatchObject({
        level: 'WARN',
        message: expect.stringContaining('no active signing secret'),
        provider: 'standard',
        secretId: ARN,
        fix: expect.stringContaining(`put-secret-value --secret-id ${ARN}`),
      });
      expect(lines.join('\n')).not.toContain(NEW);
    });

    it('names a secret its verifier calls malformed in one warning per interval, never its value', async () => {
      // Prepare: an API key pasted where the webhook secret belongs.
      const pasted = 'sk_live_notawebhooksecret';
      const { client } = fakeSecretsManager(JSON.stringify([pasted]));
      const lines: string[] = [];
      const log = createLogger({ service: 'test' }, 'debug', (line) => lines.push(line));
      const check = (_: string, list: readonly string[]) => {
        if (!list.every((s) => s.startsWith('whsec_')))
          throw new Error('a secret is "whsec_" followed by base64');
      };
      const secrets = secretsManagerSecrets({ secretIds: { standard: ARN }, client, log, check });

      // Act
      const first = await secrets.get('standard');
      await secrets.get('standard');

      // Assess: handed on unchanged (the verifier refuses it), and named once.
      expect(first).toEqual([pasted]);
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] as string)).toMatchObject({
        level: 'WARN',
        message: expect.stringContaining('malformed'),
        provider: 'standard',
        secretId: ARN,
        problem: 'a secret is "whsec_" followed by base64',
      });
      expect(lines.join('\n')).not.toContain(pasted);
    });

    it('turns a failed read into a DependencyError of secretsmanager, without the secret', async () => {
      // Prepare
      const { client } = fakeSecretsManager('["whsec_a"]');
      vi.spyOn(client, 'send').mockRejectedValue(new Error('AccessDeniedException'));
      const secrets = secretsManagerSecrets({ secretIds: { standard: ARN }, client });

      // Act
      const error = await secrets.get('standard').then(
        () => undefined,
        (e: unknown) => e,
      );

      // Assess
      expect(error).toMatchObject({ name: 'DependencyError', dependency: 'secretsmanager' });
      expect(String(error)).toContain('provider "standard"');
    });
  });
});
