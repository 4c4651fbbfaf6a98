import { describe, expect, it } from 'vitest';
import { buildProviders, FACTORIES } from '../../functions/providers/registry.ts';
import {
  type ResolvedProvider,
  resolveDeclaration,
  SCHEMES,
} from '../../functions/shared/declaration.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import { declaration as defaultDeclaration } from '../../infra/hookonce.config.ts';
import { inspectWith } from '../support/providers.ts';

describe('Module: provider registry', () => {
  describe('Function: buildProviders', () => {
    it('has a factory for every scheme the declaration knows', () => {
      // Assess
      expect(Object.keys(FACTORIES).sort()).toEqual([...SCHEMES].sort());
    });

    it('builds a verifier for every provider of the default declaration, under its own name', () => {
      // Prepare
      const { providers } = resolveDeclaration(defaultDeclaration);

      // Act
      const built = buildProviders(JSON.parse(JSON.stringify(providers)));

      // Assess
      expect([...built.keys()]).toEqual(Object.keys(providers));
      for (const [name, provider] of built) {
        expect(provider.name).toBe(name);
        expect(provider.maxBodyBytes).toBe(providers[name]?.maxBodyBytes);
      }
    });

    it('gives each verifier its scheme: an unsigned request is refused as missing_signature by all', () => {
      // Prepare
      const built = buildProviders(resolveDeclaration(defaultDeclaration).providers);

      // Act
      const verdicts = [...built.values()].map((provider) =>
        inspectWith(provider, { headers: {}, body: '{}', secrets: ['irrelevant'] }),
      );

      // Assess
      for (const verdict of verdicts) {
        expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'missing_signature' });
      }
    });

    it('refuses an unknown scheme with a ConfigError naming the schemes it knows', () => {
      // Prepare
      const declared = { p: { scheme: 'svix', maxBodyBytes: 10 } as unknown as ResolvedProvider };

      // Act
      let error: unknown;
      try {
        buildProviders(declared);
      } catch (e) {
        error = e;
      }

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect(String(error)).toContain('unknown scheme "svix"');
      expect(String(error)).toContain('stripe');
    });
  });
});
