/**
 * A small structured logger: one JSON object per line on stdout, as CloudWatch
 * Logs expects. Payloads and secrets are never passed to it.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof levels;

export function createLogger(
  base: LogFields = {},
  minLevel: Level = (process.env.HOOKONCE_LOG_LEVEL as Level | undefined) ?? 'info',
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Logger {
  const threshold = levels[minLevel] ?? levels.info;
  const emit = (level: Level, message: string, fields?: LogFields): void => {
    if (levels[level] < threshold) return;
    write(JSON.stringify({ level, message, ...base, ...fields, time: new Date().toISOString() }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, minLevel, write),
  };
}

/** Turns an unknown error into fields that are safe to log (no stack of secrets, no payloads). */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? error.cause : undefined;
    return {
      errorName: error.name,
      errorMessage: error.message,
      // What the SDK said (a name and a status line, never a payload).
      ...(cause ? { causeName: cause.name, causeMessage: cause.message.slice(0, 200) } : {}),
    };
  }
  return { errorMessage: String(error) };
}
