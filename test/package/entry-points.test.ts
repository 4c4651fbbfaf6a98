import { describe, expect, it } from 'vitest';
import * as consumer from '../../functions/consumers/index.ts';
import * as cdk from '../../infra/cdk.ts';

describe('hookonce/cdk', () => {
  it('exports the construct, the subscription helpers and the declaration validator', () => {
    expect(typeof cdk.Hookonce).toBe('function');
    expect(typeof cdk.subscribeQueue).toBe('function');
    expect(typeof cdk.subscribeToHookonce).toBe('function');
    expect(typeof cdk.allowSubscriptionsFrom).toBe('function');
    expect(typeof cdk.resolveDeclaration).toBe('function');
  });

  it('refuses an invalid declaration with resolveDeclaration', () => {
    expect(() => cdk.resolveDeclaration({ providers: {}, subscribers: {} })).toThrow();
  });
});

describe('hookonce/consumer', () => {
  it('exports the guard, once, the entity writes and loadPayload', () => {
    const exported = new Map(Object.entries(consumer));
    for (const name of [
      'consume',
      'exactlyOnce',
      'eachEvent',
      'once',
      'applyOnce',
      'writeIfNewer',
      'loadPayload',
    ]) {
      expect(typeof exported.get(name), name).toBe('function');
    }
  });
});
