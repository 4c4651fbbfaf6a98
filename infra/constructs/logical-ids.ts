import { createHash } from 'node:crypto';
import { CfnElement, Names, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Constructs that only group others: they are left out of the logical IDs of
 * what they hold, so that grouping resources that used to sit side by side
 * replaces nothing on the next deploy (a new logical ID is a new table, a new
 * topic ARN, a new endpoint URL).
 */
const GROUPS = new WeakSet<IConstruct>();

/** Marks a construct as a group: keepLogicalIds() leaves it out of the logical IDs below it. */
export function groupOnly(construct: IConstruct): void {
  GROUPS.add(construct);
}

/**
 * CDK's logical ID of a path (its makeUniqueId(), which it does not export):
 * the path's ids without `Default`, a human part without consecutive repeats
 * and `Resource`, and the first 8 hex digits of the MD5 of the whole path.
 */
export function logicalIdOf(components: readonly string[]): string {
  const path = components.filter((c) => c !== 'Default');
  const alphanumeric = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');
  if (path.length === 1) return alphanumeric(path[0] as string);
  const hash = createHash('md5').update(path.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human: string[] = [];
  for (const c of path) {
    if (human.length === 0 || !(human[human.length - 1] as string).endsWith(c)) human.push(c);
  }
  return (
    human
      .filter((c) => c !== 'Resource')
      .map(alphanumeric)
      .join('')
      .slice(0, 240) + hash
  );
}

/** Elements whose logical ID keepLogicalIds() has renamed already. */
const RENAMED = new WeakSet<IConstruct>();

const inGroup = (c: IConstruct): boolean => c.node.scopes.some((s) => s !== c && GROUPS.has(s));

/**
 * Gives every resource below `root` that lies inside a group the logical ID it
 * would have without the groups. A construct id made from another construct's
 * unique id (an SNS subscription is named after its topic, an event rule's
 * permission after its function) is read with that unique id as it was
 * without the groups too. Call it once the groups are built, and before
 * anything reads a logical ID as a string.
 */
export function keepLogicalIds(root: IConstruct): void {
  const stack = Stack.of(root);
  const all = root.node.findAll();
  const renamed = new Map<string, string>();
  for (const c of all) {
    if (!inGroup(c)) continue;
    const legacy = logicalIdOf(
      c.node.scopes
        .slice(1)
        .filter((s) => !GROUPS.has(s))
        .map((s) => s.node.id),
    );
    renamed.set(Names.nodeUniqueId(c.node), legacy);
  }
  const unrenamed = (id: string): string => {
    let out = id;
    for (const [now, before] of renamed) if (out.includes(now)) out = out.replace(now, before);
    return out;
  };
  for (const c of all) {
    if (!CfnElement.isCfnElement(c) || Stack.of(c) !== stack || RENAMED.has(c)) continue;
    const scopes = c.node.scopes.slice(c.node.scopes.indexOf(stack) + 1);
    const natural = scopes.map((s) => s.node.id);
    const legacy = scopes.filter((s) => !GROUPS.has(s)).map((s) => unrenamed(s.node.id));
    if (legacy.join('/') === natural.join('/')) continue;
    // A rename, not an override: Stack.getLogicalId() answers the kept ID too.
    stack.renameLogicalId(stack.getLogicalId(c as CfnElement), logicalIdOf(legacy));
    RENAMED.add(c);
  }
}
