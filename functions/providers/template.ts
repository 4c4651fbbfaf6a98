import { createHash } from 'node:crypto';
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
 *
 * This file does nothing but parse and render: the declaration checks a template
 * (functions/shared/declaration.ts), the families verify what it renders.
 */

export const TEMPLATE_FIELDS = ['body', 'timestamp', 'id', 'method', 'url', 'path'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

export type TemplatePart =
  | { readonly literal: string }
  | { readonly field: TemplateField }
  | { readonly header: string };

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

const PLACEHOLDER = /\{([^{}]*)\}/g;
const HEADER_PLACEHOLDER = 'header:';

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
}

/** The bytes of one placeholder for one request. */
function partBytes(
  part: TemplatePart,
  request: WebhookRequest,
  values: TemplateValues,
): Uint8Array {
  if ('literal' in part) return Buffer.from(part.literal);
  if ('header' in part) return Buffer.from(request.headers[part.header] ?? '');
  switch (part.field) {
    case 'body':
      return request.rawBody;
    case 'timestamp':
      return Buffer.from(values.timestamp ?? '');
    case 'id':
      return Buffer.from(values.id ?? '');
    case 'method':
      return Buffer.from(request.method);
    case 'url':
      return Buffer.from(requestUrl(request, values.publicUrl));
    case 'path':
      return Buffer.from(requestTarget(request));
  }
}

/** The bytes the template describes for one request. */
export function renderTemplate(
  parts: readonly TemplatePart[],
  request: WebhookRequest,
  values: TemplateValues,
): Buffer {
  return Buffer.concat(parts.map((part) => partBytes(part, request, values)));
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
 */
export function contentKey(
  parts: readonly TemplatePart[],
  request: WebhookRequest,
  values: TemplateValues,
  bodySha256: () => string,
): string {
  if (signsOnlyBody(parts)) return bodySha256();
  const hash = createHash('sha256');
  for (const part of parts) {
    if ('literal' in part || ('field' in part && part.field === 'timestamp')) continue;
    const bytes = partBytes(part, request, values);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest('hex');
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
