import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { HookonceEvent } from '../../fanout/envelope.ts';
import { N, S } from '../../shared/dynamo.ts';

export const ledgerPk = (eventId: string): string => `LEDGER#example#${eventId}`;

/**
 * The example effect: add one to a counter per event. An increment is not
 * idempotent on its own (run twice, it counts 2), which is the point: the
 * guard in front of it is what keeps every count at exactly 1.
 */
export async function recordEffect(
  client: DynamoDBClient,
  tableName: string,
  event: HookonceEvent,
): Promise<number> {
  const out = await client.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { pk: S(ledgerPk(event.id)) },
      UpdateExpression: 'ADD applied :one SET eventType = :type, lastAppliedAt = :at',
      ExpressionAttributeValues: {
        ':one': N(1),
        ':type': S(event.type),
        ':at': S(new Date().toISOString()),
      },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(out.Attributes?.applied?.N ?? '0');
}
