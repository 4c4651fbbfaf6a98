import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { handlerCode } from '../../infra/functions.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('handlerCode', () => {
  it('gives the TypeScript entry in the repository, where no bundle is built next to infra/', () => {
    expect(handlerCode('ingest', ROOT)).toEqual({
      kind: 'source',
      entry: join(ROOT, 'functions/ingest/handler.ts'),
      handler: 'handler',
    });
    expect(handlerCode('sweeper', ROOT)).toMatchObject({
      kind: 'source',
      entry: join(ROOT, 'functions/sweeper/handler.ts'),
    });
  });

  it('gives the prebuilt bundle of the installed package, next to the compiled module', () => {
    const dist = mkdtempSync(join(tmpdir(), 'hookonce-dist-'));
    mkdirSync(join(dist, 'infra'));
    mkdirSync(join(dist, 'lambda', 'sweeper'), { recursive: true });
    writeFileSync(join(dist, 'lambda', 'sweeper', 'index.mjs'), 'export const handler = 1;');
    const moduleDir = join(dist, 'infra');

    expect(handlerCode('sweeper', ROOT, moduleDir)).toEqual({
      kind: 'bundle',
      directory: join(dist, 'lambda', 'sweeper'),
      handler: 'index.handler',
    });
    // Only the functions whose bundle is there.
    expect(handlerCode('ingest', ROOT, moduleDir).kind).toBe('source');
  });
});
