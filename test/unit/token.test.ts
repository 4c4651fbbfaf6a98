import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signToken, tokenProvider } from '../../functions/providers/token.ts';
import {
  type ResolvedToken,
  resolveDeclaration,
  type TokenProvider,
} from '../../functions/shared/declaration.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import {
  changeOneCharacter,
  expect401,
  inspectWith,
  jsonObject,
  SEED,
  secrets,
} from '../support/providers.ts';

/**
 * The `token` family: a shared token in a header (GitLab's X-Gitlab-Token, a
 * Bearer token), compared with each active secret. The oracle is the request as
 * the sender documents it: the header holding the prefix and the token, verbatim.
 */

const TOKEN = 'glpat-hookonce-token-0001';
const OLD_TOKEN = 'glpat-hookonce-token-0000';
const BODY = JSON.stringify({ object_kind: 'push', event_name: 'push', after: 'abc' });

function declared(options: Omit<TokenProvider, 'scheme'>) {
  const resolved = resolveDeclaration({
    providers: { gitlab: { scheme: 'token', ...options } },
    subscribers: {},
  });
  const config = resolved.providers.gitlab as ResolvedToken & { maxBodyBytes: number };
  return {
    config,
    warnings: resolved.warnings,
    provider: tokenProvider({ name: 'gitlab', ...config }),
  };
}

const { provider: gitlab } = declared({
  header: 'X-Gitlab-Token',
  deliveryId: { header: 'X-Gitlab-Event-UUID' },
  eventTypeHeader: 'X-Gitlab-Event',
});

const inspect = (
  headers: Record<string, string | undefined>,
  body: string | Buffer = BODY,
  active = [TOKEN],
) => inspectWith(gitlab, { headers, body, secrets: active });

describe('Class: TokenProvider', () => {
  describe('Method: inspect', () => {
    it('accepts the token GitLab sends, keyed by the SHA-256 of the body, its unsigned id and type kept and labelled', () => {
      // Act
      const verdict = inspect({
        'x-gitlab-token': TOKEN,
        'x-gitlab-event-uuid': 'uuid-1',
        'x-gitlab-event': 'push',
      });

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: createHash('sha256').update(BODY).digest('hex'),
        providerDeliveryId: 'uuid-1',
        eventType: 'push',
        unsignedEventType: true,
        keptHeaders: { 'x-gitlab-event-uuid': 'uuid-1', 'x-gitlab-event': 'push' },
      });
    });

    it('refuses an unsigned event type outside the strict pattern (GitLab\'s "Push Hook") with 400 malformed_event_type', () => {
      // Act
      const verdict = inspect({
        'x-gitlab-token': TOKEN,
        'x-gitlab-event-uuid': 'uuid-1',
        'x-gitlab-event': 'Push Hook',
      });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_event_type' });
    });

    it('accepts either token while two are active (rotation), and neither keeps the token header', () => {
      // Act
      const verdicts = [TOKEN, OLD_TOKEN].map((token) =>
        inspect({ 'x-gitlab-token': token, 'x-gitlab-event-uuid': 'u' }, BODY, [TOKEN, OLD_TOKEN]),
      );

      // Assess
      for (const verdict of verdicts) {
        expect(verdict).toMatchObject({
          kind: 'accept',
          keptHeaders: { 'x-gitlab-event-uuid': 'u' },
        });
      }
    });

    it.each([
      ['no token header', {}, 'missing_credentials'],
      ['an empty token', { 'x-gitlab-token': '' }, 'missing_credentials'],
      ['another token', { 'x-gitlab-token': OLD_TOKEN }, 'credentials_mismatch'],
      [
        'the token with a character more',
        { 'x-gitlab-token': `${TOKEN}x` },
        'credentials_mismatch',
      ],
      ['a token too long to read', { 'x-gitlab-token': 'x'.repeat(5000) }, 'malformed_credentials'],
    ])('rejects %s as %s', (_, headers, code) => {
      // Act
      const verdict = inspect({ 'x-gitlab-event-uuid': 'u', ...headers });

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code });
      expect(JSON.stringify(verdict)).not.toContain(TOKEN);
    });

    it('matches a Bearer prefix without regard to case, and requires it', () => {
      // Prepare
      const { provider, config } = declared({ header: 'Authorization', prefix: 'Bearer ' });

      // Act
      const signed = inspectWith(provider, {
        headers: signToken(config, TOKEN),
        body: BODY,
        secrets: [TOKEN],
      });
      const lower = inspectWith(provider, {
        headers: { authorization: `bearer ${TOKEN}` },
        body: BODY,
        secrets: [TOKEN],
      });
      const bare = inspectWith(provider, {
        headers: { authorization: TOKEN },
        body: BODY,
        secrets: [TOKEN],
      });

      // Assess
      expect(signToken(config, TOKEN)).toEqual({ authorization: `Bearer ${TOKEN}` });
      expect(signed).toMatchObject({ kind: 'accept', keptHeaders: {} });
      expect(lower).toMatchObject({ kind: 'accept' });
      expect(bare).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_credentials' });
    });

    it('keeps a JSON id for display only, and warns at resolve time that nothing keys it', () => {
      // Prepare
      const { provider, warnings } = declared({
        header: 'x-token',
        deliveryId: { jsonField: 'id' },
        eventTypeField: 'kind',
      });
      const body = JSON.stringify({ id: 'evt_9', kind: 'order.paid' });

      // Act
      const verdict = inspectWith(provider, {
        headers: { 'x-token': TOKEN },
        body,
        secrets: [TOKEN],
      });

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: createHash('sha256').update(body).digest('hex'),
        providerDeliveryId: 'evt_9',
        eventType: 'order.paid',
        unsignedEventType: true,
      });
      expect(warnings).toEqual([expect.stringContaining('scheme "token" signs nothing')]);
    });

    it('answers a handshake once the token checks out, and only then', () => {
      // Prepare
      const { provider } = declared({
        header: 'x-token',
        handshake: { jsonField: 'type', equals: 'ping', reply: { ok: true } },
      });
      const ping = JSON.stringify({ type: 'ping' });

      // Act
      const answered = inspectWith(provider, {
        headers: { 'x-token': TOKEN },
        body: ping,
        secrets: [TOKEN],
      });
      const refused = inspectWith(provider, {
        headers: { 'x-token': OLD_TOKEN },
        body: ping,
        secrets: [TOKEN],
      });

      // Assess
      expect(answered).toEqual({
        kind: 'reply',
        statusCode: 200,
        contentType: 'application/json',
        body: '{"ok":true}',
      });
      expect(refused).toMatchObject({ kind: 'reject', status: 401 });
    });

    it('rejects any single change to the token with a 401, never a throw', () => {
      fc.assert(
        fc.property(secrets(), jsonObject(), fc.nat(), fc.nat(), (token, data, position, pick) => {
          // Prepare
          const changed = changeOneCharacter(token, position, pick);

          // Act
          const verdict = inspectWith(gitlab, {
            headers: { 'x-gitlab-token': changed, 'x-gitlab-event-uuid': 'u' },
            body: JSON.stringify(data),
            secrets: [token],
          });

          // Assess
          expect401(verdict);
        }),
        { seed: SEED, numRuns: 300 },
      );
    });

    it('answers any token header and body whatsoever with a verdict, never a throw', () => {
      fc.assert(
        fc.property(fc.option(fc.string()), fc.uint8Array({ maxLength: 128 }), (token, body) => {
          // Act
          const verdict = inspect({ 'x-gitlab-token': token ?? undefined }, Buffer.from(body));

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
      ['a token shorter than 16 characters', ['abc']],
      ['a token with a space', ['a token with spaces in it']],
    ])('refuses %s with a ConfigError', (_, list) => {
      // Act
      const check = () => gitlab.checkSecrets(list);

      // Assess
      expect(check).toThrow(ConfigError);
    });
  });
});
