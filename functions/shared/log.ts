import type { LogItem } from '@aws-lambda-powertools/logger';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';

/**
 * hookonce's logging port: the cores log through this small interface, and
 * production backs it with Powertools Logger (one JSON object per line, with
 * `level`, `message`, `timestamp`, `service`, the X-Ray trace id and, behind
 * the injectLambdaContext middleware, the Lambda context). Payloads and
 * secrets are never passed to it: fields are ids, names, reasons and counts.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (nothing is shared or mutated). */
  child(fields: LogFields): Logger;
}

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  /** The `service` key of every line (and Powertools' service name). */
  readonly service?: string;
  /**
   * The lowest level printed.
   * @default POWERTOOLS_LOG_LEVEL, LOG_LEVEL or HOOKONCE_LOG_LEVEL of the environment, else 'info'
   */
  readonly level?: Level;
  /**
   * The share of invocations (0 to 1) that log at debug level whatever the level
   * is, refreshed per invocation by the injectLambdaContext middleware.
   * @default POWERTOOLS_LOGGER_SAMPLE_RATE, else 0
   */
  readonly debugSampleRate?: number;
  /** Where each line goes. @default stdout (stderr for warn and error), as Lambda expects */
  readonly write?: (line: string) => void;
}

/** Where each LineLogger writes; set before construction, as the constructor may already log. */
const writers = new WeakMap<PowertoolsLogger, (line: string) => void>();
let constructing: ((line: string) => void) | undefined;

/** A Powertools Logger that hands each line to a function instead of the console (tests, benchmarks). */
class LineLogger extends PowertoolsLogger {
  protected override printLog(logLevel: number, log: LogItem): void {
    const write = writers.get(this) ?? constructing;
    if (write) write(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
    else super.printLog(logLevel, log);
  }
}

const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

/** The level the environment asks for, if it names a known one. */
export function levelFromEnv(env: Readonly<Record<string, string | undefined>>): Level | undefined {
  const raw = env.POWERTOOLS_LOG_LEVEL ?? env.LOG_LEVEL ?? env.HOOKONCE_LOG_LEVEL;
  const level = raw?.toLowerCase();
  return LEVELS.find((l) => l === level);
}

/** A Powertools Logger configured as every hookonce function uses it. */
export function createPowertoolsLogger(options: LoggerOptions = {}): PowertoolsLogger {
  constructing = options.write;
  try {
    const logger = new LineLogger({
      serviceName: options.service,
      logLevel: (options.level ?? levelFromEnv(process.env) ?? 'info').toUpperCase() as 'INFO',
      ...(options.debugSampleRate !== undefined
        ? { sampleRateValue: options.debugSampleRate }
        : {}),
    });
    if (options.write) writers.set(logger, options.write);
    return logger;
  } finally {
    constructing = undefined;
  }
}

/** The port over a Powertools Logger; `base` fields go on every line. */
export function fromPowertools(logger: PowertoolsLogger, base: LogFields = {}): Logger {
  const extra = (fields?: LogFields): LogFields[] => {
    const merged = fields ? { ...base, ...fields } : base;
    return Object.keys(merged).length > 0 ? [merged] : [];
  };
  return {
    debug: (m, f) => logger.debug(m, ...extra(f)),
    info: (m, f) => logger.info(m, ...extra(f)),
    warn: (m, f) => logger.warn(m, ...extra(f)),
    error: (m, f) => logger.error(m, ...extra(f)),
    child: (fields) => fromPowertools(logger, { ...base, ...fields }),
  };
}

/**
 * A logger for code that needs no Lambda context: `createLogger({ service: 'x' })`.
 * `base` fields other than `service` go on every line; tests pass a level and
 * a `write` that collects lines.
 */
export function createLogger(
  base: LogFields = {},
  level?: Level,
  write?: (line: string) => void,
): Logger {
  const { service, ...fields } = base;
  const logger = createPowertoolsLogger({
    service: typeof service === 'string' ? service : undefined,
    level,
    write,
  });
  return fromPowertools(logger, fields);
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
