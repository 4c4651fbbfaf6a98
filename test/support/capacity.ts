import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The calls whose capacity DynamoDB reports when asked (`ReturnConsumedCapacity`). */
const METERED = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
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
      const name = context.commandName ?? '';
      if (!METERED.has(name)) return next(args);
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity = 'INDEXES';
      const command = name.replace(/Command$/, '');
      try {
        const out = await next(args);
        const consumed = (out.output as { ConsumedCapacity?: ConsumedCapacity }).ConsumedCapacity;
        calls.push({ command, ok: true, ...units(consumed) });
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

function units(consumed: ConsumedCapacity | undefined): {
  table: number;
  indexes: Record<string, number>;
} {
  const indexes: Record<string, number> = {};
  for (const [name, c] of Object.entries(consumed?.GlobalSecondaryIndexes ?? {})) {
    indexes[name] = c.CapacityUnits ?? 0;
  }
  // Without a breakdown, the whole is the table's.
  const table = consumed?.Table?.CapacityUnits ?? consumed?.CapacityUnits ?? Number.NaN;
  return { table, indexes };
}
