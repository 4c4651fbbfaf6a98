import { S3Client } from '@aws-sdk/client-s3';
import { readS3Payload } from '../deliveries/payloads.ts';
import { DATA_MEMBER, type HookonceEvent, parseJson } from '../fanout/envelope.ts';
import { BACKGROUND_CLIENT_CONFIG, s3PathStyle } from '../shared/aws.ts';

let client: S3Client | undefined;

/** Made on first use: a consumer that never meets a large payload never builds it. */
function defaultClient(): S3Client {
  client ??= new S3Client({
    ...BACKGROUND_CLIENT_CONFIG,
    forcePathStyle: s3PathStyle(process.env),
  });
  return client;
}

export interface PayloadOptions {
  /** Reads `dataref` payloads. @default an S3 client made on first use */
  s3?: S3Client;
}

/** The message text each event was read from, for the exact bytes of its `data`. */
const messages = new WeakMap<HookonceEvent, string>();
/** Payload bytes already known for an event (read from S3 once, or decoded once). */
const known = new WeakMap<HookonceEvent, Uint8Array>();

const isEnvelope = (value: unknown): value is HookonceEvent =>
  value !== null &&
  typeof value === 'object' &&
  typeof (value as { id?: unknown }).id === 'string' &&
  (value as { id: string }).id.length > 0 &&
  (value as { specversion?: unknown }).specversion === '1.0';

/**
 * Reads an SQS message body (the envelope's JSON text) as an event; undefined
 * when it is not a hookonce envelope. The text is remembered, so loadPayload
 * can later give the provider's exact bytes.
 */
export function readEvent(body: string): HookonceEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isEnvelope(value)) return undefined;
  messages.set(value, body);
  return value;
}

/** The `data` member's text, exactly as the encoder spliced it in: it is always the last member. */
function dataText(message: string): string | undefined {
  const at = message.indexOf(DATA_MEMBER);
  if (at < 0 || !message.endsWith('}')) return undefined;
  return message.slice(at + DATA_MEMBER.length, -1);
}

/**
 * The raw body of the delivery an event carries, byte for byte as the provider
 * sent it: from S3 when it was too large to travel in the envelope (`dataref`),
 * from `data_base64`, or the JSON text of `data` as it stands in the message.
 * Pass an event the guard gave you (or `readEvent` read), or the SQS message
 * body itself; an event parsed some other way has lost its exact text, and is
 * refused with an error that says so.
 */
export async function loadPayload(
  event: HookonceEvent | string,
  options: PayloadOptions = {},
): Promise<Uint8Array> {
  const read = typeof event === 'string' ? readEvent(event) : event;
  if (!read) throw new TypeError('loadPayload: the message is not a hookonce envelope');
  const cached = known.get(read);
  if (cached) return cached;
  let bytes: Uint8Array;
  if (read.dataref) {
    bytes = await readS3Payload(options.s3 ?? defaultClient(), read.dataref);
  } else if (read.data_base64 !== undefined) {
    bytes = Buffer.from(read.data_base64, 'base64');
  } else {
    const message = messages.get(read);
    const text = message === undefined ? undefined : dataText(message);
    if (text === undefined) {
      throw new TypeError(
        'loadPayload: this event was parsed without its message text, so its exact bytes are gone; pass the SQS record body (loadPayload(record.body)) or the event the guard gave you',
      );
    }
    bytes = Buffer.from(text, 'utf8');
  }
  known.set(read, bytes);
  return bytes;
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The event with `data` filled in, so an effect never has to know how the body
 * travelled: a body kept in S3 (`dataref`) is read once, and one carried as
 * `data_base64` is decoded, as parsed JSON for a JSON content type, else as
 * UTF-8 text. Bytes that are neither stay in `data_base64` only. The bytes are
 * remembered, so loadPayload on the returned event reads nothing again.
 */
export async function withData(
  event: HookonceEvent,
  options: PayloadOptions = {},
): Promise<HookonceEvent> {
  if (event.data !== undefined || (!event.dataref && event.data_base64 === undefined)) {
    return event;
  }
  const bytes = await loadPayload(event, options);
  const data = JSON_TYPE.test(event.datacontenttype) ? parseJson(bytes) : undefined;
  let resolved: HookonceEvent = event;
  if (data !== undefined) {
    resolved = { ...event, data };
  } else {
    try {
      resolved = { ...event, data: utf8.decode(bytes) };
    } catch {
      // Neither JSON nor text: the bytes travel on as data_base64.
      if (event.data_base64 === undefined) {
        resolved = { ...event, data_base64: Buffer.from(bytes).toString('base64') };
      }
    }
  }
  known.set(resolved, bytes);
  return resolved;
}
