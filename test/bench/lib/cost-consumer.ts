import { consume } from '../../../functions/consumers/guard.ts';

/**
 * B7's subscriber: hookonce's guard around an effect that does nothing, so
 * what B7 counts for a consumer is what hookonce itself costs per event
 * (the guard's writes and lines), not the work of a particular effect.
 */
export const handler = consume(async () => undefined);
