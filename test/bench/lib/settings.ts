import type { Row } from './report.ts';

/** How long and how often each benchmark runs: a full run, and the smoke run CI may use. */
export interface Settings {
  readonly quick: boolean;
  /** In-process ingest: rounds of (floor, hookonce), tinybench time per task, closed-loop trials. */
  readonly b1: { rounds: number; timeMs: number; inFlight: number; loopMs: number };
  /** Fresh processes per bundle for the import time. */
  readonly b2: { imports: number };
  /** Verifiers: rounds, tinybench time per task. */
  readonly b3: { rounds: number; timeMs: number };
  /** The local stack over HTTP: rounds of (floor, hookonce), seconds per trial, connections. */
  readonly b4: { rounds: number; seconds: number; connections: number };
  /** Consumer guard: rounds of (guard, Powertools), batches per trial. */
  readonly b5: { rounds: number; batches: number; batchSize: number };
  /** The curve: rounds over the sender counts, seconds per trial; deliveries for the memory curve. */
  readonly b6: {
    rounds: number;
    seconds: number;
    senders: readonly number[];
    deliveries: number;
    checkpoints: readonly number[];
    connections: number;
  };
}

export const FULL: Settings = {
  quick: false,
  b1: { rounds: 5, timeMs: 1_500, inFlight: 16, loopMs: 2_000 },
  b2: { imports: 15 },
  b3: { rounds: 3, timeMs: 400 },
  b4: { rounds: 5, seconds: 5, connections: 16 },
  b5: { rounds: 5, batches: 60, batchSize: 10 },
  b6: {
    rounds: 3,
    seconds: 4,
    senders: [1, 8, 32, 128],
    deliveries: 100_000,
    checkpoints: [25_000, 50_000, 100_000],
    connections: 32,
  },
};

export const QUICK: Settings = {
  quick: true,
  b1: { rounds: 2, timeMs: 150, inFlight: 16, loopMs: 300 },
  b2: { imports: 3 },
  b3: { rounds: 1, timeMs: 40 },
  b4: { rounds: 2, seconds: 1, connections: 16 },
  b5: { rounds: 2, batches: 8, batchSize: 10 },
  b6: {
    rounds: 1,
    seconds: 1,
    senders: [1, 8, 32, 128],
    deliveries: 1_000,
    checkpoints: [500, 1_000],
    connections: 32,
  },
};

/** What one benchmark hands back: its rows and what exactly it measured. */
export interface Section {
  readonly rows: Row[];
  readonly notes: string[];
}
