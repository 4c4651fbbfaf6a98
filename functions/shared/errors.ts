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
