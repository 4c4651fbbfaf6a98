import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BACKGROUND_CLIENT_CONFIG } from '../../shared/aws.ts';
import { requireEnv } from '../../shared/env.ts';
import { CONSUMER_ENV } from '../config.ts';
import { consume } from '../guard.ts';
import { recordEffect } from './ledger.ts';

const client = new DynamoDBClient(BACKGROUND_CLIENT_CONFIG);
const tableName = requireEnv(process.env, CONSUMER_ENV.table);

/** Receives every event and records its effect once (the guard's line for it says what was recorded). */
export const handler = consume(async (event, { annotate }) => {
  const applied = await recordEffect(client, tableName, event);
  annotate?.({ type: event.type, applied });
});
