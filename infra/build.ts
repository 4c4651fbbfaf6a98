/**
 * `npm run build`: the package in dist/ (or the folder given as the first
 * argument): the entry points compiled to ESM with .d.ts and source maps, the
 * CLI's samples, the console's assets, and the ingest and sweeper functions
 * pre-bundled, so an app that installs hookonce deploys them without bundling
 * hookonce's sources.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  BUNDLE_FILE,
  HANDLER_BUNDLING,
  INGEST_FUNCTION,
  LAMBDA_DIR,
  SWEEPER_FUNCTION,
} from './functions.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const outDir = resolve(process.argv[2] ?? join(ROOT, 'dist'));

rmSync(outDir, { recursive: true, force: true });
execFileSync(
  join(ROOT, 'node_modules', '.bin', 'tsc'),
  ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir],
  { stdio: 'inherit' },
);
keepSourcesInside(outDir);
cpSync(join(ROOT, 'infra', 'cli', 'samples'), join(outDir, 'infra', 'cli', 'samples'), {
  recursive: true,
});
// The per-webhook counts of the last full bench run, which `hookonce cost` reads.
cpSync(
  join(ROOT, 'infra', 'cli', 'cost-measured.json'),
  join(outDir, 'infra', 'cli', 'cost-measured.json'),
);
// The console's script and stylesheet, which it serves itself (no CDN).
cpSync(join(ROOT, 'infra', 'console', 'assets'), join(outDir, 'infra', 'console', 'assets'), {
  recursive: true,
});
for (const [name, fn] of [
  ['ingest', INGEST_FUNCTION],
  ['sweeper', SWEEPER_FUNCTION],
] as const) {
  await build({
    ...HANDLER_BUNDLING,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    entryPoints: [join(ROOT, fn.entry)],
    outfile: join(outDir, LAMBDA_DIR, name, BUNDLE_FILE),
    absWorkingDir: ROOT,
  });
}

/**
 * tsc names each map's source by its path from the map to the .ts file, which
 * lies outside the package once installed. The maps carry the sources' text
 * (inlineSources), so each names its source as a sibling of the .js instead:
 * a debugger shows the TypeScript, and nothing points out of dist/.
 */
function keepSourcesInside(dir: string): void {
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.js.map')) continue;
    const file = join(dir, entry);
    const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[] };
    map.sources = map.sources.map((source) => basename(source));
    writeFileSync(file, JSON.stringify(map));
  }
}
