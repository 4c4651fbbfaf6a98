/**
 * B2's consumer: what a downstream team writes with the package's consumer
 * entry point (`hookonce/consumer`, here by its source path): the guard and
 * one effect. Built with the deployed functions' esbuild settings; never deployed.
 */
import { consume } from '../../../functions/consumers/index.ts';

export const handler = consume(async (event) => {
  console.log(`applied ${event.id}`);
});
