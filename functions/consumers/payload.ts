import { S3Client } from '@aws-sdk/client-s3';
import { readS3Payload } from '../deliveries/payloads.ts';
import type { HookonceEvent } from '../fanout/envelope.ts';
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

/**
 * The raw body of the delivery an event carries, byte for byte: from S3 when
 * it was too large to travel in the envelope (`dataref`), else from the
 * envelope itself (`data_base64`, text `data`, or JSON `data` re-serialized).
 */
export async function loadPayload(
  event: HookonceEvent,
  options: { s3?: S3Client } = {},
): Promise<Uint8Array> {
  if (event.dataref) {
    return readS3Payload(options.s3 ?? defaultClient(), event.dataref);
  }
  if (event.data_base64 !== undefined) return Buffer.from(event.data_base64, 'base64');
  if (typeof event.data === 'string') return Buffer.from(event.data, 'utf8');
  return Buffer.from(JSON.stringify(event.data ?? null), 'utf8');
}
