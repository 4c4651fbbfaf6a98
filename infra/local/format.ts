import { styleText } from 'node:util';

const LEVEL_STYLE: Record<string, Parameters<typeof styleText>[0]> = {
  debug: 'gray',
  info: 'cyan',
  warn: 'yellow',
  error: 'red',
};

/**
 * Keys every line has (Powertools Logger adds the timestamp, the service, the
 * sampling rate, the trace id and, behind its middleware, the Lambda context):
 * the terminal shows the message and what the code itself logged.
 */
const SKIP = new Set([
  'level',
  'message',
  'time',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
]);

/**
 * Turns one line a function printed into one readable terminal line: JSON log
 * lines become `12:00:01 ingest   accepted provider=standard …`, anything else
 * is passed through with the function's name in front.
 */
export function formatFunctionLine(functionName: string, line: string, color: boolean): string {
  const time = new Date().toTimeString().slice(0, 8);
  const name = functionName.padEnd(10);
  let parsed: Record<string, unknown> | undefined;
  if (line.startsWith('{')) {
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
  }
  if (!parsed || typeof parsed.message !== 'string') return `${time} ${name} ${line}`;
  const level = String(parsed.level ?? 'info').toLowerCase();
  // The line that ends a request: the gateway's line right after it shows its status and time.
  const ends = parsed.outcome !== undefined;
  // Metrics folded into the line (EMF): not something the code logged for a reader.
  const metrics = metricKeys(parsed._aws);
  const fields = Object.entries(parsed)
    .filter(([k]) => !SKIP.has(k) && !metrics.has(k) && !(ends && (k === 'status' || k === 'ms')))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const message = color ? styleText(LEVEL_STYLE[level] ?? 'white', parsed.message) : parsed.message;
  return `${time} ${name} ${message}${fields ? ` ${color ? styleText('gray', fields) : fields}` : ''}`;
}

/** `_aws` and the metric names of an EMF document's directives. */
function metricKeys(aws: unknown): Set<string> {
  const keys = new Set<string>();
  if (typeof aws !== 'object' || aws === null) return keys;
  keys.add('_aws');
  const directives = (aws as { CloudWatchMetrics?: unknown }).CloudWatchMetrics;
  if (!Array.isArray(directives)) return keys;
  for (const directive of directives) {
    const metrics = (directive as { Metrics?: unknown })?.Metrics;
    if (!Array.isArray(metrics)) continue;
    for (const metric of metrics) {
      const name = (metric as { Name?: unknown })?.Name;
      if (typeof name === 'string') keys.add(name);
    }
  }
  return keys;
}
