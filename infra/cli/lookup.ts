import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  deliveryPk,
  deliveryPkPrefix,
  fromItem,
  type StoredDelivery,
} from '../../functions/deliveries/store.ts';
import { eventId } from '../../functions/fanout/envelope.ts';
import { fmt } from './progress.ts';
import { scanDeliveries, type Target } from './target.ts';

/**
 * `hookonce deliveries show <provider> <id>`: one delivery, found by what keys it
 * (the id in the event, `<provider>:<key>`) or by the provider's own id, which for
 * GitHub, Shopify and Twilio is not the key (their signatures do not cover it).
 */

export interface Lookup {
  /** How the deliveries were found: by key (one read), or by the provider's id (a scan). */
  readonly by: 'key' | 'provider id';
  readonly scanned: number;
  readonly found: readonly StoredDelivery[];
}

export async function findDeliveries(
  target: Target,
  provider: string,
  id: string,
  options: { readonly segments: number },
): Promise<Lookup> {
  const key = id.startsWith(`${provider}:`) ? id.slice(provider.length + 1) : id;
  const direct = await target.dynamodb.send(
    new GetItemCommand({
      TableName: target.deliveriesTable,
      Key: { pk: { S: deliveryPk({ provider, deliveryId: key }) } },
      ConsistentRead: true,
    }),
  );
  if (direct.Item) return { by: 'key', scanned: 1, found: [fromItem(direct.Item)] };

  // The provider's own id is an attribute, not a key: a parallel scan finds it.
  const found: StoredDelivery[] = [];
  const scanned = await scanDeliveries(
    target,
    {
      FilterExpression: 'begins_with(pk, :provider) AND providerDeliveryId = :id',
      ExpressionAttributeValues: {
        ':provider': { S: deliveryPkPrefix(provider) },
        ':id': { S: id },
      },
    },
    options.segments,
    (items) => {
      for (const item of items) found.push(fromItem(item));
    },
  );
  found.sort((a, b) => a.receivedAt - b.receivedAt);
  return { by: 'provider id', scanned, found };
}

const time = (ms: number | undefined): string =>
  ms === undefined ? '-' : new Date(ms).toISOString();

/** What `deliveries show` prints of each delivery: never its payload. */
export function deliveryLines(
  lookup: Lookup,
  provider: string,
  id: string,
  where: string,
): string[] {
  const how =
    lookup.by === 'key'
      ? 'by its key'
      : `by the provider's id (${fmt(lookup.scanned)} items scanned)`;
  if (lookup.found.length === 0) {
    return [
      `no delivery of ${provider} with the id ${id} on ${where}: neither a key nor a provider's id (it may be past its retention, or never reached hookonce)`,
    ];
  }
  const lines = [`${fmt(lookup.found.length)} found on ${where}, ${how}`];
  for (const d of lookup.found) {
    lines.push(`  ${eventId(d.provider, d.deliveryId)}`);
    if (d.providerDeliveryId !== undefined) {
      lines.push(`    provider's id  ${d.providerDeliveryId}  (not signed: kept for display)`);
    }
    lines.push(
      `    type           ${d.provider}.${d.eventType}${d.unsignedEventType ? '  (from an unsigned header)' : ''}`,
    );
    lines.push(`    status         ${d.status}, ${fmt(d.attempts)} attempt(s)`);
    lines.push(`    received       ${time(d.receivedAt)}`);
    if (d.publishedAt !== undefined) lines.push(`    published      ${time(d.publishedAt)}`);
    if (d.lastError !== undefined) lines.push(`    last error     ${d.lastError}`);
    lines.push(`    kept until     ${time(d.expiresAt * 1000)}`);
    lines.push(
      `    payload        ${d.payloadRef ?? `${fmt(d.payload?.length ?? 0)} bytes in the item`}, sha256 ${d.payloadSha256}`,
    );
    for (const [name, value] of Object.entries(d.headers)) {
      lines.push(`    ${name}: ${value}`);
    }
  }
  return lines;
}
