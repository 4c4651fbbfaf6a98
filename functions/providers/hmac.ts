import type { HmacDeliveryId } from '../shared/declaration.ts';
import {
  asName,
  bodyDigest,
  checkSecretList,
  checkTimestamp,
  DIGEST_BYTES,
  decodeBase64,
  decodeHex,
  type HmacAlgorithm,
  hmac,
  keepHeaders,
  matchesAny,
  signedDigest,
  valueAt,
} from './common.ts';
import { type Provider, reject400, reject401, type Verdict } from './types.ts';

/**
 * Any HMAC signer, as declared: the signature header (and a prefix such as
 * `sha256=`), the algorithm, the encoding, and what is signed, a template of
 * `{body}`, `{timestamp}` and `{id}` such as `{timestamp}.{body}`. With a timestamp
 * header the replay window applies. The key of a delivery is taken only from what is
 * signed: a JSON field of the body, an id header the template signs (`{id}`), and
 * otherwise the SHA-256 of the body (content-based dedup), with an unsigned id header
 * kept for display and lookup. The timestamp is left out of that digest: a sender's
 * retry signs the same body at a new time, and must stay the same delivery.
 */
export interface HmacOptions {
  name: string;
  maxBodyBytes: number;
  header: string;
  prefix: string;
  algorithm: HmacAlgorithm;
  encoding: 'hex' | 'base64';
  timestampHeader?: string;
  toleranceSeconds?: number;
  signedContent: string;
  deliveryId?: HmacDeliveryId;
  eventTypeField?: string;
}

type Part = { literal: string } | { field: 'body' | 'timestamp' | 'id' };

/** Splits `{timestamp}.{body}` into literals and fields. */
function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let at = 0;
  for (const match of template.matchAll(/\{(body|timestamp|id)\}/g)) {
    if (match.index > at) parts.push({ literal: template.slice(at, match.index) });
    parts.push({ field: match[1] as 'body' | 'timestamp' | 'id' });
    at = match.index + match[0].length;
  }
  if (at < template.length) parts.push({ literal: template.slice(at) });
  return parts;
}

/** The bytes the template describes for one request. */
function signedBytes(
  parts: readonly Part[],
  values: { body: Uint8Array; timestamp?: string; id?: string },
): Buffer {
  return Buffer.concat(
    parts.map((part) => {
      if ('literal' in part) return Buffer.from(part.literal);
      if (part.field === 'body') return values.body;
      return Buffer.from(values[part.field] ?? '');
    }),
  );
}

function decodeSignature(
  text: string,
  encoding: 'hex' | 'base64',
  bytes: number,
): Buffer | undefined {
  return encoding === 'hex' ? decodeHex(text, bytes) : decodeBase64(text, bytes);
}

/** The SHA-256 of the body in hex: the key of a delivery whose id is not signed. */
export const contentDeliveryId = (body: Uint8Array): string => signedDigest(body);

export function hmacProvider(options: HmacOptions): Provider {
  const { name, maxBodyBytes, header, prefix, algorithm, encoding, timestampHeader } = options;
  const parts = parseTemplate(options.signedContent);
  const bytes = DIGEST_BYTES[algorithm];
  const idHeader =
    options.deliveryId && 'header' in options.deliveryId ? options.deliveryId.header : undefined;
  const idField =
    options.deliveryId && 'jsonField' in options.deliveryId
      ? options.deliveryId.jsonField
      : undefined;
  const signsId = parts.some((p) => 'field' in p && p.field === 'id');
  const keptHeaders = ['content-type', 'user-agent', timestampHeader, idHeader].filter(
    (h): h is string => h !== undefined,
  );
  const format = `${prefix ? `"${prefix}" and ` : ''}the ${encoding} of a ${bytes}-byte HMAC-${algorithm.toUpperCase()}`;

  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      checkSecretList(
        name,
        secrets,
        "an HMAC secret is the shared key exactly as the sender uses it (its UTF-8 bytes), without whitespace: copy it from where the sender's webhook settings show its signing secret",
      );
    },
    inspect(request, context): Verdict {
      const { headers, rawBody } = request;
      const value = headers[header];
      if (!value) return reject401('missing_signature', `the ${header} header is missing`);
      const candidate = value.startsWith(prefix)
        ? decodeSignature(value.slice(prefix.length).trim(), encoding, bytes)
        : undefined;
      if (!candidate) return reject401('malformed_signature', `${header} must be ${format}`);

      let timestamp: string | undefined;
      if (timestampHeader) {
        timestamp = headers[timestampHeader];
        const stale = checkTimestamp(timestamp, {
          what: `the ${timestampHeader} header`,
          nowMs: context.now,
          toleranceSeconds: options.toleranceSeconds ?? 300,
        });
        if (stale) return stale;
      }
      const headerId = idHeader ? headers[idHeader] : undefined;
      if (signsId && !headerId) {
        return reject400('missing_delivery_id', `the ${idHeader} header is missing`);
      }

      const signed = signedBytes(parts, { body: rawBody, timestamp, id: headerId });
      const expected = context.secrets.map((secret) => hmac(algorithm, secret, signed));
      if (!matchesAny([candidate], expected)) {
        return reject401(
          'signature_mismatch',
          `${header} does not match the ${options.signedContent} of this request with any active secret`,
        );
      }

      let body: unknown;
      if (idField || options.eventTypeField) {
        body = context.json();
        if (body === undefined) return reject400('malformed_body', 'the body is not valid JSON');
      }
      let deliveryId: string | undefined;
      let providerDeliveryId: string | undefined;
      if (idField) {
        deliveryId = asName(valueAt(body, idField));
        if (!deliveryId) {
          return reject400('missing_delivery_id', `the body has no "${idField}" to use as its id`);
        }
      } else if (idHeader && signsId) {
        deliveryId = headerId;
      } else {
        deliveryId = bodyDigest(request, context);
        if (idHeader) {
          providerDeliveryId = headerId;
          if (!providerDeliveryId) {
            return reject400('missing_delivery_id', `the ${idHeader} header is missing`);
          }
        }
      }
      const type = options.eventTypeField ? valueAt(body, options.eventTypeField) : undefined;
      return {
        kind: 'accept',
        deliveryId: deliveryId ?? '',
        ...(providerDeliveryId !== undefined ? { providerDeliveryId } : {}),
        eventType: typeof type === 'string' && type ? type : 'webhook',
        keptHeaders: keepHeaders(headers, keptHeaders),
      };
    },
  };
}

/**
 * The headers such a sender would send: the signature (with its prefix), and the
 * timestamp and delivery id headers when the declaration has them.
 */
export function signHmac(
  options: Omit<HmacOptions, 'name' | 'maxBodyBytes'>,
  values: { secret: string; body: Uint8Array | string; timestamp?: number; id?: string },
): Record<string, string> {
  const body = typeof values.body === 'string' ? Buffer.from(values.body) : values.body;
  const timestamp = values.timestamp === undefined ? undefined : String(values.timestamp);
  const signed = signedBytes(parseTemplate(options.signedContent), {
    body,
    timestamp,
    id: values.id,
  });
  const signature = hmac(options.algorithm, values.secret, signed).toString(options.encoding);
  const headers: Record<string, string> = { [options.header]: `${options.prefix}${signature}` };
  if (options.timestampHeader && timestamp !== undefined) {
    headers[options.timestampHeader] = timestamp;
  }
  if (options.deliveryId && 'header' in options.deliveryId && values.id !== undefined) {
    headers[options.deliveryId.header] = values.id;
  }
  return headers;
}
