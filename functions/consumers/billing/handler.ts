import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BACKGROUND_CLIENT_CONFIG } from '../../shared/aws.ts';
import { requireEnv } from '../../shared/env.ts';
import { createLogger } from '../../shared/log.ts';
import { CONSUMER_ENV } from '../config.ts';
import { consume } from '../guard.ts';
import { applyBillingEvent, type StripeEvent } from './billing.ts';

const client = new DynamoDBClient(BACKGROUND_CLIENT_CONFIG);
const tableName = requireEnv(process.env, CONSUMER_ENV.table);
const log = createLogger({ service: 'hookonce-billing' });

/**
 * The `billing` subscriber: Stripe invoice and charge events only (its filter in
 * infra/hookonce.config.ts). It keeps each invoice's and charge's latest state
 * whatever order the events arrive in, and each customer's paid total, added
 * once per invoice.paid event even across a crash.
 */
export const handler = consume<StripeEvent>(async (event) => {
  const applied = await applyBillingEvent(client, tableName, event);
  log.info('billing state', { eventId: event.id, type: event.type, ...applied });
});
