import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One local runtime per data folder. Two would open the same LevelDB (dynalite
 * refuses, with a stack trace from deep inside it) and the same SQLite files
 * (fauxqs would not refuse, and the two would take each other's messages).
 * The runtime that starts first writes its pid into `hookonce.lock` in the
 * folder; the next one finds that process alive and stops before it opens
 * anything. A lock left behind by a process that is gone (a crash, a kill -9)
 * is taken over.
 */
export const LOCK_FILE = 'hookonce.lock';

export class DataDirInUseError extends Error {
  readonly dir: string;
  /** The process holding the folder. */
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super(`another hookonce (pid ${pid}) is using ${dir}`);
    this.name = 'DataDirInUseError';
    this.dir = dir;
    this.pid = pid;
  }
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the data folder for this process, or throws DataDirInUseError naming
 * the live process that holds it. Answers the function that gives it back.
 *
 * The lock file appears whole or not at all (written aside, then hard-linked
 * into place, which fails when it exists), so a runtime starting at the same
 * moment never reads a half-written pid. A process in this one holding it
 * counts as alive too: two runtimes of one process are refused as well.
 */
export function lockDataDir(dir: string, pid: number = process.pid): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const aside = join(dir, `${LOCK_FILE}.${pid}.${Math.random().toString(36).slice(2)}`);
  writeFileSync(aside, `${pid}\n`);
  try {
    // As found; then, should it be stale, after taking it over (a third time only
    // when another runtime took the same stale lock over and is gone already).
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(aside, file);
        return () => {
          if (holderOf(file) === pid) rmSync(file, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = holderOf(file);
      if (holder !== undefined && processAlive(holder)) throw new DataDirInUseError(dir, holder);
      rmSync(file, { force: true }); // left by a process that is gone
    }
    throw new Error(`could not take ${file}: delete it and start again`);
  } finally {
    rmSync(aside, { force: true });
  }
}
