/**
 * `npm start`: hookonce on this machine, on embedded emulators.
 *   PORT               HTTP port (default 3000)
 *   HOOKONCE_CONSOLE_PORT  port of the console, on 127.0.0.1 only (default 3001; docs/console.md)
 *   HOOKONCE_DATA_DIR  where state is kept across restarts (default .hookonce)
 *   HOOKONCE_DYNAMODB  dynalite (default) or dynamodb-local (the official one; needs Java)
 *   HOOKONCE_SECRET_<PROVIDER>  a provider's secret(s), comma-separated; generated when unset
 */
import { relative } from 'node:path';
import { styleText } from 'node:util';
import { toFilterPolicy } from '../../functions/shared/declaration.ts';
import type { DynamoKind } from './emulators.ts';
import { startLocal } from './runtime.ts';

const started = performance.now();
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const bold = (s: string) => (color ? styleText('bold', s) : s);
const dim = (s: string) => (color ? styleText('gray', s) : s);

const port = process.env.PORT ? Number(process.env.PORT) : 3000;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got "${process.env.PORT}"`);
  process.exit(1);
}
const consolePort = process.env.HOOKONCE_CONSOLE_PORT
  ? Number(process.env.HOOKONCE_CONSOLE_PORT)
  : 3001;
if (!Number.isInteger(consolePort) || consolePort < 0 || consolePort > 65535) {
  console.error(
    `HOOKONCE_CONSOLE_PORT must be a port number, got "${process.env.HOOKONCE_CONSOLE_PORT}"`,
  );
  process.exit(1);
}
const dataDir = process.env.HOOKONCE_DATA_DIR ?? '.hookonce';
const dynamodb = (process.env.HOOKONCE_DYNAMODB ?? 'dynalite') as DynamoKind;
if (dynamodb !== 'dynalite' && dynamodb !== 'dynamodb-local') {
  console.error(`HOOKONCE_DYNAMODB is dynalite or dynamodb-local, got "${dynamodb}"`);
  process.exit(1);
}

let runtime: Awaited<ReturnType<typeof startLocal>>;
try {
  runtime = await startLocal({ port, dataDir, dynamodb, color, consolePort });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`hookonce could not start: ${message}`);
  if (/the console could not listen/.test(message) && /EADDRINUSE/.test(message)) {
    console.error(`port ${consolePort} is taken: set HOOKONCE_CONSOLE_PORT to another one`);
  } else if (/EADDRINUSE/.test(message)) {
    console.error(`port ${port} is taken: set PORT to another one`);
  }
  process.exit(1);
}

const rel = (p: string) => relative(process.cwd(), p) || '.';
const lines = [
  '',
  bold('hookonce is running locally'),
  `  data       ${rel(dataDir)}  ${dim('(state kept across restarts; delete the folder to start over)')}`,
  `  dynamodb   ${runtime.endpoints.dynamodb}  ${dim(`(${runtime.dynamodbKind})`)}`,
  `  sns/sqs/s3 ${runtime.endpoints.sqs}  ${dim('(fauxqs)')}`,
  `  endpoints  ${runtime.endpointsFile ? rel(runtime.endpointsFile) : '-'}  ${dim('(for the AWS CLI and SDKs)')}`,
  `  console    ${runtime.consoleUrl ?? '-'}`,
  '',
  bold('providers'),
];
for (const [name, p] of Object.entries(runtime.declaration.providers)) {
  const secret = runtime.secrets[name];
  lines.push(`  ${name.padEnd(10)} POST ${runtime.url}/webhooks/${name}  ${dim(`(${p.scheme})`)}`);
  if (secret?.source === 'env') {
    lines.push(`  ${''.padEnd(10)} secret from ${secret.envKey}`);
  } else if (secret) {
    lines.push(
      `  ${''.padEnd(10)} secret ${secret.value}  ${dim(`(${secret.source === 'generated' ? 'generated now' : 'generated earlier'}, kept in ${rel(`${dataDir}/secrets.json`)}; set ${secret.envKey} to use yours)`)}`,
    );
  }
}
lines.push('', bold('subscribers'));
for (const [name, s] of Object.entries(runtime.declaration.subscribers)) {
  const policy = toFilterPolicy(s.filter);
  lines.push(
    `  ${name.padEnd(10)} ${policy ? JSON.stringify(policy) : 'every event'} → ${s.consumer.entry}  ${dim(`(DLQ after ${s.maxReceiveCount} receives)`)}`,
  );
}
if (runtime.declaration.warnings.length > 0) {
  lines.push('', bold('warnings'));
  for (const warning of runtime.declaration.warnings) lines.push(`  ${warning}`);
}
lines.push(
  '',
  `ready in ${Math.round(performance.now() - started)} ms ${dim('— Ctrl-C to stop')}`,
  '',
);
process.stdout.write(lines.join('\n'));
process.stdout.write('\n');

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping…\n`);
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  runtime.stop().then(
    () => {
      process.stdout.write('stopped; state is kept in the data folder\n');
      process.exit(0);
    },
    (error: unknown) => {
      console.error('error while stopping:', error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
