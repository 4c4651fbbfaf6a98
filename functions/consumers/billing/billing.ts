import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HookonceEvent } from '../../fanout/envelope.ts';
import { type Item, N, S } from '../../shared/dynamo.ts';
import { applyOnce, writeIfNewer } from '../entities.ts';

/** The part of a Stripe event the billing consumer reads. */
export interface StripeEvent {
  readonly id: string;
  readonly type: string;
  /** When Stripe created the event, in whole seconds: the version of the object it carries. */
  readonly created: number;
  readonly data: { readonly object: StripeObject };
}

export interface StripeObject {
  readonly id: string;
  /** `invoice`, `charge`, … */
  readonly object: string;
  readonly status?: string;
  readonly customer?: string;
  readonly amount?: number;
  readonly amount_paid?: number;
  readonly currency?: string;
}

/** The item of a Stripe object: `INVOICE#in_…`, `CHARGE#ch_…`. */
export const billingEntityPk = (object: Pick<StripeObject, 'object' | 'id'>): string =>
  `${object.object.toUpperCase()}#${object.id}`;
export const customerPk = (customer: string): string => `CUSTOMER#${customer}`;

/**
 * Stripe stamps events in whole seconds, so an invoice's `created`, `finalized`
 * and `paid` events often share one. Between events of the same second, the
 * one further along the object's life wins, whatever order they arrive in;
 * the event id decides the rest, so the order never does.
 */
const STATUS_RANK: Readonly<Record<string, number>> = {
  draft: 0,
  pending: 0,
  open: 1,
  failed: 2,
  succeeded: 2,
  uncollectible: 2,
  paid: 3,
  refunded: 4,
  void: 4,
};

export function tiebreakOf(event: Pick<HookonceEvent, 'id'>, status: string | undefined): string {
  const rank = status === undefined ? 0 : (STATUS_RANK[status] ?? 0);
  return `${rank}:${event.id}`;
}

export interface BillingApplied {
  /** The item written, or not because something as new was stored. */
  readonly entity: string;
  readonly version: number;
  readonly written: boolean;
  /** For invoice.paid: whether the amount was added to the customer's total now, or before. */
  readonly customerTotal?: 'applied' | 'already_applied' | 'condition_failed';
}

/**
 * One Stripe event's effects, each one conditional write that is safe to run
 * twice (functions/consumers/entities.ts):
 *
 * 1. the object's latest state, written only if this event is newer than what
 *    is stored (writeIfNewer): out-of-order deliveries converge;
 * 2. on invoice.paid, the amount added to the customer's paid total, with the
 *    event id recorded by the same write (applyOnce): a re-run after a crash
 *    between the write and the guard's done-mark adds nothing.
 */
export async function applyBillingEvent(
  client: DynamoDBClient,
  tableName: string,
  event: HookonceEvent<StripeEvent>,
): Promise<BillingApplied> {
  const stripe = event.data;
  const object = stripe?.data?.object;
  if (!stripe || typeof stripe.created !== 'number' || !object?.id || !object.object) {
    throw new TypeError(`${event.id} is not a Stripe event with data.object`);
  }
  const entity = billingEntityPk(object);
  const state: Item = {
    objectType: S(object.object),
    lastEventId: S(event.id),
    lastEventType: S(event.type),
  };
  if (object.status !== undefined) state.status = S(object.status);
  if (object.customer) state.customer = S(object.customer);
  const amount = object.amount_paid ?? object.amount;
  if (amount !== undefined) state.amount = N(amount);
  if (object.currency) state.currency = S(object.currency);

  const stored = await writeIfNewer({
    client,
    tableName,
    key: { pk: S(entity) },
    version: stripe.created,
    tiebreak: tiebreakOf(event, object.status),
    state,
  });
  const applied = { entity, version: stripe.created, written: stored.written };

  if (stripe.type !== 'invoice.paid' || !object.customer || object.amount_paid === undefined) {
    return applied;
  }
  const total = await applyOnce({
    client,
    tableName,
    key: { pk: S(customerPk(object.customer)) },
    eventId: event.id,
    update: { add: ['#paid :amount, #invoices :one'] },
    names: { '#paid': 'paidTotal', '#invoices': 'paidInvoices' },
    values: { ':amount': N(object.amount_paid), ':one': N(1) },
  });
  return { ...applied, customerTotal: total.outcome };
}
