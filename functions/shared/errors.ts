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

/**
 * How much of an error a stored record keeps, in UTF-8 bytes: enough to read,
 * never a whole payload, and little enough that a consumer's claim that keeps
 * one stays under a write unit (1 KB) with the ids of a typical event.
 */
export const LAST_ERROR_MAX_BYTES = 500;

const ELLIPSIS = '…';

/**
 * `<name>: <message>` of anything thrown, and of its cause when it has one
 * (what the SDK said under a DependencyError), on one line, cut to
 * LAST_ERROR_MAX_BYTES (between characters, ending in `…`).
 */
export function describeFailure(error: unknown): string {
  const describe = (e: unknown): string =>
    e instanceof Error ? `${e.name}: ${e.message}` : `thrown: ${String(e)}`;
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : undefined;
  const text = cause === undefined ? describe(error) : `${describe(error)} (${describe(cause)})`;
  const line = text.replace(/\s+/g, ' ').trim();
  if (Buffer.byteLength(line) <= LAST_ERROR_MAX_BYTES) return line;
  let kept = '';
  let bytes = Buffer.byteLength(ELLIPSIS);
  for (const character of line) {
    bytes += Buffer.byteLength(character);
    if (bytes > LAST_ERROR_MAX_BYTES) break;
    kept += character;
  }
  return `${kept}${ELLIPSIS}`;
}
