import {
  type DeliveryRecord,
  type DeliveryStatus,
  deliveryPkPrefix,
  fromItem,
} from '../../functions/deliveries/store.ts';
import { toEpochSeconds } from '../../functions/shared/clock.ts';
import { fmt } from './progress.ts';
import { scanDeliveries, type Target } from './target.ts';

/**
 * `hookonce deliveries list`: the newest deliveries, by when they were received.
 * The deliveries table is keyed by delivery id and indexes only pending ones, so
 * this is a parallel Scan of the whole table with the filters in it; only the
 * newest `limit` are kept while it runs.
 */

export const STATUSES: readonly DeliveryStatus[] = ['RECEIVED', 'PUBLISHED', 'FAILED'];

export interface ListFilter {
  readonly provider?: string;
  readonly status?: DeliveryStatus;
  /** How many of the newest to keep. */
  readonly limit: number;
}

export interface DeliveryList {
  /** Items the scan read. */
  readonly scanned: number;
  /** Deliveries that passed the filters, all of them (not only those kept). */
  readonly matched: number;
  /** The newest `limit` of them, newest first. */
  readonly newest: readonly DeliveryRecord[];
}

/** What a listing reads of each item (the provider and the id are in `pk`): never the body. */
const LISTED = [
  'pk',
  'providerDeliveryId',
  'eventType',
  '#status',
  'receivedAt',
  'attempts',
  'expiresAt',
];

/** The Scan's filter: delivery items (of the provider, if one is given) within their retention, and the status. */
export function listScanInput(filter: ListFilter, now: number) {
  const conditions = ['begins_with(pk, :delivery)', 'expiresAt > :nowSeconds'];
  const values: Record<string, { S: string } | { N: string }> = {
    ':delivery': { S: deliveryPkPrefix(filter.provider) },
    ':nowSeconds': { N: String(toEpochSeconds(now)) },
  };
  if (filter.status !== undefined) {
    conditions.push('#status = :status');
    values[':status'] = { S: filter.status };
  }
  return {
    FilterExpression: conditions.join(' AND '),
    ProjectionExpression: LISTED.join(', '),
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: values,
  };
}

const newerFirst = (a: DeliveryRecord, b: DeliveryRecord): number =>
  b.receivedAt - a.receivedAt ||
  (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0) ||
  (a.deliveryId < b.deliveryId ? -1 : a.deliveryId > b.deliveryId ? 1 : 0);

/**
 * Keeps the newest `limit` records of `kept` and `more`, newest first (ties in
 * provider and id order, so a listing does not change with the scan's order).
 */
export function keepNewest(
  kept: readonly DeliveryRecord[],
  more: readonly DeliveryRecord[],
  limit: number,
): DeliveryRecord[] {
  return [...kept, ...more].sort(newerFirst).slice(0, limit);
}

export async function listDeliveries(
  target: Target,
  filter: ListFilter,
  options: { readonly segments: number },
  now: number,
): Promise<DeliveryList> {
  let newest: DeliveryRecord[] = [];
  let matched = 0;
  const scanned = await scanDeliveries(
    target,
    listScanInput(filter, now),
    options.segments,
    (items) => {
      matched += items.length;
      newest = keepNewest(newest, items.map(fromItem), filter.limit);
    },
  );
  return { scanned, matched, newest };
}

const time = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A table of columns, each as wide as its widest cell; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** The listing as the command prints it. */
export function listLines(list: DeliveryList, filter: ListFilter, where: string): string[] {
  const what = [
    filter.provider ? `of ${filter.provider}` : undefined,
    filter.status ? `${filter.status}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
  const shown = list.newest.length;
  const head = `deliveries${what ? ` (${what})` : ''} on ${where}: ${
    shown < list.matched ? `the newest ${fmt(shown)} of ${fmt(list.matched)}` : fmt(shown)
  } (${fmt(list.scanned)} item${list.scanned === 1 ? '' : 's'} scanned)`;
  if (shown === 0) return [head];
  const withProviderIds = list.newest.some(
    (d) => d.providerDeliveryId !== undefined && d.providerDeliveryId !== d.deliveryId,
  );
  const rows = [
    [
      'received',
      'provider',
      'delivery id',
      ...(withProviderIds ? ["provider's id"] : []),
      'type',
      'status',
      'attempts',
    ],
    ...list.newest.map((d) => [
      time(d.receivedAt),
      d.provider,
      d.deliveryId,
      ...(withProviderIds
        ? [
            d.providerDeliveryId !== undefined && d.providerDeliveryId !== d.deliveryId
              ? d.providerDeliveryId
              : '-',
          ]
        : []),
      `${d.provider}.${d.eventType}`,
      d.status,
      fmt(d.attempts),
    ]),
  ];
  return [head, ...table(rows).map((line) => `  ${line}`)];
}
