import { createHash, createHmac, createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmac, hmacChunks, signedDigest, valueAt } from '../../functions/providers/common.ts';
import {
  bodyAround,
  contentKey,
  feedChunks,
  joinContent,
  keyWithout,
  parseTemplate,
  renderPieces,
  renderTemplate,
  splitDigest,
} from '../../functions/providers/template.ts';
import type { WebhookRequest } from '../../functions/providers/types.ts';
import { SEED } from '../support/providers.ts';

/**
 * The signed-content template as the signature families use it: rendered as its
 * pieces (the body never copied), fed to an HMAC or a hash piece by piece, and
 * keyed by a digest whose exact bytes are fixed (stored keys depend on them).
 */

const BODY = Buffer.from(JSON.stringify({ id: 'evt_1', items: [{ n: 'a' }, { n: 'b' }] }));

const request = (overrides: Partial<WebhookRequest> = {}): WebhookRequest => ({
  method: 'POST',
  headers: { host: 'hooks.example.com', 'x-forwarded-proto': 'https', 'x-a': 'Aé' },
  rawBody: BODY,
  rawQueryString: 'b=2',
  rawPath: '/webhooks/acme',
  domainName: 'hooks.example.com',
  ...overrides,
});

const parts = (template: string) => parseTemplate(template).parts;

describe('Module: template', () => {
  describe('Function: renderPieces, feedChunks', () => {
    it('hands the body on as the request holds it, never a copy, and joins the text around it', () => {
      // Prepare
      const template = parts('{method}{url}{body}{timestamp}.{header:x-a}');
      const r = request();

      // Act
      const pieces = renderPieces(template, r, { timestamp: '1700000000' });
      const chunks = feedChunks(pieces);

      // Assess
      expect(pieces).toEqual([
        'POST',
        'https://hooks.example.com/webhooks/acme?b=2',
        BODY,
        '1700000000',
        '.',
        'Aé',
      ]);
      expect(pieces[2]).toBe(r.rawBody);
      expect(chunks).toEqual([
        'POSThttps://hooks.example.com/webhooks/acme?b=2',
        BODY,
        '1700000000.Aé',
      ]);
      expect(chunks[1]).toBe(r.rawBody);
    });

    it('gives one empty piece for a template that renders to nothing', () => {
      // Act
      const chunks = feedChunks(renderPieces(parts('{header:x-missing}'), request(), {}));

      // Assess
      expect(chunks).toEqual(['']);
    });

    it('feeds an HMAC the same bytes as the rendered copy, for any template and secret', () => {
      // Prepare
      const pieces = fc.constantFrom(
        '{body}',
        '{timestamp}',
        '{id}',
        '{method}',
        '{url}',
        '{path}',
        '{header:x-a}',
        '{json:items.*.n}',
        '.',
        ':',
        'v0:',
      );

      // Assess
      fc.assert(
        fc.property(
          fc.array(pieces, { minLength: 1, maxLength: 6 }),
          fc.string({ minLength: 16, maxLength: 40 }),
          fc.constantFrom('sha1', 'sha256', 'sha512') as fc.Arbitrary<'sha1' | 'sha256' | 'sha512'>,
          fc.nat(1),
          (template, secret, algorithm, item) => {
            const p = parts(template.join(''));
            const values = {
              timestamp: '1700000000',
              id: 'msg_ü',
              json: JSON.parse(BODY.toString()),
              item,
            };
            const copy = renderTemplate(p, request(), values);
            const chunks = feedChunks(renderPieces(p, request(), values));
            const key = createSecretKey(Buffer.from(secret));
            expect(hmacChunks(algorithm, key, chunks)).toEqual(
              createHmac(algorithm, key).update(copy).digest(),
            );
            expect(Buffer.from(joinContent(chunks))).toEqual(copy);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Function: joinContent', () => {
    it('hands back a lone bytes piece as it is, and copies anything else once', () => {
      // Act
      const lone = joinContent([BODY]);
      const joined = joinContent(['1700000000', BODY]);

      // Assess
      expect(lone).toBe(BODY);
      expect(Buffer.from(joined)).toEqual(Buffer.concat([Buffer.from('1700000000'), BODY]));
    });
  });

  describe('Function: contentKey', () => {
    it('is the SHA-256 of each signed piece but literals and the timestamp, each after its UTF-8 length (4 bytes, big-endian)', () => {
      // Prepare
      const template = parts('{method}:{url}{body}{timestamp}{header:x-a}');
      const r = request();
      const framed = (text: string | Buffer) => {
        const bytes = Buffer.from(text);
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        return Buffer.concat([length, bytes]);
      };
      const expected = createHash('sha256')
        .update(
          Buffer.concat([
            framed('POST'),
            framed('https://hooks.example.com/webhooks/acme?b=2'),
            framed(BODY),
            framed('Aé'),
          ]),
        )
        .digest('hex');

      // Act
      const key = contentKey(template, renderPieces(template, r, { timestamp: '1' }), () => {
        throw new Error('not keyed by the body alone');
      });
      const later = contentKey(template, renderPieces(template, r, { timestamp: '2' }), () => '');

      // Assess
      expect(key).toBe(expected);
      expect(later).toBe(key);
    });

    it("is the body's SHA-256, as given, when the template signs nothing but the body and a timestamp", () => {
      // Prepare
      const template = parts('{timestamp}.{body}');

      // Act
      const key = contentKey(template, renderPieces(template, request(), {}), () => 'given');

      // Assess
      expect(key).toBe('given');
    });

    it('keys a body cut around its timestamp by its two halves: splitDigest alone, or each half framed in its place', () => {
      // Prepare
      const split = { before: Buffer.from('{"t":'), after: Buffer.from(',"a":1}') };
      const onlyBody = parts('{body}');
      const more = parts('{method}{body}');
      const framed = (text: string | Buffer) => {
        const bytes = Buffer.from(text);
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        return Buffer.concat([length, bytes]);
      };
      const notTheBody = () => {
        throw new Error('keyed by the whole body');
      };

      // Act
      const alone = contentKey(onlyBody, renderPieces(onlyBody, request(), {}), notTheBody, split);
      const withMethod = contentKey(more, renderPieces(more, request(), {}), notTheBody, split);

      // Assess
      expect(alone).toBe(splitDigest(split));
      expect(withMethod).toBe(
        createHash('sha256')
          .update(Buffer.concat([framed('POST'), framed(split.before), framed(split.after)]))
          .digest('hex'),
      );
    });
  });

  describe('Function: bodyAround, splitDigest, keyWithout', () => {
    const T = 1_700_000_000_000;
    /** The two halves bodyAround cuts `text` into, as text; undefined when it cuts nothing. */
    const cut = (text: string, member = 'webhookTimestamp', value = String(T)) => {
      const split = bodyAround(Buffer.from(text), member, value);
      return split && [Buffer.from(split.before).toString(), Buffer.from(split.after).toString()];
    };

    it('cuts a body around the value of its one member of that name: first, last, between others, whitespace around the colon', () => {
      // Act, Assess
      expect(cut(`{"webhookTimestamp":${T},"type":"Issue"}`)).toEqual([
        '{"webhookTimestamp":',
        ',"type":"Issue"}',
      ]);
      expect(cut(`{"type":"Issue","webhookTimestamp":${T}}`)).toEqual([
        '{"type":"Issue","webhookTimestamp":',
        '}',
      ]);
      expect(cut(`{"a":1, "webhookTimestamp" \t:\r\n ${T} ,"b":2}`)).toEqual([
        '{"a":1, "webhookTimestamp" \t:\r\n ',
        ' ,"b":2}',
      ]);
      expect(cut(JSON.stringify({ type: 'Issue', webhookTimestamp: T }, null, 2))).toEqual([
        '{\n  "type": "Issue",\n  "webhookTimestamp": ',
        '\n}',
      ]);
      expect(cut('{"at":"2100-01-01T00:00:00Z","x":1}', 'at', '"2100-01-01T00:00:00Z"')).toEqual([
        '{"at":',
        ',"x":1}',
      ]);
      // Text beyond ASCII is compared as its UTF-8 bytes.
      expect(cut('{"at":"lundi à midi","x":1}', 'at', '"lundi à midi"')).toEqual([
        '{"at":',
        ',"x":1}',
      ]);
      expect(cut('{"at":"lundi à midi","x":1}', 'at', '"lundi á midi"')).toBeUndefined();
    });

    it('cuts nothing when the member is absent or named twice (repeated, or nested at any depth), or its value is written another way', () => {
      // Act, Assess
      expect(cut('{"type":"Issue"}')).toBeUndefined();
      expect(cut('')).toBeUndefined();
      expect(cut(`{"webhookTimestamp":${T},"webhookTimestamp":${T}}`)).toBeUndefined();
      expect(cut(`{"webhookTimestamp":${T},"data":{"webhookTimestamp":${T}}}`)).toBeUndefined();
      expect(cut(`{"data":[{"webhookTimestamp":1}],"webhookTimestamp":${T}}`)).toBeUndefined();
      expect(cut('{"webhookTimestamp":1.7e12}')).toBeUndefined();
      expect(cut(`{"webhookTimestamp":${T}.0}`)).toBeUndefined();
      expect(cut(`{"webhookTimestamp":${T}1}`)).toBeUndefined();
      expect(cut(`{"webhookTimestamp":"${T}"}`)).toBeUndefined();
      expect(cut(`{"webhookTimestamp":[${T}]}`)).toBeUndefined();
    });

    it('reads the name inside a string, its quotes escaped, as no member: the one real member is cut', () => {
      // Prepare
      const inValue = `{"note":"say \\"webhookTimestamp\\": ${T}","webhookTimestamp":${T}}`;
      const inName = `{"\\"webhookTimestamp":${T},"webhookTimestamp":${T}}`;
      const asValue = `{"field":"webhookTimestamp","webhookTimestamp":${T}}`;

      // Act, Assess: each is JSON whose top-level webhookTimestamp is T.
      for (const text of [inValue, inName, asValue]) {
        expect(JSON.parse(text).webhookTimestamp).toBe(T);
        const at = text.lastIndexOf(String(T));
        expect(cut(text)).toEqual([text.slice(0, at), text.slice(at + String(T).length)]);
      }
    });

    it('hashes the length of the first half (4 bytes, big-endian), the first half, then the second', () => {
      // Prepare
      const split = { before: Buffer.from('{"t":'), after: Buffer.from('}') };

      // Act
      const digest = splitDigest(split);

      // Assess
      expect(digest).toBe(
        createHash('sha256')
          .update(Buffer.from([0, 0, 0, 5]))
          .update('{"t":}')
          .digest('hex'),
      );
      // Where the cut is matters: the same bytes cut elsewhere are another key.
      expect(splitDigest({ before: Buffer.from('{"t"'), after: Buffer.from(':}') })).not.toBe(
        digest,
      );
    });

    it("keys by the member the path's last step names, else by the SHA-256 of the whole body", () => {
      // Prepare
      const nested = Buffer.from(`{"meta":{"sentAt":${T}},"id":1}`);
      const twice = Buffer.from(`{"meta":{"sentAt":${T}},"sentAt":${T}}`);

      // Act, Assess
      expect(keyWithout(nested, 'meta.sentAt', String(T))).toBe(
        splitDigest({ before: Buffer.from('{"meta":{"sentAt":'), after: Buffer.from('},"id":1}') }),
      );
      expect(keyWithout(twice, 'meta.sentAt', String(T))).toBe(signedDigest(twice));
    });

    it('keys two bodies alike when they differ in that value alone, and apart when anything else differs', () => {
      fc.assert(
        fc.property(
          fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 5 }),
          fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 5 }),
          fc.nat({ max: 2 ** 45 }),
          fc.nat({ max: 2 ** 45 }),
          fc.boolean(),
          (a, b, t1, t2, pretty) => {
            // Prepare
            const write = (data: Record<string, unknown>, t: number) =>
              Buffer.from(
                JSON.stringify({ ...data, webhookTimestamp: t }, null, pretty ? 2 : undefined),
              );
            const key = (data: Record<string, unknown>, t: number) =>
              keyWithout(write(data, t), 'webhookTimestamp', String(t));

            // Act, Assess
            expect(key(a, t1)).toBe(key(a, t2));
            if (!write(a, 0).equals(write(b, 0))) expect(key(a, t1)).not.toBe(key(b, t2));
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Function: valueAt', () => {
    it('reads the element `item` at the first `*` step, as if the path were written with its index', () => {
      // Prepare
      const body = { a: [{ b: 'x' }, { b: 'y' }], c: { '*': 'star', '1': 'one' } };

      // Act, Assess
      expect(valueAt(body, 'a.*.b', 1)).toBe('y');
      expect(valueAt(body, 'a.*.b', 0)).toBe('x');
      expect(valueAt(body, 'a.*.b', 2)).toBeUndefined();
      expect(valueAt(body, 'c.*', 1)).toBe('one');
      expect(valueAt(body, 'c.*')).toBe('star');
      expect(valueAt(body, 'a.*.b')).toBeUndefined();
    });
  });

  describe('Function: hmac, signedDigest', () => {
    it('answer what createHmac and createHash answer for the same pieces', () => {
      // Act, Assess
      expect(hmac('sha256', 'a-secret-of-some-length', 'x', BODY)).toEqual(
        createHmac('sha256', 'a-secret-of-some-length').update('x').update(BODY).digest(),
      );
      expect(signedDigest(BODY)).toBe(createHash('sha256').update(BODY).digest('hex'));
      expect(signedDigest('é', BODY)).toBe(
        createHash('sha256').update('é').update(BODY).digest('hex'),
      );
    });
  });
});
