/** The one source of time for cores: injected so tests control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export const toEpochSeconds = (ms: number): number => Math.floor(ms / 1000);
