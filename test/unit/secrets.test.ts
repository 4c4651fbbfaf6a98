import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/shared/errors.ts';
import { envSecrets, parseSecretList, secretEnvKey } from '../../functions/shared/secrets.ts';

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('Module: secrets', () => {
  describe('Function: parseSecretList', () => {
    it.each([
      ['one secret', 'whsec_a', ['whsec_a']],
      ['a comma list', 'whsec_a,whsec_b', ['whsec_a', 'whsec_b']],
      ['a comma list with blanks and spaces', ' whsec_a , ,whsec_b, ', ['whsec_a', 'whsec_b']],
      ['a JSON list', '["whsec_a","whsec_b"]', ['whsec_a', 'whsec_b']],
      ['a JSON list with blanks', ' [" whsec_a ", "", "  "] ', ['whsec_a']],
      ['an empty string', '', []],
      ['blanks only', ' , ,', []],
      ['an empty JSON list', '[]', []],
    ])('splits %s', (_, raw, expected) => {
      // Act
      const list = parseSecretList(raw);

      // Assess
      expect(list).toEqual(expected);
    });

    it.each([
      ['a JSON list of numbers', '[1, 2]'],
      ['a JSON list of lists', '[["whsec_a"]]'],
    ])('rejects %s with a ConfigError', (_, raw) => {
      // Act
      const error = thrownBy(() => parseSecretList(raw));

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
    });

    it('rejects a broken JSON list with a ConfigError that does not quote the secret', () => {
      // Prepare
      const raw = '[whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw==, whsec_b]';

      // Act
      const error = thrownBy(() => parseSecretList(raw));

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect(String(error)).not.toContain('c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw');
      expect((error as Error).cause).toBeUndefined();
    });
  });

  describe('Function: secretEnvKey', () => {
    it.each([
      ['standard', 'HOOKONCE_SECRET_STANDARD'],
      ['my-shop', 'HOOKONCE_SECRET_MY_SHOP'],
      ['shop2', 'HOOKONCE_SECRET_SHOP2'],
    ])('names the variable of provider "%s" %s', (provider, key) => {
      // Act
      const name = secretEnvKey(provider);

      // Assess
      expect(name).toBe(key);
    });
  });

  describe('Function: envSecrets', () => {
    it('reads each provider’s secrets from HOOKONCE_SECRET_<NAME>, dashes turned to underscores', async () => {
      // Prepare
      const env = {
        HOOKONCE_SECRET_STANDARD: 'whsec_a',
        HOOKONCE_SECRET_MY_SHOP: 'whsec_new,whsec_old',
      };

      // Act
      const secrets = envSecrets(env, ['standard', 'my-shop']);

      // Assess
      expect(await secrets.get('standard')).toEqual(['whsec_a']);
      expect(await secrets.get('my-shop')).toEqual(['whsec_new', 'whsec_old']);
      expect(await secrets.get('unknown')).toEqual([]);
      expect([...secrets.all.keys()]).toEqual(['standard', 'my-shop']);
    });

    it.each([
      ['missing', {}],
      ['empty', { HOOKONCE_SECRET_MY_SHOP: '' }],
      ['blank', { HOOKONCE_SECRET_MY_SHOP: ' , ' }],
    ])('fails at once with a ConfigError naming the variable when it is %s', (_, env) => {
      // Act
      const error = thrownBy(() => envSecrets(env, ['my-shop']));

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('HOOKONCE_SECRET_MY_SHOP');
      expect((error as Error).message).toContain('"my-shop"');
    });

    it('fails with a ConfigError naming the variable, not its value, when its JSON list is broken', () => {
      // Prepare
      const env = { HOOKONCE_SECRET_STANDARD: '[whsec_c2VjcmV0LW11c3Qtbm90LWxlYWs=]' };

      // Act
      const error = thrownBy(() => envSecrets(env, ['standard']));

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('HOOKONCE_SECRET_STANDARD');
      expect(String(error)).not.toContain('c2VjcmV0LW11c3Qtbm90LWxlYWs');
    });
  });
});
