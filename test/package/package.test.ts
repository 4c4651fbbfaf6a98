/**
 * The package as npm would publish it: built once into a staging folder (the
 * package.json, README, LICENSE, CHANGELOG and bin/ of this repository, and a
 * fresh dist/), then packed with `npm pack --dry-run` and its import graph walked.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiReports, staleReports } from '../../infra/api-report.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
};
const RUNTIME = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]);
const BUILTIN = new Set(builtinModules);

let stage: string;

beforeAll(() => {
  stage = mkdtempSync(join(tmpdir(), 'hookonce-pack-'));
  for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin']) {
    cpSync(join(ROOT, file), join(stage, file), { recursive: true });
  }
  execFileSync(process.execPath, [join(ROOT, 'infra', 'build.ts'), join(stage, 'dist')], {
    stdio: 'pipe',
  });
}, 120_000);

/** `lodash/fp` → `lodash`, `@aws-sdk/client-s3/x` → `@aws-sdk/client-s3`. */
const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

const isBuiltin = (specifier: string): boolean =>
  specifier.startsWith('node:') || BUILTIN.has(packageOf(specifier));

/** Every package a module imports, statically or dynamically, with all it imports in turn. */
async function importedPackages(entry: string): Promise<Set<string>> {
  const { metafile } = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const imported = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (external && !isBuiltin(path)) imported.add(packageOf(path));
    }
  }
  return imported;
}

let packed: string[] | undefined;

/** The files `npm pack` would put in the tarball (asked once). */
function packedFiles(): string[] {
  packed ??= pack();
  return packed;
}

function pack(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: stage,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [tarball] = JSON.parse(out) as [{ files: { path: string }[] }];
  return tarball.files.map((f) => f.path).sort();
}

const entryFiles = (): string[] => [
  ...Object.values(pkg.exports)
    .filter((target) => typeof target !== 'string')
    .map((target) => join(stage, target.default)),
  join(stage, 'dist', 'infra', 'cli', 'main.js'),
];

describe('the packed tarball', () => {
  it('holds dist/, bin/, package.json, README.md, LICENSE and CHANGELOG.md, and nothing else', () => {
    const files = packedFiles();
    const outside = files.filter(
      (f) =>
        !f.startsWith('dist/') &&
        !f.startsWith('bin/') &&
        !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(f),
    );
    expect(outside).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'CHANGELOG.md', 'README.md']));
    expect(files.filter((f) => /(^|\/)(test|cdk\.out|\.hookonce|node_modules)\//.test(f))).toEqual(
      [],
    );
  });

  it('holds every file the exports map, bin and the construct name', () => {
    const files = new Set(packedFiles());
    for (const target of Object.values(pkg.exports)) {
      const paths = typeof target === 'string' ? [target] : [target.types, target.default];
      for (const path of paths) expect(files, path).toContain(path.replace(/^\.\//, ''));
    }
    for (const bin of Object.values(pkg.bin)) expect(files).toContain(bin);
    expect(files).toContain('dist/infra/cli/main.js');
    expect(files).toContain('dist/infra/cli/samples/stripe.json');
    expect(files).toContain('dist/lambda/ingest/index.mjs');
    expect(files).toContain('dist/lambda/sweeper/index.mjs');
  });

  it('has source maps that carry their sources and name none outside the package', () => {
    const maps = packedFiles().filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(stage, file), 'utf8')) as {
        sources: string[];
        sourcesContent?: string[];
      };
      expect(
        map.sources.filter((s) => s.includes('..') || s.startsWith('/')),
        file,
      ).toEqual([]);
      expect(map.sourcesContent?.length, file).toBe(map.sources.length);
    }
  });
});

describe('the built code', () => {
  it('imports at run time only dependencies and peer dependencies, never a devDependency', async () => {
    for (const entry of entryFiles()) {
      const imported = await importedPackages(entry);
      expect(
        [...imported].filter((name) => !RUNTIME.has(name)),
        entry,
      ).toEqual([]);
    }
  });

  it('names in its declarations only packages an installer gets', () => {
    const dts = readdirSync(join(stage, 'dist'), { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.d.ts'),
    );
    const named = new Set<string>();
    for (const file of dts) {
      const text = readFileSync(join(stage, 'dist', file), 'utf8');
      const imports =
        /^(?:import|export)\b[^;]*?\bfrom ['"]([^'".][^'"]*)['"]|\bimport\(['"]([^'".][^'"]*)['"]\)/gm;
      for (const [, from, inline] of text.matchAll(imports)) {
        const specifier = from ?? inline;
        if (specifier && !isBuiltin(specifier)) named.add(packageOf(specifier));
      }
    }
    const typesOf = (name: string) => `@types/${name.replace(/^@/, '').replace('/', '__')}`;
    expect([...named].filter((n) => !RUNTIME.has(n) && !RUNTIME.has(typesOf(n)))).toEqual([]);
  });

  it('ships the ingest and sweeper bundles whole: they import nothing but Node.js built-ins', async () => {
    for (const name of ['ingest', 'sweeper']) {
      const imported = await importedPackages(join(stage, 'dist', 'lambda', name, 'index.mjs'));
      expect([...imported], name).toEqual([]);
    }
  });
});

describe('the construct, from the built package', () => {
  it('deploys ingest and sweeper from the bundles the package ships, and bundles only the app’s own consumer at synth', () => {
    // Prepare: the built package resolves aws-cdk-lib as an app's node_modules would give it.
    symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'));
    const script = `
      import { App, Stack } from 'aws-cdk-lib';
      import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
      import { Hookonce } from './dist/infra/cdk.js';
      const stack = new Stack(new App(), 'App');
      const hookonce = new Hookonce(stack, 'Webhooks', {
        projectRoot: ${JSON.stringify(ROOT)},
        declaration: {
          providers: { github: { scheme: 'github' } },
          subscribers: { team: { consumer: { entry: 'functions/consumers/example/handler.ts' } } },
        },
      });
      const kind = (fn) =>
        (fn instanceof NodejsFunction ? 'bundled at synth ' : 'shipped ') +
        fn.node.tryFindChild('Resource').handler;
      console.log(JSON.stringify({
        ingest: kind(hookonce.ingestFunction),
        sweeper: kind(hookonce.sweeperFunction),
        consumer: kind(hookonce.consumerFunctions.team),
      }));`;

    // Act
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: stage,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    // Assess
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '{}')).toEqual({
      ingest: 'shipped index.handler',
      sweeper: 'shipped index.handler',
      consumer: 'bundled at synth index.handler',
    });
  }, 120_000);
});

describe('the API reports in api/', () => {
  it('match the public API of each entry point (if not: npm run api:report, and review the diff)', () => {
    expect(staleReports(apiReports(join(stage, 'dist')))).toEqual([]);
  });
});
