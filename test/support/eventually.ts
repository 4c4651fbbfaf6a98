/**
 * Waiting for what happens after an answer (a consumer applying an effect, a
 * poller moving a message): polls, and never asserts on time. Bounded only so a
 * broken run ends; the caller's assertion then fails on the last value read.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  seconds = 20,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
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
