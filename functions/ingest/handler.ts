import { createIngestHandler } from './wiring.ts';

/** POST /webhooks/{provider}. Configuration is read here, at cold start. */
export const handler = createIngestHandler(process.env);
