import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_PENDING_SHARDS,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_TOLERANCE_SECONDS,
  type HookonceDeclaration,
  resolveDeclaration,
  toFilterPolicy,
} from '../../functions/shared/declaration.ts';

const consumer = { entry: 'functions/consumers/example/handler.ts' };

const minimal: HookonceDeclaration = {
  providers: { standard: { scheme: 'standard-webhooks' } },
  subscribers: { billing: { consumer } },
};

function problemsOf(declaration: HookonceDeclaration): string {
  try {
    resolveDeclaration(declaration);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the declaration was accepted');
}

describe('Module: declaration', () => {
  describe('Function: resolveDeclaration', () => {
    it('fills every default', () => {
      // Act
      const resolved = resolveDeclaration(minimal);

      // Assess
      expect(resolved).toEqual({
        name: 'hookonce',
        providers: {
          standard: {
            scheme: 'standard-webhooks',
            maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
            toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
          },
        },
        subscribers: {
          billing: {
            filter: {},
            consumer: {
              entry: consumer.entry,
              handler: 'handler',
              timeoutSeconds: 30,
              memorySize: 256,
            },
            batchSize: DEFAULT_BATCH_SIZE,
            maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
            visibilityTimeoutSeconds: 180,
          },
        },
        retentionDays: DEFAULT_RETENTION_DAYS,
        pendingShards: DEFAULT_PENDING_SHARDS,
      });
      expect(DEFAULT_TOLERANCE_SECONDS).toBe(300);
    });

    it('keeps what is declared, and derives the visibility timeout from the consumer timeout', () => {
      // Act
      const resolved = resolveDeclaration({
        name: 'shop',
        providers: {
          standard: { scheme: 'standard-webhooks', maxBodyBytes: 1024, toleranceSeconds: 60 },
        },
        subscribers: {
          billing: {
            consumer: { ...consumer, handler: 'main', timeoutSeconds: 10, memorySize: 512 },
            filter: { types: ['standard.invoice.'] },
            batchSize: 1,
            maxReceiveCount: 3,
          },
        },
        retentionDays: 3,
        pendingShards: 4,
      });

      // Assess
      expect(resolved.name).toBe('shop');
      expect(resolved.providers.standard).toMatchObject({
        maxBodyBytes: 1024,
        toleranceSeconds: 60,
      });
      expect(resolved.subscribers.billing).toEqual({
        filter: { types: ['standard.invoice.'] },
        consumer: { entry: consumer.entry, handler: 'main', timeoutSeconds: 10, memorySize: 512 },
        batchSize: 1,
        maxReceiveCount: 3,
        visibilityTimeoutSeconds: 60,
      });
      expect(resolved.retentionDays).toBe(3);
      expect(resolved.pendingShards).toBe(4);
    });

    it('lists every problem it finds in one error', () => {
      // Act
      const message = problemsOf({
        providers: {
          Stripe: { scheme: 'standard-webhooks' },
          big: { scheme: 'standard-webhooks', maxBodyBytes: DEFAULT_MAX_BODY_BYTES + 1 },
        },
        subscribers: {
          team_a: { consumer },
          ledger: { consumer, filter: { providers: ['github'] }, batchSize: 11 },
        },
      });

      // Assess
      expect(message).toContain('invalid hookonce declaration');
      expect(message).toContain(
        'provider "Stripe": names are lower-case letters, digits and dashes',
      );
      expect(message).toContain(
        `provider "big": maxBodyBytes must be a whole number between 1 and ${DEFAULT_MAX_BODY_BYTES}`,
      );
      expect(message).toContain(
        'subscriber "team_a": names are lower-case letters, digits and dashes',
      );
      expect(message).toContain('subscriber "ledger": filter names unknown provider "github"');
      expect(message).toContain(
        'subscriber "ledger": batchSize must be a whole number between 1 and 10',
      );
      expect(message.split('\n  - ')).toHaveLength(6);
    });

    it.each([
      ['a name that starts with a digit', '1stripe'],
      ['a name longer than 32 characters', `p${'x'.repeat(32)}`],
      ['an empty name', ''],
      ['a name with a dot', 'stripe.com'],
    ])('rejects a provider with %s', (_, name) => {
      // Act
      const message = problemsOf({
        providers: { [name]: { scheme: 'standard-webhooks' } },
        subscribers: {},
      });

      // Assess
      expect(message).toContain(`provider "${name}": names are lower-case letters`);
    });

    it.each([0, -1, 1.5, DEFAULT_MAX_BODY_BYTES + 1])('rejects maxBodyBytes %s', (maxBodyBytes) => {
      // Act
      const message = problemsOf({
        providers: { standard: { scheme: 'standard-webhooks', maxBodyBytes } },
        subscribers: {},
      });

      // Assess
      expect(message).toContain(
        'provider "standard": maxBodyBytes must be a whole number between 1 and',
      );
    });

    it.each([1, DEFAULT_MAX_BODY_BYTES])('accepts maxBodyBytes %s', (maxBodyBytes) => {
      // Act
      const resolved = resolveDeclaration({
        providers: { standard: { scheme: 'standard-webhooks', maxBodyBytes } },
        subscribers: {},
      });

      // Assess
      expect(resolved.providers.standard?.maxBodyBytes).toBe(maxBodyBytes);
    });

    it.each([0, 11])('rejects batchSize %s', (batchSize) => {
      // Act
      const message = problemsOf({ ...minimal, subscribers: { billing: { consumer, batchSize } } });

      // Assess
      expect(message).toContain(
        'subscriber "billing": batchSize must be a whole number between 1 and 10',
      );
    });

    it('rejects an unknown scheme and a declaration without providers', () => {
      // Act
      const unknown = problemsOf({
        providers: { standard: { scheme: 'hmac' } as unknown as { scheme: 'standard-webhooks' } },
        subscribers: {},
      });
      const none = problemsOf({ providers: {}, subscribers: {} });

      // Assess
      expect(unknown).toContain('provider "standard": unknown scheme "hmac"');
      expect(none).toContain('declare at least one provider');
    });
  });

  describe('Function: toFilterPolicy', () => {
    it('answers undefined for an empty filter, so every event is delivered', () => {
      // Act
      const policies = [toFilterPolicy({}), toFilterPolicy({ providers: [], types: [] })];

      // Assess
      expect(policies).toEqual([undefined, undefined]);
    });

    it('matches types ending in "." or "*" as prefixes and other types exactly', () => {
      // Act
      const policy = toFilterPolicy({
        types: ['standard.invoice.', 'github.issues.*', 'standard.customer.created'],
      });

      // Assess
      expect(policy).toEqual({
        type: [
          { prefix: 'standard.invoice.' },
          { prefix: 'github.issues.' },
          'standard.customer.created',
        ],
      });
    });

    it('matches providers exactly, beside types', () => {
      // Act
      const policy = toFilterPolicy({ providers: ['github', 'standard'], types: ['github.push'] });

      // Assess
      expect(policy).toEqual({ provider: ['github', 'standard'], type: ['github.push'] });
    });
  });
});
