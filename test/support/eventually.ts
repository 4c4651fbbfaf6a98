/** Pause between two polls of eventually(). */
const EVENTUALLY_POLL_MS = 100;

/**
 * Waiting for what happens after an answer (a consumer applying an effect, a
 * poller moving a message): polls, and never asserts on time. Bounded only so a
 * broken run ends, by a number of polls (about `seconds` of waiting) rather than
 * by the wall clock; the caller's assertion then fails on the last value read.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  seconds = 20,
): Promise<T> {
  const polls = Math.ceil((seconds * 1000) / EVENTUALLY_POLL_MS);
  for (let i = 1; ; i++) {
    const value = await read();
    if (done(value) || i >= polls) return value;
    await new Promise((r) => setTimeout(r, EVENTUALLY_POLL_MS));
  }
}

/** Polls until `condition` holds; throws if it never does (about 30 s). */
export async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition never held');
}
