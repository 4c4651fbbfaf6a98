import {
  type DeliveryRecord,
  type DeliveryStatus,
  fromItem,
} from '../../functions/deliveries/store.ts';
import { toEpochSeconds } from '../../functions/shared/clock.ts';
import {
  type ResolvedDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { declaration as defaultDeclaration } from '../hookonce.config.ts';
import { type CliIo, type Command, parseCommandArgs, UsageError } from './command.ts';
import { loadDeclaration } from './config.ts';
import { listDeliveries, listLines, STATUSES } from './listing.ts';
import { deliveryLines, findDeliveries } from './lookup.ts';
import { fmt } from './progress.ts';
import { scanDeliveries, type Target, withTarget } from './target.ts';

/**
 * `hookonce deliveries failed`: the deliveries the sweeper parked FAILED after
 * its last publish failed. They are out of the sweeper's way and kept for the
 * retention window; a provider's retry of one publishes it.
 */

export interface ParkedList {
  /** Items the scan read. */
  readonly scanned: number;
  /** Every parked delivery still within its retention, the longest parked first. */
  readonly parked: readonly DeliveryRecord[];
}

/** What a listing needs of each item (the provider and the id are in `pk`): never the body. */
const LISTED = [
  'pk',
  'eventType',
  '#status',
  'receivedAt',
  'attempts',
  'publishFailures',
  'lastError',
  'lastErrorAt',
  'failedAt',
  'expiresAt',
];

/**
 * The FAILED deliveries of the deliveries table. Only RECEIVED deliveries have
 * an index (the sweeper's), so this is a parallel Scan with a filter: it reads
 * every item, as replay does.
 */
export async function listParked(
  target: Target,
  options: { readonly segments: number },
  now: number,
): Promise<ParkedList> {
  const parked: DeliveryRecord[] = [];
  const scanned = await scanDeliveries(
    target,
    {
      // A parked delivery past its retention counts as absent, whether or not TTL removed it.
      FilterExpression:
        'begins_with(pk, :delivery) AND #status = :failed AND expiresAt > :nowSeconds',
      ProjectionExpression: LISTED.join(', '),
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':delivery': { S: 'DELIVERY#' },
        ':failed': { S: 'FAILED' },
        ':nowSeconds': { N: String(toEpochSeconds(now)) },
      },
    },
    options.segments,
    (items) => {
      for (const item of items) parked.push(fromItem(item));
    },
  );
  parked.sort((a, b) => (a.failedAt ?? 0) - (b.failedAt ?? 0));
  return { scanned, parked };
}

const time = (ms: number | undefined): string =>
  ms === undefined ? '?' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const plural = (n: number, one: string, many = `${one}s`): string =>
  `${fmt(n)} ${n === 1 ? one : many}`;

/** The listing as the command prints it. */
export function parkedLines(list: ParkedList, where: string, max: number): string[] {
  const { parked } = list;
  const lines = [
    `deliveries parked FAILED on ${where}: ${fmt(parked.length)}${parked.length > max ? `, the first ${fmt(max)} shown` : ''} (${plural(list.scanned, 'item')} scanned)`,
  ];
  for (const d of parked.slice(0, max)) {
    lines.push(`  ${d.provider}:${d.deliveryId}  ${d.provider}.${d.eventType}`);
    lines.push(
      `    received ${time(d.receivedAt)}, parked ${time(d.failedAt)} after ${plural(d.publishFailures ?? 0, 'failed publish', 'failed publishes')}, kept until ${time(d.expiresAt * 1000)}`,
    );
    lines.push(`    last error (${time(d.lastErrorAt)}): ${d.lastError ?? 'not recorded'}`);
  }
  if (parked.length > 0) {
    lines.push(
      "The sweeper tries them no more. A provider's retry (or a redelivery from its dashboard) of one publishes it.",
    );
  }
  return lines;
}

export interface DeliveriesOptions {
  readonly action: 'failed' | 'show' | 'list';
  /**
   * For show: the provider and the id (the key, `<provider>:<key>`, or the
   * provider's own id). For list: only this provider's deliveries (--provider).
   */
  readonly provider?: string;
  readonly id?: string;
  /** For list: only deliveries in this state (--status). */
  readonly status?: DeliveryStatus;
  /** How many to show (--max for failed, --limit for list). */
  readonly max: number;
  readonly segments: number;
  readonly stack?: string;
  readonly region?: string;
}

const DEFAULT_SEGMENTS = 4;

export function parseDeliveriesArgs(args: readonly string[]): DeliveriesOptions | 'help' {
  const parsed = parseRaw(args);
  const v = parsed.values;
  if (v.help) return 'help';
  const [action, ...extra] = parsed.positionals;
  if (action !== 'failed' && action !== 'show' && action !== 'list') {
    throw new UsageError(
      `say what to do: list, failed or show <provider> <id>${action ? ` (not "${action}")` : ''}`,
    );
  }
  const segments = v.segments === undefined ? DEFAULT_SEGMENTS : Number(v.segments);
  if (!Number.isInteger(segments) || segments < 1 || segments > 1000) {
    throw new UsageError('--segments is a whole number from 1 to 1000');
  }
  if (action === 'list') {
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (v.max !== undefined) throw new UsageError('list takes --limit, not --max');
    const status = v.status?.toUpperCase();
    if (status !== undefined && !STATUSES.includes(status as DeliveryStatus)) {
      throw new UsageError(`--status is one of ${STATUSES.join(', ')}`);
    }
    const limit = v.limit === undefined ? 20 : Number(v.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new UsageError('--limit is a whole number from 1 to 1000');
    }
    return {
      action,
      provider: v.provider,
      status: status as DeliveryStatus | undefined,
      max: limit,
      segments,
      stack: v.stack,
      region: v.region,
    };
  }
  for (const option of ['provider', 'status', 'limit'] as const) {
    if (v[option] !== undefined) throw new UsageError(`--${option} is an option of list`);
  }
  const [provider, id, ...more] = action === 'show' ? extra : [undefined, undefined, ...extra];
  if (action === 'show' && (!provider || !id)) {
    throw new UsageError('show needs a provider and an id: hookonce deliveries show github <id>');
  }
  if (more.length > 0) throw new UsageError(`unexpected argument "${more[0]}"`);
  const max = v.max === undefined ? 20 : Number(v.max);
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    throw new UsageError('--max is a whole number from 1 to 1000');
  }
  return { action, provider, id, max, segments, stack: v.stack, region: v.region };
}

function parseRaw(args: readonly string[]) {
  return parseCommandArgs(args, {
    max: { type: 'string' },
    limit: { type: 'string' },
    provider: { type: 'string' },
    status: { type: 'string' },
    segments: { type: 'string' },
    stack: { type: 'string' },
    region: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

export async function runDeliveries(
  args: readonly string[],
  io: CliIo,
  declaration: ResolvedDeclaration = resolveDeclaration(defaultDeclaration),
): Promise<number> {
  const options = parseDeliveriesArgs(args);
  if (options === 'help') {
    io.out(`usage: ${deliveriesCommand.usage}\n\n${deliveriesCommand.help}`);
    return 0;
  }
  return withTarget(
    'deliveries',
    { ...options, env: io.env, cwd: io.cwd, declaration },
    io,
    async (target) => {
      if (options.action === 'list') {
        const filter = { provider: options.provider, status: options.status, limit: options.max };
        const list = await listDeliveries(target, filter, options, io.now());
        for (const line of listLines(list, filter, target.description)) io.out(line);
        return 0;
      }
      if (options.action === 'show') {
        const provider = options.provider ?? '';
        const id = options.id ?? '';
        const lookup = await findDeliveries(target, provider, id, options);
        for (const line of deliveryLines(lookup, provider, id, target.description)) io.out(line);
        return lookup.found.length > 0 ? 0 : 1;
      }
      const list = await listParked(target, options, io.now());
      for (const line of parkedLines(list, target.description, options.max)) io.out(line);
      return 0;
    },
  );
}

export const deliveriesCommand: Command = {
  name: 'deliveries',
  summary:
    'list the newest deliveries, show one, or list those the sweeper gave up publishing (parked FAILED)',
  usage:
    'hookonce deliveries list [--provider P] [--status S] [--limit N] | show <provider> <id> | failed [--max N]  [--stack NAME]',
  help: `What the deliveries table holds: every delivery hookonce stored, kept for its
provider's retention window. A delivery stored but never published is published
by the sweeper. When its publish fails, the sweeper tries again after 1 minute,
then 2, 4, … up to an hour apart; after 10 failures (HOOKONCE_SWEEP_MAX_ATTEMPTS)
it parks the delivery FAILED: kept, alarmed (SweeperParked), out of the
sweeper's way.

  list                 the newest deliveries, newest first: when each was
                       received, its provider, its id (and the provider's own
                       id where that is not the key), type, status, attempts
      --provider P       only this provider's
      --status S         only RECEIVED (not published yet), PUBLISHED or FAILED
      --limit N          how many to show (default 20, up to 1000)
  show <provider> <id> one delivery, by its key (the id hookonce answered,
                       with or without "<provider>:") or by the provider's own
                       id (X-GitHub-Delivery, X-Shopify-Event-Id, Twilio's
                       idempotency token: not signed, so not the key, but kept);
                       exits 1 when there is none
  failed               the parked deliveries, the longest parked first: when
                       each was received and parked, and its last error
      --max N            how many to show (default 20, up to 1000)

      --stack NAME       a deployed stack (names from its outputs); default: the
                         local runtime, from .hookonce/local.json
      --region R         the stack's region
      --segments N       parallel scan segments (default ${DEFAULT_SEGMENTS})
  -h, --help             this help

Only pending deliveries are indexed: list, failed, and a show by the provider's
own id scan the whole deliveries table, every item, whatever the filters (a show
by key is one read). On AWS a Scan is billed by the data it reads: on demand,
half a read unit per 4 KB, $0.125 per million units, so a table of a million
2 KB deliveries costs about 260,000 units, about $0.03, per listing. A
provider's retry of a parked delivery publishes it.

Examples:
  npx hookonce deliveries list
  npx hookonce deliveries list --provider stripe --status RECEIVED --limit 50
  npx hookonce deliveries show github 72d3162e-cc78-11e3-81ab-4c9367dc0958
  npx hookonce deliveries show stripe stripe:evt_1QxYz
  npx hookonce deliveries failed
  npx hookonce deliveries failed --stack Hookonce --region eu-west-1`,
  async run(args, io) {
    return runDeliveries(args, io, (await loadDeclaration(io)).declaration);
  },
};
