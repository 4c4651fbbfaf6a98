import type { DeliveryRecord } from '../deliveries/store.ts';

/**
 * What subscribers receive: a CloudEvents 1.0 structured JSON event
 * (DESIGN.md §5). Built only from the stored delivery, so a republish after a
 * crash or a replay yields the same envelope byte for byte.
 */
export interface HookonceEvent<Data = unknown> {
  readonly specversion: '1.0';
  /** Stable per delivery: `<provider>:<deliveryId>`. Consumers deduplicate on it. */
  readonly id: string;
  /** `hookonce/<provider>` */
  readonly source: string;
  /** `<provider>.<eventType>` */
  readonly type: string;
  /** When hookonce first received the delivery, ISO 8601. */
  readonly time: string;
  readonly datacontenttype: string;
  /** The parsed JSON body, or the raw text when the body is not JSON. */
  readonly data?: Data;
  /** The body in base64 when it is not UTF-8 text. */
  readonly data_base64?: string;
  readonly provider: string;
  readonly deliveryid: string;
  /** Where the payload lives when it was too large to carry (an S3 URI). */
  readonly dataref?: string;
}

export const eventId = (provider: string, deliveryId: string): string =>
  `${provider}:${deliveryId}`;
export const eventType = (provider: string, type: string): string => `${provider}.${type}`;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a body as JSON; `undefined` when it is not JSON. */
export function parseJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(payload));
  } catch {
    return undefined;
  }
}

/**
 * `parsed` is the body parsed with parseJson (pass it when already at hand;
 * `undefined` means not JSON). A payload kept in S3 travels as `dataref` only.
 */
export function buildEnvelope(record: DeliveryRecord, parsed: unknown): HookonceEvent {
  const base = {
    specversion: '1.0' as const,
    id: eventId(record.provider, record.deliveryId),
    source: `hookonce/${record.provider}`,
    type: eventType(record.provider, record.eventType),
    time: new Date(record.receivedAt).toISOString(),
    provider: record.provider,
    deliveryid: record.deliveryId,
  };
  const contentType = record.contentType ?? 'application/octet-stream';
  if (record.payloadRef !== undefined || record.payload === undefined) {
    // Too large to carry: subscribers fetch it from `dataref` (see consumers/payload.ts).
    return { ...base, datacontenttype: contentType, dataref: record.payloadRef };
  }
  if (parsed !== undefined) {
    return { ...base, datacontenttype: 'application/json', data: parsed };
  }
  try {
    return { ...base, datacontenttype: contentType, data: utf8.decode(record.payload) };
  } catch {
    return {
      ...base,
      datacontenttype: contentType,
      data_base64: Buffer.from(record.payload).toString('base64'),
    };
  }
}
