#!/usr/bin/env node
/**
 * `hookonce`: the command line of a hookonce deployment, local or on AWS.
 *   npx hookonce send stripe      # a correctly signed test webhook
 *   npx hookonce --help
 */
import { runCli } from './cli.ts';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  fetch,
  now: () => Date.now(),
});
