import {
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandOutput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { dynamo, type Item, isConditionFailure, N, num, S, str } from '../shared/dynamo.ts';
import { HookonceError } from '../shared/errors.ts';

/**
 * Effects that are safe to run twice, each one conditional write. The guard
 * runs an effect once per event, except in one case: the consumer dies after
 * the effect and before its done-mark, and the effect runs again once the
 * lease lapses. These two make that second run change nothing, because the
 * effect's own write carries what it applies (the event's version, or its id).
 */

// ─── writeIfNewer: order-insensitive state ──────────────────────────────────

export interface VersionedWrite {
  client: DynamoDBClient;
  tableName: string;
  /** The entity's key, e.g. `{ pk: S('INVOICE#in_123') }`. */
  key: Item;
  /**
   * The version this event carries, from the provider: Stripe's `created`, a
   * sequence number, an `updated_at` in milliseconds. Higher wins.
   */
  version: number;
  /**
   * Decides between two events of the same version (Stripe's `created` is in
   * whole seconds), so the order they arrive in never does: the higher
   * tiebreak wins. The event id will do when nothing better exists.
   * @default none: the first of two equal versions stays
   */
  tiebreak?: string;
  /** The entity's state as of this version; other attributes of the item are left alone. */
  state: Item;
  /** @default 'version' */
  versionAttribute?: string;
  /** @default 'versionTiebreak' */
  tiebreakAttribute?: string;
}

export type VersionedOutcome =
  /** The state was written: it was the newest seen. */
  | { readonly written: true }
  /** Something as new or newer is stored: nothing changed. */
  | { readonly written: false; readonly storedVersion?: number; readonly storedTiebreak?: string };

/*
 * writeIfNewer, for events of one entity arriving in any order, each any number
 * of times:
 *
 *   stored:   (none) ── v3 ─────────── v3 ────────────── v7
 *   arrives:          v3 (written)  v1 (older: kept v3)  v7 (written)  v3 again (older: kept v7)
 *
 * Whatever the order, the item ends at the highest version: one UpdateItem
 * whose condition is the comparison, so two writers racing cannot both win.
 */
const entityHasNoVersion = 'attribute_not_exists(#version)';
const storedVersionIsOlder = '#version < :version';
const sameVersionLowerTiebreak = '(#version = :version AND #tiebreak < :tiebreak)';

/** Writes `state` at `version` unless the stored entity is as new or newer. */
export async function writeIfNewer(write: VersionedWrite): Promise<VersionedOutcome> {
  if (!Number.isFinite(write.version)) throw new TypeError('writeIfNewer: version is no number');
  const names: Record<string, string> = {
    '#version': write.versionAttribute ?? 'version',
    '#tiebreak': write.tiebreakAttribute ?? 'versionTiebreak',
  };
  const values: Item = { ':version': N(write.version) };
  const sets = ['#version = :version'];
  Object.keys(write.state).forEach((attribute, i) => {
    if (attribute in write.key) throw new TypeError(`writeIfNewer: state sets key "${attribute}"`);
    names[`#s${i}`] = attribute;
    values[`:s${i}`] = write.state[attribute] as Item[string];
    sets.push(`#s${i} = :s${i}`);
  });
  const conditions = [entityHasNoVersion, storedVersionIsOlder];
  if (write.tiebreak !== undefined) {
    values[':tiebreak'] = S(write.tiebreak);
    sets.push('#tiebreak = :tiebreak');
    conditions.push(sameVersionLowerTiebreak);
  }
  try {
    await dynamo('write if newer', () =>
      write.client.send(
        new UpdateItemCommand({
          TableName: write.tableName,
          Key: write.key,
          // Without a tiebreak of its own, an older version's must not outlive it.
          UpdateExpression: `SET ${sets.join(', ')}${write.tiebreak === undefined ? ' REMOVE #tiebreak' : ''}`,
          ConditionExpression: conditions.join(' OR '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    return { written: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const stored = error.Item;
    return {
      written: false,
      storedVersion: stored ? num(stored, names['#version'] as string) : undefined,
      storedTiebreak: stored ? str(stored, names['#tiebreak'] as string) : undefined,
    };
  }
}

// ─── applyOnce: any update, applied once per event ──────────────────────────

/** The effect, as the clauses of one UpdateItem (without the keywords). */
export interface UpdateClauses {
  /** e.g. `['#status = :paid']` */
  set?: string[];
  /** e.g. `['total :amount']` */
  add?: string[];
  remove?: string[];
  delete?: string[];
}

export interface OnceUpdate {
  client: DynamoDBClient;
  tableName: string;
  key: Item;
  /** The event this effect belongs to: recorded on the item by the same write. */
  eventId: string;
  update: UpdateClauses;
  names?: Record<string, string>;
  values?: Item;
  /** A condition of the effect's own, e.g. `attribute_exists(pk)`. */
  condition?: string;
  /**
   * How many recent event ids the item remembers. An event re-run after more
   * than this many later effects on the same item would apply again: keep it
   * above the effects one item sees while a crashed event waits for its lease
   * to lapse (minutes).
   * @default 32
   */
  remember?: number;
  /** @default 'appliedEvents' (and 'appliedCount' beside it) */
  attribute?: string;
}

export type OnceUpdateOutcome =
  | { readonly outcome: 'applied' }
  /** The item records this event: the effect had been applied already. */
  | { readonly outcome: 'already_applied' }
  /** The effect's own condition failed: nothing changed. */
  | { readonly outcome: 'condition_failed' };

/** Many writers kept one item changing faster than this one could catch up. */
export class ContentionError extends HookonceError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ContentionError';
  }
}

/*
 * applyOnce keeps the last `remember` event ids on the item, in a ring:
 * `appliedEvents` (a list) and `appliedCount` (how many were ever applied;
 * the next slot is appliedCount % remember). Each effect is one UpdateItem:
 *
 *   count c ──effect of E, SET appliedEvents[c % n] = E, appliedCount = c + 1──▶ count c + 1
 *
 * conditioned on the count still being c (no one wrote in between) and E not
 * being in the ring. A re-run of E, after a crash between the effect and the
 * guard's done-mark, finds E in the ring and changes nothing.
 */
const ringIsEmpty = 'attribute_not_exists(#hookonceCount)';
const ringIsAtCount = '#hookonceCount = :hookonceCount';
const eventNotApplied = 'NOT contains(#hookonceApplied, :hookonceEvent)';

/** Under contention of k writers on one item, each round lets one through: k attempts suffice. */
const MAX_ATTEMPTS = 25;

/** Applies `update` to the item unless the item records `eventId` as applied. */
export async function applyOnce(op: OnceUpdate): Promise<OnceUpdateOutcome> {
  const remember = op.remember ?? 32;
  if (!Number.isInteger(remember) || remember < 1 || remember > 1000) {
    throw new TypeError('applyOnce: remember is a whole number from 1 to 1000');
  }
  const applied = op.attribute ?? 'appliedEvents';
  const names = {
    ...op.names,
    '#hookonceApplied': applied,
    '#hookonceCount': `${applied.replace(/Events$/, '')}Count`,
  };
  const own = op.condition ? ` AND (${op.condition})` : '';

  // The ring as it is now: one consistent read, then writes conditioned on it.
  let seen = await readRing(op, names);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (seen.events.includes(op.eventId)) return { outcome: 'already_applied' };
    const count = seen.count;
    const ring =
      count === 0
        ? { set: '#hookonceApplied = :hookonceFirst', condition: ringIsEmpty }
        : {
            set: `#hookonceApplied[${count % remember}] = :hookonceEvent`,
            condition: `${ringIsAtCount} AND ${eventNotApplied}`,
          };
    const clauses = {
      SET: [...(op.update.set ?? []), ring.set, '#hookonceCount = :hookonceNext'],
      ADD: op.update.add ?? [],
      REMOVE: op.update.remove ?? [],
      DELETE: op.update.delete ?? [],
    };
    const expression = Object.entries(clauses)
      .filter(([, list]) => list.length > 0)
      .map(([keyword, list]) => `${keyword} ${list.join(', ')}`)
      .join(' ');
    try {
      await dynamo('apply once', () =>
        op.client.send(
          new UpdateItemCommand({
            TableName: op.tableName,
            Key: op.key,
            UpdateExpression: expression,
            ConditionExpression: `${ring.condition}${own}`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ...op.values,
              ':hookonceNext': N(count + 1),
              ...(count === 0
                ? { ':hookonceFirst': { L: [S(op.eventId)] } }
                : { ':hookonceCount': N(count), ':hookonceEvent': S(op.eventId) }),
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      return { outcome: 'applied' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const now = error.Item ? ringOf(error.Item, names) : await readRing(op, names);
      if (now.events.includes(op.eventId)) return { outcome: 'already_applied' };
      // Same ring, event not in it: the effect's own condition is what failed.
      if (now.count === count) return { outcome: 'condition_failed' };
      seen = now; // another event got in first: try again on top of it
    }
  }
  throw new ContentionError(
    `applyOnce: the item changed under ${MAX_ATTEMPTS} attempts in a row; the message is retried`,
  );
}

interface Ring {
  count: number;
  events: string[];
}

function ringOf(item: Item, names: Record<string, string>): Ring {
  const list = item[names['#hookonceApplied'] as string]?.L ?? [];
  return {
    count: num(item, names['#hookonceCount'] as string) ?? 0,
    events: list.flatMap((v) => (v.S === undefined ? [] : [v.S])),
  };
}

async function readRing(op: OnceUpdate, names: Record<string, string>): Promise<Ring> {
  const out: GetItemCommandOutput = await dynamo('read applied events', () =>
    op.client.send(
      new GetItemCommand({
        TableName: op.tableName,
        Key: op.key,
        ConsistentRead: true,
        ProjectionExpression: '#hookonceApplied, #hookonceCount',
        ExpressionAttributeNames: {
          '#hookonceApplied': names['#hookonceApplied'] as string,
          '#hookonceCount': names['#hookonceCount'] as string,
        },
      }),
    ),
  );
  return out.Item ? ringOf(out.Item, names) : { count: 0, events: [] };
}
