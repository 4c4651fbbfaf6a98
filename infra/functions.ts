import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The shape of the functions hookonce runs, shared by the CDK construct and
 * the local runtime so both run the same code with the same limits.
 */
export const INGEST_FUNCTION = {
  /** Relative to the project root. */
  entry: 'functions/ingest/handler.ts',
  handler: 'handler',
  /** GitHub gives up on a webhook after 10 s; the SDK timeouts keep us well inside it. */
  timeoutSeconds: 10,
  memorySize: 256,
} as const;

export const SWEEPER_FUNCTION = {
  entry: 'functions/sweeper/handler.ts',
  handler: 'handler',
  /** One bounded run per minute; it stops taking work before this runs out. */
  timeoutSeconds: 60,
  memorySize: 256,
} as const;

/** The hookonce functions whose code ships in the package. */
export type HookonceHandler = 'ingest' | 'sweeper';

const HANDLER_ENTRIES: Record<HookonceHandler, string> = {
  ingest: INGEST_FUNCTION.entry,
  sweeper: SWEEPER_FUNCTION.entry,
};

/**
 * Where a hookonce function's code is:
 * - `bundle`: the installed package, whose build put a minified ESM bundle in
 *   `dist/lambda/<name>/index.mjs`; deploy `directory` as it is
 *   (`Code.fromAsset(directory)`, handler `index.handler`), no bundling at synth.
 * - `source`: the repository, where the TypeScript entry is bundled at synth.
 */
export type HandlerCode =
  | { readonly kind: 'bundle'; readonly directory: string; readonly handler: string }
  | { readonly kind: 'source'; readonly entry: string; readonly handler: string };

/** The folder this module was loaded from: infra/ in the repository, dist/infra/ once built. */
const MODULE_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * Answers where `name`'s code is: the prebuilt bundle when one lies next to
 * this compiled module (`../lambda/<name>/index.mjs`), else the `.ts` entry
 * under `projectRoot`.
 */
export function handlerCode(
  name: HookonceHandler,
  projectRoot: string,
  moduleDir: string = MODULE_DIR,
): HandlerCode {
  const directory = join(moduleDir, '..', LAMBDA_DIR, name);
  if (existsSync(join(directory, BUNDLE_FILE))) {
    return { kind: 'bundle', directory, handler: `index.${HANDLER_EXPORT}` };
  }
  return {
    kind: 'source',
    entry: join(projectRoot, HANDLER_ENTRIES[name]),
    handler: HANDLER_EXPORT,
  };
}

/** Under dist/: lambda/<name>/index.mjs, one per hookonce function. */
export const LAMBDA_DIR = 'lambda';
export const BUNDLE_FILE = 'index.mjs';
const HANDLER_EXPORT = 'handler';

/**
 * esbuild's options for a hookonce function, at synth (NodejsFunction) and in
 * the package's build alike: one minified ESM file for Node.js 24, the AWS SDK
 * bundled too (pinned versions; tree-shaking keeps only the clients it uses).
 * The banner gives CommonJS dependencies the `require` ESM lacks.
 */
export const HANDLER_BUNDLING = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  minify: true,
  sourcemap: false,
  treeShaking: true,
  external: [] as string[],
  mainFields: ['module', 'main'],
  banner: {
    js: "import { createRequire as __hookonceCreateRequire } from 'node:module'; const require = __hookonceCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
} as const;
