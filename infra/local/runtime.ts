import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse } from 'aws-lambda';
import { consumerEnvironment } from '../../functions/consumers/config.ts';
import { ingestEnvironment } from '../../functions/ingest/config.ts';
import { S3_PATH_STYLE_ENV } from '../../functions/shared/aws.ts';
import {
  type HookonceDeclaration,
  longestRetentionDays,
  type ResolvedDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import type { Env } from '../../functions/shared/env.ts';
import {
  DEFAULT_SWEEP_GRACE_SECONDS,
  DEFAULT_SWEEP_MAX_ATTEMPTS,
  DEFAULT_SWEEP_MAX_PER_RUN,
  SWEEP_INTERVAL_SECONDS,
  sweeperEnvironment,
} from '../../functions/sweeper/config.ts';
import type { SweepReport } from '../../functions/sweeper/sweeper.ts';
import { MemoryActivity } from '../console/activity.ts';
import { localConsoleOptions } from '../console/local.ts';
import type { ConsoleServer } from '../console/options.ts';
import { startConsole } from '../console/server.ts';
import { MemoryConsumerStats } from '../console/stats.ts';
import { INGEST_FUNCTION, SWEEPER_FUNCTION } from '../functions.ts';
import { declaration as defaultDeclaration } from '../hookonce.config.ts';
import { localNames } from '../names.ts';
import { lockDataDir } from './data-lock.ts';
import { type DevKey, withDevelopmentKeys } from './dev-keys.ts';
import { type ProviderSecret, resolveSecrets } from './dev-secrets.ts';
import {
  type DynamoEmulator,
  type DynamoKind,
  type Emulator,
  isAddressInUse,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  PortInUseError,
  startDynalite,
  startDynamoDbLocal,
  startFauxqs,
} from './emulators.ts';
import { formatFunctionLine } from './format.ts';
import { type HttpGateway, startHttpGateway } from './http.ts';
import { type Poller, startPoller } from './poller.ts';
import { ensureBucket, ensureMessaging, ensureTables, type LocalResources } from './resources.ts';
import { Sandbox } from './sandbox.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const clockTime = () => new Date().toTimeString().slice(0, 8);

/** What EventBridge hands a scheduled Lambda. */
function scheduledEvent(region: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region,
    resources: [],
    detail: {},
  };
}

export interface LocalOptions {
  /** @default the repository's infra/hookonce.config.ts */
  declaration?: HookonceDeclaration;
  /** HTTP port; 0 picks a free one. @default 3000 */
  port?: number;
  /** DynamoDB's port (dynalite or DynamoDB Local); 0 picks a free one. @default 0 */
  dynamodbPort?: number;
  /** fauxqs's port (SNS, SQS and S3); 0 picks a free one. @default 0 */
  awsPort?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * Where state is kept across restarts; without it everything lives in memory.
   * One runtime at a time per folder: another one's throws DataDirInUseError.
   */
  dataDir?: string;
  /** @default 'dynalite' */
  dynamodb?: DynamoKind;
  /** Where HOOKONCE_SECRET_<PROVIDER> is read. @default process.env */
  env?: Env;
  /** @default the repository root */
  projectRoot?: string;
  /** Receives every line the functions print, already formatted, and the access log. */
  output?: (line: string) => void;
  color?: boolean;
  /** Long-poll wait of the consumer pollers. @default 1 */
  pollWaitSeconds?: number;
  /** @default SWEEP_INTERVAL_SECONDS (60) */
  sweepIntervalSeconds?: number;
  /** How long after its lease ended a delivery is left to the provider's retry. @default 30 */
  sweepGraceSeconds?: number;
  /**
   * Port of the console (docs/console.md), on 127.0.0.1 only; 0 picks a free one.
   * @default no console (`npm start` passes HOOKONCE_CONSOLE_PORT, else 3001)
   */
  consolePort?: number;
  /**
   * Measuring hooks for benchmarks (test/bench/b7-cost.ts), none of them needed to run:
   * `interpose` puts a server of the caller's in front of an emulator (every client,
   * the functions' and the runtime's own, then calls the endpoint it returns);
   * `line` receives each line a function prints, as printed; `invocation` is told of
   * each invocation of a function; `metrics` keeps the EMF metric lines the terminal
   * otherwise goes without.
   */
  measure?: {
    interpose?(service: 'dynamodb' | 'aws', endpoint: string): Promise<string>;
    line?(fn: string, line: string): void;
    invocation?(fn: string): void;
    metrics?: boolean;
  };
}

export interface LocalEndpoints {
  readonly api: string;
  readonly dynamodb: string;
  readonly sqs: string;
  readonly sns: string;
  readonly s3: string;
}

/** A development key pair as the runtime shows it: never its private half. */
export interface DevelopmentKey {
  readonly source: 'generated' | 'kept';
  readonly publicKey: string;
}

export interface LocalRuntime {
  readonly url: string;
  readonly region: string;
  readonly endpoints: LocalEndpoints;
  readonly dynamodbKind: DynamoKind;
  readonly declaration: ResolvedDeclaration;
  readonly resources: LocalResources;
  readonly secrets: Readonly<Record<string, ProviderSecret>>;
  /** The development key pairs of keyless keyed providers (keys.json): where each came from, and its public half. */
  readonly developmentKeys: Readonly<Record<string, DevelopmentKey>>;
  /** Path of local.json, when there is a data folder. */
  readonly endpointsFile?: string;
  /** Every webhook request since the start, from the ingest function's output: the console's timeline. */
  readonly activity: MemoryActivity;
  /** Records each subscriber's consumer succeeded, failed and skipped as duplicates, per minute. */
  readonly consumerStats: MemoryConsumerStats;
  /** `http://127.0.0.1:<port>`, when the console runs (consolePort). */
  readonly consoleUrl?: string;
  /** Runs the sweeper once now (it also runs on its schedule). */
  sweep(): Promise<SweepReport>;
  stop(): Promise<void>;
}

/**
 * Runs hookonce on this machine: DynamoDB (dynalite, or DynamoDB Local) and
 * SNS/SQS/S3 (fauxqs) in-process, the resources the CDK app would create, the
 * same handler modules in Lambda-like sandboxes, an HTTP gateway in front of
 * the ingest function and pollers in front of the consumers.
 */
export async function startLocal(options: LocalOptions = {}): Promise<LocalRuntime> {
  const root = options.projectRoot ?? PROJECT_ROOT;
  const output = options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
  const color = options.color ?? false;
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  // A provider verified with public keys and declared without any gets a
  // development key pair, kept in the data folder: its public key is declared
  // for this run, `hookonce send` signs with its private key.
  const developed = withDevelopmentKeys(
    options.declaration ?? defaultDeclaration,
    dataDir && join(dataDir, 'keys.json'),
    { generate: true },
  );
  const declaration = resolveDeclaration(developed.declaration);
  const developmentKeys: Record<string, DevelopmentKey> = Object.fromEntries(
    Object.entries(developed.keys).map(([name, k]: [string, DevKey]) => [
      name,
      { source: k.source, publicKey: k.publicKey },
    ]),
  );
  const kind = options.dynamodb ?? 'dynalite';

  const cleanup: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
  };

  // A taken port is said as such, with what it was for.
  const listening = async <T>(
    role: PortInUseError['role'],
    port: number,
    start: () => Promise<T>,
  ): Promise<T> => {
    try {
      return await start();
    } catch (error) {
      if (isAddressInUse(error)) throw new PortInUseError(role, port, { cause: error });
      throw error;
    }
  };

  try {
    if (dataDir) {
      // Before anything opens the folder's databases.
      const release = lockDataDir(dataDir);
      cleanup.push(async () => release());
    }
    const dynamodbPort = options.dynamodbPort ?? 0;
    const dynamo: DynamoEmulator = await listening('dynamodb', dynamodbPort, () =>
      kind === 'dynamodb-local'
        ? startDynamoDbLocal({
            path: dataDir && join(dataDir, 'dynamodb-local'),
            port: dynamodbPort,
          })
        : startDynalite({ path: dataDir && join(dataDir, 'dynamodb'), port: dynamodbPort }),
    );
    cleanup.push(() => dynamo.stop());
    const awsPort = options.awsPort ?? 0;
    const fauxqs: Emulator = await listening('aws', awsPort, () =>
      startFauxqs({ dataDir: dataDir && join(dataDir, 'fauxqs'), port: awsPort }),
    );
    cleanup.push(() => fauxqs.stop());

    const measure = options.measure ?? {};
    const dynamoEndpoint =
      (await measure.interpose?.('dynamodb', dynamo.endpoint)) ?? dynamo.endpoint;
    const awsEndpoint = (await measure.interpose?.('aws', fauxqs.endpoint)) ?? fauxqs.endpoint;
    const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const ddb = new DynamoDBClient({ ...clientConfig, endpoint: dynamoEndpoint });
    const sns = new SNSClient({ ...clientConfig, endpoint: awsEndpoint });
    const sqs = new SQSClient({ ...clientConfig, endpoint: awsEndpoint });
    const s3 = new S3Client({ ...clientConfig, endpoint: awsEndpoint, forcePathStyle: true });
    cleanup.push(async () => {
      for (const client of [ddb, sns, sqs, s3]) client.destroy();
    });

    await ensureTables(ddb, declaration);
    const messaging = await ensureMessaging(sns, sqs, declaration);
    const names = localNames(declaration);
    const resources: LocalResources = {
      deliveriesTable: names.deliveriesTable,
      consumerTable: names.consumerTable,
      payloadBucket: await ensureBucket(s3, declaration),
      ...messaging,
    };
    const secrets = resolveSecrets(
      declaration.providers,
      options.env ?? process.env,
      dataDir && join(dataDir, 'secrets.json'),
    );

    // What every sandbox gets, as Lambda would give it: region, credentials,
    // and the SDK's own endpoint variables pointing at the emulators.
    const awsEnv = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_SNS: awsEndpoint,
      AWS_ENDPOINT_URL_SQS: awsEndpoint,
      AWS_ENDPOINT_URL_S3: awsEndpoint,
      [S3_PATH_STYLE_ENV]: 'true',
      HOOKONCE_LOG_LEVEL: process.env.HOOKONCE_LOG_LEVEL ?? 'info',
      // EMF metric lines are for CloudWatch; the terminal shows the log lines.
      POWERTOOLS_METRICS_DISABLED: measure.metrics ? 'false' : 'true',
    };
    const print = (fn: string, line: string) => {
      measure.line?.(fn, line);
      output(formatFunctionLine(fn, line, color));
    };
    /** Each invocation of a function, told to the measuring hook first. */
    const invoked = <T>(sandbox: Sandbox, name: string, event: unknown): Promise<T> => {
      measure.invocation?.(name);
      return sandbox.invoke<T>(event);
    };
    const activity = new MemoryActivity();
    const consumerStats = new MemoryConsumerStats();
    const retentionSeconds = declaration.retentionDays * 24 * 3600;

    const ingest = new Sandbox({
      name: 'ingest',
      entry: join(root, INGEST_FUNCTION.entry),
      handler: INGEST_FUNCTION.handler,
      env: {
        ...awsEnv,
        AWS_LAMBDA_FUNCTION_NAME: `${declaration.name}-ingest`,
        ...ingestEnvironment({
          tableName: resources.deliveriesTable,
          topicArn: resources.topicArn,
          providers: { ...declaration.providers },
          retentionSeconds,
          pendingShards: declaration.pendingShards,
          payloadBucket: resources.payloadBucket,
        }),
        ...Object.fromEntries(Object.values(secrets).map((s) => [s.envKey, s.value])),
      },
      timeoutSeconds: INGEST_FUNCTION.timeoutSeconds,
      memorySize: INGEST_FUNCTION.memorySize,
      region: LOCAL_REGION,
      output: (fn, line) => {
        activity.addLine(line);
        print(fn, line);
      },
    });
    cleanup.push(() => ingest.stop());

    const consumers = Object.entries(declaration.subscribers).map(([name, s]) => {
      const sandbox = new Sandbox({
        name,
        entry: join(root, s.consumer.entry),
        handler: s.consumer.handler,
        env: {
          ...awsEnv,
          AWS_LAMBDA_FUNCTION_NAME: `${declaration.name}-${name}`,
          ...consumerEnvironment({
            tableName: resources.consumerTable,
            subscriber: name,
            // A claim outlives every delivery it guards: a replay of any kept delivery is a duplicate.
            retentionSeconds: longestRetentionDays(declaration) * 24 * 3600,
            payloadBucket: resources.payloadBucket,
          }),
        },
        timeoutSeconds: s.consumer.timeoutSeconds,
        memorySize: s.consumer.memorySize,
        region: LOCAL_REGION,
        output: (fn, line) => {
          consumerStats.addLine(name, line);
          print(fn, line);
        },
      });
      cleanup.push(() => sandbox.stop());
      return { name, subscriber: s, sandbox };
    });

    const sweeper = new Sandbox({
      name: 'sweeper',
      entry: join(root, SWEEPER_FUNCTION.entry),
      handler: SWEEPER_FUNCTION.handler,
      env: {
        ...awsEnv,
        AWS_LAMBDA_FUNCTION_NAME: `${declaration.name}-sweeper`,
        ...sweeperEnvironment({
          tableName: resources.deliveriesTable,
          topicArn: resources.topicArn,
          pendingShards: declaration.pendingShards,
          retentionSeconds,
          graceSeconds: options.sweepGraceSeconds ?? DEFAULT_SWEEP_GRACE_SECONDS,
          maxPerRun: DEFAULT_SWEEP_MAX_PER_RUN,
          maxAttempts: DEFAULT_SWEEP_MAX_ATTEMPTS,
        }),
      },
      timeoutSeconds: SWEEPER_FUNCTION.timeoutSeconds,
      memorySize: SWEEPER_FUNCTION.memorySize,
      region: LOCAL_REGION,
      output: print,
    });
    cleanup.push(() => sweeper.stop());
    const sweep = () => invoked<SweepReport>(sweeper, 'sweeper', scheduledEvent(LOCAL_REGION));

    await Promise.all([
      ingest.ready(),
      sweeper.ready(),
      ...consumers.map((c) => c.sandbox.ready()),
    ]).catch((error: Error) => {
      throw new Error(`a function failed to start: ${error.message}`, { cause: error });
    });

    const apiPort = options.port ?? 3000;
    const gateway: HttpGateway = await listening('api', apiPort, () =>
      startHttpGateway({
        port: apiPort,
        host: options.host ?? '127.0.0.1',
        invoke: (event) => invoked<APIGatewayProxyStructuredResultV2>(ingest, 'ingest', event),
        onRequest: (r) =>
          output(
            `${clockTime()} ${'http'.padEnd(10)} ${r.method} ${r.path} → ${r.status} (${r.ms} ms)`,
          ),
      }),
    );
    cleanup.push(() => gateway.stop());

    const pollers: Poller[] = consumers.map(({ name, subscriber, sandbox }) => {
      const queues = resources.subscribers[name];
      if (!queues) throw new Error(`no queue for subscriber ${name}`);
      return startPoller({
        sqs,
        queueUrl: queues.queueUrl,
        queueArn: queues.queueArn,
        region: LOCAL_REGION,
        batchSize: subscriber.batchSize,
        batchingWindowSeconds: subscriber.batchingWindowSeconds,
        maxConcurrency: subscriber.maxConcurrency,
        waitTimeSeconds: options.pollWaitSeconds ?? 1,
        invoke: (event) => invoked<SQSBatchResponse>(sandbox, name, event),
        onBatch: (b) => {
          consumerStats.addBatch(name, b);
          if (b.error || b.failed > 0) {
            output(
              `${clockTime()} ${name.padEnd(10)} batch of ${b.size}: ${b.failed} to retry${b.error ? ` (${b.error})` : ''}`,
            );
          }
        },
        maxReceiveCount: subscriber.maxReceiveCount,
        onDeadLetter: (d) =>
          output(
            `${clockTime()} ${name.padEnd(10)} message ${d.messageId}${d.eventId ? ` (event ${d.eventId})` : ''} goes to the DLQ after ${d.receives} receives, once its visibility timeout ends`,
          ),
      });
    });
    cleanup.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    });

    // The sweeper on its schedule, as EventBridge runs it on AWS (never two runs at once).
    let sweeping: Promise<unknown> | undefined;
    const timer = setInterval(
      () => {
        sweeping ??= sweep()
          .catch((error: Error) =>
            output(`${clockTime()} ${'sweeper'.padEnd(10)} run failed: ${error.message}`),
          )
          .finally(() => {
            sweeping = undefined;
          });
      },
      (options.sweepIntervalSeconds ?? SWEEP_INTERVAL_SECONDS) * 1000,
    );
    timer.unref();
    cleanup.push(async () => {
      clearInterval(timer);
      await sweeping;
    });

    let consoleServer: ConsoleServer | undefined;
    if (options.consolePort !== undefined) {
      const port = options.consolePort;
      consoleServer = await startConsole(
        localConsoleOptions({
          declaration,
          resources,
          clients: { dynamodb: ddb, sqs, sns, s3 },
          endpoint: fauxqs.endpoint,
          apiUrl: gateway.url,
          activity,
          consumers: consumerStats,
          secrets,
          secretsFile: dataDir && join(dataDir, 'secrets.json'),
          developmentKeys: developed.keys,
          keysFile: dataDir && join(dataDir, 'keys.json'),
          port,
        }),
      ).catch((error: Error) => {
        throw new Error(`the console could not listen on 127.0.0.1:${port}: ${error.message}`, {
          cause: error,
        });
      });
      const started = consoleServer;
      cleanup.push(() => started.stop());
    }

    const endpoints: LocalEndpoints = {
      api: gateway.url,
      dynamodb: dynamo.endpoint,
      sqs: fauxqs.endpoint,
      sns: fauxqs.endpoint,
      s3: fauxqs.endpoint,
    };
    let endpointsFile: string | undefined;
    if (dataDir) {
      endpointsFile = join(dataDir, 'local.json');
      mkdirSync(dirname(endpointsFile), { recursive: true });
      writeFileSync(
        endpointsFile,
        `${JSON.stringify(
          {
            ...endpoints,
            region: LOCAL_REGION,
            dynamodbEmulator: dynamo.kind,
            deliveriesTable: resources.deliveriesTable,
            consumerTable: resources.consumerTable,
            topicArn: resources.topicArn,
            providers: Object.fromEntries(
              Object.keys(declaration.providers).map((p) => [p, `${gateway.url}/webhooks/${p}`]),
            ),
            // Where each provider's secret came from, never its value: the CLI signs
            // with the same one, or says why it cannot.
            secrets: Object.fromEntries(
              Object.entries(secrets).map(([p, s]) => [
                p,
                s.source === 'env'
                  ? { source: 'env', variable: s.envKey }
                  : { source: s.source, file: 'secrets.json' },
              ]),
            ),
            // The providers verified with a development key pair (never a key itself).
            keys: Object.fromEntries(
              Object.entries(developmentKeys).map(([p, k]) => [
                p,
                { source: k.source, file: 'keys.json' },
              ]),
            ),
            queues: resources.subscribers,
            ...(consoleServer ? { console: consoleServer.url } : {}),
          },
          null,
          2,
        )}\n`,
      );
    }

    return {
      url: gateway.url,
      region: LOCAL_REGION,
      endpoints,
      dynamodbKind: dynamo.kind,
      declaration,
      resources,
      secrets,
      developmentKeys,
      endpointsFile,
      activity,
      consumerStats,
      ...(consoleServer ? { consoleUrl: consoleServer.url } : {}),
      sweep,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
