/**
 * The shape of the functions hookonce runs, shared by the CDK construct and
 * the local runtime so both run the same code with the same limits.
 */
export const INGEST_FUNCTION = {
  /** Relative to the project root. */
  entry: 'functions/ingest/handler.ts',
  handler: 'handler',
  /** GitHub gives up on a webhook after 10 s; the SDK timeouts keep us well inside it. */
  timeoutSeconds: 10,
  memorySize: 256,
} as const;

export const SWEEPER_FUNCTION = {
  entry: 'functions/sweeper/handler.ts',
  handler: 'handler',
  /** One bounded run per minute; it stops taking work before this runs out. */
  timeoutSeconds: 60,
  memorySize: 256,
} as const;
