import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  type ResolvedDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { parseSecretList } from '../../functions/shared/secrets.ts';
import type { ActivitySource, ConsumerStats } from '../console/activity.ts';
import {
  type CloudWatchPort,
  cloudWatchPort,
  LogsActivity,
  MetricsConsumerStats,
} from '../console/cloudwatch.ts';
import type { ConsoleOptions, ConsoleServer, ProviderInfo, TestSent } from '../console/options.ts';
import { startConsole } from '../console/server.ts';
import { declaration as defaultDeclaration } from '../hookonce.config.ts';
import { CLI_ROOT, type CliIo, type Command, parseCommandArgs, UsageError } from './command.ts';
import { loadDeclaration } from './config.ts';
import {
  activityNamesFromOutputs,
  localConsole,
  providersFromOutputs,
  secretIdsFromOutputs,
} from './console-target.ts';
import { prepareDelivery, sampleFile } from './deliveries.ts';
import { contentTypeOf } from './send.ts';
import { openTarget, type Target, unreachable } from './target.ts';

/**
 * `hookonce console`: the console's pages for a deployed stack, served on this
 * machine (127.0.0.1 only) with the operator's own AWS credentials. The pages
 * are the ones `npm start` serves for the local runtime; what they read comes
 * from the stack: its tables and queues (openStack), its requests from
 * CloudWatch (LogsActivity, MetricsConsumerStats). Read-only unless
 * --allow-writes.
 */

export interface ConsoleArgs {
  readonly stack?: string;
  readonly region?: string;
  /** Loopback port; 0 picks a free one. */
  readonly port: number;
  readonly allowWrites: boolean;
}

export function parseConsoleArgs(args: readonly string[]): ConsoleArgs | 'help' {
  const parsed = parseRaw(args);
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  }
  if (v.stack === undefined && (v.region || v.port || v['allow-writes'])) {
    throw new UsageError(
      '--region, --port and --allow-writes go with --stack; the local console is the one npm start serves',
    );
  }
  const port = v.port === undefined ? 0 : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError('--port is a port number (0 picks a free one)');
  }
  return { stack: v.stack, region: v.region, port, allowWrites: v['allow-writes'] ?? false };
}

function parseRaw(args: readonly string[]) {
  return parseCommandArgs(args, {
    stack: { type: 'string' },
    region: { type: 'string' },
    port: { type: 'string' },
    'allow-writes': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
}

/** The first of a provider's active secrets that can sign (a Standard Webhooks public key cannot). */
export function signingKey(list: readonly string[], scheme: string): string | undefined {
  return list.find((s) => scheme !== 'standard-webhooks' || !s.startsWith('whpk_'));
}

export interface StackSendTestParts {
  readonly declaration: ResolvedDeclaration;
  readonly providers: readonly ProviderInfo[];
  /** The secret of each provider, as GetSecretValue takes it (its ARN or name). */
  readonly secretIds: Readonly<Record<string, string>>;
  /** Reads a secret's current value. */
  readonly readSecret: (secretId: string) => Promise<string>;
  readonly fetch: typeof fetch;
  readonly now: () => number;
}

/**
 * A signed test webhook to a deployed endpoint: the provider's sample from
 * infra/cli/samples/, under a fresh id, signed with the provider's secret as
 * read from Secrets Manager at that moment (so it is signed as the provider
 * signs: the stack verifies it like any other delivery, and publishes it).
 */
export function stackSendTest(parts: StackSendTestParts): (provider: string) => Promise<TestSent> {
  return async (name) => {
    const provider = Object.hasOwn(parts.declaration.providers, name)
      ? parts.declaration.providers[name]
      : undefined;
    const info = parts.providers.find((p) => p.name === name);
    const secretId = parts.secretIds[name];
    if (!provider || !info || !secretId) throw new Error(`no provider "${name}"`);
    const list = parseSecretList(await parts.readSecret(secretId));
    if (list.length === 0) {
      throw new Error(
        `the secret ${secretId} holds no signing secret yet: put the provider's in it first`,
      );
    }
    const key = signingKey(list, provider.scheme);
    if (!key) throw new Error(`the active keys of "${name}" are public keys, which cannot sign`);
    const file = join(CLI_ROOT, 'samples', sampleFile(provider));
    const delivery = prepareDelivery({
      name,
      provider,
      body: readFileSync(file),
      contentType: contentTypeOf(file),
      url: info.endpointUrl,
      secret: key,
      now: parts.now(),
    });
    const res = await parts.fetch(delivery.url, {
      method: 'POST',
      headers: { 'user-agent': 'hookonce-console', ...delivery.headers },
      body: delivery.body,
    });
    return { status: res.status, body: await res.text(), deliveryId: delivery.deliveryId };
  };
}

export interface StackConsoleParts {
  readonly target: Target;
  readonly declaration: ResolvedDeclaration;
  /** The stack's name, for messages. */
  readonly stack: string;
  /** Its requests and consumer outcomes: CloudWatch's ({@link cloudWatchSources}). */
  readonly activity: ActivitySource;
  readonly consumers: ConsumerStats;
  readonly s3?: S3Client;
  readonly port: number;
  readonly writable: boolean;
  /** Offered only when writable. */
  readonly sendTest?: (provider: string) => Promise<TestSent>;
}

/** What startConsole() needs for a deployed stack: its providers from its outputs. */
export function stackConsoleOptions(parts: StackConsoleParts): ConsoleOptions {
  return {
    target: parts.target,
    activity: parts.activity,
    consumers: parts.consumers,
    declaration: parts.declaration,
    providers: providersFromOutputs(parts.target.outputs ?? {}, parts.declaration, parts.stack),
    writable: parts.writable,
    ...(parts.writable && parts.sendTest ? { sendTest: parts.sendTest } : {}),
    ...(parts.s3 ? { s3: parts.s3 } : {}),
    port: parts.port,
  };
}

/** A stack's requests from its ingest log group and counts from its metrics, named by its outputs. */
export function cloudWatchSources(
  target: Target,
  stack: string,
  cloudwatch: CloudWatchPort,
): { activity: LogsActivity; consumers: MetricsConsumerStats } {
  const names = activityNamesFromOutputs(target.outputs ?? {}, stack);
  return {
    activity: new LogsActivity({
      port: cloudwatch,
      logGroup: names.logGroup,
      metrics: names.metrics,
    }),
    consumers: new MetricsConsumerStats({
      port: cloudwatch,
      metrics: names.metrics,
      subscribers: Object.keys(target.subscribers),
    }),
  };
}

/** What the command prints about what the console costs the account it reads (docs/operations.md#console). */
export function costLines(writable: boolean): string[] {
  return [
    '  it reads the stack with your AWS credentials; what the views cost the account:',
    '    requests     a Logs Insights query of the ingest log group per view, $0.005 per GB scanned:',
    '                 about 1.4 KB per webhook in the last hour ($0.007 per million webhooks in it)',
    '    live rows    FilterLogEvents every 2 s while a page is open (not billed; throttled per account)',
    '    counts       GetMetricData, $0.01 per 1,000 metrics: about 3 per provider, at most twice a minute',
    '    subscribers  GetQueueAttributes every 2 s, GetMetricData of 3 metrics each at most twice a minute',
    '    deliveries   GetItem per delivery and claim (a lookup by the provider id scans the table)',
    writable
      ? '  writes allowed (--allow-writes): replay, redrive and signed test webhooks act on the stack'
      : '  read-only: replay, redrive and test webhooks are off (--allow-writes turns them on)',
  ];
}

export interface ConsoleDeps {
  /** startConsole() of infra/console/server.ts. */
  readonly start: (options: ConsoleOptions) => Promise<ConsoleServer>;
  /** Resolves on Ctrl-C. @default SIGINT or SIGTERM */
  readonly interrupted?: () => Promise<void>;
  /** The pieces a stack console is built of; a test passes its own. @default openTarget and the AWS clients */
  readonly build?: (args: ConsoleArgs & { stack: string }, io: CliIo) => Promise<BuiltConsole>;
}

export interface BuiltConsole {
  readonly options: ConsoleOptions;
  readonly description: string;
  close(): void;
}

const interruptedBySignal = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });

/** Opens the stack with the operator's credentials and builds the console's options on it. */
export async function buildStackConsole(
  args: ConsoleArgs & { stack: string },
  io: CliIo,
  declaration: ResolvedDeclaration,
): Promise<BuiltConsole> {
  const target = await openTarget({
    stack: args.stack,
    region: args.region,
    env: io.env,
    cwd: io.cwd,
    declaration,
  });
  const region = target.region;
  const cloudwatch = cloudWatchPort(region);
  const s3 = new S3Client(region ? { region } : {});
  const secrets = args.allowWrites ? new SecretsManagerClient(region ? { region } : {}) : undefined;
  const close = () => {
    target.close();
    cloudwatch.close();
    s3.destroy();
    secrets?.destroy();
  };
  try {
    const outputs = target.outputs ?? {};
    const providers = providersFromOutputs(outputs, declaration, args.stack);
    const options = stackConsoleOptions({
      target,
      declaration,
      stack: args.stack,
      ...cloudWatchSources(target, args.stack, cloudwatch),
      s3,
      port: args.port,
      writable: args.allowWrites,
      ...(secrets
        ? {
            sendTest: stackSendTest({
              declaration,
              providers,
              secretIds: secretIdsFromOutputs(outputs, declaration),
              readSecret: async (secretId) => {
                const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
                return out.SecretString ?? '';
              },
              fetch: io.fetch,
              now: io.now,
            }),
          }
        : {}),
    });
    return { options, description: target.description, close };
  } catch (error) {
    close();
    throw error;
  }
}

export async function runConsole(
  args: readonly string[],
  io: CliIo,
  deps: ConsoleDeps,
  declaration: ResolvedDeclaration = resolveDeclaration(defaultDeclaration),
): Promise<number> {
  const options = parseConsoleArgs(args);
  if (options === 'help') {
    io.out(`usage: ${consoleCommand.usage}\n\n${consoleCommand.help}`);
    return 0;
  }
  if (options.stack === undefined) {
    const local = localConsole(io.env, io.cwd);
    if (local.url === undefined) {
      io.err(`hookonce console: ${local.problem}`);
      return 1;
    }
    io.out(`the console of the local runtime (${local.file}): ${local.url}`);
    return 0;
  }
  const stackArgs = { ...options, stack: options.stack };
  const built = await (deps.build ?? ((a, i) => buildStackConsole(a, i, declaration)))(
    stackArgs,
    io,
  );
  let server: ConsoleServer;
  try {
    server = await deps.start(built.options);
  } catch (error) {
    built.close();
    const plain = unreachable(built.options.target, error);
    if (plain) {
      io.err(`hookonce console: ${plain}`);
      return 1;
    }
    throw error;
  }
  io.out(`hookonce console for ${built.description}: ${server.url}`);
  for (const line of costLines(options.allowWrites)) io.out(line);
  io.out('Ctrl-C to stop');
  await (deps.interrupted ?? interruptedBySignal)();
  await server.stop();
  built.close();
  return 0;
}

export const consoleCommand: Command = {
  name: 'console',
  summary: 'the console in a browser: the local one, or one for a deployed stack',
  usage: 'hookonce console [--stack NAME [--region R] [--port N] [--allow-writes]]',
  help: `Without --stack, says where the console of the local runtime is: npm start
serves it (its URL is in .hookonce/local.json).

With --stack, serves the same pages for a deployed stack, on 127.0.0.1 only,
reading it with your AWS credentials: its tables and queues (from the stack's
outputs), the requests from the ingest function's log group (Logs Insights, the
last hour), the counts from its CloudWatch metrics. Ctrl-C stops it.

      --stack NAME       a deployed stack
      --region R         the stack's region (else AWS_REGION or your profile's)
      --port N           the local port (default: a free one)
      --allow-writes     offer replay, redrive and signed test webhooks (a test
                         webhook reads the provider's secret from Secrets
                         Manager and sends a real delivery to the stack);
                         without it the console only reads
  -h, --help             this help

Each view costs the account a little: a timeline is a Logs Insights query
($0.005 per GB scanned, about 1.4 KB per webhook in the window), the counts are
GetMetricData ($0.01 per 1,000 metrics), the live view polls FilterLogEvents
(no charge, throttled). docs/operations.md#console has the figures.

Examples:
  npx hookonce console
  npx hookonce console --stack Hookonce --region eu-west-1
  npx hookonce console --stack Hookonce --allow-writes`,
  async run(args, io) {
    return runConsole(args, io, { start: startConsole }, (await loadDeclaration(io)).declaration);
  },
};
