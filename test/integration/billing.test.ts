import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  applyBillingEvent,
  billingEntityPk,
  customerPk,
  type StripeEvent,
  type StripeObject,
} from '../../functions/consumers/billing/billing.ts';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import { backends, testDeclaration, useDynamo } from '../support/backends.ts';
import { seeded } from '../support/pipeline.ts';

let sequence = 0;
const next = (): number => {
  sequence += 1;
  return sequence;
};

/** A Stripe event as the envelope carries it. */
function stripeEvent(
  type: string,
  created: number,
  object: StripeObject,
): HookonceEvent<StripeEvent> {
  const id = `evt_billing_${next()}`;
  return {
    specversion: '1.0',
    id: `stripe:${id}`,
    source: 'hookonce/stripe',
    type: `stripe.${type}`,
    time: new Date(created * 1000).toISOString(),
    datacontenttype: 'application/json',
    provider: 'stripe',
    deliveryid: id,
    data: { id, type, created, data: { object } },
  };
}

/** A seeded Fisher–Yates shuffle. */
function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe.each(backends)('Consumer: billing (on %s)', (kind) => {
  const db = useDynamo(kind, testDeclaration('it-billing'));
  const read = async (pk: string) =>
    (
      await db.client.send(
        new GetItemCommand({
          TableName: db.consumerTable,
          Key: { pk: { S: pk } },
          ConsistentRead: true,
        }),
      )
    ).Item;

  it('ends an invoice paid, whatever the order of its same-second events, and adds its amount once', async () => {
    // Prepare: created, finalized and paid in one second, as Stripe often sends them.
    const random = seeded(42);
    for (let round = 0; round < 6; round++) {
      const invoice = `in_billing_${next()}`;
      const customer = `cus_billing_${next()}`;
      const base = { id: invoice, object: 'invoice', customer, amount_paid: 0 };
      const events = [
        stripeEvent('invoice.created', 1_795_436_800, { ...base, status: 'draft' }),
        stripeEvent('invoice.finalized', 1_795_436_800, { ...base, status: 'open' }),
        stripeEvent('invoice.paid', 1_795_436_800, { ...base, status: 'paid', amount_paid: 4200 }),
      ];
      const order = shuffle([...events, events[2] as HookonceEvent<StripeEvent>], random);

      // Act: every event, in a shuffled order, the paid one twice (a re-run after a crash).
      for (const event of order) await applyBillingEvent(db.client, db.consumerTable, event);

      // Assess
      const stored = await read(billingEntityPk(base));
      expect(stored?.status).toEqual({ S: 'paid' });
      expect(stored?.amount).toEqual({ N: '4200' });
      const total = await read(customerPk(customer));
      expect(total?.paidTotal).toEqual({ N: '4200' });
      expect(total?.paidInvoices).toEqual({ N: '1' });
    }
  });

  it('keeps a later second over an earlier one, and reports what it did', async () => {
    // Prepare
    const charge = { id: `ch_billing_${next()}`, object: 'charge', amount: 900 };
    const refunded = stripeEvent('charge.refunded', 1_795_436_900, {
      ...charge,
      status: 'refunded',
    });
    const succeeded = stripeEvent('charge.succeeded', 1_795_436_800, {
      ...charge,
      status: 'succeeded',
    });

    // Act
    const first = await applyBillingEvent(db.client, db.consumerTable, refunded);
    const late = await applyBillingEvent(db.client, db.consumerTable, succeeded);

    // Assess
    expect(first).toEqual({ entity: `CHARGE#${charge.id}`, version: 1_795_436_900, written: true });
    expect(late).toMatchObject({ written: false });
    expect((await read(billingEntityPk(charge)))?.status).toEqual({ S: 'refunded' });
  });

  it('refuses an event that carries no Stripe object, so the guard retries and parks it', async () => {
    // Prepare
    const event = {
      ...stripeEvent('invoice.paid', 1, { id: 'x', object: 'invoice' }),
      data: undefined,
    };

    // Act
    const failure = await applyBillingEvent(db.client, db.consumerTable, event).catch((e) => e);

    // Assess
    expect(failure).toBeInstanceOf(TypeError);
  });
});
