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
