/**
 * Every error hookonce raises on purpose is a HookonceError. Subclasses set
 * `name` and carry the context a caller needs to decide what to do next.
 */
export class HookonceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HookonceError';
  }
}

/** Configuration is read once at cold start; anything missing stops the function there. */
export class ConfigError extends HookonceError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/**
 * A dependency (DynamoDB, SNS, S3, Secrets Manager) failed or timed out.
 * The ingest path turns it into a 503 with Retry-After; the retry finishes the work.
 */
export class DependencyError extends HookonceError {
  readonly dependency: string;
  constructor(dependency: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DependencyError';
    this.dependency = dependency;
  }
}

/** How much of an error a stored record keeps: enough to read, never a whole payload. */
export const LAST_ERROR_MAX_CHARS = 500;

/**
 * `<name>: <message>` of anything thrown, and of its cause when it has one
 * (what the SDK said under a DependencyError), on one line, cut to
 * LAST_ERROR_MAX_CHARS.
 */
export function describeFailure(error: unknown): string {
  const describe = (e: unknown): string =>
    e instanceof Error ? `${e.name}: ${e.message}` : `thrown: ${String(e)}`;
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : undefined;
  const text = cause === undefined ? describe(error) : `${describe(error)} (${describe(cause)})`;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > LAST_ERROR_MAX_CHARS ? `${line.slice(0, LAST_ERROR_MAX_CHARS - 1)}…` : line;
}
