import { createHash } from 'node:crypto';
import { signedDigest, valueAt } from './common.ts';
import type { WebhookRequest } from './types.ts';

/**
 * The signed-content template of the signature families (`hmac`, `asymmetric`):
 * literal text and placeholders, such as `{timestamp}.{body}` (Stripe's shape),
 * `{timestamp}{body}` (Discord's, SendGrid's) or `{method}{url}{body}{timestamp}`.
 *
 *   {body}           the raw body, byte for byte
 *   {timestamp}      the signed timestamp, as the sender wrote it
 *   {id}             the delivery id header (deliveryId: { header })
 *   {method}         the HTTP method as received (`POST`)
 *   {url}            the URL the sender called: publicUrl, else
 *                    `<x-forwarded-proto>://<host><path>`, then `?<query>` if any
 *   {path}           the request target: the path, then `?<query>` if any
 *   {header:<name>}  the value of a request header ('' when it is absent)
 *   {json:<path>}    a field of the JSON body (a dotted path) as text: a string
 *                    as it is, a number or boolean as JavaScript writes it, ''
 *                    when absent or null; a `*` step is the element of the array
 *                    being verified (a signature in each item, `signatureField`)
 *
 * This file does nothing but parse and render: the declaration checks a template
 * (functions/shared/declaration.ts), the families verify what it renders.
 */

export const TEMPLATE_FIELDS = ['body', 'timestamp', 'id', 'method', 'url', 'path'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

export type TemplatePart =
  | { readonly literal: string }
  | { readonly field: TemplateField }
  | { readonly header: string }
  | { readonly json: string };

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

const PLACEHOLDER = /\{([^{}]*)\}/g;
const HEADER_PLACEHOLDER = 'header:';
const JSON_PLACEHOLDER = 'json:';

/** A dotted path into a JSON body whose steps may be `*`: each element of an array. */
export const ITEM_PATH = /^(?:[A-Za-z0-9_$-]+|\*)(?:\.(?:[A-Za-z0-9_$-]+|\*))*$/;

/** The path with its `*` step (if any) standing for element `item`. */
export const itemPath = (path: string, item: number | undefined): string =>
  item === undefined ? path : path.replace('*', String(item));

/**
 * Splits a template into literals and placeholders, header names lower-cased.
 * Placeholders it does not know are listed in `unknown` (and left out of `parts`).
 */
export function parseTemplate(template: string): {
  parts: TemplatePart[];
  unknown: string[];
} {
  const parts: TemplatePart[] = [];
  const unknown: string[] = [];
  let at = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > at) parts.push({ literal: template.slice(at, match.index) });
    const name = match[1] ?? '';
    if ((TEMPLATE_FIELDS as readonly string[]).includes(name)) {
      parts.push({ field: name as TemplateField });
    } else if (
      name.startsWith(HEADER_PLACEHOLDER) &&
      HEADER_NAME.test(name.slice(HEADER_PLACEHOLDER.length))
    ) {
      parts.push({ header: name.slice(HEADER_PLACEHOLDER.length).toLowerCase() });
    } else if (
      name.startsWith(JSON_PLACEHOLDER) &&
      ITEM_PATH.test(name.slice(JSON_PLACEHOLDER.length))
    ) {
      parts.push({ json: name.slice(JSON_PLACEHOLDER.length) });
    } else {
      unknown.push(name);
    }
    at = match.index + match[0].length;
  }
  if (at < template.length) parts.push({ literal: template.slice(at) });
  return { parts, unknown };
}

/** A template written back from its parts (the resolved, canonical form). */
export function writeTemplate(parts: readonly TemplatePart[]): string {
  return parts
    .map((part) => {
      if ('literal' in part) return part.literal;
      if ('field' in part) return `{${part.field}}`;
      if ('json' in part) return `{${JSON_PLACEHOLDER}${part.json}}`;
      return `{${HEADER_PLACEHOLDER}${part.header}}`;
    })
    .join('');
}

/** The URL the sender called, as a URL-signing sender computes it (see {url}). */
export function requestUrl(request: WebhookRequest, publicUrl: string | undefined): string {
  const query = request.rawQueryString ? `?${request.rawQueryString}` : '';
  if (publicUrl) return publicUrl + query;
  const proto = (request.headers['x-forwarded-proto'] ?? 'https').split(',')[0]?.trim() || 'https';
  const host = request.headers.host || request.domainName;
  return `${proto.toLowerCase()}://${host}${request.rawPath}${query}`;
}

/** The request target: the path, and the query string when there is one. */
export const requestTarget = (request: WebhookRequest): string =>
  request.rawQueryString ? `${request.rawPath}?${request.rawQueryString}` : request.rawPath;

/** What a template reads beside the request itself. */
export interface TemplateValues {
  readonly timestamp?: string;
  readonly id?: string;
  readonly publicUrl?: string;
  /** The parsed JSON body, read by {json:…} (only a template with such a field parses it). */
  readonly json?: unknown;
  /** The array element a `*` step of {json:…} stands for. */
  readonly item?: number;
}

/**
 * A body field's value as a signer writes it into signed text: a string as it
 * is, a number or boolean as JavaScript writes it (Adyen's library joins them
 * so), nothing for an absent field or null, and any other value as its JSON.
 */
export function fieldText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * One piece of signed content: text (signed as its UTF-8 bytes) or bytes (the
 * body, as received). Content is handed on as its pieces, in order, so the body
 * is never copied: an HMAC or a hash is fed one piece after another.
 */
export type ContentChunk = string | Uint8Array;

/** One placeholder's piece for one request. */
function partChunk(
  part: TemplatePart,
  request: WebhookRequest,
  values: TemplateValues,
): ContentChunk {
  if ('literal' in part) return part.literal;
  if ('header' in part) return request.headers[part.header] ?? '';
  if ('json' in part) return fieldText(valueAt(values.json, part.json, values.item));
  switch (part.field) {
    case 'body':
      return request.rawBody;
    case 'timestamp':
      return values.timestamp ?? '';
    case 'id':
      return values.id ?? '';
    case 'method':
      return request.method;
    case 'url':
      return requestUrl(request, values.publicUrl);
    case 'path':
      return requestTarget(request);
  }
}

/** One piece per part of the template, for one request: the body as it is, never copied. */
export function renderPieces(
  parts: readonly TemplatePart[],
  request: WebhookRequest,
  values: TemplateValues,
): ContentChunk[] {
  const pieces: ContentChunk[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    pieces[i] = partChunk(parts[i] as TemplatePart, request, values);
  }
  return pieces;
}

/**
 * The signed content as an HMAC or a hash is fed it: the pieces in order, the
 * text between bytes pieces joined into one (each piece is one call).
 */
export function feedChunks(pieces: readonly ContentChunk[]): ContentChunk[] {
  const chunks: ContentChunk[] = [];
  let text: string | undefined;
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      text = text === undefined ? piece : text + piece;
      continue;
    }
    if (text !== undefined) chunks.push(text);
    text = undefined;
    chunks.push(piece);
  }
  if (text !== undefined || chunks.length === 0) chunks.push(text ?? '');
  return chunks;
}

/** What the template describes for one request, as it is fed to an HMAC or a hash (feedChunks). */
export const renderContent = (
  parts: readonly TemplatePart[],
  request: WebhookRequest,
  values: TemplateValues,
): ContentChunk[] => feedChunks(renderPieces(parts, request, values));

/**
 * Content as one run of bytes, for what cannot be fed piece by piece (an Ed25519
 * signature): a lone bytes piece is handed back as it is, anything else copied once.
 */
export function joinContent(chunks: readonly ContentChunk[]): Uint8Array {
  const only = chunks.length === 1 ? chunks[0] : undefined;
  if (only !== undefined && typeof only !== 'string') return only;
  return Buffer.concat(
    chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk)),
  );
}

/** The bytes the template describes for one request (a copy: for signers). */
export function renderTemplate(
  parts: readonly TemplatePart[],
  request: WebhookRequest,
  values: TemplateValues,
): Buffer {
  return Buffer.concat(
    renderContent(parts, request, values).map((chunk) =>
      typeof chunk === 'string' ? Buffer.from(chunk) : chunk,
    ),
  );
}

/** Whether a template signs nothing of the request but its body (and a timestamp). */
export const signsOnlyBody = (parts: readonly TemplatePart[]): boolean =>
  parts.every(
    (p) => 'literal' in p || ('field' in p && (p.field === 'body' || p.field === 'timestamp')),
  );

/**
 * The key of a delivery whose id the template does not sign: the SHA-256 (hex) of
 * what it signs, the timestamp left out (a retry signed at a new time is the same
 * delivery) and so are its literals (the same for every request). A template that
 * signs the body alone keys by the body's SHA-256, `bodySha256`; one that signs
 * more (`{url}`, `{header:…}`) hashes each signed part, length first, in order.
 *
 * `split` is the body around a timestamp it carries (bodyAround): the body is then
 * keyed by its bytes before and after that value (splitDigest), in place of its
 * bytes whole, so a retry that differs in nothing else is the same delivery.
 */
export function contentKey(
  parts: readonly TemplatePart[],
  pieces: readonly ContentChunk[],
  bodySha256: () => string,
  split?: BodySplit,
): string {
  if (signsOnlyBody(parts)) return split ? splitDigest(split) : bodySha256();
  const hash = createHash('sha256');
  const length = Buffer.alloc(4);
  const add = (piece: ContentChunk) => {
    length.writeUInt32BE(typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length);
    hash.update(length).update(piece);
  };
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as TemplatePart;
    const piece = pieces[i] ?? '';
    if ('literal' in part || ('field' in part && part.field === 'timestamp')) continue;
    if (split && 'field' in part && part.field === 'body') {
      add(split.before);
      add(split.after);
    } else {
      add(piece);
    }
  }
  return hash.digest('hex');
}

/** A raw body cut around one value: the bytes before it and the bytes after it. */
export interface BodySplit {
  readonly before: Uint8Array;
  readonly after: Uint8Array;
}

const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;
/** JSON's whitespace: space, tab, line feed, carriage return. */
const isJsonSpace = (byte: number | undefined): boolean =>
  byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;

/** `"<member>"` as bytes, made once per member name (the declared ones are few). */
const QUOTED = new Map<string, Buffer>();

function quotedName(member: string): Buffer {
  let name = QUOTED.get(member);
  if (name === undefined) {
    name = Buffer.from(`"${member}"`);
    if (QUOTED.size < 64) QUOTED.set(member, name);
  }
  return name;
}

/** Where `text` ends when `bytes` hold its UTF-8 at `start`; -1 when they do not. */
function writtenAt(bytes: Buffer, start: number, text: string): number {
  // ASCII text (a number, most dates) is compared as it is, nothing allocated.
  let i = 0;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) break;
    if (bytes[start + i] !== code) return -1;
  }
  if (i === text.length) return start + i;
  const encoded = Buffer.from(text);
  const end = start + encoded.length;
  return end <= bytes.length && encoded.equals(bytes.subarray(start, end)) ? end : -1;
}

/**
 * The raw JSON body cut around the value of its member `member`, read in place
 * (nothing parsed, nothing re-serialised), or undefined unless the body names that
 * member exactly once and its value is written exactly `valueJson` (the value as
 * JSON.stringify writes it, e.g. `1700000000000`), followed by `,` or `}`.
 *
 * A member is `"<member>"`, whitespace, `:`, its opening quote not escaped (an odd
 * run of backslashes before it puts it inside a string). Every member so named
 * counts, at any depth and whatever its value, so a nested member of the same
 * name, a repeated one, or a value written another way (`1.7e12`) answers
 * undefined: the caller then keys by the whole body. Two bodies cut alike differ
 * in that one value and nothing else.
 */
export function bodyAround(
  body: Uint8Array,
  member: string,
  valueJson: string,
): BodySplit | undefined {
  const bytes = Buffer.isBuffer(body)
    ? body
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const name = quotedName(member);
  let start = -1;
  for (let at = bytes.indexOf(name); at >= 0; at = bytes.indexOf(name, at + 1)) {
    let slashes = 0;
    while (bytes[at - 1 - slashes] === BACKSLASH) slashes += 1;
    if (slashes % 2 === 1) continue;
    let i = at + name.length;
    while (isJsonSpace(bytes[i])) i += 1;
    if (bytes[i] !== COLON) continue;
    if (start >= 0) return undefined;
    i += 1;
    while (isJsonSpace(bytes[i])) i += 1;
    start = i;
  }
  if (start < 0) return undefined;
  const end = writtenAt(bytes, start, valueJson);
  if (end < 0) return undefined;
  let next = end;
  while (isJsonSpace(bytes[next])) next += 1;
  if (bytes[next] !== COMMA && bytes[next] !== CLOSE_BRACE) return undefined;
  return { before: bytes.subarray(0, start), after: bytes.subarray(end) };
}

/**
 * The SHA-256 (hex) of a body cut around a value: the length of the bytes before
 * it (4 bytes, big-endian), those bytes, then the bytes after it. The length makes
 * the cut unambiguous: two cuts hash alike only when both halves are the same.
 */
export function splitDigest(split: BodySplit): string {
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(split.before.length);
  return createHash('sha256').update(length).update(split.before).update(split.after).digest('hex');
}

/**
 * The key of a body that carries a signed timestamp at `field` (a dotted path)
 * whose value is `valueJson`: splitDigest of the body cut around the value of the
 * member named by the path's last step (bodyAround), or, when it cannot be cut so,
 * the SHA-256 of the whole body.
 */
export function keyWithout(body: Uint8Array, field: string, valueJson: string): string {
  const split = bodyAround(body, memberOf(field), valueJson);
  return split ? splitDigest(split) : signedDigest(body);
}

/** The member that holds the field at a dotted path: the path's last step. */
export const memberOf = (field: string): string => field.slice(field.lastIndexOf('.') + 1);

/** The body a signer signs, parsed for {json:…}; undefined when it is not JSON. */
export function signerJson(body: Uint8Array | string): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The request a signer describes, for the signers of tests and the CLI: the body,
 * the method (POST), the URL's host, path and query, and any other headers.
 */
export function signerRequest(values: {
  body: Uint8Array | string;
  url?: string;
  method?: string;
  headers?: Readonly<Record<string, string>>;
}): WebhookRequest {
  const url = new URL(values.url ?? 'https://hooks.example.com/webhooks/provider');
  return {
    method: values.method ?? 'POST',
    headers: { ...values.headers, host: url.host, 'x-forwarded-proto': url.protocol.slice(0, -1) },
    rawBody: Buffer.from(values.body),
    rawQueryString: url.search.slice(1),
    rawPath: url.pathname,
    domainName: url.host,
  };
}
