import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { ingestEnvironment } from '../../functions/ingest/config.ts';
import { resolveDeclaration } from '../../functions/shared/declaration.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import { type Measured, type Row, row } from './lib/report.ts';
import type { Section, Settings } from './lib/settings.ts';
import { alternate, medianOf } from './lib/stats.ts';

const run = promisify(execFile);

/** The construct's own function factory: every hookonce function is built by it. */
type BuildFunction = (
  id: string,
  props: { description: string; entry: string; handler: string },
) => LambdaFunction;

const BUNDLES = [
  { name: 'hookonce', label: 'hookonce' },
  { name: 'floor', label: 'floor: SDK clients only', entry: 'test/bench/peers/floor-handler.ts' },
  {
    name: 'powertools',
    label: 'peer: Powertools idempotency',
    entry: 'test/bench/peers/powertools-ingest.ts',
  },
  {
    name: 'consumer',
    label: 'hookonce/consumer: consume()',
    entry: 'test/bench/peers/consumer-hookonce.ts',
  },
  {
    name: 'consumerFloor',
    label: 'floor: DynamoDB + S3 clients',
    entry: 'test/bench/peers/consumer-floor.ts',
  },
  {
    name: 'consumerPowertools',
    label: 'peer: Powertools batch + idempotency',
    entry: 'test/bench/peers/consumer-powertools.ts',
  },
] as const;

/** The ingest bundles, whose import is timed too (the consumer bundles are only weighed). */
const INGEST_BUNDLES = ['hookonce', 'floor', 'powertools'];

/**
 * Builds the three bundles through the CDK construct itself: the ingest function of
 * a Hookonce (infra/hookonce.ts) is bundled by `cdk synth`'s own code path, and the
 * floor and the peer by the construct's nodejsFunction(), so all three share every
 * esbuild setting (ESM, minify, node24, no externals, mainFields, the require banner)
 * with the deployed function, with nothing copied here.
 */
async function buildBundles(): Promise<{ paths: Record<string, string>; cleanup: () => void }> {
  const { App, Stack } = await import('aws-cdk-lib');
  const { Hookonce } = await import('../../infra/hookonce.ts');
  const outdir = mkdtempSync(join(tmpdir(), 'hookonce-bench-cdk-'));
  const cleanup = () => rmSync(outdir, { recursive: true, force: true });
  try {
    const app = new App({ outdir });
    const stack = new Stack(app, 'HookonceBench');
    const hookonce = new Hookonce(stack, 'Hookonce', {
      declaration: { providers: { standard: { scheme: 'standard-webhooks' } }, subscribers: {} },
    });
    const build = (hookonce as unknown as { nodejsFunction?: BuildFunction }).nodejsFunction;
    if (typeof build !== 'function') {
      throw new Error(
        'infra/hookonce.ts has no nodejsFunction() any more: B2 builds its floor and peer with it, to share the bundling settings',
      );
    }
    const functions: Record<string, LambdaFunction> = { hookonce: hookonce.ingestFunction };
    for (const b of BUNDLES) {
      if ('entry' in b) {
        functions[b.name] = build.call(hookonce, `Bench-${b.name}`, {
          description: `bench: ${b.label}`,
          entry: b.entry,
          handler: 'handler',
        });
      }
    }
    const paths: Record<string, string> = {};
    for (const [name, fn] of Object.entries(functions)) {
      const asset = fn.node.findChild('Code') as Asset;
      paths[name] = join(outdir, asset.assetPath, 'index.mjs');
    }
    return { paths, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

/** What the functions read at cold start, as on AWS (secrets in Secrets Manager). */
function lambdaEnvironment(): Record<string, string> {
  const declaration = resolveDeclaration({
    providers: { standard: { scheme: 'standard-webhooks' } },
    subscribers: {},
  });
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_LAMBDA_FUNCTION_NAME: 'hookonce-bench-ingest',
    ...ingestEnvironment({
      tableName: 'hookonce-deliveries',
      topicArn: `arn:aws:sns:${LOCAL_REGION}:000000000000:hookonce-events`,
      providers: { ...declaration.providers },
      retentionSeconds: declaration.retentionDays * 24 * 3600,
      pendingShards: declaration.pendingShards,
      payloadBucket: 'hookonce-payloads',
      secretIds: {
        standard: `arn:aws:secretsmanager:${LOCAL_REGION}:000000000000:secret:hookonce-standard`,
      },
    }),
  };
}

/** Milliseconds a fresh Node process takes to import the bundle (module load and the cold-start code). */
async function importTime(path: string, env: Record<string, string>): Promise<number> {
  const script =
    'const t = performance.now(); await import(process.env.BENCH_BUNDLE); process.stdout.write(String(performance.now() - t));';
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...env, BENCH_BUNDLE: pathToFileURL(path).href },
      maxBuffer: 1024 * 1024,
    }));
  } catch (error) {
    // The error quotes the minified line that threw: keep only its last lines.
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    const tail = stderr.trim().split('\n').slice(-6).join('\n').slice(-1500);
    throw new Error(`importing ${path} failed:\n${tail}`);
  }
  const ms = Number(stdout.trim());
  if (!Number.isFinite(ms)) throw new Error(`importing ${path} printed ${stdout}`);
  return ms;
}

/**
 * B2: the ingest Lambda's bundle, in bytes and in the time a fresh process takes
 * to import it, against the floor (the SDK clients it uses, nothing else) and the
 * peer (the same handler built on Powertools idempotency).
 */
export async function benchBundle(settings: Settings): Promise<Section> {
  const { paths, cleanup } = await buildBundles();
  try {
    const env = lambdaEnvironment();
    const names = INGEST_BUNDLES;
    // One import of each first: the file cache is warm for every bundle alike.
    for (const name of names) await importTime(paths[name] as string, env);
    const times = await alternate(settings.b2.imports, names, (name) =>
      importTime(paths[name] as string, env),
    );
    const label = (name: string) => BUNDLES.find((b) => b.name === name)?.label ?? name;
    const bytes = (name: string): Measured => ({
      label: label(name),
      value: statSync(paths[name] as string).size,
      unit: 'bytes',
    });
    const ms = (name: string): Measured => ({
      label: label(name),
      value: medianOf(times, name, (t) => t),
      unit: 'ms',
    });
    const rows: Row[] = [
      row({
        id: 'B2',
        measure: 'ingest bundle size (minified ESM)',
        subject: bytes('hookonce'),
        reference: bytes('floor'),
        target: { op: '<=', value: 1.25 },
      }),
      row({
        id: 'B2',
        measure: 'ingest bundle size (minified ESM)',
        subject: bytes('hookonce'),
        reference: bytes('powertools'),
        target: { op: '<=', value: 0.8 },
      }),
      row({
        id: 'B2',
        measure: 'ingest bundle import, fresh process',
        subject: ms('hookonce'),
        reference: ms('floor'),
        target: { op: '<=', value: 1.25 },
      }),
      row({
        id: 'B2',
        measure: 'ingest bundle import, fresh process',
        subject: ms('hookonce'),
        reference: ms('powertools'),
        target: { op: '<=', value: 0.8 },
      }),
      row({
        id: 'B2',
        measure: 'consumer bundle size (minified ESM)',
        subject: bytes('consumer'),
        reference: bytes('consumerFloor'),
        target: { op: '<=', value: 1.25 },
      }),
      row({
        id: 'B2',
        measure: 'consumer bundle size (minified ESM)',
        subject: bytes('consumer'),
        reference: bytes('consumerPowertools'),
        target: { op: '<=', value: 1.0 },
      }),
    ];
    return {
      rows,
      notes: [
        "bundles: built through the CDK construct itself (a Hookonce in a throw-away App: its ingest function, and the floor and the peer through the construct's own nodejsFunction()), so all three have the deployed function's esbuild settings: ESM, minified, target node24, platform node, no externals, mainFields module,main, the createRequire banner. Floor: test/bench/peers/floor-handler.ts, the DynamoDB, SNS and Secrets Manager clients and the three calls. Peer: test/bench/peers/powertools-ingest.ts, `standardwebhooks` verify, Powertools parameters for the secret, `makeIdempotent` with `DynamoDBPersistenceLayer` around the same SNS publish. Consumer bundles, built the same way: test/bench/peers/consumer-hookonce.ts (`consume()` from the consumer entry point and a one-line effect); its floor test/bench/peers/consumer-floor.ts (the DynamoDB client for one conditional put per record and the S3 client for payloads carried as `dataref`, which the guard reads too); its peer test/bench/peers/consumer-powertools.ts (Powertools batch and idempotency on DynamoDB: it carries no S3 client, so it cannot read an offloaded payload).",
        `import: \`${process.execPath.split('/').pop()} --input-type=module -e "await import(bundle)"\` in a fresh process with the Lambda's environment (secrets in Secrets Manager, as on AWS), timed inside it around the import (module evaluation included: clients built, configuration read; no network); one untimed import of each first, then ${settings.b2.imports} rounds alternating the three, medians.`,
      ],
    };
  } finally {
    cleanup();
  }
}
