/** What a progress bar draws on: a terminal's stderr, or nothing. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface Progress {
  /** Sets how far along the work is, and what to say beside the bar. */
  update(done: number, note?: string): void;
  /** The total, once it is known better (an estimate at first). */
  setTotal(total: number): void;
  /** Clears the bar, leaving the line for what comes after. */
  done(): void;
}

const NONE: Progress = { update() {}, setTotal() {}, done() {} };
const WIDTH = 24;
/** Redraws at most this often: a scan of millions calls update() far more. */
const FRAME_MS = 100;

/**
 * A one-line progress bar on a terminal, redrawn in place:
 *
 *     replay [##########--------------]  42%  8,400/20,000 scanned · 310 sent
 *
 * Drawn only when the stream is a TTY, so a pipe, a log file or CI gets the
 * final summary and nothing else. `total` may be an estimate (DynamoDB's item
 * count is refreshed every few hours); past it, the bar shows a count only.
 */
export function progressBar(
  stream: ProgressStream | undefined,
  label: string,
  total: number,
  now: () => number = Date.now,
): Progress {
  if (!stream?.isTTY) return NONE;
  let estimate = total;
  let last = -Infinity;
  let shown = false;
  const draw = (done: number, note: string) => {
    const known = estimate > 0 && done <= estimate;
    const share = known ? done / estimate : 0;
    const filled = Math.round(share * WIDTH);
    const bar = known ? `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}]` : '[…]';
    const percent = known ? `${String(Math.floor(share * 100)).padStart(3)}%` : '';
    const count = known ? `${fmt(done)}/${fmt(estimate)}` : fmt(done);
    const line = `${label} ${bar} ${percent}  ${count}${note ? ` ${note}` : ''}`;
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    stream.write(`\r\x1b[2K${line.slice(0, width)}`);
    shown = true;
  };
  return {
    update(done, note = '') {
      const t = now();
      if (t - last < FRAME_MS) return;
      last = t;
      draw(done, note);
    },
    setTotal(next) {
      estimate = next;
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}

export const fmt = (n: number): string => n.toLocaleString('en-US');
