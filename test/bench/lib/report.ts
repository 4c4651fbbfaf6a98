import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname } from 'node:path';

export type Unit = 'ns' | 'ms' | 'ops/s' | 'req/s' | 'bytes' | 'writes/msg' | 'MB';

export interface Measured {
  /** What was measured: `hookonce`, `floor: …`, `peer: …`, `1 sender`. */
  readonly label: string;
  readonly value: number;
  readonly unit: Unit;
}

export interface Target {
  /** The ratio (subject ÷ reference), or the subject's own value, must be at most, or at least, `value`. */
  readonly op: '<=' | '>=';
  readonly value: number;
  /** What is checked. @default 'ratio' */
  readonly on?: 'ratio' | 'subject';
}

export interface Row {
  readonly id: string;
  readonly measure: string;
  readonly subject: Measured;
  readonly reference: Measured;
  /** subject ÷ reference. */
  readonly ratio: number;
  readonly target?: Target;
  /** `undefined` when the row has no target (it is there for the curve or for context). */
  readonly met?: boolean;
  readonly note?: string;
}

/** A row whose ratio is subject ÷ reference, checked against `target` when there is one. */
export function row(options: {
  id: string;
  measure: string;
  subject: Measured;
  reference: Measured;
  target?: Target;
  note?: string;
}): Row {
  const ratio = options.subject.value / options.reference.value;
  const checked = options.target?.on === 'subject' ? options.subject.value : ratio;
  const met =
    options.target === undefined || !Number.isFinite(checked)
      ? undefined
      : options.target.op === '<='
        ? checked <= options.target.value + 1e-9
        : checked >= options.target.value - 1e-9;
  return { ...options, ratio, met };
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  /** 1-minute load average when the run started: how busy the shared machine was. */
  readonly loadAverage: number;
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()} ${process.arch}`,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

const sig = (value: number, digits = 3): string => {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toLocaleString('en-US', {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
};

export function formatValue(m: Measured): string {
  switch (m.unit) {
    case 'bytes':
      return `${sig(m.value / 1024)} KiB`;
    case 'ops/s':
    case 'req/s':
      return `${m.value >= 1000 ? Math.round(m.value).toLocaleString('en-US') : sig(m.value)} ${m.unit}`;
    default:
      return `${sig(m.value)} ${m.unit}`;
  }
}

const formatTarget = (t: Target | undefined, unit = ''): string => {
  if (!t) return '—';
  const op = t.op === '<=' ? '≤' : '≥';
  return t.on === 'subject' ? `${op} ${t.value} ${unit}` : `${op} ${t.value.toFixed(2)}×`;
};

/** How far a missed target is from being met, as a percentage of the target. */
export function shortfall(r: Row): string {
  if (!r.target || r.met !== false) return '';
  const checked = r.target.on === 'subject' ? r.subject.value : r.ratio;
  const off = r.target.op === '<=' ? checked / r.target.value - 1 : 1 - checked / r.target.value;
  return `${(off * 100).toFixed(0)}%`;
}

const formatMet = (r: Row): string =>
  r.met === undefined ? '—' : r.met ? 'yes' : `no (off by ${shortfall(r)})`;

const cell = (text: string): string => text.replaceAll('|', '\\|');

/** The one table: a Markdown table that reads as well in a terminal. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['#', 'measure', 'subject', 'floor / peer', 'ratio', 'target', 'met?'];
  const lines = rows.map((r) => [
    r.id,
    r.measure,
    `${r.subject.label}: ${formatValue(r.subject)}`,
    `${r.reference.label}: ${formatValue(r.reference)}`,
    `${r.ratio.toFixed(2)}×`,
    formatTarget(r.target, r.subject.unit),
    formatMet(r),
  ]);
  const all = [header, ...lines].map((cols) => cols.map(cell));
  const widths = header.map((_, i) => Math.max(...all.map((cols) => (cols[i] ?? '').length)));
  const fmt = (cols: string[]) => `| ${cols.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head = [], ...body] = all;
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n');
}

export interface Results {
  readonly date: string;
  readonly mode: 'full' | 'quick';
  readonly command: string;
  readonly machine: Machine;
  readonly seconds: number;
  readonly rows: readonly Row[];
  /** What each benchmark measures exactly, by id. */
  readonly notes: Readonly<Record<string, readonly string[]>>;
}

export function formatMachine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os} (load average ${m.loadAverage} at start)`;
}

export function toMarkdown(results: Results): string {
  const missed = results.rows.filter((r) => r.met === false);
  const lines = [
    '# hookonce benchmarks',
    '',
    `- date: ${results.date}`,
    `- machine: ${formatMachine(results.machine)}`,
    `- run: \`${results.command}\` (${results.mode}, ${Math.round(results.seconds)} s)`,
    '',
    'Every ratio is subject ÷ floor or peer, measured in the same run, alternating the two,',
    'the median of several rounds. Lower is better for ms and bytes, higher for ops/s and req/s.',
    '',
    formatTable(results.rows),
    '',
    '## What is measured',
    '',
  ];
  for (const [id, notes] of Object.entries(results.notes)) {
    for (const note of notes) lines.push(`- **${id}** ${note}`);
  }
  lines.push('', '## Targets missed in this run', '');
  if (missed.length === 0) lines.push('None.');
  for (const r of missed) {
    lines.push(
      `- ${r.id} ${r.measure}: ${r.target?.on === 'subject' ? formatValue(r.subject) : `${r.ratio.toFixed(2)}×`} against a target of ${formatTarget(r.target, r.subject.unit)}, off by ${shortfall(r)}${r.note ? ` (${r.note})` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function writeResults(results: Results, markdownPath: string, jsonPath: string): void {
  mkdirSync(dirname(markdownPath), { recursive: true });
  writeFileSync(markdownPath, toMarkdown(results));
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
}
