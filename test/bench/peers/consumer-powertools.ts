/**
 * B2's consumer peer: the same consumer made exactly-once the Powertools way
 * (peers/powertools-consumer.ts: batch utility and makeIdempotent on DynamoDB).
 * Built with the deployed functions' esbuild settings; never deployed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { powertoolsConsumer } from './powertools-consumer.ts';

export const handler = powertoolsConsumer({
  client: new DynamoDBClient({}),
  tableName: process.env.IDEMPOTENCY_TABLE ?? 'idempotency',
  effect: async (event) => {
    console.log(`applied ${event.id}`);
  },
});
