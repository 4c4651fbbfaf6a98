import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DependencyError } from './errors.ts';

/** Small, explicit attribute helpers: the items are few and their shapes are the product. */
export const S = (value: string): AttributeValue => ({ S: value });
export const N = (value: number): AttributeValue => ({ N: String(value) });
export const B = (value: Uint8Array): AttributeValue => ({ B: value });
export const M = (value: Readonly<Record<string, string>>): AttributeValue => ({
  M: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, S(v)])),
});

export type Item = Record<string, AttributeValue>;

export function str(item: Item, name: string): string | undefined {
  return item[name]?.S;
}

export function num(item: Item, name: string): number | undefined {
  const n = item[name]?.N;
  return n === undefined ? undefined : Number(n);
}

export function bytes(item: Item, name: string): Uint8Array | undefined {
  return item[name]?.B;
}

export function strMap(item: Item, name: string): Record<string, string> {
  const m = item[name]?.M ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) if (v.S !== undefined) out[k] = v.S;
  return out;
}

/**
 * The size DynamoDB bills an item by (a write unit per KB, rounded up): each
 * attribute's name and value, a string or a name in UTF-8 bytes, a binary its
 * length, a number a byte per two digits (in pairs aligned on the decimal point,
 * leading and trailing zero pairs dropped) and one more, a map or a list 3
 * bytes and a byte per element besides its elements.
 */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8Bytes(name) + valueSize(value);
  return size;
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8Bytes(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.length, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M !== undefined) return 3 + Object.values(value.M).length + itemSize(value.M);
  return 0;
}

function numberSize(text: string): number {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  // An exponent: at most 38 digits, so about 21 bytes.
  if (!match) return 21;
  const whole = match[2] ?? '';
  const fraction = match[3] ?? '';
  const digits =
    (whole.length % 2 ? '0' : '') + whole + fraction + (fraction.length % 2 ? '0' : '');
  const pairs = (digits.match(/../g) ?? []).join(',').replace(/^(00,)+|(,00)+$/g, '');
  if (pairs === '' || /^(00,?)*$/.test(pairs)) return 1;
  return pairs.split(',').length + 1 + (match[1] === '-' ? 1 : 0);
}

/** DynamoDB bills a write a unit per this many bytes of the item, rounded up. */
export const WRITE_UNIT_BYTES = 1024;

/** The write units a write of an item of `bytes` costs (at least one). */
export const writeUnits = (bytes: number): number =>
  Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));

export function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error instanceof Error && error.name === 'ConditionalCheckFailedException')
  );
}

/** Runs a DynamoDB call; anything but a failed condition becomes a DependencyError (a 503 upstream). */
export async function dynamo<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isConditionFailure(error)) throw error;
    throw new DependencyError('dynamodb', `DynamoDB ${what} failed`, { cause: error });
  }
}
