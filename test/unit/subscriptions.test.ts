import { describe, expect, it } from 'vitest';
import {
  filterProblems,
  type HookonceDeclaration,
  matchesFilter,
  resolveDeclaration,
  type SubscriberDeclaration,
} from '../../functions/shared/declaration.ts';
import { ConfigError } from '../../functions/shared/errors.ts';

const consumer = { entry: 'functions/consumers/example/handler.ts' };
const declare = (subscriber: Partial<SubscriberDeclaration>): HookonceDeclaration => ({
  providers: { stripe: { scheme: 'stripe' }, github: { scheme: 'github' } },
  subscribers: { team: { consumer, ...subscriber } },
});
const problemsOf = (declaration: HookonceDeclaration): string => {
  try {
    resolveDeclaration(declaration);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the declaration was accepted');
};

describe('Module: declaration (subscribers)', () => {
  describe('Function: resolveDeclaration', () => {
    it('fills no batching window and no concurrency cap by default', () => {
      // Act
      const team = resolveDeclaration(declare({})).subscribers.team;

      // Assess
      expect(team?.batchingWindowSeconds).toBe(0);
      expect(team).not.toHaveProperty('maxConcurrency');
    });

    it('keeps a declared batching window and concurrency cap', () => {
      // Act
      const team = resolveDeclaration(declare({ batchingWindowSeconds: 300, maxConcurrency: 2 }))
        .subscribers.team;

      // Assess
      expect(team).toMatchObject({ batchingWindowSeconds: 300, maxConcurrency: 2 });
    });

    it.each([
      [
        { batchingWindowSeconds: -1 },
        'batchingWindowSeconds must be a whole number between 0 and 300, got -1',
      ],
      [
        { batchingWindowSeconds: 301 },
        'batchingWindowSeconds must be a whole number between 0 and 300, got 301',
      ],
      [
        { batchingWindowSeconds: 0.5 },
        'batchingWindowSeconds must be a whole number between 0 and 300, got 0.5',
      ],
      [{ maxConcurrency: 1 }, 'maxConcurrency must be a whole number between 2 and 1000, got 1'],
      [
        { maxConcurrency: 1001 },
        'maxConcurrency must be a whole number between 2 and 1000, got 1001',
      ],
    ])('refuses %o as Lambda would', (settings, problem) => {
      // Act
      const message = problemsOf(declare(settings));

      // Assess
      expect(message).toContain(`subscriber "team": ${problem}`);
    });

    it('refuses filter types that can never match, naming each', () => {
      // Act
      const message = problemsOf(
        declare({
          filter: {
            providers: ['stripe'],
            types: ['github.push', 'shopify.orders.', '*', 'stripe invoice', 'stripe.invoice.'],
          },
        }),
      );

      // Assess
      const problems = message.split('\n  - ').slice(1);
      expect(problems).toEqual([
        'subscriber "team": filter type "github.push" can never match: its provider "github" is not in the filter’s providers',
        'subscriber "team": filter type "shopify.orders." can never match: its provider "shopify" is not in the filter’s providers',
        'subscriber "team": filter type "*" must be "<provider>.<event type>", or a prefix of one ending in "." or "*"',
        'subscriber "team": filter type "stripe invoice" must be "<provider>.<event type>", or a prefix of one ending in "." or "*"',
      ]);
    });

    it('refuses a filter with more combinations than SNS allows', () => {
      // Act
      const types = Array.from({ length: 76 }, (_, i) => `stripe.type${i}`);
      const message = problemsOf(declare({ filter: { providers: ['stripe', 'github'], types } }));

      // Assess
      expect(message).toContain(
        'subscriber "team": the filter has 152 combinations of providers and types; SNS allows 150',
      );
    });
  });

  describe('Function: filterProblems', () => {
    it('checks a filter against the declared providers, for queues subscribed from outside', () => {
      // Act
      const fine = filterProblems({ types: ['stripe.invoice.'] }, ['stripe']);
      const wrong = filterProblems({ providers: ['gitlab'], types: ['gitlab.push'] }, ['stripe']);

      // Assess
      expect(fine).toEqual([]);
      expect(wrong).toEqual(['filter names unknown provider "gitlab"']);
    });
  });

  describe('Function: matchesFilter', () => {
    const event = (provider: string, type: string) => ({ provider, type });

    it('matches everything with an empty filter', () => {
      expect(matchesFilter({}, event('github', 'github.push'))).toBe(true);
      expect(matchesFilter({ providers: [], types: [] }, event('stripe', 'stripe.x'))).toBe(true);
    });

    it('matches providers exactly', () => {
      const filter = { providers: ['stripe'] };
      expect(matchesFilter(filter, event('stripe', 'stripe.invoice.paid'))).toBe(true);
      expect(matchesFilter(filter, event('stripe-eu', 'stripe-eu.invoice.paid'))).toBe(false);
    });

    it('matches types ending in "." or "*" as prefixes, others exactly', () => {
      const filter = { types: ['stripe.invoice.', 'github.issue*', 'stripe.charge.succeeded'] };
      expect(matchesFilter(filter, event('stripe', 'stripe.invoice.paid'))).toBe(true);
      expect(matchesFilter(filter, event('stripe', 'stripe.invoice'))).toBe(false);
      expect(matchesFilter(filter, event('github', 'github.issue_comment'))).toBe(true);
      expect(matchesFilter(filter, event('stripe', 'stripe.charge.succeeded'))).toBe(true);
      expect(matchesFilter(filter, event('stripe', 'stripe.charge.succeeded.late'))).toBe(false);
    });

    it('needs both the provider and the type to match when both are given', () => {
      const filter = { providers: ['stripe'], types: ['stripe.invoice.', 'github.push'] };
      expect(matchesFilter(filter, event('stripe', 'stripe.invoice.paid'))).toBe(true);
      expect(matchesFilter(filter, event('github', 'github.push'))).toBe(false);
    });
  });
});
