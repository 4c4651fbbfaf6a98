import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES } from '../../functions/shared/declaration.ts';
import { Pipeline } from '../support/pipeline.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A JSON body of exactly `bytes` bytes, random inside, so compression or caching cannot fake it. */
function bodyOf(bytes: number, seed: string): string {
  const head = `{"type":"file.uploaded","id":"${seed}","blob":"`;
  const tail = '"}';
  const fill = bytes - head.length - tail.length;
  const blob = randomBytes(Math.ceil((fill * 3) / 4) + 3)
    .toString('base64')
    .slice(0, fill);
  return `${head}${blob}${tail}`;
}

describe('Large payloads: kept in S3, carried as dataref, delivered intact', () => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    pipeline = await Pipeline.start('large');
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it.each([
    ['1 MB', 1_000_000],
    ['4 MB', DEFAULT_MAX_BODY_BYTES],
  ])('round-trips a %s body through S3 to the consumer, hash for hash', async (_, bytes) => {
    // Prepare
    const id = `large-${bytes}`;
    const body = bodyOf(bytes, id);
    expect(Buffer.byteLength(body)).toBe(bytes);

    // Act
    const answer = await pipeline.send(id, body);
    await pipeline.drain();

    // Assess
    expect(answer.status).toBe(202);
    const record = await pipeline.record(id);
    expect(record?.payload).toBeUndefined();
    expect(record?.payloadRef).toMatch(/^s3:\/\/large-payloads\/payloads\/standard\//);
    expect(record?.payloadSha256).toBe(sha256(body));
    expect(pipeline.consumedSha256.get(`standard:${id}`)).toBe(sha256(body));
    expect(pipeline.effects.get(`standard:${id}`)).toBe(1);
    // The guard read the payload from S3 before the effect ran: data is there.
    expect(pipeline.consumedData.get(`standard:${id}`)).toMatchObject({
      id,
      type: 'file.uploaded',
    });
  });

  it('keeps a small body in the item and in the envelope', async () => {
    const id = 'small';
    const body = bodyOf(2_000, id);

    const answer = await pipeline.send(id, body);
    await pipeline.drain();

    expect(answer.status).toBe(202);
    const record = await pipeline.record(id);
    expect(Buffer.from(record?.payload ?? []).toString()).toBe(body);
    expect(record?.payloadRef).toBeUndefined();
    expect(pipeline.consumedSha256.get(`standard:${id}`)).toBe(sha256(body));
  });

  it('delivers a small JSON body byte for byte: a 64-bit integer, 1.50, whitespace, duplicate keys', async () => {
    // Prepare
    const id = 'exact';
    const body = `{ "type": "invoice.paid",\n  "id": 820982911946154508, "amount": 1.50, "amount": 2 }\n`;

    // Act
    const answer = await pipeline.send(id, body);
    await pipeline.drain();

    // Assess
    expect(answer.status).toBe(202);
    expect(pipeline.consumedSha256.get(`standard:${id}`)).toBe(sha256(body));
  });

  it('delivers a JSON body holding U+FFFE and U+FFFF, which SQS refuses in a message, byte for byte', async () => {
    // Prepare: fauxqs would take these code points; SQS would refuse the message after the 202.
    const id = 'noncharacters';
    const body = JSON.stringify({ type: 'note.created', text: 'odd \ufffe and \uffff here' });

    // Act
    const answer = await pipeline.send(id, body);
    await pipeline.drain();

    // Assess
    expect(answer.status).toBe(202);
    expect(pipeline.consumedSha256.get(`standard:${id}`)).toBe(sha256(body));
    expect(pipeline.consumedData.get(`standard:${id}`)).toEqual(JSON.parse(body));
  });

  it('answers a body over the maximum with 413 and stores nothing', async () => {
    const id = 'too-large';
    const body = bodyOf(DEFAULT_MAX_BODY_BYTES + 1, id);

    const answer = await pipeline.send(id, body);

    expect(answer.status).toBe(413);
    expect(answer.body.error).toBe('payload_too_large');
    expect(await pipeline.record(id)).toBeUndefined();
  });

  it('never overwrites a stored large payload with another body under the same id, and leaves no object for the refused one', async () => {
    // Prepare
    const id = 'large-mismatch';
    const first = bodyOf(500_000, id);
    const second = bodyOf(500_000, `${id}-other`);
    expect((await pipeline.send(id, first)).status).toBe(202);
    const before = await pipeline.payloadObjects();

    // Act
    const answer = await pipeline.send(id, second);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ id: `standard:${id}`, duplicate: true });
    expect((await pipeline.record(id))?.payloadSha256).toBe(sha256(first));
    expect(await pipeline.payloadObjects()).toEqual(before);
    expect(before.some((key) => key.endsWith(`/${sha256(first)}`))).toBe(true);
  });

  it('keeps the one object of a large body sent twice: the copy is the same object', async () => {
    // Prepare
    const id = 'large-twice';
    const body = bodyOf(300_000, id);
    expect((await pipeline.send(id, body)).status).toBe(202);

    // Act
    const again = await pipeline.send(id, body);

    // Assess
    expect(again.status).toBe(200);
    expect((await pipeline.payloadObjects()).filter((k) => k.endsWith(sha256(body)))).toHaveLength(
      1,
    );
  });
});
