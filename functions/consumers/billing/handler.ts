import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BACKGROUND_CLIENT_CONFIG } from '../../shared/aws.ts';
import { requireEnv } from '../../shared/env.ts';
import { CONSUMER_ENV } from '../config.ts';
import { consume } from '../guard.ts';
import { applyBillingEvent, type StripeEvent } from './billing.ts';

const client = new DynamoDBClient(BACKGROUND_CLIENT_CONFIG);
const tableName = requireEnv(process.env, CONSUMER_ENV.table);

/**
 * The `billing` subscriber: Stripe invoice and charge events only (its filter in
 * infra/hookonce.config.ts). It keeps each invoice's and charge's latest state
 * whatever order the events arrive in, and each customer's paid total, added
 * once per invoice.paid event even across a crash.
 */
export const handler = consume<StripeEvent>(async (event, { annotate }) => {
  const applied = await applyBillingEvent(client, tableName, event);
  // On the guard's `effect applied` line: one line per event.
  annotate?.({ type: event.type, ...applied });
});
