import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../functions/deliveries/store.ts';
import { encodeEvent } from '../../functions/fanout/envelope.ts';
import { SnsPublisher } from '../../functions/fanout/publisher.ts';
import { DependencyError } from '../../functions/shared/errors.ts';
import { drainQueue, testDeclaration, useMessaging } from '../support/backends.ts';

const T0 = Date.UTC(2100, 0, 1);

const declaration = testDeclaration('it-publisher', {
  providers: {
    standard: { scheme: 'standard-webhooks' },
    github: { scheme: 'standard-webhooks' },
  },
  subscribers: {
    all: { consumer: { entry: 'functions/consumers/example/handler.ts' } },
    invoices: {
      filter: { types: ['standard.invoice.'] },
      consumer: { entry: 'functions/consumers/example/handler.ts' },
    },
    'invoices-star': {
      filter: { types: ['standard.invoice.*'] },
      consumer: { entry: 'functions/consumers/example/handler.ts' },
    },
    'github-only': {
      filter: { providers: ['github'] },
      consumer: { entry: 'functions/consumers/example/handler.ts' },
    },
  },
});

function record(provider: string, deliveryId: string, eventType: string): DeliveryRecord {
  const body = JSON.stringify({ type: eventType, data: { id: deliveryId } });
  return {
    provider,
    deliveryId,
    eventType,
    payload: Buffer.from(body),
    payloadSha256: '',
    contentType: 'application/json',
    headers: {},
    status: 'RECEIVED',
    receivedAt: T0,
    attempts: 1,
    expiresAt: 0,
  };
}

const envelopeOf = (r: DeliveryRecord) => encodeEvent(r);

describe('Class: SnsPublisher (on fauxqs)', () => {
  const messaging = useMessaging(declaration);
  let publisher: SnsPublisher;

  const received = (subscriber: string): Promise<string[]> => {
    const queues = messaging.subscribers[subscriber];
    if (!queues) throw new Error(`no queue for subscriber ${subscriber}`);
    return drainQueue(messaging.sqs, queues.queueUrl);
  };

  beforeAll(() => {
    publisher = new SnsPublisher({ client: messaging.sns, topicArn: messaging.topicArn });
  });

  afterEach(async () => {
    for (const name of Object.keys(declaration.subscribers)) await received(name);
  });

  describe('Method: publish', () => {
    it('delivers the envelope JSON itself as the body of a raw-delivery subscription', async () => {
      // Prepare
      const event = envelopeOf(record('standard', 'msg_pub_1', 'invoice.paid'));

      // Act
      await publisher.publish(event);

      // Assess
      const bodies = await received('all');
      expect(bodies).toEqual([event.message]);
      expect(JSON.parse(bodies[0] ?? '')).toMatchObject({ id: event.id, type: event.type });
    });

    it('reaches a subscriber filtering on a type prefix (`.` or `*`) only with matching types', async () => {
      // Prepare
      const paid = envelopeOf(record('standard', 'msg_pub_3', 'invoice.paid'));
      const created = envelopeOf(record('standard', 'msg_pub_4', 'customer.created'));
      const lookalike = envelopeOf(record('standard', 'msg_pub_5', 'invoices.paid'));

      // Act
      await publisher.publish(paid);
      await publisher.publish(created);
      await publisher.publish(lookalike);

      // Assess
      expect(await received('invoices')).toEqual([paid.message]);
      expect(await received('invoices-star')).toEqual([paid.message]);
      expect(await received('all')).toHaveLength(3);
    });

    it('reaches a subscriber filtering on providers only with events of those providers', async () => {
      // Prepare
      const fromGithub = envelopeOf(record('github', 'msg_pub_6', 'push'));
      const fromStandard = envelopeOf(record('standard', 'msg_pub_7', 'invoice.paid'));

      // Act
      await publisher.publish(fromGithub);
      await publisher.publish(fromStandard);

      // Assess
      expect(await received('github-only')).toEqual([fromGithub.message]);
      expect(await received('invoices')).toEqual([fromStandard.message]);
    });

    it('turns a failed publish into a DependencyError on sns', async () => {
      // Prepare
      const lost = new SnsPublisher({
        client: messaging.sns,
        topicArn: `${messaging.topicArn}-does-not-exist`,
      });
      const event = envelopeOf(record('standard', 'msg_pub_8', 'invoice.paid'));

      // Act
      const publishing = lost.publish(event);

      // Assess
      await expect(publishing).rejects.toBeInstanceOf(DependencyError);
      await expect(publishing).rejects.toMatchObject({ dependency: 'sns' });
    });
  });
});
