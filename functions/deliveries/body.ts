import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';

/**
 * The `body` attribute of a delivery item: what the provider sent that the
 * state machine never reads, the kept headers and the raw body, in one binary
 * value. Its first byte says how the rest is written:
 *
 *   0  plain: the frame as it is
 *   1  brotli: the frame compressed with brotli (RFC 7932)
 *
 * The frame is the kept headers as one line of JSON, a newline (JSON text holds
 * none of its own), then the body's bytes, untouched. A body kept in S3 leaves
 * the frame with the headers only.
 *
 * Brotli was chosen by measurement (test/bench/compression.ts, docs/benchmarks.md):
 * on webhook bodies of 1 to 5 KB it is the smallest of brotli, gzip, deflate and
 * zstd at their fast levels (6 to 14 % smaller than the others), for about a tenth
 * of a millisecond per KB, and its built-in dictionary of web text shrinks header
 * names and values too. Size decides the write units; that CPU is noise beside them.
 */
export const BODY_FORMAT = { plain: 0, brotli: 1 } as const;

/**
 * The brotli quality every body is compressed at: quality 4 makes bodies about
 * 7 % larger, 6 to 9 make them under 1 % smaller.
 */
export const FAST_QUALITY = 5;

/**
 * The quality tried when the fast one leaves an item just over a write unit:
 * about 7 % smaller than FAST_QUALITY (at most 12 %) for about twenty times its
 * CPU, a few milliseconds for 2 KB, which a write unit saved on both the claim
 * and the mark pays for many times over.
 */
export const STRONG_QUALITY = 11;

/** What a delivery item keeps of what was received. */
export interface ReceivedBody {
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body; empty when it lives in S3. */
  readonly payload: Uint8Array;
}

const NEWLINE = 0x0a;

/** The frame of a body: the headers as a line of JSON, then the raw bytes. */
export function frameBody(body: ReceivedBody): Buffer {
  const head = Buffer.from(`${JSON.stringify(body.headers)}\n`);
  return Buffer.concat([head, body.payload]);
}

/**
 * The attribute's value for a frame: brotli at `quality`, or the frame as it is
 * when compressing does not make it smaller (a tiny body, or one already compressed).
 */
export function encodeBody(frame: Uint8Array, quality = FAST_QUALITY): Buffer {
  const packed = brotliCompressSync(frame, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: quality,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: frame.length,
      // A window no larger than the frame: less memory to set up for a small body.
      [constants.BROTLI_PARAM_LGWIN]: windowBits(frame.length),
    },
  });
  if (packed.length < frame.length) {
    return Buffer.concat([Buffer.of(BODY_FORMAT.brotli), packed]);
  }
  return Buffer.concat([Buffer.of(BODY_FORMAT.plain), frame]);
}

/** The smallest window brotli allows that holds `bytes` (2^10 to 2^24). */
const windowBits = (bytes: number): number =>
  Math.min(
    constants.BROTLI_MAX_WINDOW_BITS,
    Math.max(constants.BROTLI_MIN_WINDOW_BITS, Math.ceil(Math.log2(bytes + 1))),
  );

/** Reads a `body` attribute back: the kept headers and the raw body. */
export function decodeBody(value: Uint8Array): ReceivedBody {
  const format = value[0];
  const rest = value.subarray(1);
  let frame: Uint8Array;
  if (format === BODY_FORMAT.plain) frame = rest;
  else if (format === BODY_FORMAT.brotli) frame = brotliDecompressSync(rest);
  else throw new Error(`a delivery body of an unknown format (${format ?? 'empty'})`);
  const end = frame.indexOf(NEWLINE);
  if (end < 0) throw new Error('a delivery body without its line of headers');
  const headers: unknown = JSON.parse(Buffer.from(frame.subarray(0, end)).toString('utf8'));
  return { headers: stringRecord(headers), payload: frame.subarray(end + 1) };
}

/** The string members of a parsed object, each an own property (`__proto__` included). */
function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'string'));
}
