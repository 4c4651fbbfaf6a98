import { createHash, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import {
  CompactSign,
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from 'jose';
import { describe, expect, it } from 'vitest';
import { jwtProvider } from '../../functions/providers/jwt.ts';
import { buildProviders } from '../../functions/providers/registry.ts';
import {
  type JwtProvider,
  type ResolvedJwt,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import {
  changeOneByte,
  changeOneCharacter,
  expect401,
  inspectWith,
  NOW,
  NOW_SECONDS,
  SEED,
} from '../support/providers.ts';

/**
 * The `jwt` family, against tokens signed by jose: RS256, ES256 and EdDSA, keys
 * as PEM or in a JWKS document, every time claim set from the injected clock
 * (never jose's own), and the attacks a JWT verifier must refuse (`none`, an HS
 * token keyed with the public key, an algorithm the declaration does not allow).
 */

type Alg = 'RS256' | 'ES256' | 'EdDSA';
const pairs = {
  RS256: await generateKeyPair('RS256', { extractable: true }),
  ES256: await generateKeyPair('ES256', { extractable: true }),
  EdDSA: await generateKeyPair('EdDSA', { extractable: true }),
};
const pem = {
  RS256: await exportSPKI(pairs.RS256.publicKey),
  ES256: await exportSPKI(pairs.ES256.publicKey),
  EdDSA: await exportSPKI(pairs.EdDSA.publicKey),
};

function declared(options: Omit<JwtProvider, 'scheme'>) {
  const resolved = resolveDeclaration({
    providers: { issuer: { scheme: 'jwt', ...options } },
    subscribers: {},
  });
  const config = resolved.providers.issuer as ResolvedJwt & { maxBodyBytes: number };
  return {
    config,
    warnings: resolved.warnings,
    provider: jwtProvider({ name: 'issuer', ...config }),
  };
}

/** A token signed by jose, its times relative to NOW unless the claims set them. */
async function token(
  alg: Alg,
  claims: JWTPayload = {},
  options: { key?: CryptoKey; kid?: string; iat?: number; exp?: number } = {},
): Promise<string> {
  const jwt = new SignJWT({ jti: 'jti-1', ...claims })
    .setProtectedHeader({ alg, ...(options.kid ? { kid: options.kid } : {}) })
    .setIssuedAt(options.iat ?? NOW_SECONDS)
    .setExpirationTime(options.exp ?? NOW_SECONDS + 300);
  return jwt.sign(options.key ?? pairs[alg].privateKey);
}

const BODY = JSON.stringify({
  webhook_type: 'TRANSACTIONS',
  webhook_code: 'SYNC_UPDATES_AVAILABLE',
  item_id: 'it_1',
});

const all = declared({
  algorithms: ['RS256', 'ES256', 'EdDSA'],
  publicKeys: [pem.RS256, pem.ES256, pem.EdDSA],
  deliveryId: { claim: 'jti' },
  issuer: ['https://issuer.example.com'],
  audience: 'hookonce',
}).provider;

const bearer = (jwt: string, body: string | Buffer = BODY, p = all, now = NOW) =>
  inspectWith(p, { headers: { authorization: `Bearer ${jwt}` }, body, secrets: [], now });

const good = { iss: 'https://issuer.example.com', aud: 'hookonce' };

describe('Class: JwtProvider', () => {
  describe('Method: inspect', () => {
    it.each(['RS256', 'ES256', 'EdDSA'] as const)(
      'accepts a %s token signed by jose, keyed by its jti claim',
      async (alg) => {
        // Act
        const verdict = bearer(await token(alg, good));

        // Assess
        expect(verdict).toEqual({
          kind: 'accept',
          deliveryId: 'jti-1',
          eventType: 'webhook',
          keptHeaders: {},
        });
      },
    );

    it('refuses alg "none", an HS256 token keyed with the public key, and an algorithm not declared', async () => {
      // Prepare
      const rsOnly = declared({ algorithms: ['RS256'], publicKeys: [pem.RS256] }).provider;
      const none = new UnsecuredJWT({ jti: 'x', ...good }).setIssuedAt(NOW_SECONDS).encode();
      const confused = await new SignJWT({ jti: 'x', ...good })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt(NOW_SECONDS)
        .sign(new TextEncoder().encode(pem.RS256));

      // Act
      const verdicts = [
        bearer(none, BODY, rsOnly),
        bearer(confused, BODY, rsOnly),
        bearer(await token('ES256', good), BODY, rsOnly),
      ];

      // Assess
      for (const verdict of verdicts) {
        expect(verdict).toMatchObject({
          kind: 'reject',
          status: 401,
          code: 'algorithm_not_allowed',
        });
      }
    });

    it('picks JWKS keys by kid, tries keys without one, and refuses a kid no key has', async () => {
      // Prepare
      const second = await generateKeyPair('ES256', { extractable: true });
      const third = await generateKeyPair('ES256', { extractable: true });
      const jwk = async (key: CryptoKey, kid?: string) => ({
        ...(await exportJWK(key)),
        ...(kid ? { kid } : {}),
        use: 'sig',
        alg: 'ES256',
      });
      const { provider } = declared({
        algorithms: ['ES256'],
        jwks: {
          keys: [
            await jwk(pairs.ES256.publicKey, 'k1'),
            await jwk(second.publicKey, 'k2'),
            await jwk(third.publicKey),
          ] as never,
        },
      });
      const signed = async (key: CryptoKey, kid: string) =>
        bearer(await token('ES256', {}, { key, kid }), BODY, provider);

      // Act
      const byKid = await signed(pairs.ES256.privateKey, 'k1');
      const byKeyWithoutKid = await signed(third.privateKey, 'k9');
      const unknownKid = await signed(pairs.ES256.privateKey, 'k9');
      const kidOfAnother = await signed(second.privateKey, 'k1');

      // Assess
      expect(byKid).toMatchObject({ kind: 'accept' });
      expect(byKeyWithoutKid).toMatchObject({ kind: 'accept' });
      expect(unknownKid).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
      expect(kidOfAnother).toMatchObject({
        kind: 'reject',
        status: 401,
        code: 'signature_mismatch',
      });
    });

    it.each<[string, JWTPayload, { iat?: number; exp?: number }, string]>([
      ['expired 301 s ago', {}, { exp: NOW_SECONDS - 301 }, 'timestamp_too_old'],
      ['expired 300 s ago (within the tolerance)', {}, { exp: NOW_SECONDS - 300 }, 'accept'],
      ['not valid for 301 s more', { nbf: NOW_SECONDS + 301 }, {}, 'timestamp_too_new'],
      ['not valid for 300 s more (within the tolerance)', { nbf: NOW_SECONDS + 300 }, {}, 'accept'],
      ['issued 301 s in the future', {}, { iat: NOW_SECONDS + 301 }, 'timestamp_too_new'],
    ])('treats a token %s as %s', async (_, claims, times, outcome) => {
      // Prepare
      const jwt = await token('ES256', { ...good, ...claims }, times);

      // Act
      const verdict = bearer(jwt);

      // Assess
      if (outcome === 'accept') expect(verdict).toMatchObject({ kind: 'accept' });
      else expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: outcome });
    });

    it('refuses a validly signed token whose exp is not a number as malformed_timestamp', async () => {
      // Prepare: no setExpirationTime, so the payload's text exp is signed as it is.
      const jwt = await new SignJWT({ jti: 'j', ...good, exp: 'tomorrow' as unknown as number })
        .setProtectedHeader({ alg: 'ES256' })
        .sign(pairs.ES256.privateKey);

      // Act
      const verdict = bearer(jwt);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_timestamp' });
    });

    it('refuses a token older than maxAgeSeconds, and one without iat, once maxAgeSeconds is declared', async () => {
      // Prepare
      const { provider } = declared({
        algorithms: ['EdDSA'],
        publicKeys: [pem.EdDSA],
        maxAgeSeconds: 300,
      });
      const withoutIat = await new SignJWT({ jti: 'j' })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setExpirationTime(NOW_SECONDS + 60)
        .sign(pairs.EdDSA.privateKey);

      // Act
      const fresh = bearer(await token('EdDSA', {}, { iat: NOW_SECONDS - 300 }), BODY, provider);
      const old = bearer(await token('EdDSA', {}, { iat: NOW_SECONDS - 301 }), BODY, provider);
      const undated = bearer(withoutIat, BODY, provider);

      // Assess
      expect(fresh).toMatchObject({ kind: 'accept' });
      expect(old).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_old' });
      expect(undated).toMatchObject({ kind: 'reject', status: 401, code: 'missing_timestamp' });
    });

    it.each<[string, JWTPayload]>([
      ['another issuer', { ...good, iss: 'https://elsewhere.example.com' }],
      ['no issuer', { aud: 'hookonce' }],
      ['another audience', { ...good, aud: 'someone-else' }],
      ['no audience', { iss: good.iss }],
    ])('refuses a validly signed token with %s as claim_mismatch', async (_, claims) => {
      // Act
      const verdict = bearer(await token('RS256', claims));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'claim_mismatch' });
    });

    it('accepts an audience list that holds the declared audience', async () => {
      // Act
      const verdict = bearer(await token('RS256', { ...good, aud: ['other', 'hookonce'] }));

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('verifies a Plaid-style token: ES256 in Plaid-Verification, the body bound by request_body_sha256, typed and keyed from the signed body', async () => {
      // Prepare
      const { provider } = declared({
        header: 'Plaid-Verification',
        algorithms: ['ES256'],
        jwks: { keys: [{ ...(await exportJWK(pairs.ES256.publicKey)), kid: 'plaid-1' }] as never },
        maxAgeSeconds: 300,
        bodyHashClaim: 'request_body_sha256',
        eventTypeField: 'webhook_code',
      });
      const hash = createHash('sha256').update(BODY).digest('hex');
      const jwt = await token('ES256', { request_body_sha256: hash }, { kid: 'plaid-1' });
      const send = (body: string | Buffer, value = jwt) =>
        inspectWith(provider, { headers: { 'plaid-verification': value }, body, secrets: [] });

      // Act
      const verdict = send(BODY);
      const changedBody = send(`${BODY} `);
      const noHash = send(BODY, await token('ES256', {}, { kid: 'plaid-1' }));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: hash,
        eventType: 'SYNC_UPDATES_AVAILABLE',
        keptHeaders: {},
      });
      expect(changedBody).toMatchObject({
        kind: 'reject',
        status: 401,
        code: 'signature_mismatch',
      });
      expect(noHash).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('keeps a body id for display and labels the type unsigned when the token does not sign the body, and warns of it', async () => {
      // Prepare
      const { provider, warnings } = declared({
        algorithms: ['EdDSA'],
        publicKeys: [pem.EdDSA],
        deliveryId: { jsonField: 'item_id' },
        eventTypeField: 'webhook_code',
      });

      // Act
      const verdict = bearer(await token('EdDSA'), BODY, provider);

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: createHash('sha256').update(BODY).digest('hex'),
        providerDeliveryId: 'it_1',
        eventType: 'SYNC_UPDATES_AVAILABLE',
        unsignedEventType: true,
      });
      expect(warnings).toEqual([
        expect.stringContaining('the token does not sign the declared delivery id'),
      ]);
    });

    it.each([
      ['no header', undefined, 'missing_signature'],
      ['no Bearer prefix', 'a.b.c', 'malformed_signature'],
      ['two segments', 'Bearer a.b', 'malformed_signature'],
      ['padding in a segment', 'Bearer eyJhbGciOiJFUzI1NiJ9=.e30.AA', 'malformed_signature'],
      [
        'a header that is not JSON',
        `Bearer ${Buffer.from('nope').toString('base64url')}.e30.AA`,
        'malformed_signature',
      ],
    ])('rejects %s as %s', (_, value, code) => {
      // Act
      const verdict = inspectWith(all, {
        headers: { authorization: value },
        body: BODY,
        secrets: [],
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code });
    });

    it('refuses a validly signed token that makes an extension critical', async () => {
      // Prepare
      const jwt = await new CompactSign(
        new TextEncoder().encode(JSON.stringify({ jti: 'j', ...good })),
      )
        .setProtectedHeader({ alg: 'ES256', crit: ['x-hookonce'], 'x-hookonce': 1 })
        .sign(pairs.ES256.privateKey, { crit: { 'x-hookonce': true } });

      // Act
      const verdict = bearer(jwt);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('rejects any single change to the token or, with a body hash, to the body with a 401, never a throw', async () => {
      // Prepare
      const { provider } = declared({
        algorithms: ['ES256', 'RS256'],
        publicKeys: [pem.ES256, pem.RS256],
        bodyHashClaim: 'body_sha256',
      });
      const hash = createHash('sha256').update(BODY).digest('hex');
      const tokens = [
        await token('ES256', { body_sha256: hash }),
        await token('RS256', { body_sha256: hash }),
      ];

      // Act, Assess
      fc.assert(
        fc.property(
          fc.constantFrom(...tokens),
          fc.constantFrom('token', 'body'),
          fc.nat(),
          fc.nat(),
          (jwt, what, position, pick) => {
            const verdict =
              what === 'token'
                ? bearer(changeOneCharacter(jwt, position, pick), BODY, provider)
                : bearer(jwt, changeOneByte(BODY, position, pick + 1), provider);
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 400 },
      );
    });

    it('answers any Authorization header whatsoever with a verdict, never a throw', () => {
      fc.assert(
        fc.property(
          fc.option(fc.string()),
          fc.array(fc.base64String(), { maxLength: 4 }),
          (raw, parts) => {
            expect401(
              inspectWith(all, {
                headers: { authorization: raw ?? undefined },
                body: BODY,
                secrets: [],
              }),
            );
            expect401(bearer(parts.join('.')));
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Function: jwtProvider, keys at cold start', () => {
    const base: ResolvedJwt & { maxBodyBytes: number; retentionDays: number } = {
      scheme: 'jwt',
      maxBodyBytes: 1024,
      retentionDays: 30,
      header: 'authorization',
      prefix: 'Bearer ',
      algorithms: ['RS256'],
      toleranceSeconds: 300,
    };
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'pem',
      type: 'spki',
    }) as string;

    it.each<[string, Partial<ResolvedJwt>, string]>([
      [
        'a key that is no key',
        { publicKeys: ['nope'] },
        'publicKeys[0] is not a PEM or base64 DER public key',
      ],
      [
        'an RSA key under 2048 bits',
        { publicKeys: [weak] },
        'publicKeys[0] is an RSA key of 1024 bits',
      ],
      [
        'a key of an algorithm not allowed',
        { publicKeys: [pem.ES256] },
        'publicKeys[0] is a key for ES256, which algorithms does not allow',
      ],
      [
        'a private JWK',
        { jwks: { keys: [{ kty: 'RSA', d: 'x', n: 'y', e: 'AQAB' }] } },
        'jwks.keys[0] holds a private key',
      ],
      [
        'an encryption JWK',
        { jwks: { keys: [{ kty: 'RSA', use: 'enc', n: 'y', e: 'AQAB' }] } },
        'jwks.keys[0] has use "enc"',
      ],
    ])('fails the cold start, naming the provider, on %s', (_, keys, message) => {
      // Act
      const build = () => buildProviders({ plaid: { ...base, ...keys } });

      // Assess
      expect(build).toThrow(ConfigError);
      expect(build).toThrow(`provider "plaid": ${message}`);
    });
  });
});
