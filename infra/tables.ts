import { PENDING_INDEX } from '../functions/deliveries/store.ts';

/**
 * The key schema of both tables, in one place: the CDK construct and the local
 * runtime build their tables from these (docs/architecture.md, the delivery state
 * machine).
 */
export const DELIVERIES_TABLE = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
  pendingIndex: {
    name: PENDING_INDEX,
    partitionKey: 'pendingShard',
    sortKey: 'leaseUntil',
  },
} as const;

export const CONSUMER_TABLE = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
} as const;
