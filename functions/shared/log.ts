import {
  LogFormatter,
  LogItem,
  LogLevelThreshold,
  Logger as PowertoolsLogger,
} from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

/**
 * hookonce's logging port: the cores log through this small interface, and
 * production backs it with Powertools Logger (one JSON object per line, with
 * `level`, `message`, `timestamp`, `service` and, behind the
 * injectLambdaContext middleware, the invocation's request id and whether it
 * was a cold start). Payloads and secrets are never passed to it: fields are
 * ids, names, reasons and counts.
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
   * The lowest level printed. A line that carries metrics (an embedded metric
   * format document, `_aws`) is printed whatever the level: the level must not
   * drop the metrics.
   * @default POWERTOOLS_LOG_LEVEL, LOG_LEVEL or HOOKONCE_LOG_LEVEL of the environment, else 'info'
   */
  readonly level?: Level;
  /**
   * The share of invocations (0 to 1) that log at debug level whatever the level
   * is: drawn when the logger is made and again by the injectLambdaContext
   * middleware for each invocation.
   * @default POWERTOOLS_LOGGER_SAMPLE_RATE, else 0
   */
  readonly debugSampleRate?: number;
  /** Where each line goes. @default stdout (stderr for warn and error), as Lambda expects */
  readonly write?: (line: string) => void;
}

const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

/** Powertools' number for each level. */
const THRESHOLD: Readonly<Record<Level, number>> = {
  debug: LogLevelThreshold.DEBUG,
  info: LogLevelThreshold.INFO,
  warn: LogLevelThreshold.WARN,
  error: LogLevelThreshold.ERROR,
};

/**
 * Each line with what an operator reads on it: level, message, timestamp,
 * service, and behind the middleware the invocation's request id and cold
 * start, then the fields logged. Powertools' own formatter adds the function's
 * ARN, name and memory size and the sampling rate, the same on every line of a
 * log group (which names the function already), and the X-Ray trace id, which
 * leads nowhere unless X-Ray sampled the invocation: left out, that is about
 * 240 bytes of each line on AWS.
 */
class HookonceLogFormatter extends LogFormatter {
  public override formatAttributes(
    attributes: UnformattedAttributes,
    additional: LogAttributes,
  ): LogItem {
    const traced = process.env._X_AMZN_TRACE_ID?.includes('Sampled=1') === true;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        cold_start: attributes.lambdaContext?.coldStart,
        function_request_id: attributes.lambdaContext?.awsRequestId,
        xray_trace_id: traced ? attributes.xRayTraceId : undefined,
      },
    }).addAttributes(additional);
  }
}

/**
 * Which lines the port prints: those at its level or above, and debug lines
 * too in an invocation the debug sample drew.
 */
class Gate {
  private readonly lowest: Level;
  private readonly sampleRate: number;
  private sampled = false;
  constructor(lowest: Level, sampleRate: number) {
    this.lowest = lowest;
    this.sampleRate = sampleRate;
    this.draw();
  }
  /** A new draw of the debug sample, for the next invocation. */
  draw(): void {
    this.sampled = this.sampleRate > 0 && Math.random() < this.sampleRate;
  }
  allows(level: Level): boolean {
    return LEVELS.indexOf(level) >= LEVELS.indexOf(this.sampled ? 'debug' : this.lowest);
  }
}

/** Where each LineLogger writes; set before construction, as the constructor may already log. */
const writers = new WeakMap<PowertoolsLogger, (line: string) => void>();
let constructing: ((line: string) => void) | undefined;

/**
 * A Powertools Logger whose lines the port lets through (its Gate), not
 * Powertools' own level: under Lambda's advanced logging controls Powertools
 * takes Lambda's application log level as its own, and hookonce keeps that at
 * INFO (or DEBUG) so that no line carrying metrics is dropped by Lambda
 * (infra/constructs/function.ts). Lines go to stdout and stderr, or to a
 * function instead (tests, benchmarks).
 */
class LineLogger extends PowertoolsLogger {
  gate = new Gate('info', 0);

  protected override printLog(logLevel: number, log: LogItem): void {
    const write = writers.get(this) ?? constructing;
    if (!write) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    write(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }

  /** Prints one line at `level`: the port has decided it is printed. */
  print(level: Level, message: string, fields: LogFields | undefined): void {
    const threshold = THRESHOLD[level];
    this.printLog(
      threshold,
      this.createAndPopulateLogItem(threshold, message, fields ? [fields] : []),
    );
  }

  /** Called by the injectLambdaContext middleware before each invocation. */
  public override refreshSampleRateCalculation(): void {
    this.gate.draw();
  }
}

/** The level the environment asks for, if it names a known one. */
export function levelFromEnv(env: Readonly<Record<string, string | undefined>>): Level | undefined {
  const raw = env.POWERTOOLS_LOG_LEVEL ?? env.LOG_LEVEL ?? env.HOOKONCE_LOG_LEVEL;
  const level = raw?.toLowerCase();
  return LEVELS.find((l) => l === level);
}

/** POWERTOOLS_LOGGER_SAMPLE_RATE when it is a share from 0 to 1, else 0. */
function sampleRateFromEnv(env: Readonly<Record<string, string | undefined>>): number {
  const rate = Number(env.POWERTOOLS_LOGGER_SAMPLE_RATE ?? 0);
  return rate >= 0 && rate <= 1 ? rate : 0;
}

/** A Powertools Logger configured as every hookonce function uses it. */
export function createPowertoolsLogger(options: LoggerOptions = {}): PowertoolsLogger {
  const level = options.level ?? levelFromEnv(process.env) ?? 'info';
  constructing = options.write;
  try {
    const logger = new LineLogger({
      serviceName: options.service,
      logLevel: level.toUpperCase() as 'INFO',
      logFormatter: new HookonceLogFormatter(),
      // The port samples (its Gate): Powertools' sampling cannot raise its level under
      // Lambda's log controls.
      sampleRateValue: 0,
    });
    logger.gate = new Gate(level, options.debugSampleRate ?? sampleRateFromEnv(process.env));
    if (options.write) writers.set(logger, options.write);
    return logger;
  } finally {
    constructing = undefined;
  }
}

/**
 * The port over a Powertools Logger; `base` fields go on every line. Over one
 * made by createPowertoolsLogger(), a line is printed when its level passes
 * (or the debug sample drew the invocation), and a line that carries metrics
 * (`_aws`) always.
 */
export function fromPowertools(logger: PowertoolsLogger, base: LogFields = {}): Logger {
  const at =
    (level: Level) =>
    (message: string, fields?: LogFields): void => {
      const merged = fields ? { ...base, ...fields } : base;
      const extra = Object.keys(merged).length > 0 ? merged : undefined;
      if (!(logger instanceof LineLogger)) {
        logger[level](message, ...(extra ? [extra] : []));
        return;
      }
      if (logger.gate.allows(level) || (extra !== undefined && '_aws' in extra)) {
        logger.print(level, message, extra);
      }
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
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
