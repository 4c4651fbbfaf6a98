import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DependencyError } from '../shared/errors.ts';
import type { DeliveryKey } from './store.ts';

/**
 * Where bodies too large for a DynamoDB item (and an SNS message) are kept.
 * The key depends only on the delivery and the body's hash, so a retry
 * writes the same object again instead of a new one, and a lifecycle rule
 * matching the dedup window expires them.
 */
export interface PayloadStore {
  /** Stores the body; returns its `s3://bucket/key` URI. */
  put(
    key: DeliveryKey,
    payloadSha256: string,
    body: Uint8Array,
    contentType?: string,
  ): Promise<string>;
  get(uri: string): Promise<Uint8Array>;
  /** Deletes a stored body that no delivery refers to (its claim was refused). */
  delete(uri: string): Promise<void>;
}

/** Every payload object's key starts with this: IAM grants are scoped to it. */
export const PAYLOAD_PREFIX = 'payloads/';

export const payloadObjectKey = (key: DeliveryKey, payloadSha256: string): string =>
  `${PAYLOAD_PREFIX}${key.provider}/${createHash('sha256').update(key.deliveryId).digest('hex')}/${payloadSha256}`;

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match?.[1] || !match[2]) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: match[1], key: match[2] };
}

export class S3PayloadStore implements PayloadStore {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: { client: S3Client; bucket: string }) {
    this.#client = options.client;
    this.#bucket = options.bucket;
  }

  async put(
    key: DeliveryKey,
    payloadSha256: string,
    body: Uint8Array,
    contentType?: string,
  ): Promise<string> {
    const objectKey = payloadObjectKey(key, payloadSha256);
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: objectKey,
          Body: body,
          ContentType: contentType ?? 'application/octet-stream',
        }),
      );
    } catch (error) {
      throw new DependencyError('s3', 'storing a large payload in S3 failed', { cause: error });
    }
    return `s3://${this.#bucket}/${objectKey}`;
  }

  get(uri: string): Promise<Uint8Array> {
    return readS3Payload(this.#client, uri);
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = parseS3Uri(uri);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      throw new DependencyError('s3', 'deleting an unreferenced payload failed', { cause: error });
    }
  }
}

/** Reads a payload back from its `s3://bucket/key` URI. */
export async function readS3Payload(client: S3Client, uri: string): Promise<Uint8Array> {
  const { bucket, key } = parseS3Uri(uri);
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!out.Body) throw new Error('empty body');
    return await out.Body.transformToByteArray();
  } catch (error) {
    throw new DependencyError('s3', 'reading a large payload from S3 failed', { cause: error });
  }
}
