import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkExamples,
  documents,
  examples,
  normalizer,
  ROOT,
  renderDocs,
  standIn,
} from '../docs/docs.ts';

describe('npm run docs -- --check', () => {
  const root = mkdtempSync(join(tmpdir(), 'hookonce-docs-check-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds every generated block of README.md and docs/ up to date', async () => {
    const stale = await renderDocs({ check: true });

    expect(stale).toEqual([]);
  });

  it('compiles every usage example of the documents against the package, and names one that does not compile', () => {
    expect(checkExamples()).toBe('');

    const misspelt = checkExamples([
      {
        where: 'README.md:1',
        entryPoint: 'hookonce/cdk',
        code: "import { Hookonce } from 'hookonce/cdk';\nnew Hookonce(this, 'Webhooks', { declaraton: {} });",
      },
    ]);
    expect(misspelt).toContain("'declaraton' does not exist");
  }, 120_000);

  it('names a block whose content is not what its marker shows, and rewrites it without --check', async () => {
    // Prepare: a repository of one file and a README that copied an older version of it.
    mkdirSync(join(root, 'docs'), { recursive: true });
    writeFileSync(join(root, 'config.ts'), "export const name = 'hookonce';\n");
    const readme = [
      '# t',
      '<!-- docs:include config.ts -->',
      '```ts',
      "export const name = 'old';",
      '```',
      '<!-- /docs -->',
      '',
    ].join('\n');
    writeFileSync(join(root, 'README.md'), readme);

    // Act
    const stale = await renderDocs({ check: true, root });
    const unchanged = readFileSync(join(root, 'README.md'), 'utf8');
    await renderDocs({ check: false, root });
    const rewritten = readFileSync(join(root, 'README.md'), 'utf8');

    // Assess
    expect(stale).toEqual(['README.md:2 docs:include config.ts']);
    expect(unchanged).toBe(readme);
    expect(rewritten).toContain("```ts\nexport const name = 'hookonce';\n```\n<!-- /docs -->");
    expect(await renderDocs({ check: true, root })).toEqual([]);
  });

  it('writes what varies run to run as the same stand-ins', () => {
    const normalize = normalizer({
      url: 'http://127.0.0.1:41234',
      endpoints: { dynamodb: 'http://127.0.0.1:39999', aws: 'http://127.0.0.1:4123' },
      secrets: { stripe: 'whsec_00112233445566778899aabbccddeeff' },
    });

    const out = normalize(
      [
        'POST http://127.0.0.1:41234/webhooks/stripe dynamodb http://127.0.0.1:39999',
        'sns/sqs/s3 http://127.0.0.1:4123',
        'secret whsec_00112233445566778899aabbccddeeff',
        `> stripe-signature: t=1795439043,v1=${'ab'.repeat(32)}`,
        'received 2026-12-02T04:18:51.289Z; ready in 905 ms',
      ].join('\n'),
    );

    expect(out).toBe(
      [
        'POST http://127.0.0.1:3000/webhooks/stripe dynamodb http://127.0.0.1:8000',
        'sns/sqs/s3 http://127.0.0.1:4566',
        `secret ${standIn('whsec_00112233445566778899aabbccddeeff', 'stripe')}`,
        '> stripe-signature: t=<time>,v1=<signature>',
        'received <time>; ready in <ms> ms',
      ].join('\n'),
    );
    expect(standIn('whsec_00112233445566778899aabbccddeeff', 'stripe')).toMatch(
      /^whsec_[0-9a-f]{32}$/,
    );
  });
});

describe('documents named in the code', () => {
  it('names only documents of this repository that exist (docs/*.md)', () => {
    const named = new Set<string>();
    for (const folder of ['functions', 'infra', 'test']) {
      for (const file of readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts')) continue;
        const text = readFileSync(join(ROOT, folder, file), 'utf8');
        for (const match of text.matchAll(/\bdocs\/[a-z-]+\.md\b/g)) named.add(match[0]);
      }
    }

    const missing = [...named].filter((doc) => !existsSync(join(ROOT, doc)));

    expect(named.size).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });
});

describe('the package examples in README.md and docs/', () => {
  it('import hookonce by its entry points, never by a path into this repository', () => {
    const found = examples();

    const imports = found.flatMap((example) =>
      [...example.code.matchAll(/from '([^']+)'/g)].map((m) => `${example.where} ${m[1]}`),
    );
    expect(found.map((e) => e.where)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^README\.md:/)]),
    );
    expect(new Set(found.map((e) => e.entryPoint))).toEqual(
      new Set(['hookonce/cdk', 'hookonce/consumer']),
    );
    for (const example of found)
      expect(example.code, example.where).toContain(`from '${example.entryPoint}'`);
    expect(imports.filter((line) => /\s\.{1,2}\//.test(line))).toEqual([]);
  });
});

describe('links between README.md and docs/', () => {
  /** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as dashes. */
  const anchor = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replace(/ /g, '-');

  it('each lead to a document that exists, and to one of its headings', () => {
    const files = documents();
    const anchors = new Map(
      files.map((file) => [
        file,
        new Set(
          [...readFileSync(join(ROOT, file), 'utf8').matchAll(/^#+ (.*)$/gm)].map((m) =>
            anchor(m[1] ?? ''),
          ),
        ),
      ]),
    );

    const broken: string[] = [];
    for (const file of files) {
      for (const [, link] of readFileSync(join(ROOT, file), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!link || /^[a-z]+:/.test(link)) continue;
        const [path = '', hash] = link.split('#');
        const target = path === '' ? file : normalize(join(dirname(file), path));
        if (!existsSync(join(ROOT, target))) broken.push(`${file}: ${link} (no such file)`);
        else if (hash && !anchors.get(target)?.has(hash))
          broken.push(`${file}: ${link} (no such heading)`);
      }
    }

    expect(broken).toEqual([]);
  });
});
