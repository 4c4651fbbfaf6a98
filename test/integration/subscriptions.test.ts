import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../functions/fanout/envelope.ts';
import { SnsPublisher } from '../../functions/fanout/publisher.ts';
import { matchesFilter } from '../../functions/shared/declaration.ts';
import { drainQueue, testDeclaration, useMessaging } from '../support/backends.ts';

const consumer = { entry: 'functions/consumers/example/handler.ts' };
const declaration = testDeclaration('it-subs', {
  providers: {
    standard: { scheme: 'standard-webhooks' },
    stripe: { scheme: 'stripe' },
    github: { scheme: 'github' },
  },
  subscribers: {
    everything: { consumer },
    billing: {
      consumer,
      filter: { providers: ['stripe'], types: ['stripe.invoice.', 'stripe.charge.succeeded'] },
    },
    'github-all': { consumer, filter: { providers: ['github'] } },
    invoices: { consumer, filter: { types: ['stripe.invoice.', 'standard.invoice.*'] } },
    pushes: { consumer, filter: { types: ['github.push'] } },
  },
});

/** Which subscribers each event reaches, written out by hand from the filters above. */
const EXPECTED: ReadonlyArray<readonly [string, string, readonly string[]]> = [
  ['standard', 'invoice.paid', ['everything', 'invoices']],
  ['standard', 'customer.created', ['everything']],
  ['stripe', 'invoice.paid', ['everything', 'billing', 'invoices']],
  ['stripe', 'invoice.finalized', ['everything', 'billing', 'invoices']],
  ['stripe', 'invoiceitem.created', ['everything']],
  ['stripe', 'charge.succeeded', ['everything', 'billing']],
  ['stripe', 'charge.failed', ['everything']],
  ['github', 'push', ['everything', 'github-all', 'pushes']],
  ['github', 'issues', ['everything', 'github-all']],
];

describe('Subscriptions: filter policies on fauxqs', () => {
  const messaging = useMessaging(declaration);

  it('delivers each event of a provider × type matrix to exactly the subscribers whose filter matches', async () => {
    // Prepare
    const publisher = new SnsPublisher({ client: messaging.sns, topicArn: messaging.topicArn });

    // Act
    for (const [provider, eventType] of EXPECTED.map(([p, t]) => [p, t] as const)) {
      await publisher.publish(
        encodeEvent(
          {
            provider,
            deliveryId: `${provider}-${eventType}`,
            eventType,
            payload: Buffer.from('{}'),
            payloadSha256: '',
            headers: {},
            status: 'PUBLISHED',
            receivedAt: Date.UTC(2100, 0, 1),
            attempts: 1,
            expiresAt: 0,
          },
          {},
        ),
      );
    }
    const received: Record<string, string[]> = {};
    for (const [name, queues] of Object.entries(messaging.subscribers)) {
      const bodies = await drainQueue(messaging.sqs, queues.queueUrl);
      received[name] = bodies.map((b) => (JSON.parse(b) as { type: string }).type).sort();
    }

    // Assess
    const expected: Record<string, string[]> = {};
    for (const name of Object.keys(declaration.subscribers)) expected[name] = [];
    for (const [provider, eventType, subscribers] of EXPECTED) {
      for (const s of subscribers) expected[s]?.push(`${provider}.${eventType}`);
    }
    for (const list of Object.values(expected)) list.sort();
    expect(received).toEqual(expected);
  });

  it('agrees with matchesFilter, which replay uses to send a subscriber only what SNS would', () => {
    for (const [provider, eventType, subscribers] of EXPECTED) {
      const matched = Object.entries(declaration.subscribers)
        .filter(([, s]) => matchesFilter(s.filter, { provider, type: `${provider}.${eventType}` }))
        .map(([name]) => name);
      expect([provider, eventType, matched.sort()]).toEqual([
        provider,
        eventType,
        [...subscribers].sort(),
      ]);
    }
  });
});
