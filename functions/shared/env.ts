import { ConfigError } from './errors.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads a required variable, failing fast with a message that says what to set. */
export function requireEnv(env: Env, key: string, hint?: string): string {
  const value = env[key];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(`environment variable ${key} is not set${hint ? `: ${hint}` : ''}`);
  }
  return value;
}

export function optionalIntEnv(env: Env, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(
      `environment variable ${key} must be a non-negative integer, got "${raw}"`,
    );
  }
  return value;
}

export function jsonEnv<T>(env: Env, key: string, hint?: string): T {
  const raw = requireEnv(env, key, hint);
  try {
    return JSON.parse(raw) as T;
  } catch (cause) {
    throw new ConfigError(`environment variable ${key} is not valid JSON`, { cause });
  }
}
