import type { DeliveryRecord } from '../deliveries/store.ts';

/**
 * What subscribers receive: a CloudEvents 1.0 structured JSON event. Built
 * only from the stored delivery, so a republish after a crash, the sweeper
 * and a replay all send the same text byte for byte.
 */
export interface HookonceEvent<Data = unknown> {
  readonly specversion: '1.0';
  /**
   * Stable per delivery: `<provider>:<deliveryid>`. Consumers deduplicate on it.
   * Derived only from what the provider signed.
   */
  readonly id: string;
  /** `hookonce/<provider>` */
  readonly source: string;
  /** `<provider>.<eventType>` */
  readonly type: string;
  /** When hookonce first received the delivery, ISO 8601. */
  readonly time: string;
  readonly datacontenttype: string;
  /**
   * The provider's JSON body, exactly as sent (in the message text; a JSON parser
   * may still round large numbers: `loadPayload` gives the exact bytes).
   */
  readonly data?: Data;
  /** The body in base64 when it is not plain JSON text (a form, bytes, a JSON text with a BOM). */
  readonly data_base64?: string;
  readonly provider: string;
  /**
   * What keys the delivery: the provider's own delivery id where its signature
   * covers it, else the SHA-256 (hex) of what it signed.
   */
  readonly deliveryid: string;
  /** The provider's delivery id, when its signature does not cover it (GitHub, Shopify, Twilio): for display and lookup only. */
  readonly providerdeliveryid?: string;
  /** Present (true) when the event type comes from a header the signature does not cover: never authorize on it. */
  readonly unsignedtype?: true;
  /** Where the payload lives when it was too large to carry (an S3 URI). */
  readonly dataref?: string;
}

/** An envelope ready to publish: the message text, and what filter policies match. */
export interface EncodedEvent {
  readonly id: string;
  readonly provider: string;
  /** `<provider>.<eventType>`: the `type` message attribute. */
  readonly type: string;
  /** The CloudEvents JSON text: the SNS message, and so the SQS message body. */
  readonly message: string;
}

export const eventId = (provider: string, deliveryId: string): string =>
  `${provider}:${deliveryId}`;
export const eventType = (provider: string, type: string): string => `${provider}.${type}`;

/** Where the data member starts: the encoder always writes it last, after this. */
export const DATA_MEMBER = ',"data":';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Keeps a byte-order mark in the text, so a body that starts with one is never spliced as JSON. */
const utf8KeepBom = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses a body as JSON (a leading BOM is skipped); `undefined` when it is not JSON. */
export function parseJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(payload));
  } catch {
    return undefined;
  }
}

/**
 * The code points SQS refuses in a message body that JSON.stringify leaves as
 * they are (it already escapes C0 controls and lone surrogates). SQS takes
 * #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF.
 */
const SQS_REFUSED_NONCHARACTERS = /[\uFFFE\uFFFF]/g;

/** Every code point SQS refuses in a message body, control characters and lone surrogates included. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what SQS refuses
export const SQS_REFUSED = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/u;

const escapeCodePoint = (c: string): string => `\\u${c.charCodeAt(0).toString(16)}`;

/** JSON text that SQS accepts: the two noncharacters it refuses are written as escapes. */
const sqsSafeJson = (value: unknown): string =>
  JSON.stringify(value).replace(SQS_REFUSED_NONCHARACTERS, escapeCodePoint);

/**
 * The body as JSON text to splice into the envelope, or undefined when it must
 * travel as data_base64: not UTF-8, not JSON, a leading BOM (not JSON text, and
 * it would be lost), or a code point SQS refuses (escaping it would change the
 * bytes a consumer gets back).
 */
function spliceableJson(payload: Uint8Array, isJson: boolean | undefined): string | undefined {
  if (isJson === false) return undefined;
  let text: string;
  try {
    text = utf8KeepBom.decode(payload);
  } catch {
    return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff || SQS_REFUSED.test(text)) return undefined;
  if (isJson === undefined) {
    try {
      JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  return text;
}

/**
 * Encodes the envelope of a stored delivery. The provider's JSON body is spliced
 * in as `data` exactly as received (never parsed and written again, so large
 * integers, `1.50`, key order and duplicate keys all survive), as the last
 * member; any other body travels as `data_base64`; a body kept in S3 as `dataref`.
 * `isJson` says whether the body already parsed as JSON, when the caller knows.
 */
export function encodeEvent(
  record: DeliveryRecord,
  options: { isJson?: boolean } = {},
): EncodedEvent {
  const id = eventId(record.provider, record.deliveryId);
  const type = eventType(record.provider, record.eventType);
  const head: Record<string, unknown> = {
    specversion: '1.0',
    id,
    source: `hookonce/${record.provider}`,
    type,
    time: new Date(record.receivedAt).toISOString(),
    datacontenttype: record.contentType ?? 'application/octet-stream',
    provider: record.provider,
    deliveryid: record.deliveryId,
  };
  if (record.providerDeliveryId !== undefined) head.providerdeliveryid = record.providerDeliveryId;
  if (record.unsignedEventType) head.unsignedtype = true;
  const done = (message: string): EncodedEvent => ({
    id,
    provider: record.provider,
    type,
    message,
  });

  if (record.payloadRef !== undefined || record.payload === undefined) {
    // Too large to carry: subscribers (and the consumer guard) fetch it from `dataref`.
    head.dataref = record.payloadRef;
    return done(sqsSafeJson(head));
  }
  const text = spliceableJson(record.payload, options.isJson);
  if (text === undefined) {
    head.data_base64 = Buffer.from(record.payload).toString('base64');
    return done(sqsSafeJson(head));
  }
  head.datacontenttype = 'application/json';
  const start = sqsSafeJson(head);
  return done(`${start.slice(0, -1)}${DATA_MEMBER}${text}}`);
}
