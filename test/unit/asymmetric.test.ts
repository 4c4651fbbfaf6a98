import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { EventWebhook } from '@sendgrid/eventwebhook';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asymmetricProvider, signAsymmetric } from '../../functions/providers/asymmetric.ts';
import { buildProviders } from '../../functions/providers/registry.ts';
import {
  type AsymmetricProvider,
  type ResolvedAsymmetric,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import { ed25519Pair, naclSignHex, starkbankP256 } from '../support/keys.ts';
import {
  changeOneByte,
  changeOneCharacter,
  expect401,
  inspectWith,
  jsonObject,
  NOW_SECONDS,
  SEED,
} from '../support/providers.ts';

/**
 * The `asymmetric` family: Ed25519 signed by tweetnacl, ECDSA P-256 signed by
 * starkbank-ecdsa (the library @sendgrid/eventwebhook verifies with) and by
 * node:crypto checked against @sendgrid/eventwebhook.
 */

type Options = Omit<AsymmetricProvider, 'scheme'>;

function declared(options: Options) {
  const resolved = resolveDeclaration({
    providers: { signer: { scheme: 'asymmetric', ...options } },
    subscribers: {},
  }).providers.signer as ResolvedAsymmetric & { maxBodyBytes: number };
  return { config: resolved, provider: asymmetricProvider({ name: 'signer', ...resolved }) };
}

const ED = ed25519Pair(7);
const OTHER_ED = ed25519Pair(9);
const BODY = JSON.stringify({ id: 'evt_1', type: 'thing.happened', data: { n: 1 } });

const ed25519 = (publicKeys: readonly string[] = [ED.publicHex], extra: Partial<Options> = {}) =>
  declared({
    algorithm: 'ed25519',
    encoding: 'hex',
    header: 'x-signature',
    timestampHeader: 'x-timestamp',
    signedContent: '{timestamp}{body}',
    eventTypeField: 'type',
    publicKeys,
    ...extra,
  });

describe('Class: AsymmetricProvider', () => {
  describe('Method: inspect, Ed25519', () => {
    const { provider } = ed25519();
    const headers = (body: string | Buffer = BODY, ts = NOW_SECONDS, secretKey = ED.secretKey) => ({
      'x-signature': naclSignHex(
        Buffer.concat([Buffer.from(String(ts)), Buffer.from(body)]),
        secretKey,
      ),
      'x-timestamp': String(ts),
    });

    it('accepts what tweetnacl signs over {timestamp}{body}, keyed by the SHA-256 of the body', () => {
      // Act
      const verdict = inspectWith(provider, { headers: headers(), body: BODY, secrets: [] });

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: createHash('sha256').update(BODY).digest('hex'),
        eventType: 'thing.happened',
        keptHeaders: { 'x-timestamp': String(NOW_SECONDS) },
      });
    });

    it.each([
      ['hex of the 32 raw bytes', ED.publicHex],
      ['base64 of the 32 raw bytes', Buffer.from(ED.publicHex, 'hex').toString('base64')],
      ['PEM', ED.publicKey.export({ format: 'pem', type: 'spki' }).toString()],
      ['base64 DER', ED.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')],
    ])('reads a public key given as %s', (_, key) => {
      // Prepare
      const { provider: p } = ed25519([key]);

      // Act
      const verdict = inspectWith(p, { headers: headers(), body: BODY, secrets: [] });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('accepts a signature by either listed key while the sender rotates, and no other', () => {
      // Prepare
      const { provider: rotating } = ed25519([ED.publicHex, OTHER_ED.publicHex]);
      const stranger = ed25519Pair(11);

      // Act
      const byNew = inspectWith(rotating, {
        headers: headers(BODY, NOW_SECONDS, OTHER_ED.secretKey),
        body: BODY,
        secrets: [],
      });
      const byOld = inspectWith(rotating, { headers: headers(), body: BODY, secrets: [] });
      const byStranger = inspectWith(rotating, {
        headers: headers(BODY, NOW_SECONDS, stranger.secretKey),
        body: BODY,
        secrets: [],
      });

      // Assess
      expect(byNew).toMatchObject({ kind: 'accept' });
      expect(byOld).toMatchObject({ kind: 'accept' });
      expect(byStranger).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it.each([
      ['no signature', { 'x-signature': undefined }, 'missing_signature'],
      ['a signature of 63 bytes', { 'x-signature': 'ab'.repeat(63) }, 'malformed_signature'],
      [
        'a base64 signature for a hex sender',
        { 'x-signature': Buffer.alloc(64).toString('base64') },
        'malformed_signature',
      ],
      ['no timestamp', { 'x-timestamp': undefined }, 'missing_timestamp'],
      [
        'a timestamp 301 s ahead',
        { 'x-timestamp': String(NOW_SECONDS + 301) },
        'timestamp_too_new',
      ],
      ['another timestamp', { 'x-timestamp': String(NOW_SECONDS + 1) }, 'signature_mismatch'],
    ])('rejects a request with %s as %s', (_, change, code) => {
      // Act
      const verdict = inspectWith(provider, {
        headers: { ...headers(), ...change },
        body: BODY,
        secrets: [],
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code });
    });

    it('keys by a signed id header and answers a structured header with several signatures', () => {
      // Prepare: Standard Webhooks' v1a shape, declared as a family.
      const { provider: p, config } = ed25519([ED.publicHex], {
        encoding: 'base64',
        header: 'webhook-signature',
        structured: { separator: ' ', assignment: ',', signatureKey: 'v1a' },
        timestampHeader: 'webhook-timestamp',
        deliveryId: { header: 'webhook-id' },
        signedContent: '{id}.{timestamp}.{body}',
      });
      const signed = signAsymmetric(config, {
        privateKey: ED.privateKey,
        body: BODY,
        timestamp: NOW_SECONDS,
        id: 'msg_1',
      });
      const oracle = Buffer.from(
        naclSignHex(`msg_1.${NOW_SECONDS}.${BODY}`, ED.secretKey),
        'hex',
      ).toString('base64');

      // Act
      const verdict = inspectWith(p, {
        headers: {
          ...signed,
          'webhook-signature': `v1a,${Buffer.alloc(64).toString('base64')} v1a,${oracle}`,
        },
        body: BODY,
        secrets: [],
      });

      // Assess
      expect(signed['webhook-signature']).toBe(`v1a,${oracle}`);
      expect(verdict).toMatchObject({ kind: 'accept', deliveryId: 'msg_1' });
    });

    it('rejects any single change to the body, the timestamp or the signature with a 401, never a throw', () => {
      fc.assert(
        fc.property(
          jsonObject(),
          fc.constantFrom('body', 'timestamp', 'signature'),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
          (data, what, position, pick, shift) => {
            // Prepare
            const body = JSON.stringify({ type: 't', data });
            const good = headers(body);
            const input = {
              body: () => ({ headers: good, body: changeOneByte(body, position, pick + 1) }),
              timestamp: () => ({
                headers: { ...good, 'x-timestamp': String(NOW_SECONDS + shift) },
                body,
              }),
              signature: () => ({
                headers: {
                  ...good,
                  'x-signature': changeOneCharacter(good['x-signature'], position, pick),
                },
                body,
              }),
            }[what]();

            // Act
            const verdict = inspectWith(provider, { ...input, secrets: [] });

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Method: inspect, a template over the request', () => {
    const HOST = 'hooks.example.com';
    const { provider } = ed25519([ED.publicHex], {
      header: 'x-signature',
      structured: { signatureKey: 'sig', timestampKey: 'ts', separator: ';' },
      timestampHeader: undefined,
      signedContent: '{method} {url} {header:x-account} {timestamp} {body}',
    });
    /** Signed by tweetnacl over the parts written out by hand, as the sender documents them. */
    const request = (body: string) => {
      const signed = `POST https://${HOST}/webhooks/signer?t=1 acct_1 ${NOW_SECONDS} ${body}`;
      return {
        headers: {
          host: HOST,
          'x-forwarded-proto': 'https',
          'x-account': 'acct_1',
          'x-signature': `ts=${NOW_SECONDS};sig=${naclSignHex(signed, ED.secretKey)}`,
        } as Record<string, string>,
        body,
        secrets: [],
        rawQueryString: 't=1',
        rawPath: '/webhooks/signer',
      };
    };

    it('accepts a request whose method, URL, header, timestamp and body are signed as declared', () => {
      // Act
      const verdict = inspectWith(provider, request(BODY));

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept', eventType: 'thing.happened' });
    });

    it('rejects any single change to a signed part (a body byte, the timestamp, the signed header, the URL, the method) with a 401, never a throw', () => {
      fc.assert(
        fc.property(
          jsonObject(),
          fc.constantFrom('body', 'timestamp', 'header', 'path', 'query', 'host', 'method'),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
          (data, what, position, pick, shift) => {
            // Prepare
            const body = JSON.stringify({ type: 't', data });
            const input = request(body);
            const signature = (input.headers['x-signature'] ?? '').split(';sig=')[1] ?? '';
            const changed = {
              body: () => ({ ...input, body: changeOneByte(body, position, pick + 1) }),
              timestamp: () => ({
                ...input,
                headers: {
                  ...input.headers,
                  'x-signature': `ts=${NOW_SECONDS + shift};sig=${signature}`,
                },
              }),
              header: () => ({
                ...input,
                headers: {
                  ...input.headers,
                  'x-account': changeOneCharacter('acct_1', position, pick),
                },
              }),
              path: () => ({
                ...input,
                rawPath: changeOneCharacter('/webhooks/signer', position, pick),
              }),
              query: () => ({
                ...input,
                rawQueryString: changeOneCharacter('t=1', position, pick),
              }),
              host: () => ({
                ...input,
                headers: { ...input.headers, host: changeOneCharacter(HOST, position, pick) },
              }),
              method: () => ({ ...input, method: pick % 2 === 0 ? 'PUT' : 'post' }),
            }[what]();

            // Act
            const verdict = inspectWith(provider, changed);

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Method: inspect, ECDSA P-256', () => {
    const stark = starkbankP256();
    const ecdsa = (publicKeys: readonly string[], extra: Partial<Options> = {}) =>
      declared({
        algorithm: 'ecdsa-p256-sha256',
        encoding: 'base64',
        header: 'x-sig',
        timestampHeader: 'x-ts',
        signedContent: '{timestamp}{body}',
        publicKeys,
        ...extra,
      });

    it.each([
      ['PEM', stark.publicPem],
      ['base64 DER', stark.publicBase64Der],
    ])('accepts a DER signature made by starkbank-ecdsa, with the public key as %s', (_, key) => {
      // Prepare
      const { provider } = ecdsa([key]);

      // Act
      const verdict = inspectWith(provider, {
        headers: { 'x-sig': stark.sign(`${NOW_SECONDS}${BODY}`), 'x-ts': String(NOW_SECONDS) },
        body: BODY,
        secrets: [],
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('signs as @sendgrid/eventwebhook verifies, and accepts a raw r‖s signature when declared so', () => {
      // Prepare
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
      const der = ecdsa([spki]);
      const raw = ecdsa([spki], { signatureFormat: 'raw', encoding: 'hex' });
      const signedDer = signAsymmetric(der.config, {
        privateKey,
        body: BODY,
        timestamp: NOW_SECONDS,
      });
      const rawSignature = sign('sha256', Buffer.from(`${NOW_SECONDS}${BODY}`), {
        key: privateKey,
        dsaEncoding: 'ieee-p1363',
      }).toString('hex');
      const sendgrid = new EventWebhook();

      // Act
      const oracle = sendgrid.verifySignature(
        sendgrid.convertPublicKeyToECDSA(spki),
        BODY,
        signedDer['x-sig'] ?? '',
        String(NOW_SECONDS),
      );
      const derVerdict = inspectWith(der.provider, { headers: signedDer, body: BODY, secrets: [] });
      const rawVerdict = inspectWith(raw.provider, {
        headers: { 'x-sig': rawSignature, 'x-ts': String(NOW_SECONDS) },
        body: BODY,
        secrets: [],
      });
      const rawToDer = inspectWith(der.provider, {
        headers: {
          'x-sig': Buffer.from(rawSignature, 'hex').toString('base64'),
          'x-ts': String(NOW_SECONDS),
        },
        body: BODY,
        secrets: [],
      });

      // Assess
      expect(oracle).toBe(true);
      expect(derVerdict).toMatchObject({ kind: 'accept' });
      expect(rawVerdict).toMatchObject({ kind: 'accept' });
      // r‖s read as DER: malformed, or (if the random bytes happen to look like DER) a mismatch.
      expect(rawToDer).toMatchObject({ kind: 'reject', status: 401 });
    });

    it('rejects any single change to the body, the timestamp or the signature with a 401, never a throw', () => {
      const { provider } = ecdsa([stark.publicPem]);
      const signature = stark.sign(`${NOW_SECONDS}${BODY}`);
      fc.assert(
        fc.property(
          fc.constantFrom('body', 'timestamp', 'signature'),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
          (what, position, pick, shift) => {
            // Prepare
            const good = { 'x-sig': signature, 'x-ts': String(NOW_SECONDS) };
            const input = {
              body: () => ({ headers: good, body: changeOneByte(BODY, position, pick + 1) }),
              timestamp: () => ({
                headers: { ...good, 'x-ts': String(NOW_SECONDS + shift) },
                body: BODY,
              }),
              signature: () => ({
                headers: { ...good, 'x-sig': changeOneCharacter(signature, position, pick) },
                body: BODY,
              }),
            }[what]();

            // Act
            const verdict = inspectWith(provider, { ...input, secrets: [] });

            // Assess
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 200 },
      );
    });
  });

  describe('Function: asymmetricProvider, keys at cold start', () => {
    const resolved = (publicKeys: string[]) => ({
      scheme: 'asymmetric' as const,
      maxBodyBytes: 1024,
      retentionDays: 7,
      algorithm: 'ed25519' as const,
      encoding: 'hex' as const,
      header: 'x-signature',
      prefix: '',
      timestampHeader: 'x-timestamp',
      toleranceSeconds: 300,
      signedContent: '{timestamp}{body}',
      publicKeys,
    });

    it.each([
      ['text that is no key', 'not-a-key', 'publicKeys[0] is not an Ed25519 public key'],
      [
        'a P-256 key for Ed25519',
        starkbankP256().publicPem,
        'publicKeys[0] is not an Ed25519 public key',
      ],
      [
        'a private key',
        ED.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        'publicKeys[0] is a private key',
      ],
    ])('fails the cold start, naming the provider, on %s', (_, key, message) => {
      // Act
      const build = () => buildProviders({ discord: resolved([key]) });

      // Assess
      expect(build).toThrow(ConfigError);
      expect(build).toThrow(`provider "discord": ${message}`);
    });

    it('takes no secret: the provider says so, and builds from the declaration alone', () => {
      // Act
      const provider = buildProviders({ discord: resolved([ED.publicHex]) }).get('discord');

      // Assess
      expect(provider?.secretless).toBe(true);
      expect(() => provider?.checkSecrets([])).not.toThrow();
    });
  });
});
