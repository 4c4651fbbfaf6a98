/**
 * `node test/bench/compression.ts` (full, about a minute) and `--quick`
 * (seconds): which codec of node:zlib keeps a delivery's body in its DynamoDB
 * item (functions/deliveries/body.ts). For each codec and level it measures the
 * compressed size of the repository's sample bodies and of the provider payloads
 * (test/fixtures/payloads), what a 2.2 KB Stripe event with its headers makes of
 * the item (its bytes and write units), and the time to compress and to
 * decompress, per KiB of body. Writes the table, with the date and the machine,
 * to test/bench/compression.md and .json (a quick run: compression.quick.*,
 * which git ignores); docs/benchmarks.md shows it (`npm run docs` copies it, it
 * never measures).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as zlib from 'node:zlib';
import { decodeBody, frameBody } from '../../functions/deliveries/body.ts';
import { type DeliveryRecord, deliveryItem } from '../../functions/deliveries/store.ts';
import { itemSize, writeUnits } from '../../functions/shared/dynamo.ts';
import { formatMachine, machine } from './lib/report.ts';
import { median } from './lib/stats.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const { constants: Z } = zlib;

const read = (dir: string, pattern: RegExp): Buffer[] =>
  readdirSync(join(ROOT, dir))
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => readFileSync(join(ROOT, dir, f)));

/** What `npx hookonce send` posts: the repository's sample bodies (0.2 to 1.9 KB). */
const SAMPLES = [
  ...read('infra/cli/samples', /\.(json|form)$/),
  ...read('infra/cli/samples/presets', /\.json$/),
];
/** Stripe, GitHub, Shopify and Clerk bodies of 1.4 to 4.9 KB, byte for byte as sent. */
const PAYLOADS = read('test/fixtures/payloads', /\.json$/);
const STRIPE_EVENT = readFileSync(
  join(ROOT, 'test/fixtures/payloads/stripe-payment_intent.succeeded.json'),
);
const STRIPE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
};

/** A raw-content zstd dictionary: the sample bodies, end to end (never measured on itself). */
const DICTIONARY = Buffer.concat(SAMPLES);

interface Codec {
  readonly label: string;
  compress(body: Buffer): Buffer;
  decompress(packed: Buffer): Buffer;
  /** Built from the samples: measured on the payloads only. */
  readonly trainedOnSamples?: true;
}

const brotliParams = (quality: number, size: number, hinted: boolean) =>
  hinted
    ? {
        [Z.BROTLI_PARAM_QUALITY]: quality,
        [Z.BROTLI_PARAM_MODE]: Z.BROTLI_MODE_TEXT,
        [Z.BROTLI_PARAM_SIZE_HINT]: size,
        [Z.BROTLI_PARAM_LGWIN]: Math.min(
          Z.BROTLI_MAX_WINDOW_BITS,
          Math.max(Z.BROTLI_MIN_WINDOW_BITS, Math.ceil(Math.log2(size + 1))),
        ),
      }
    : { [Z.BROTLI_PARAM_QUALITY]: quality };

const brotli = (quality: number, hinted = true): Codec => ({
  label: `brotli ${quality}${hinted ? ' (text, size hint, window)' : ' (defaults)'}`,
  compress: (b) => zlib.brotliCompressSync(b, { params: brotliParams(quality, b.length, hinted) }),
  decompress: (p) => zlib.brotliDecompressSync(p),
});

const zstd = (level: number, dictionary?: Buffer): Codec => ({
  label: `zstd ${level}${dictionary ? ' + dictionary of the samples' : ''}`,
  compress: (b) =>
    zlib.zstdCompressSync(b, {
      params: { [Z.ZSTD_c_compressionLevel]: level },
      ...(dictionary ? { dictionary } : {}),
    }),
  decompress: (p) => zlib.zstdDecompressSync(p, dictionary ? { dictionary } : {}),
  ...(dictionary ? { trainedOnSamples: true as const } : {}),
});

const CODECS: readonly Codec[] = [
  { label: 'none', compress: (b) => b, decompress: (p) => p },
  brotli(4),
  brotli(5),
  brotli(5, false),
  brotli(6),
  brotli(9),
  brotli(10),
  brotli(11),
  {
    label: 'gzip 6',
    compress: (b) => zlib.gzipSync(b, { level: 6 }),
    decompress: (p) => zlib.gunzipSync(p),
  },
  {
    label: 'gzip 9',
    compress: (b) => zlib.gzipSync(b, { level: 9 }),
    decompress: (p) => zlib.gunzipSync(p),
  },
  {
    label: 'deflate-raw 6',
    compress: (b) => zlib.deflateRawSync(b, { level: 6 }),
    decompress: (p) => zlib.inflateRawSync(p),
  },
  {
    label: 'deflate-raw 9',
    compress: (b) => zlib.deflateRawSync(b, { level: 9 }),
    decompress: (p) => zlib.inflateRawSync(p),
  },
  zstd(3),
  zstd(9),
  zstd(19),
  zstd(3, DICTIONARY),
];

const total = (bodies: readonly Buffer[]): number => bodies.reduce((s, b) => s + b.length, 0);

/** Compressed ÷ raw over a set of bodies, every body's bytes counted. */
function sizeRatio(codec: Codec, bodies: readonly Buffer[]): number {
  for (const b of bodies) {
    if (!codec.decompress(codec.compress(b)).equals(b))
      throw new Error(`${codec.label} lost bytes`);
  }
  return total(bodies.map((b) => codec.compress(b))) / total(bodies);
}

/** Microseconds per KiB of body, over passes of every body until `minMs` has passed. */
function microsPerKiB(run: (i: number) => unknown, count: number, kib: number, minMs: number) {
  for (let i = 0; i < count; i++) run(i); // warm
  let passes = 0;
  const started = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < count; i++) run(i);
    passes++;
    elapsed = performance.now() - started;
  } while (elapsed < minMs);
  return (elapsed * 1000) / (passes * kib);
}

/** The Stripe event as the ingest function stores it, RECEIVED under a Lambda request id's lease. */
const stripeRecord: DeliveryRecord = {
  provider: 'stripe',
  deliveryId: 'evt_3QkTq2HookonceBench0001',
  eventType: 'payment_intent.succeeded',
  payload: STRIPE_EVENT,
  payloadSha256: createHash('sha256').update(STRIPE_EVENT).digest('hex'),
  contentType: STRIPE_HEADERS['content-type'],
  headers: STRIPE_HEADERS,
  status: 'RECEIVED',
  receivedAt: Date.UTC(2026, 10, 24),
  leaseOwner: '3f2b9c1e-7a4d-4e8b-9c0f-5d6e7a8b9c0d',
  leaseUntil: Date.UTC(2026, 10, 24) + 30_000,
  attempts: 1,
  expiresAt: Date.UTC(2026, 10, 24) / 1000 + 7 * 86_400,
};

/** The item's bytes with this codec's output in `body` (one byte of format before it). */
function stripeItem(codec: Codec): { body: number; item: number } {
  const { body, ...rest } = deliveryItem(stripeRecord, 16);
  const frame = frameBody({ headers: STRIPE_HEADERS, payload: STRIPE_EVENT });
  const packed = codec.compress(frame).length + 1;
  return { body: packed, item: itemSize(rest) + 'body'.length + packed };
}

interface Measure {
  readonly codec: string;
  /** Compressed ÷ raw, or null for a dictionary built from those very bodies. */
  readonly samples: number | null;
  readonly payloads: number;
  readonly stripeBody: number;
  readonly stripeItem: number;
  readonly compressMicrosPerKiB: number;
  readonly decompressMicrosPerKiB: number;
}

function main(): number {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  if (args.some((a) => a !== '--quick')) {
    process.stderr.write('usage: node test/bench/compression.ts [--quick]\n');
    return 2;
  }
  const rounds = quick ? 1 : 7;
  const minMs = quick ? 20 : 300;
  const all = [...SAMPLES, ...PAYLOADS];
  const started = performance.now();
  const m = machine();
  process.stderr.write(`compression bench (${quick ? 'quick' : 'full'}) on ${formatMachine(m)}\n`);

  // Codecs take turns within a round, the order reversed every other round.
  const times = new Map(CODECS.map((c) => [c.label, { c: [] as number[], d: [] as number[] }]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? CODECS : [...CODECS].reverse();
    for (const codec of order) {
      const bodies = codec.trainedOnSamples ? PAYLOADS : all;
      const size = total(bodies) / 1024;
      const packed = bodies.map((b) => codec.compress(b));
      const t = times.get(codec.label);
      t?.c.push(
        microsPerKiB((i) => codec.compress(bodies[i] as Buffer), bodies.length, size, minMs),
      );
      t?.d.push(
        microsPerKiB((i) => codec.decompress(packed[i] as Buffer), packed.length, size, minMs),
      );
    }
    process.stderr.write(`round ${round + 1} of ${rounds} done\n`);
  }

  const measures: Measure[] = CODECS.map((codec) => {
    const stripe = stripeItem(codec);
    const t = times.get(codec.label) ?? { c: [], d: [] };
    return {
      codec: codec.label,
      samples: codec.trainedOnSamples ? null : sizeRatio(codec, SAMPLES),
      payloads: sizeRatio(codec, PAYLOADS),
      stripeBody: stripe.body,
      stripeItem: stripe.item,
      compressMicrosPerKiB: median(t.c),
      decompressMicrosPerKiB: median(t.d),
    };
  });

  // What the stronger pass of deliveryItem buys over the fast one, body by body.
  const fast = CODECS.find((c) => c.label.startsWith('brotli 5 (text'));
  const strong = CODECS.find((c) => c.label.startsWith('brotli 11'));
  const savings = all.map(
    (b) => 1 - (strong?.compress(b).length ?? 0) / (fast?.compress(b).length ?? 1),
  );
  const stored = deliveryItem(stripeRecord, 16);
  const back = decodeBody(stored.body?.B ?? new Uint8Array(0));
  if (!Buffer.from(back.payload).equals(STRIPE_EVENT)) throw new Error('the item lost the body');

  const seconds = (performance.now() - started) / 1000;
  const command = `node test/bench/compression.ts${quick ? ' --quick' : ''}`;
  const percent = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)} %`);
  const micros = (v: number) =>
    `${v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)} µs`;
  const header = [
    'codec',
    `samples (${SAMPLES.length}, ${(total(SAMPLES) / 1024).toFixed(1)} KiB)`,
    `payloads (${PAYLOADS.length}, ${(total(PAYLOADS) / 1024).toFixed(1)} KiB)`,
    `Stripe ${(STRIPE_EVENT.length / 1024).toFixed(1)} KiB + headers: body → item`,
    'compress / KiB',
    'decompress / KiB',
  ];
  const rows = measures.map((x) => [
    x.codec,
    percent(x.samples),
    percent(x.payloads),
    `${x.stripeBody.toLocaleString('en-US')} B → ${x.stripeItem.toLocaleString('en-US')} B (${writeUnits(x.stripeItem)} WU)`,
    micros(x.compressMicrosPerKiB),
    micros(x.decompressMicrosPerKiB),
  ]);
  const table = markdownTable([header, ...rows]);
  const itemBytes = itemSize(stored);
  const lines = [
    '# hookonce compression benchmark',
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${formatMachine(m)}`,
    `- run: \`${command}\` (${quick ? 'quick' : 'full'}, ${Math.round(seconds)} s)`,
    '',
    'Sizes are compressed ÷ raw over every body of the set; times the median of the rounds,',
    'per KiB of raw body, over all the bodies (the dictionary row: the payloads only).',
    '',
    table,
    '',
    '## What is measured',
    '',
    `- **samples**: the ${SAMPLES.length} bodies \`npx hookonce send\` posts (infra/cli/samples, presets included), 0.2 to 1.9 KB.`,
    `- **payloads**: the ${PAYLOADS.length} provider bodies of test/fixtures/payloads, 1.4 to 4.9 KB, byte for byte as each provider sends them.`,
    `- **Stripe**: a payment_intent.succeeded event of ${STRIPE_EVENT.length.toLocaleString('en-US')} bytes and its two kept headers, framed as functions/deliveries/body.ts frames them; the item is the delivery as the ingest function claims it (functions/deliveries/store.ts, deliveryItem) with that codec's output and a byte of format in \`body\`. WU: DynamoDB write units (a unit per KB). The item deliveryItem writes: ${itemBytes.toLocaleString('en-US')} bytes, ${writeUnits(itemBytes)} WU.`,
    `- **brotli 11 over brotli 5**, body by body over both sets: ${(median(savings) * 100).toFixed(1)} % smaller at the median, ${(Math.max(...savings) * 100).toFixed(1)} % at most, ${(Math.min(...savings) * 100).toFixed(1)} % at least.`,
    `- ${rounds} round(s), each codec timed over passes of every body for at least ${minMs} ms, the codecs in turn, the order reversed every other round; one thread, synchronous zlib calls, as the ingest function makes them.`,
    '',
  ];
  const name = quick ? 'compression.quick' : 'compression';
  writeFileSync(join(import.meta.dirname, `${name}.md`), lines.join('\n'));
  writeFileSync(
    join(import.meta.dirname, `${name}.json`),
    `${JSON.stringify({ date: new Date().toISOString(), command, machine: m, seconds, measures, strongSavings: { median: median(savings), max: Math.max(...savings), min: Math.min(...savings) } }, null, 2)}\n`,
  );
  process.stdout.write(`\n${table}\n\n`);
  process.stderr.write(
    `written to test/bench/${name}.md and ${name}.json in ${seconds.toFixed(0)} s\n`,
  );
  return 0;
}

function markdownTable(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]) =>
    `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head = [], ...body] = rows;
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt)].join('\n');
}

process.exitCode = main();
