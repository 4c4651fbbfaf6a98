/**
 * `npm start`: hookonce on this machine, on embedded emulators.
 *   PORT                    the webhook endpoints' HTTP port (default 3000)
 *   HOOKONCE_DYNAMODB_PORT  DynamoDB's port, dynalite or DynamoDB Local (default 8000)
 *   HOOKONCE_AWS_PORT       fauxqs's port: SNS, SQS and S3 (default 4566)
 *                           (the same ports at every start, so the endpoints in local.json
 *                           and in your AWS CLI or SDK settings stay right; 0 picks a free one)
 *   HOOKONCE_CONSOLE_PORT   the console's port, on 127.0.0.1 only (default 3001; docs/console.md)
 *   HOOKONCE_DATA_DIR       where state is kept across restarts (default .hookonce);
 *                           one hookonce at a time per folder
 *   HOOKONCE_DYNAMODB       dynalite (default) or dynamodb-local (the official one; needs Java)
 *   HOOKONCE_SECRET_<PROVIDER>  a provider's secret(s), comma-separated; generated when unset
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { styleText } from 'node:util';
import { toFilterPolicy } from '../../functions/shared/declaration.ts';
import { DataDirInUseError } from './data-lock.ts';
import { PortInUseError } from './emulators.ts';
import { startLocal } from './runtime.ts';
import { PORT_ROLES, PORT_VARIABLES, type StartSettings, startSettings } from './settings.ts';

const started = performance.now();
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const bold = (s: string) => (color ? styleText('bold', s) : s);
const dim = (s: string) => (color ? styleText('gray', s) : s);

let settings: StartSettings;
try {
  settings = startSettings(process.env);
} catch (error) {
  console.error(`hookonce could not start: ${(error as Error).message}`);
  process.exit(1);
}
const { dataDir, ports } = settings;
/** A path as the user would type it: relative inside the working directory, else absolute. */
const rel = (p: string) => {
  const path = relative(process.cwd(), resolve(p));
  return path.startsWith('..') || isAbsolute(path) ? resolve(p) : path || '.';
};

let runtime: Awaited<ReturnType<typeof startLocal>>;
try {
  runtime = await startLocal({
    port: ports.api,
    dynamodbPort: ports.dynamodb,
    awsPort: ports.aws,
    consolePort: ports.console,
    dataDir,
    dynamodb: settings.dynamodb,
    color,
  });
} catch (error) {
  if (error instanceof DataDirInUseError) {
    console.error(
      `hookonce could not start: another hookonce (pid ${error.pid}) is using ${rel(dataDir)}; stop it, or set HOOKONCE_DATA_DIR to another folder`,
    );
  } else if (error instanceof PortInUseError) {
    const variable = PORT_VARIABLES[error.role];
    console.error(
      `hookonce could not start: port ${error.port} (${PORT_ROLES[error.role]}) is taken by another program, or another hookonce; set ${variable} to a free port (0 picks one at each start)`,
    );
  } else if (
    /the console could not listen/.test(String((error as Error)?.message)) &&
    /EADDRINUSE/.test(String((error as Error)?.message))
  ) {
    console.error(
      `hookonce could not start: port ${ports.console} (${PORT_ROLES.console}) is taken by another program, or another hookonce; set ${PORT_VARIABLES.console} to a free port (0 picks one at each start)`,
    );
  } else {
    console.error(`hookonce could not start: ${(error as Error)?.message ?? String(error)}`);
  }
  process.exit(1);
}

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
  lines.push(
    `  ${name.padEnd(10)} POST ${runtime.url}/webhooks/${name}  ${dim(`(${p.preset ?? p.scheme})`)}`,
  );
  const devKey = runtime.developmentKeys[name];
  if (devKey) {
    lines.push(
      `  ${''.padEnd(10)} development key pair  ${dim(`(${devKey.source === 'generated' ? 'generated now' : 'generated earlier'}, kept in ${rel(`${dataDir}/keys.json`)}; \`npx hookonce send ${name}\` signs with it; declare publicKeys to verify the sender's)`)}`,
    );
  } else if (!secret && (p.scheme === 'asymmetric' || p.scheme === 'jwt')) {
    lines.push(`  ${''.padEnd(10)} public keys from the declaration (no secret)`);
  } else if (secret?.source === 'env') {
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
