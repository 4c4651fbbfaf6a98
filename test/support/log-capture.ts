import type { Context } from 'aws-lambda';

/** What a function wrote while one call ran: its lines (without the newline) and their bytes. */
export interface Written {
  readonly lines: readonly string[];
  /** UTF-8 bytes of the lines, newlines left out (what CloudWatch Logs stores of each event). */
  readonly bytes: number;
}

/**
 * Runs `call` with process.stdout and process.stderr captured: where Powertools
 * Logger and Powertools Metrics write in Lambda, and so every line the call
 * writes. Nothing reaches the terminal meanwhile.
 */
export async function captureWrites<T>(call: () => Promise<T>): Promise<{ result: T } & Written> {
  const chunks: string[] = [];
  const out = process.stdout.write;
  const err = process.stderr.write;
  const grab = (chunk: unknown): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
    return true;
  };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  let result: T;
  try {
    result = await call();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const lines = chunks.join('').split('\n').filter(Boolean);
  return { result, lines, bytes: lines.reduce((sum, l) => sum + Buffer.byteLength(l), 0) };
}

/**
 * A Lambda context named as CloudFormation names a function of a deployed
 * stack (`<stack>-<logical id><hash>-<suffix>`), so the lines that carry the
 * context weigh what they weigh on AWS.
 */
export function awsShapedContext(logicalId: string, awsRequestId: string): Context {
  const functionName = `payments-${logicalId}A1B2C3D4-Xy9Zk3Lm7Qp2`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The trace header Lambda sets in every invocation (`Sampled=0` when the request is not traced). */
export const AWS_TRACE_HEADER =
  'Root=1-677f2a10-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0;Lineage=1:0a1b2c3d:0';
