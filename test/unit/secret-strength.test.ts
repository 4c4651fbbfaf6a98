import { describe, expect, it } from 'vitest';
import { checkSecretList, MIN_SECRET_LENGTH } from '../../functions/providers/common.ts';
import { buildProviders } from '../../functions/providers/registry.ts';
import { resolveDeclaration } from '../../functions/shared/declaration.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import { declaration as defaultDeclaration } from '../../infra/hookonce.config.ts';
import { generateSecret } from '../../infra/local/dev-secrets.ts';

const declared = resolveDeclaration(defaultDeclaration).providers;
const providers = buildProviders(declared);

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

function checkerOf(name: string) {
  const provider = providers.get(name);
  if (!provider) throw new Error(`no provider ${name} in the default declaration`);
  return (secrets: readonly string[]) => provider.checkSecrets(secrets);
}

/**
 * Per provider of the default declaration (one per scheme but Standard Webhooks,
 * whose minimum is in bytes): a secret of 15 characters in the provider's own
 * format, one of 16, and what its error says about where the provider shows the
 * secret.
 */
const SCHEMES: ReadonlyArray<[name: string, short: string, enough: string, where: string]> = [
  ['stripe', 'whsec_0a1b2c3d4', 'whsec_0a1b2c3d4e', 'Signing secret'],
  ['github', 'gh-hook-secret!', 'gh-hook-secret!!', 'Settings → Webhooks'],
  ['shopify', 'shpss_0a1b2c3d4', 'shpss_0a1b2c3d4e', 'Client credentials'],
  ['slack', '0a1b2c3d4e5f6a7', '0a1b2c3d4e5f6a7b', 'App Credentials'],
  ['hmac', 'hmac-key-of-15!', 'hmac-key-of-16!!', "sender's webhook settings"],
];

describe('Minimum key strength', () => {
  describe('Function: checkSecretList', () => {
    it(`refuses a secret of ${MIN_SECRET_LENGTH - 1} characters with the provider, the minimum and the hint, never the secret`, () => {
      // Prepare
      const short = 'x'.repeat(MIN_SECRET_LENGTH - 1);

      // Act
      const error = thrownBy(() =>
        checkSecretList('acme', ['a-long-enough-secret', short], 'shown under Settings → Keys'),
      );

      // Assess
      expect(MIN_SECRET_LENGTH).toBe(16);
      expect(error).toBeInstanceOf(ConfigError);
      expect(String(error)).toContain('provider "acme"');
      expect(String(error)).toContain('shorter than 16 characters');
      expect(String(error)).toContain('shown under Settings → Keys');
      expect(String(error)).not.toContain(short);
    });

    it(`accepts a secret of exactly ${MIN_SECRET_LENGTH} characters`, () => {
      // Act
      const check = () => checkSecretList('acme', ['x'.repeat(MIN_SECRET_LENGTH)], 'hint');

      // Assess
      expect(check).not.toThrow();
    });
  });

  describe('Method: checkSecrets, for each scheme of the default declaration', () => {
    it.each(SCHEMES)(
      '%s refuses a 15-character secret, saying where the provider shows the secret, and never repeats it',
      (name, short, _, where) => {
        // Act
        const error = thrownBy(() => checkerOf(name)([short]));

        // Assess
        expect(short).toHaveLength(15);
        expect(error).toBeInstanceOf(ConfigError);
        expect(String(error)).toContain('shorter than 16 characters');
        expect(String(error)).toContain(where);
        expect(String(error)).not.toContain(short);
      },
    );

    it.each(SCHEMES)('%s accepts a 16-character secret', (name, _, enough) => {
      // Act
      const check = () => checkerOf(name)([enough]);

      // Assess
      expect(enough).toHaveLength(16);
      expect(check).not.toThrow();
    });

    it('twilio refuses a 15-character secret and accepts its 32-hex-digit Auth Token, naming the Console', () => {
      // Prepare
      const short = '0a1b2c3d4e5f6a7';

      // Act
      const error = thrownBy(() => checkerOf('twilio')([short]));
      const accept = () => checkerOf('twilio')(['0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d']);

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect(String(error)).toContain('Console → Account info');
      expect(String(error)).not.toContain(short);
      expect(accept).not.toThrow();
    });

    it('standard refuses a whsec_ key of 15 bytes and accepts one of 16, naming where the sender shows it', () => {
      // Prepare
      const short = `whsec_${Buffer.alloc(15, 1).toString('base64')}`;

      // Act
      const error = thrownBy(() => checkerOf('standard')([short]));
      const accept = () =>
        checkerOf('standard')([`whsec_${Buffer.alloc(16, 1).toString('base64')}`]);

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect(String(error)).toContain('at least 16 bytes');
      expect(String(error)).toContain('signing secret of this endpoint');
      expect(accept).not.toThrow();
    });
  });

  describe('Function: generateSecret (the local runtime’s development secrets)', () => {
    it.each(Object.keys(declared))('generates a %s secret that its provider accepts', (name) => {
      // Prepare
      const provider = declared[name];
      if (!provider) throw new Error(`no provider ${name}`);

      // Act
      const check = () => checkerOf(name)([generateSecret(provider), generateSecret(provider)]);

      // Assess
      expect(check).not.toThrow();
    });
  });
});
