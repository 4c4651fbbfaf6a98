/**
 * `npm run test:aws`: hookonce on a real AWS account, end to end, in the spirit
 * of @aws-cdk/integ-tests-alpha (deploy a test stack, assert against the live
 * resources, destroy it), with the CDK CLI the repository pins.
 *
 *   1. deploys test/aws/app.ts as a stack of its own (HookonceInteg-<time>);
 *   2. puts a fresh signing secret in the `standard` provider's secret;
 *   3. posts a webhook signed by the CLI (`hookonce send standard --url …`) and
 *      expects 202, then the same delivery again and expects 200 duplicate, then
 *      a forged one and expects 401;
 *   4. waits for the example consumer's claim of the event to be DONE in the
 *      consumer-state table, and checks the subscriber's DLQ is empty;
 *   5. lists the delivery with `hookonce deliveries list --stack`, then starts
 *      `hookonce console --stack` (read-only) and waits until its
 *      `/api/requests` (Logs Insights, which lags) lists the 202, the 200
 *      duplicate and the 401;
 *   6. destroys the stack, whatever happened (HOOKONCE_INTEG_KEEP=1 keeps it).
 *
 * Without AWS credentials it says so on one line and exits 0: it is not part
 * of `npm test`, which needs no account.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the SDK and the CDK CLI would find credentials, without reading any of them. */
export function credentialSource(env: NodeJS.ProcessEnv): string | undefined {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return 'AWS_ACCESS_KEY_ID';
  if (env.AWS_PROFILE) return `AWS_PROFILE=${env.AWS_PROFILE}`;
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) {
    return 'container credentials';
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) return 'web identity';
  return undefined;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  process.stdout.write(`$ ${command} ${args.join(' ')}\n`);
  return execFileSync(command, args, {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`test:aws failed: ${what}`);
  process.stdout.write(`ok  ${what}\n`);
}

/** `hookonce send` as a user runs it; answers its exit code and what it printed. */
function send(url: string, secret: string, id: string): { code: number; output: string } {
  const result = spawnSync(
    'npx',
    ['hookonce', 'send', 'standard', '--url', url, '--secret', secret, '--id', id],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return { code: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  seconds = 90,
): Promise<T> {
  // Bounded by a number of probes, 3 s apart, rather than by the wall clock.
  for (let probes = Math.ceil(seconds / 3); ; probes--) {
    const value = await probe();
    if (value !== undefined) return value;
    if (probes <= 1) throw new Error(`test:aws failed: ${what} within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

/** `hookonce console --stack`, started as a user starts it; answers its URL once it prints it. */
async function startConsole(
  stack: string,
): Promise<{ url: string; child: ChildProcess; output: string[] }> {
  process.stdout.write(`$ npx hookonce console --stack ${stack}\n`);
  // The CLI itself rather than npx, so that Ctrl-C (SIGINT) reaches it and nothing else.
  const child = spawn(process.execPath, ['bin/hookonce.js', 'console', '--stack', stack], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const output: string[] = [];
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(
      `test:aws failed: hookonce console exited (${code}) before it served:\n${output.join('\n')}`,
    );
  });
  exited.catch(() => undefined); // an exit after it served is awaited by the caller
  const served = (async () => {
    for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
      output.push(line);
      const url = /: (http:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1];
      if (url) return url;
    }
    throw new Error('test:aws failed: hookonce console printed no URL');
  })();
  const url = await Promise.race([served, exited]);
  return { url, child, output };
}

interface ListedRequest {
  readonly status: number;
  readonly outcome: string;
  readonly provider?: string;
  readonly deliveryId?: string;
}

async function main(): Promise<number> {
  const source = credentialSource(process.env);
  if (!source) {
    process.stdout.write(
      'test:aws did not run: no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, container or web-identity credentials). Set them to deploy a test stack, post a signed webhook and destroy it.\n',
    );
    return 0;
  }
  const stack = process.env.HOOKONCE_INTEG_STACK || `HookonceInteg-${Date.now().toString(36)}`;
  const env = { ...process.env, HOOKONCE_INTEG_STACK: stack };
  const cdkApp = ['--app', 'node test/aws/app.ts'];
  const outputsFile = join(mkdtempSync(join(tmpdir(), 'hookonce-integ-')), 'outputs.json');
  process.stdout.write(`test:aws: deploying ${stack} with ${source}\n`);
  try {
    run(
      'npx',
      ['cdk', 'deploy', ...cdkApp, '--require-approval', 'never', '--outputs-file', outputsFile],
      env,
    );
    const outputs = (
      JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>
    )[stack];
    if (!outputs) throw new Error(`test:aws failed: no outputs for ${stack}`);
    const { StandardEndpointUrl: url, StandardSecretArn: secretArn } = outputs;
    check(url && secretArn, 'the stack outputs the standard endpoint and its secret');

    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    await new SecretsManagerClient({}).send(
      new PutSecretValueCommand({ SecretId: secretArn, SecretString: JSON.stringify([secret]) }),
    );
    check(true, 'a signing secret is in the provider’s secret');

    const id = `msg_integ_${stack}`;
    const first = send(url as string, secret, id);
    check(first.code === 0 && /< 202/.test(first.output), 'a signed webhook is answered 202');
    const again = send(url as string, secret, id);
    check(
      again.code === 0 && /< 200/.test(again.output) && again.output.includes('"duplicate":true'),
      'the same delivery again is answered 200, duplicate',
    );
    const forged = send(
      url as string,
      `whsec_${randomBytes(32).toString('base64')}`,
      `${id}_forged`,
    );
    check(forged.code === 1 && /< 401/.test(forged.output), 'a forged signature is answered 401');

    const table = outputs.ConsumerTableName as string;
    const dynamo = new DynamoDBClient({});
    const status = await eventually('the example consumer applies the event', async () => {
      const item = await dynamo.send(
        new GetItemCommand({
          TableName: table,
          Key: { pk: { S: `CLAIM#example#standard:${id}` } },
          ConsistentRead: true,
        }),
      );
      const value = item.Item?.status?.S;
      return value === 'DONE' ? value : undefined;
    });
    check(status === 'DONE', 'the example consumer applied the event once (its claim is DONE)');

    const dlq = await new SQSClient({}).send(
      new GetQueueAttributesCommand({
        QueueUrl: outputs.ExampleDeadLetterQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    check(dlq.Attributes?.ApproximateNumberOfMessages === '0', 'the example DLQ is empty');

    const listed = spawnSync('npx', ['hookonce', 'deliveries', 'list', '--stack', stack], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    check(
      listed.status === 0 && new RegExp(`\\s${id}\\s+standard\\.`).test(listed.stdout),
      'hookonce deliveries list --stack lists the delivery',
    );

    const { url: consoleUrl, child, output } = await startConsole(stack);
    try {
      check(
        output.some((line) => line.includes('read-only')),
        'hookonce console --stack serves read-only, and says what it costs',
      );
      // Logs Insights makes lines searchable a little after they are written: poll, bounded.
      const requests = await eventually(
        'the console lists the 202, the 200 duplicate and the 401',
        async () => {
          const res = await fetch(`${consoleUrl}/api/requests?provider=standard`);
          if (res.status !== 200) return undefined;
          const { requests: found } = (await res.json()) as { requests: ListedRequest[] };
          const has = (status: number, outcome: string, deliveryId?: string) =>
            found.some(
              (r) =>
                r.status === status &&
                r.outcome === outcome &&
                (deliveryId === undefined || r.deliveryId === deliveryId),
            );
          return has(202, 'published', id) && has(200, 'duplicate', id) && has(401, 'rejected')
            ? found
            : undefined;
        },
        300,
      );
      check(requests.length >= 3, 'the console lists the 202, the 200 duplicate and the 401');
    } finally {
      if (child.exitCode === null) {
        const exit = once(child, 'exit');
        child.kill('SIGINT');
        const [code] = await exit;
        check(code === 0, 'Ctrl-C stops the console (exit 0)');
      }
    }
    process.stdout.write(`test:aws passed; dashboard: ${outputs.DashboardUrl}\n`);
    return 0;
  } finally {
    if (process.env.HOOKONCE_INTEG_KEEP === '1') {
      process.stdout.write(
        `test:aws: kept ${stack}; destroy it with HOOKONCE_INTEG_STACK=${stack} npx cdk destroy --app "node test/aws/app.ts"\n`,
      );
    } else {
      run('npx', ['cdk', 'destroy', ...cdkApp, '--force'], env);
    }
  }
}

process.exitCode = await main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  return 1;
});
