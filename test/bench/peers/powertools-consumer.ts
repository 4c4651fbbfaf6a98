/**
 * B5's peer: an SQS consumer made exactly-once the Powertools way, with the
 * batch utility's processPartialResponse and makeIdempotent keyed on the
 * envelope's id (`powertools_json(body).id`), persisted by the DynamoDB layer.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { HookonceEvent } from '../../../functions/fanout/envelope.ts';

/** The Powertools idempotency table: its default key attribute, `id`. */
export const IDEMPOTENCY_KEY = 'id';

export function powertoolsConsumer(options: {
  client: DynamoDBClient;
  tableName: string;
  effect: (event: HookonceEvent) => Promise<void>;
}): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'powertools_json(body).id' });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.tableName,
    awsSdkV3Client: options.client,
  });
  const recordHandler = makeIdempotent(
    async (record: SQSRecord): Promise<void> => {
      await options.effect(JSON.parse(record.body) as HookonceEvent);
    },
    { persistenceStore, config },
  );
  return async (event, context) => {
    config.registerLambdaContext(context);
    return processPartialResponse(event, recordHandler, processor, { context });
  };
}
