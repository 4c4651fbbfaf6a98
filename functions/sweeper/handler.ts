import { createSweeperHandler } from './wiring.ts';

/** Runs every minute: publishes deliveries that were stored but never published. */
export const handler = createSweeperHandler(process.env);
