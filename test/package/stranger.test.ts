/**
 * hookonce as a stranger meets it: the tarball `npm pack` makes, installed (not
 * linked) into a fresh project outside the repository, next to the stranger's
 * own aws-cdk-lib, CDK CLI, esbuild and TypeScript. There, a CDK app with its
 * own declaration and consumer synthesizes offline with cdk-nag, the consumer
 * is bundled with esbuild and runs on dynalite, `tsc --strict` passes, and
 * every usage example of README.md and docs/ compiles against the package.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../functions/fanout/envelope.ts';
import {
  type DynamoEmulator,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynalite,
} from '../../infra/local/emulators.ts';
import { examples } from '../docs/docs.ts';
import { writeExamples } from '../docs/examples.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const repoPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};

/** The stranger's own tools, at the versions this repository is tested with. */
const TOOLS = ['aws-cdk-lib', 'constructs', 'aws-cdk', 'cdk-nag', 'esbuild', 'typescript'].map(
  (name) => `${name}@${repoPkg.devDependencies[name]}`,
);

/** The Node that runs this test (the one of the repository's node_modules/.bin) comes first. */
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  npm_config_update_notifier: 'false',
};
for (const key of Object.keys(env)) {
  // What `npm test` sets for its own scripts must not leak into the stranger's npm.
  if (key.startsWith('npm_') && key !== 'npm_config_update_notifier') delete env[key];
}
delete env.INIT_CWD;

const run = (command: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) => {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...env, ...extra },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
};

const runAsync = async (
  command: string,
  args: string[],
  cwd: string,
  extra: NodeJS.ProcessEnv = {},
) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, {
      cwd,
      env: { ...env, ...extra },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: 0, out: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { status: failed.code ?? 1, out: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
};

let app: string;
let tarball: { path: string; size: number; files: number };

const APP_TS = `import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Hookonce } from 'hookonce/cdk';

const app = new App();
const stack = new Stack(app, 'Payments');
const webhooks = new Hookonce(stack, 'Webhooks', {
  declaration: {
    name: 'payments',
    providers: {
      stripe: { scheme: 'stripe', secretName: 'prod/stripe-webhooks' },
      github: { scheme: 'github' },
    },
    subscribers: {
      ledger: {
        filter: { providers: ['stripe'], types: ['stripe.charge.'] },
        consumer: { entry: 'src/ledger.ts' },
      },
    },
  },
});
console.error(\`stripe posts to \${webhooks.endpointUrl('stripe') ? 'its endpoint' : 'nowhere'}\`);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
`;

const CONSUMER_TS = `import { appendFile } from 'node:fs/promises';
import { consume, type HookonceEvent } from 'hookonce/consumer';

interface Charge {
  id: string;
  amount: number;
}

/** Appends the charge to the ledger file: the effect the guard must run once per event. */
export const handler = consume<Charge>(async (event: HookonceEvent<Charge>) => {
  const file = process.env.LEDGER_FILE;
  const charge = event.data;
  if (!file) throw new Error('LEDGER_FILE is not set');
  if (!charge) throw new Error(\`\${event.id} carries no JSON payload\`);
  await appendFile(file, \`\${event.id} \${charge.id} \${charge.amount}\\n\`);
});
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    types: ['node', 'aws-lambda'],
  },
  include: ['bin', 'src', 'examples'],
};

beforeAll(() => {
  // The package, packed as `npm publish` would pack it.
  const stage = mkdtempSync(join(tmpdir(), 'hookonce-stage-'));
  for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin']) {
    cpSync(join(ROOT, file), join(stage, file), { recursive: true });
  }
  execFileSync(process.execPath, [join(ROOT, 'infra', 'build.ts'), join(stage, 'dist')], {
    stdio: 'pipe',
  });
  const out = execFileSync(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', stage],
    {
      cwd: stage,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const [packed] = JSON.parse(out) as [{ filename: string; size: number; entryCount: number }];
  tarball = { path: join(stage, packed.filename), size: packed.size, files: packed.entryCount };

  // A fresh project, outside the repository, with nothing of it but the tarball.
  app = mkdtempSync(join(tmpdir(), 'stranger-app-'));
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'stranger-app',
      private: true,
      type: 'module',
      allowScripts: { esbuild: true },
    }),
  );
  const install = run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      tarball.path,
      ...TOOLS,
      `@types/node@${repoPkg.devDependencies['@types/node']}`,
    ],
    app,
  );
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.out}`);
  mkdirSync(join(app, 'bin'));
  mkdirSync(join(app, 'src'));
  mkdirSync(join(app, 'examples'));
  writeFileSync(join(app, 'bin', 'app.ts'), APP_TS);
  writeFileSync(join(app, 'src', 'ledger.ts'), CONSUMER_TS);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  writeFileSync(
    join(app, 'cdk.json'),
    JSON.stringify({ app: 'node bin/app.ts', context: { 'cli-telemetry': false } }),
  );
  writeExamples(join(app, 'examples'), examples());
}, 600_000);

describe('hookonce installed from its tarball into a project of its own', () => {
  it('is installed as a package, not linked to the repository', () => {
    const installed = JSON.parse(
      readFileSync(join(app, 'node_modules', 'hookonce', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(installed.version).toBe(repoPkg.version);
    expect(readFileSync(join(app, 'package.json'), 'utf8')).toContain('hookonce-');
    console.log(
      `tarball ${tarball.size} bytes, ${tarball.files} files (${tarball.path.split('/').at(-1)})`,
    );
  });

  it('synthesizes a CDK app with its own declaration and consumer, offline, with no cdk-nag finding', () => {
    const synth = run('npx', ['--offline', 'cdk', 'synth', '--quiet'], app);
    expect(synth.status, synth.out).toBe(0);
    expect(synth.out).not.toMatch(/AwsSolutions-|\[Error at|Validation failed/);
    const template = JSON.parse(
      readFileSync(join(app, 'cdk.out', 'Payments.template.json'), 'utf8'),
    ) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    // ingest, sweeper and the app's own consumer (plus CDK's helper functions)
    expect(functions.filter((f) => f.Properties.Handler === 'index.handler').length).toBe(3);
    const subscriptions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::SNS::Subscription',
    );
    expect(subscriptions.map((s) => s.Properties.FilterPolicy)).toEqual([
      { provider: ['stripe'], type: [{ prefix: 'stripe.charge.' }] },
    ]);
  }, 300_000);

  it("runs the CLI as the package's bin, with the app's own declaration", () => {
    writeFileSync(
      join(app, 'hookonce.config.ts'),
      "export const declaration = { providers: { billing: { scheme: 'stripe' } }, subscribers: {} };\n",
    );
    const help = run('npx', ['--offline', 'hookonce', '--help'], app);
    const send = run('npx', ['--offline', 'hookonce', 'send', 'github'], app);

    expect(help.status, help.out).toBe(0);
    expect(help.out).toMatch(/^usage: hookonce <command>/);
    expect(send.status).toBe(2);
    expect(send.out).toMatch(/no provider "github".*it declares billing/);
  }, 60_000);

  it('type-checks the app, its consumer and every example of the documents with tsc --strict', () => {
    const tsc = run('npx', ['--offline', 'tsc', '-p', '.'], app);
    expect(tsc.out).toBe('');
    expect(tsc.status).toBe(0);
  }, 120_000);
});

describe('a consumer written with hookonce/consumer, bundled with esbuild', () => {
  let dynamo: DynamoEmulator;

  beforeAll(async () => {
    dynamo = await startDynalite();
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    await client.send(
      new CreateTableCommand({
        TableName: 'ledger-claims',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      }),
    );
    client.destroy();
  });
  afterAll(() => dynamo?.stop());

  it('runs its effect once for two copies of one event, in one batch and in a later one', async () => {
    // Arrange: the bundle as a Lambda would get it
    const bundle = run(
      'npx',
      [
        '--offline',
        'esbuild',
        'src/ledger.ts',
        '--bundle',
        '--minify',
        '--platform=node',
        '--format=esm',
        '--target=node24',
        '--outfile=dist/ledger.mjs',
        // An ES module bundle gives the CommonJS parts of the AWS SDK their require().
        "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        '--metafile=dist/meta.json',
        '--log-level=warning',
      ],
      app,
    );
    expect(bundle.status, bundle.out).toBe(0);
    const meta = JSON.parse(readFileSync(join(app, 'dist', 'meta.json'), 'utf8')) as {
      inputs: Record<string, unknown>;
    };
    const inputs = Object.keys(meta.inputs);
    expect(inputs.filter((i) => /aws-cdk-lib|constructs|\/cli\/|\/providers\//.test(i))).toEqual(
      [],
    );

    const message = encodeEvent(
      {
        provider: 'stripe',
        deliveryId: 'evt_1',
        eventType: 'charge.succeeded',
        payload: new TextEncoder().encode('{"id":"ch_1","amount":4200}'),
        payloadSha256: 'not-checked-by-the-consumer',
        contentType: 'application/json',
        headers: {},
        status: 'PUBLISHED',
        receivedAt: 4_102_444_800_000,
        attempts: 1,
        expiresAt: 4_103_049_600,
      },
      { isJson: true },
    ).message;
    writeFileSync(join(app, 'message.json'), message);
    writeFileSync(
      join(app, 'invoke.mjs'),
      `import { readFileSync } from 'node:fs';
import { handler } from './dist/ledger.mjs';
const body = readFileSync('message.json', 'utf8');
const record = (messageId) => ({ messageId, receiptHandle: messageId, body, attributes: {},
  messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:ledger', awsRegion: 'us-east-1' });
const context = (awsRequestId) => ({ awsRequestId, functionName: 'ledger', getRemainingTimeInMillis: () => 10_000 });
const first = await handler({ Records: [record('m-1'), record('m-2')] }, context('a'));
const second = await handler({ Records: [record('m-3')] }, context('b'));
console.log(JSON.stringify({ first, second }));
`,
    );

    // Act
    const ledger = join(app, 'ledger.txt');
    writeFileSync(ledger, '');
    // Asynchronously: dynalite answers from this process.
    const invoked = await runAsync('node', ['invoke.mjs'], app, {
      LEDGER_FILE: ledger,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      HOOKONCE_CONSUMER_TABLE: 'ledger-claims',
      HOOKONCE_SUBSCRIBER: 'ledger',
      HOOKONCE_PAYLOAD_BUCKET: 'none',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });

    // Assess
    expect(invoked.status, invoked.out).toBe(0);
    expect(JSON.parse(invoked.out.trim().split('\n').at(-1) ?? '{}')).toEqual({
      first: { batchItemFailures: [] },
      second: { batchItemFailures: [] },
    });
    expect(readFileSync(ledger, 'utf8')).toBe('stripe:evt_1 ch_1 4200\n');
  }, 120_000);
});
