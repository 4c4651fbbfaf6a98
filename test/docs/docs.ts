/**
 * `npm run docs`: rewrites every generated block of README.md and docs/*.md from
 * what it shows, so the output in the documentation is the output of the code.
 * `npm run docs -- --check` rewrites nothing and exits 1 naming each stale block.
 *
 * A generated block sits between a marker and `<!-- /docs -->`:
 *
 *   <!-- docs:start -->                  the `npm start` banner
 *   <!-- docs:run npx hookonce … -->     a command's output (several commands: one a line)
 *   <!-- docs:include <file> from "<line>" to "<line>" -->  part of a file of the repository
 *   <!-- docs:bench <results file> -->   the table of a bench results file (never re-measured)
 *   <!-- docs:log -->                    what `npm start` printed for the commands of the docs:run just before
 *   <!-- docs:log sorted -->             the same, each source's lines sorted (when their order varies)
 *   <!-- docs:write <name> -->           input: the fenced block is written to <name> for the commands
 *   <!-- docs:example <entry point> -->  input: a usage example of the package, listed by {@link examples}
 *
 * Commands run in document order against one local runtime the script starts for the
 * run (`node infra/local/main.ts` on free ports, in a fresh temporary folder), the CLI
 * in-process. What differs from run to run is written as a fixed stand-in (see
 * {@link normalizer}): the runtime's URL and the emulators' endpoints as `npm start`'s
 * default ports make them (http://127.0.0.1:3000, the console :3001, :8000 for DynamoDB, :4566 for fauxqs),
 * times as <time>, signatures as <signature>, generated secrets as a fixed secret of the
 * same format. Nothing here uses the network.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { runCli } from '../../infra/cli/cli.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import { DEFAULT_PORTS } from '../../infra/local/settings.ts';
import { writeExamples } from './examples.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const END = '<!-- /docs -->';
const MARKER = /^<!-- docs:(start|run|include|bench|write|log|example)\b([\s\S]*?)-->$/;

export interface Block {
  readonly kind: 'start' | 'run' | 'include' | 'bench' | 'write' | 'log' | 'example';
  /** What follows the kind in the marker, trimmed. */
  readonly arg: string;
  /** Line index of the marker; the content is the lines after it up to the end marker. */
  readonly line: number;
  readonly content: string;
}

/** The documents `npm run docs` keeps: README.md and every docs/*.md. */
export function documents(root = ROOT): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join('docs', f));
  return ['README.md', ...docs];
}

/** Splits a document into its text and its generated blocks. */
export function parseBlocks(text: string, file = 'document'): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('<!-- docs:')) continue;
    let j = i;
    let marker = lines[i] ?? '';
    while (!marker.endsWith('-->') && j + 1 < lines.length) marker += `\n${lines[++j]}`;
    const match = MARKER.exec(marker);
    if (!match)
      throw new Error(
        `${file}:${i + 1}: a docs marker that is not one of start, run, include, bench, write, log, example`,
      );
    const end = lines.indexOf(END, j + 1);
    if (end < 0) throw new Error(`${file}:${i + 1}: docs:${match[1]} has no ${END} after it`);
    blocks.push({
      kind: match[1] as Block['kind'],
      arg: (match[2] ?? '').trim(),
      line: i,
      content: lines.slice(j + 1, end).join('\n'),
    });
    i = end;
  }
  return blocks;
}

/** Replaces each block's content with what `render` answers, in order. */
export async function rewrite(
  text: string,
  render: (block: Block, next: Block | undefined) => Promise<string>,
  file = 'document',
): Promise<{ text: string; stale: string[] }> {
  const lines = text.split('\n');
  const out: string[] = [];
  const stale: string[] = [];
  let from = 0;
  const blocks = parseBlocks(text, file);
  for (const [n, block] of blocks.entries()) {
    const markerLines = lines.slice(block.line).findIndex((l) => l.endsWith('-->')) + 1;
    const start = block.line + markerLines;
    const end = lines.indexOf(END, start);
    out.push(...lines.slice(from, start));
    const fresh = await render(block, blocks[n + 1]);
    if (fresh !== block.content)
      stale.push(`${file}:${block.line + 1} docs:${block.kind} ${firstLine(block.arg)}`);
    out.push(fresh);
    from = end;
  }
  out.push(...lines.slice(from));
  return { text: out.join('\n'), stale };
}

const firstLine = (s: string) => s.split('\n')[0] ?? '';

/** `from "<text>" to "<text>"` of an include marker. */
function includeRange(arg: string): { path: string; from?: string; to?: string } {
  const match = /^(\S+)(?:\s+from\s+"([^"]*)")?(?:\s+to\s+"([^"]*)")?$/.exec(arg);
  if (!match?.[1])
    throw new Error(`docs:include takes <file> [from "<line>"] [to "<line>"], got: ${arg}`);
  return { path: match[1], from: match[2], to: match[3] };
}

/** The lines of a file from the first holding `from` to the next holding `to`, dedented. */
export function excerpt(text: string, from?: string, to?: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const start = from === undefined ? 0 : lines.findIndex((l) => l.includes(from));
  if (start < 0) throw new Error(`no line holds "${from}"`);
  const stop =
    to === undefined ? lines.length - 1 : lines.findIndex((l, n) => n > start && l.includes(to));
  if (stop < 0) throw new Error(`no line after "${from}" holds "${to}"`);
  const part = lines.slice(start, stop + 1);
  const indent = Math.min(
    ...part.filter((l) => l.trim()).map((l) => /^ */.exec(l)?.[0].length ?? 0),
  );
  return part.map((l) => l.slice(indent)).join('\n');
}

const fence = (language: string, body: string) => `\`\`\`${language}\n${body}\n\`\`\``;

/** The first table of a bench results file (the figures of its run, never re-measured here). */
export function benchTable(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  if (start < 0) throw new Error('the results file holds no table: run npm run bench');
  let end = start;
  while (lines[end + 1]?.startsWith('|')) end++;
  const date = /^- date: (\S+)/m.exec(text)?.[1];
  const machine = /^- machine: (.+)$/m.exec(text)?.[1];
  const run = /^- run: (.+)$/m.exec(text)?.[1];
  return [
    `The run of ${date ?? '?'}, ${run ?? '?'}, on ${machine ?? '?'}:`,
    '',
    ...lines.slice(start, end + 1),
  ].join('\n');
}

/** Splits a command line on spaces; single or double quotes keep spaces in. */
export function words(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/** A stand-in of the same shape: hex stays hex, base64 stays base64, the prefix is kept. */
export function standIn(secret: string, name: string): string {
  const prefix = /^(whsec_|whpk_)?/.exec(secret)?.[0] ?? '';
  const body = secret.slice(prefix.length);
  const digest = createHash('sha512').update(`hookonce docs ${name}`).digest();
  const shaped = /^[0-9a-f]+$/.test(body)
    ? digest.toString('hex')
    : Buffer.concat([digest, digest]).toString('base64');
  return prefix + shaped.slice(0, body.length);
}

export interface Stable {
  readonly url: string;
  /** The emulators' endpoints of this run: DynamoDB's, and fauxqs's (SNS, SQS and S3). */
  readonly endpoints: { readonly dynamodb?: string; readonly aws?: string };
  /** The console's URL of this run. */
  readonly console?: string;
  readonly secrets: Readonly<Record<string, string>>;
}

/** Makes one run's output the same as any other's: see the module's comment. */
export function normalizer(stable: Stable): (text: string) => string {
  return (text) => {
    let out = text.split(`${ROOT}/`).join('');
    // The longest first: http://127.0.0.1:4123 must not eat the start of http://127.0.0.1:41234.
    const urls: Array<[string, string]> = [
      [stable.url, `http://127.0.0.1:${DEFAULT_PORTS.api}`],
      [stable.console ?? '', `http://127.0.0.1:${DEFAULT_PORTS.console}`],
      [stable.endpoints.dynamodb ?? '', `http://127.0.0.1:${DEFAULT_PORTS.dynamodb}`],
      [stable.endpoints.aws ?? '', `http://127.0.0.1:${DEFAULT_PORTS.aws}`],
    ];
    for (const [from, to] of urls
      .filter(([from]) => from)
      .sort((a, b) => b[0].length - a[0].length))
      out = out.split(from).join(to);
    for (const [name, secret] of Object.entries(stable.secrets))
      out = out.split(secret).join(standIn(secret, name));
    return (
      out
        .replace(/ready in \d+ ms/g, 'ready in <ms> ms')
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<time>')
        .split('\n')
        // A line of `hookonce tail`: its time of day and the time the function took.
        .map((line) =>
          /^\d\d:\d\d:\d\d {2}\S/.test(line)
            ? line.replace(/^\d\d:\d\d:\d\d/, '<time>').replace(/ +\d+ ms$/, '  <ms> ms')
            : line,
        )
        .map((line) =>
          /^> [a-z0-9-]*(signature|timestamp)[a-z0-9-]*: /i.test(line)
            ? line
                .replace(/\bt=\d+/g, 't=<time>')
                .replace(/: \d{9,}$/, ': <time>')
                .replace(/[0-9a-f]{32,}|[A-Za-z0-9+/]{24,}={0,2}/g, '<signature>')
            : line,
        )
        .join('\n')
    );
  };
}

/** `npm start` in a temporary folder, the CLI in-process against it. */
export class Session {
  readonly dir = mkdtempSync(join(tmpdir(), 'hookonce-docs-'));
  private child?: ChildProcess;
  private banner = '';
  private normalize: (text: string) => string = (t) => t;
  /** Every line `npm start` printed after its banner. */
  private readonly printed: string[] = [];
  private partial = '';
  /** The lines the commands of the last docs:run caused, each command's in its own group. */
  private logged: string[][] = [];

  async startBanner(): Promise<string> {
    await this.start();
    return this.banner;
  }

  async start(): Promise<void> {
    if (this.child) return;
    // Only what the runtime needs, so nothing of the shell (HOOKONCE_DYNAMODB, a secret,
    // a log level, AWS_*) changes what the documents show.
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      PORT: '0',
      HOOKONCE_DYNAMODB_PORT: '0',
      HOOKONCE_AWS_PORT: '0',
      HOOKONCE_CONSOLE_PORT: '0',
      HOOKONCE_DATA_DIR: '.hookonce',
      NO_COLOR: '1',
    };
    const child = spawn(process.execPath, [join(ROOT, 'infra/local/main.ts')], {
      cwd: this.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let ready = false;
    const raw = await new Promise<string>((done, fail) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (ready) return this.print(d.toString());
        stdout += d.toString();
        const at = stdout.indexOf('Ctrl-C to stop');
        if (at < 0) return;
        ready = true;
        this.print(stdout.slice(stdout.indexOf('\n', at) + 1));
        done(stdout);
      });
      child.once('exit', (code) =>
        fail(new Error(`npm start exited ${code} before it was ready:\n${stderr}`)),
      );
    });
    const banner = raw.slice(
      raw.indexOf('hookonce is running locally'),
      raw.indexOf('Ctrl-C to stop') + 'Ctrl-C to stop'.length,
    );
    const url = /POST (http:\/\/127\.0\.0\.1:\d+)\/webhooks\//.exec(banner)?.[1] ?? '';
    const endpoints = {
      dynamodb: /^ {2}dynamodb +(http:\/\/127\.0\.0\.1:\d+)/m.exec(banner)?.[1],
      aws: /^ {2}sns\/sqs\/s3 +(http:\/\/127\.0\.0\.1:\d+)/m.exec(banner)?.[1],
    };
    const secrets = JSON.parse(
      readFileSync(join(this.dir, '.hookonce/secrets.json'), 'utf8'),
    ) as Record<string, string>;
    const consoleUrl = /^ {2}console +(http:\/\/127\.0\.0\.1:\d+)$/m.exec(banner)?.[1];
    this.normalize = normalizer({ url, endpoints, secrets, console: consoleUrl });
    this.banner = this.normalize(banner);
  }

  private print(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    this.printed.push(...lines.filter((l) => l.trim()));
  }

  /**
   * Waits until every subscriber queue is empty (nothing waiting, nothing in flight) and
   * `npm start` has printed nothing for half a second: what the last command caused is done.
   */
  private async settle(): Promise<void> {
    const local = JSON.parse(readFileSync(join(this.dir, '.hookonce/local.json'), 'utf8')) as {
      sqs: string;
      queues: Record<string, { queueUrl: string }>;
    };
    const sqs = new SQSClient({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: local.sqs,
    });
    try {
      const busy = async () => {
        for (const { queueUrl } of Object.values(local.queues)) {
          const { Attributes: a } = await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: queueUrl,
              AttributeNames: [
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
              ],
            }),
          );
          if (
            Number(a?.ApproximateNumberOfMessages) +
              Number(a?.ApproximateNumberOfMessagesNotVisible) >
            0
          )
            return true;
        }
        return false;
      };
      let seen = -1;
      for (let round = 0; round < 300; round++) {
        if (!(await busy()) && seen === this.printed.length) return;
        seen = this.printed.length;
        await new Promise((done) => setTimeout(done, 500));
      }
      throw new Error(
        'the consumers did not finish within 150 s: a docs:log can only follow commands whose events are all consumed',
      );
    } finally {
      sqs.destroy();
    }
  }

  /**
   * What the last docs:run's commands made `npm start` print: per command, the ingest's and
   * the gateway's lines, then each subscriber's in the order of the declaration (their
   * consumers run at once, so their interleaving varies), times and durations as stand-ins.
   */
  log(sorted: boolean): string {
    const local = JSON.parse(readFileSync(join(this.dir, '.hookonce/local.json'), 'utf8')) as {
      queues: Record<string, unknown>;
    };
    const order = ['ingest', 'http', ...Object.keys(local.queues)];
    const source = (line: string) => order.indexOf(line.split(/\s+/)[1] ?? '');
    const lines = this.logged.flatMap((group) =>
      group
        .filter((line) => source(line) >= 0)
        .map((line, n) => ({ line, n }))
        .sort(
          (a, b) =>
            source(a.line) - source(b.line) ||
            (sorted ? a.line.slice(9).localeCompare(b.line.slice(9)) : 0) ||
            a.n - b.n,
        )
        .map(({ line }) => line),
    );
    if (lines.length === 0)
      throw new Error('docs:log follows a docs:run whose commands printed nothing');
    return this.normalize(
      lines
        .map((line) =>
          line.replace(/^\d\d:\d\d:\d\d /, '<time> ').replace(/\(\d+ ms\)/g, '(<ms> ms)'),
        )
        .join('\n'),
    );
  }

  startLog(): void {
    this.logged = [];
  }

  /** Runs one `npx hookonce …` line; with `settle`, waits for what it caused and keeps what was printed. */
  async run(command: string, settle = false): Promise<string> {
    const before = this.printed.length;
    const [npx, name, ...argv] = words(command);
    if (npx !== 'npx' || name !== 'hookonce')
      throw new Error(`docs:run runs npx hookonce …, got: ${command}`);
    if (argv[0] !== 'cost' && !argv.includes('--help')) await this.start();
    const out: string[] = [];
    await runCli(argv, {
      env: { HOOKONCE_DATA_DIR: '.hookonce' },
      cwd: this.dir,
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      fetch,
      // The runtime checks signed timestamps against the wall clock; the output's times are normalized.
      now: () => Date.now(),
    });
    if (settle) {
      await this.settle();
      this.logged.push(this.printed.slice(before));
    }
    return this.normalize(out.join('\n'));
  }

  write(name: string, content: string): void {
    const body = /^```[^\n]*\n([\s\S]*)\n```$/.exec(content.trim())?.[1];
    if (body === undefined) throw new Error(`docs:write ${name} wraps one fenced block`);
    writeFileSync(join(this.dir, name), body);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A usage example of the package in the documents, as a stranger would copy it. */
export interface Example {
  /** Where it is: `README.md:88`. */
  readonly where: string;
  /** The entry point it shows, as its marker names it: `hookonce/cdk`, `hookonce/consumer`. */
  readonly entryPoint: string;
  readonly code: string;
}

/**
 * Every `<!-- docs:example <entry point> -->` block of the documents: the snippets that
 * show `npm install hookonce` and its imports, for a test that compiles them against the
 * packed package.
 */
export function examples(root = ROOT): Example[] {
  return documents(root).flatMap((file) =>
    parseBlocks(readFileSync(join(root, file), 'utf8'), file)
      .filter((block) => block.kind === 'example')
      .map((block) => ({
        where: `${file}:${block.line + 1}`,
        entryPoint: block.arg,
        code: /^```[^\n]*\n([\s\S]*)\n```$/.exec(block.content.trim())?.[1] ?? block.content,
      })),
  );
}

/**
 * Type-checks every usage example (`<!-- docs:example -->`) with `tsc --strict`,
 * `hookonce/cdk` and `hookonce/consumer` resolved to the package's source, as an
 * app resolves them once the package is installed (test/package/stranger.test.ts
 * checks them against the packed tarball too). Answers tsc's complaints, '' when none.
 */
export function checkExamples(list: readonly Example[] = examples(), root = ROOT): string {
  const dir = join(root, 'node_modules', '.cache', 'hookonce-docs-examples');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeExamples(dir, list);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        types: ['node', 'aws-lambda'],
        paths: {
          'hookonce/cdk': [join(root, 'infra', 'cdk.ts')],
          'hookonce/consumer': [join(root, 'functions', 'consumers', 'index.ts')],
        },
      },
      include: ['*.ts'],
      exclude: [],
    }),
  );
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir],
    { encoding: 'utf8' },
  );
  return tsc.status === 0 ? '' : `${tsc.stdout}${tsc.stderr}`.trim() || `tsc exited ${tsc.status}`;
}

/** Renders every block of one document; answers its new text and its stale blocks. */
export async function renderDocument(
  file: string,
  session: Session,
  root = ROOT,
): Promise<{ text: string; stale: string[] }> {
  const text = readFileSync(join(root, file), 'utf8');
  return rewrite(
    text,
    async (block, next) => {
      switch (block.kind) {
        case 'start':
          return fence('', `$ npm start\n${await session.startBanner()}`);
        case 'run': {
          const commands = block.arg
            .split('\n')
            .map((c) => c.trim())
            .filter(Boolean);
          const outputs: string[] = [];
          session.startLog();
          for (const command of commands) {
            outputs.push(`$ ${command}\n${await session.run(command, next?.kind === 'log')}`);
          }
          return fence('', outputs.join('\n'));
        }
        case 'include': {
          const { path, from, to } = includeRange(block.arg);
          const language = path.endsWith('.ts') ? 'ts' : '';
          return fence(language, excerpt(readFileSync(join(root, path), 'utf8'), from, to));
        }
        case 'bench':
          return benchTable(readFileSync(join(root, block.arg), 'utf8'));
        case 'log':
          return fence('', session.log(block.arg === 'sorted'));
        case 'write':
          session.write(block.arg, block.content);
          return block.content;
        case 'example':
          return block.content;
      }
    },
    file,
  );
}

/**
 * Renders every document, in the order of {@link documents}, against one runtime: a
 * document's commands see what the documents before it sent (docs/operations.md
 * replays what docs/consumers.md sent). Writes them unless `check`; answers the stale blocks.
 */
export async function renderDocs(options: {
  check: boolean;
  root?: string;
  files?: string[];
}): Promise<string[]> {
  const root = options.root ?? ROOT;
  const stale: string[] = [];
  const session = new Session();
  try {
    for (const file of options.files ?? documents(root)) {
      const result = await renderDocument(file, session, root);
      stale.push(...result.stale);
      if (!options.check && result.stale.length > 0) writeFileSync(join(root, file), result.text);
    }
  } finally {
    await session.stop();
  }
  return stale;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const complaints = checkExamples();
  if (complaints) {
    console.error(`the documents' usage examples do not compile:\n${complaints}`);
    process.exitCode = 1;
  }
  const stale = await renderDocs({ check });
  if (check && stale.length > 0) {
    console.error(
      `stale generated blocks (run npm run docs):\n${stale.map((s) => `  ${s}`).join('\n')}`,
    );
    process.exitCode = 1;
  } else {
    console.log(
      check
        ? 'every generated block is up to date'
        : `${stale.length === 0 ? 'nothing to rewrite' : `rewrote ${stale.length} block(s):\n${stale.map((s) => `  ${s}`).join('\n')}`}`,
    );
  }
}
