import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';

export interface SandboxOptions {
  /** The function's name, as logs show it. */
  readonly name: string;
  /** Absolute path of the handler module. */
  readonly entry: string;
  /** Exported handler name. */
  readonly handler: string;
  /** The function's whole environment: nothing of the parent's leaks in, as in Lambda. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly region: string;
  /** Where each line the function prints goes. */
  readonly output: (functionName: string, line: string) => void;
}

export class InvokeError extends Error {
  readonly functionError: string;
  constructor(functionError: string, message: string) {
    super(message);
    this.name = 'InvokeError';
    this.functionError = functionError;
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One Lambda function, locally: a worker thread with its own environment and
 * module graph, initialized once (the cold start) and invoked many times.
 * An invocation past the timeout fails with "Task timed out" and the sandbox
 * is replaced, as Lambda does.
 */
export class Sandbox {
  readonly #options: SandboxOptions;
  #worker!: Worker;
  #ready!: Promise<void>;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #stopped = false;

  constructor(options: SandboxOptions) {
    this.#options = options;
    this.#spawn();
  }

  /** Resolves once the handler module has loaded; rejects with its init error. */
  ready(): Promise<void> {
    return this.#ready;
  }

  async invoke<T = unknown>(event: unknown): Promise<T> {
    await this.#ready;
    const id = this.#nextId++;
    const timeoutMs = this.#options.timeoutSeconds * 1000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new InvokeError(
            'Timeout',
            `Task timed out after ${this.#options.timeoutSeconds}.00 seconds`,
          ),
        );
        this.#restart();
      }, timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#worker.postMessage({ id, event, deadline: Date.now() + timeoutMs });
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#failAll('the local runtime is stopping');
    await this.#worker.terminate();
  }

  #spawn(): void {
    const o = this.#options;
    const worker = new Worker(new URL('./sandbox-worker.ts', import.meta.url), {
      env: { ...o.env },
      workerData: {
        entry: o.entry,
        handler: o.handler,
        functionName: o.name,
        memorySize: o.memorySize,
        region: o.region,
      },
      stdout: true,
      stderr: true,
    });
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) => o.output(o.name, line));
    }
    this.#worker = worker;
    this.#ready = new Promise<void>((resolve, reject) => {
      worker.on(
        'message',
        (m: {
          type: string;
          id?: number;
          result?: unknown;
          error?: { name: string; message: string };
        }) => {
          if (m.type === 'ready') return resolve();
          if (m.type === 'init-error') {
            return reject(
              new InvokeError('Runtime.ImportModuleError', m.error?.message ?? 'init failed'),
            );
          }
          const pending = m.id === undefined ? undefined : this.#pending.get(m.id);
          if (!pending || m.id === undefined) return;
          this.#pending.delete(m.id);
          clearTimeout(pending.timer);
          if (m.type === 'result') pending.resolve(m.result);
          else
            pending.reject(new InvokeError(m.error?.name ?? 'Error', m.error?.message ?? 'failed'));
        },
      );
      worker.on('error', (error) => {
        reject(error);
        if (this.#worker === worker) this.#failAll(`the sandbox crashed: ${error.message}`);
      });
      worker.on('exit', () => {
        if (this.#worker === worker) this.#failAll('the sandbox exited');
      });
    });
    // An init failure is reported through ready()/invoke(); never as an unhandled rejection.
    this.#ready.catch(() => undefined);
  }

  #restart(): void {
    if (this.#stopped) return;
    const old = this.#worker;
    this.#failAll('the sandbox was replaced after a timeout');
    this.#spawn();
    void old.terminate();
  }

  #failAll(reason: string): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new InvokeError('Runtime.ExitError', reason));
      this.#pending.delete(id);
    }
  }
}
