/**
 * Runs inside a worker thread: one Lambda sandbox. It imports the function's
 * module with the function's own environment (the worker's process.env is its
 * own copy), then answers invoke messages with a Lambda-like context.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

interface SandboxData {
  readonly entry: string;
  readonly handler: string;
  readonly functionName: string;
  readonly memorySize: number;
  readonly region: string;
}

interface InvokeMessage {
  readonly id: number;
  readonly event: unknown;
  readonly deadline: number;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const data = workerData as SandboxData;
const port = parentPort;
if (!port) throw new Error('sandbox-worker runs in a worker thread');

let handler: Handler;
try {
  const mod = (await import(pathToFileURL(data.entry).href)) as Record<string, unknown>;
  const fn = mod[data.handler];
  if (typeof fn !== 'function') {
    throw new Error(`${data.entry} does not export a function named "${data.handler}"`);
  }
  handler = fn as Handler;
  port.postMessage({ type: 'ready' });
} catch (error) {
  port.postMessage({ type: 'init-error', error: describe(error) });
  throw error;
}

port.on('message', (message: InvokeMessage) => {
  const requestId = randomUUID();
  const context = {
    awsRequestId: requestId,
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${data.region}:000000000000:function:${data.functionName}`,
    memoryLimitInMB: String(data.memorySize),
    logGroupName: `/aws/lambda/${data.functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  handler(message.event, context).then(
    (result) => port.postMessage({ type: 'result', id: message.id, result }),
    (error: unknown) => port.postMessage({ type: 'error', id: message.id, error: describe(error) }),
  );
});

function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Error', message: String(error) };
}
