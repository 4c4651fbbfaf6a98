/**
 * SDK client settings for a caller that has a provider waiting on the answer:
 * bounded timeouts and one retry, so a stuck dependency becomes a 503 before
 * most providers give up (Slack after 3 s, Shopify after 5 s, GitHub after
 * 10 s) and well inside the ingest function's 10 s. A connection gets 1 s (a
 * cold TLS handshake), a request 2 s of silence, and each call two attempts.
 */
export const INGEST_CLIENT_CONFIG = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
} as const;

/** Uploading a body of a few MB takes longer than a key-value write. */
export const INGEST_S3_CLIENT_CONFIG = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
} as const;

/** Consumers run in the background and can afford to wait longer. */
export const BACKGROUND_CLIENT_CONFIG = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
} as const;

/**
 * Set by the local runtime only: the S3 emulator serves buckets by path
 * (`http://host/bucket/key`), not as subdomains.
 */
export const S3_PATH_STYLE_ENV = 'HOOKONCE_S3_PATH_STYLE';

export const s3PathStyle = (env: Readonly<Record<string, string | undefined>>): boolean =>
  env[S3_PATH_STYLE_ENV] === 'true';
