/**
 * SDK client settings for a caller that has a provider waiting on the answer:
 * short timeouts and few retries, so a stuck dependency becomes a 503 well
 * before the provider gives up (Slack after 3 s, Shopify after 5 s, GitHub after 10 s).
 */
export const INGEST_CLIENT_CONFIG = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 500, requestTimeout: 1_500 },
} as const;

/** Consumers run in the background and can afford to wait longer. */
export const BACKGROUND_CLIENT_CONFIG = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
} as const;
