import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The operations whose capacity DynamoDB reports when asked (`ReturnConsumedCapacity`). */
export const REPORTS_CAPACITY: ReadonlySet<string> = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'GetItem',
  'Query',
  'Scan',
  'BatchWriteItem',
  'BatchGetItem',
  'TransactWriteItems',
  'TransactGetItems',
]);

/** What one call consumed, as DynamoDB reported it. */
export interface Consumed {
  /** `PutItem`, `UpdateItem`, … */
  readonly command: string;
  /** The units of the table itself (write units for a write). */
  readonly table: number;
  /** The units of each global secondary index the call wrote, by index name. */
  readonly indexes: Readonly<Record<string, number>>;
  /** False when the call failed (a refused condition): DynamoDB reports no capacity then. */
  readonly ok: boolean;
}

export interface CapacityMeter {
  /** Every metered call since the last take(), in order; empties the list. */
  take(): Consumed[];
}

/**
 * Meters a client's capacity without touching the code under test: a middleware
 * asks DynamoDB for `ReturnConsumedCapacity: 'INDEXES'` on every read and write
 * and records what it answers, the table's units apart from each index's.
 */
export function meterCapacity(client: DynamoDBClient): CapacityMeter {
  let calls: Consumed[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context.commandName ?? '').replace(/Command$/, '');
      if (!REPORTS_CAPACITY.has(command)) return next(args);
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity = 'INDEXES';
      try {
        const out = await next(args);
        const consumed = (out.output as { ConsumedCapacity?: ConsumedCapacity }).ConsumedCapacity;
        calls.push({ command, ok: true, ...capacityUnits(consumed) });
        return out;
      } catch (error) {
        calls.push({ command, ok: false, table: 0, indexes: {} });
        throw error;
      }
    },
    { step: 'initialize', name: 'testMeterCapacity' },
  );
  return {
    take() {
      const taken = calls;
      calls = [];
      return taken;
    },
  };
}

/**
 * The units one answer's ConsumedCapacity reports: the table's apart from each
 * index's (asked with INDEXES); without a breakdown, the whole is the table's.
 */
export function capacityUnits(consumed: ConsumedCapacity | undefined): {
  table: number;
  indexes: Record<string, number>;
} {
  const indexes: Record<string, number> = {};
  for (const [name, c] of Object.entries(consumed?.GlobalSecondaryIndexes ?? {})) {
    indexes[name] = c.CapacityUnits ?? 0;
  }
  const table = consumed?.Table?.CapacityUnits ?? consumed?.CapacityUnits ?? Number.NaN;
  return { table, indexes };
}
