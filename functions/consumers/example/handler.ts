import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BACKGROUND_CLIENT_CONFIG } from '../../shared/aws.ts';
import { requireEnv } from '../../shared/env.ts';
import { createLogger } from '../../shared/log.ts';
import { CONSUMER_ENV } from '../config.ts';
import { consume } from '../guard.ts';
import { recordEffect } from './ledger.ts';

const client = new DynamoDBClient(BACKGROUND_CLIENT_CONFIG);
const tableName = requireEnv(process.env, CONSUMER_ENV.table);
const log = createLogger({ service: 'hookonce-example-consumer' });

/** Receives every event and records its effect once. */
export const handler = consume(async (event) => {
  const applied = await recordEffect(client, tableName, event);
  log.info('effect applied', { eventId: event.id, type: event.type, applied });
});
