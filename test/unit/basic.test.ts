import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { basicProvider, signBasic } from '../../functions/providers/basic.ts';
import { type ResolvedBasic, resolveDeclaration } from '../../functions/shared/declaration.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import {
  changeOneCharacter,
  expect401,
  inspectWith,
  jsonObject,
  SEED,
} from '../support/providers.ts';

/**
 * The `basic` family: HTTP Basic authentication (RFC 7617). The oracle is the
 * header as the RFC writes it: "Basic " and the base64 of `username:password`.
 */

const SECRET = 'hookonce:0123456789abcdef0123';
const OLD_SECRET = 'hookonce:fedcba9876543210fedc';
const BODY = JSON.stringify({ id: 'e1', event: 'delivered' });

const resolved = resolveDeclaration({
  providers: { mailer: { scheme: 'basic', eventTypeField: 'event' } },
  subscribers: {},
}).providers.mailer as ResolvedBasic & { maxBodyBytes: number };
const provider = basicProvider({ name: 'mailer', ...resolved });

/** RFC 7617, section 2: the user-id, a colon and the password, base64 after "Basic ". */
const rfcHeader = (credentials: string) =>
  `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

const inspect = (
  authorization: string | undefined,
  body: string | Buffer = BODY,
  active = [SECRET],
) => inspectWith(provider, { headers: { authorization }, body, secrets: active });

describe('Class: BasicProvider', () => {
  describe('Method: inspect', () => {
    it('accepts the credentials as RFC 7617 writes them, keyed by the SHA-256 of the body, its type labelled unsigned', () => {
      // Act
      const verdict = inspect(rfcHeader(SECRET));

      // Assess
      expect(signBasic(SECRET)).toEqual({ authorization: rfcHeader(SECRET) });
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: createHash('sha256').update(BODY).digest('hex'),
        eventType: 'delivered',
        unsignedEventType: true,
        keptHeaders: {},
      });
    });

    it('accepts either of two active username:password pairs (rotation), the scheme name in any case', () => {
      // Act
      const verdicts = [
        rfcHeader(OLD_SECRET),
        `basic ${Buffer.from(SECRET).toString('base64')}`,
      ].map((header) => inspect(header, BODY, [SECRET, OLD_SECRET]));

      // Assess
      for (const verdict of verdicts) expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it.each([
      ['no Authorization header', undefined, 'missing_credentials'],
      ['a Bearer token', 'Bearer abc', 'malformed_credentials'],
      ['base64 that is not canonical', 'Basic aG9va29uY2U6eA=!', 'malformed_credentials'],
      ['credentials without a colon', rfcHeader('hookonce'), 'malformed_credentials'],
      ['another password', rfcHeader('hookonce:0123456789abcdef0124'), 'credentials_mismatch'],
      ['another username', rfcHeader('hookoncf:0123456789abcdef0123'), 'credentials_mismatch'],
      ['the password alone', rfcHeader(':0123456789abcdef0123'), 'credentials_mismatch'],
    ])('rejects %s as %s, repeating no credential', (_, header, code) => {
      // Act
      const verdict = inspect(header);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code });
      expect(JSON.stringify(verdict)).not.toContain('0123456789abcdef');
    });

    it('rejects any single change to the username or password with a 401, never a throw', () => {
      fc.assert(
        fc.property(jsonObject(), fc.nat(), fc.nat(), (data, position, pick) => {
          // Prepare
          const changed = changeOneCharacter(SECRET, position, pick);

          // Act
          const verdict = inspect(rfcHeader(changed), JSON.stringify({ event: 'x', data }));

          // Assess
          expect401(verdict);
        }),
        { seed: SEED, numRuns: 300 },
      );
    });

    it('answers any Authorization header and body whatsoever with a verdict, never a throw', () => {
      fc.assert(
        fc.property(fc.option(fc.string()), fc.uint8Array({ maxLength: 128 }), (header, body) => {
          // Act
          const verdict = inspect(header ?? undefined, Buffer.from(body));

          // Assess
          expect401(verdict);
        }),
        { seed: SEED, numRuns: 200 },
      );
    });
  });

  describe('Method: checkSecrets', () => {
    it.each([
      ['an empty list', []],
      ['a secret without a colon', ['hookonce0123456789abcdef']],
      ['a secret without a username', [':0123456789abcdef0123']],
      ['a password shorter than 16 characters', ['hookonce:short']],
    ])('refuses %s with a ConfigError that never repeats it', (_, list) => {
      // Act
      let message = '';
      try {
        provider.checkSecrets(list);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }

      // Assess
      expect(message).toContain('provider "mailer"');
      for (const secret of list) expect(message).not.toContain(secret);
    });
  });
});
