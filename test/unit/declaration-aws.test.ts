import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THROTTLE,
  type HookonceDeclaration,
  type ProviderDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe/webhooks-Ab12Cd';

const withProvider = (provider: ProviderDeclaration): HookonceDeclaration => ({
  providers: { stripe: provider },
  subscribers: {},
});

function problemsOf(declaration: HookonceDeclaration): string {
  try {
    resolveDeclaration(declaration);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the declaration to be refused');
}

describe('Function: resolveDeclaration, what the AWS deployment reads', () => {
  describe('throttle', () => {
    it('defaults to 1,000 requests/s with bursts of 2,000', () => {
      // Act
      const resolved = resolveDeclaration(withProvider({ scheme: 'stripe' }));

      // Assess
      expect(resolved.throttle).toEqual({ rateLimit: 1000, burstLimit: 2000 });
      expect(DEFAULT_THROTTLE).toEqual(resolved.throttle);
    });

    it('takes either limit alone and keeps the other’s default', () => {
      // Act
      const resolved = resolveDeclaration({
        ...withProvider({ scheme: 'stripe' }),
        throttle: { burstLimit: 50 },
      });

      // Assess
      expect(resolved.throttle).toEqual({ rateLimit: 1000, burstLimit: 50 });
    });

    it.each([
      [{ rateLimit: 0 }, 'throttle.rateLimit'],
      [{ rateLimit: 2.5 }, 'throttle.rateLimit'],
      [{ burstLimit: -1 }, 'throttle.burstLimit'],
    ])('refuses %j', (throttle, what) => {
      // Act
      const message = problemsOf({ ...withProvider({ scheme: 'stripe' }), throttle });

      // Assess
      expect(message).toContain(`${what} must be a whole number`);
    });
  });

  describe('existing secrets', () => {
    it('names no existing secret when a provider names none', () => {
      // Act
      const resolved = resolveDeclaration(withProvider({ scheme: 'stripe' }));

      // Assess
      expect(resolved.existingSecrets).toEqual({});
    });

    it('takes a complete ARN or a name, and keeps both out of what the ingest function gets', () => {
      // Act
      const resolved = resolveDeclaration({
        providers: {
          stripe: { scheme: 'stripe', secretArn: ARN },
          github: { scheme: 'github', secretName: 'prod/github-webhooks' },
        },
        subscribers: {},
      });

      // Assess
      expect(resolved.existingSecrets).toEqual({
        stripe: { arn: ARN },
        github: { name: 'prod/github-webhooks' },
      });
      expect(JSON.stringify(resolved.providers)).not.toMatch(/secret/i);
    });

    it.each([
      ['a partial ARN', { secretArn: ARN.slice(0, -7) }, 'secretArn must be a complete'],
      ['an ARN of another service', { secretArn: 'arn:aws:s3:::bucket' }, 'secretArn must be'],
      ['a name with spaces', { secretName: 'my secret' }, 'secretName must be'],
      [
        'both',
        { secretArn: ARN, secretName: 'x' },
        'name its secret by secretArn or by secretName',
      ],
    ])('refuses %s', (_, secret, message) => {
      // Act
      const problems = problemsOf(withProvider({ scheme: 'stripe', ...secret }));

      // Assess
      expect(problems).toContain(`provider "stripe": ${message}`);
    });
  });
});
