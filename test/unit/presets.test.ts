import { createHash, generateKeyPairSync } from 'node:crypto';
import { EventWebhook, EventWebhookHeader } from '@sendgrid/eventwebhook';
import { verifyKey } from 'discord-interactions';
import { describe, expect, it } from 'vitest';
import { signAsymmetric } from '../../functions/providers/asymmetric.ts';
import { buildProviders } from '../../functions/providers/registry.ts';
import {
  type ResolvedAsymmetric,
  resolveDeclaration,
  signsDeliveryId,
  signsTimestamp,
  usesSecrets,
} from '../../functions/shared/declaration.ts';
import { ed25519Pair, naclSignHex, starkbankP256 } from '../support/keys.ts';
import { inspectWith, NOW, NOW_SECONDS } from '../support/providers.ts';

/**
 * Presets are family options and nothing else: each is declared as a user
 * would, resolved, built, and fed requests signed by the sender's own library.
 */

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('Module: presets', () => {
  describe('Preset: discord', () => {
    const pair = ed25519Pair(21);
    const resolved = resolveDeclaration({
      providers: { discord: { preset: 'discord', publicKeys: [pair.publicHex] } },
      subscribers: {},
    });
    const provider = buildProviders(resolved.providers).get('discord');
    if (!provider) throw new Error('no discord provider');
    /** Headers as Discord sends them, signed by tweetnacl (what discord-interactions verifies with). */
    const discordHeaders = (body: string, timestamp = String(NOW_SECONDS)) => ({
      'x-signature-ed25519': naclSignHex(`${timestamp}${body}`, pair.secretKey),
      'x-signature-timestamp': timestamp,
      'content-type': 'application/json',
      'user-agent': 'Discord-Webhooks/1.0 (+https://discord.com)',
    });
    const EVENT = JSON.stringify({
      version: 1,
      application_id: '1234560123453231555',
      type: 1,
      event: {
        type: 'APPLICATION_AUTHORIZED',
        timestamp: '2100-01-01T00:00:00.000000+00:00',
        data: { integration_type: 1, scopes: ['applications.commands'] },
      },
    });

    it('resolves to the asymmetric family with Ed25519 over {timestamp}{body}, keys in the declaration', () => {
      // Act
      const p = resolved.providers.discord;
      if (p?.scheme !== 'asymmetric') throw new Error('not asymmetric');

      // Assess
      expect(p).toMatchObject({
        scheme: 'asymmetric',
        preset: 'discord',
        algorithm: 'ed25519',
        header: 'x-signature-ed25519',
        timestampHeader: 'x-signature-timestamp',
        signedContent: '{timestamp}{body}',
        publicKeys: [pair.publicHex],
        retentionDays: 7,
      });
      expect([usesSecrets(p), signsTimestamp(p), signsDeliveryId(p)]).toEqual([false, true, false]);
    });

    it("accepts an event that discord-interactions' verifyKey accepts, typed by event.type and keyed by the body", async () => {
      // Prepare
      const headers = discordHeaders(EVENT);

      // Act
      const oracle = await verifyKey(
        EVENT,
        headers['x-signature-ed25519'],
        headers['x-signature-timestamp'],
        pair.publicHex,
      );
      const verdict = inspectWith(provider, { headers, body: EVENT, secrets: [], now: NOW });

      // Assess
      expect(oracle).toBe(true);
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(EVENT),
        eventType: 'APPLICATION_AUTHORIZED',
        keptHeaders: {
          'content-type': 'application/json',
          'user-agent': 'Discord-Webhooks/1.0 (+https://discord.com)',
          'x-signature-timestamp': String(NOW_SECONDS),
        },
      });
    });

    it('answers the verified PING with 204 and no body, and refuses a forged one like any request', async () => {
      // Prepare
      const ping = JSON.stringify({ version: 1, application_id: '1234560123453231555', type: 0 });
      const forged = {
        ...discordHeaders(ping),
        'x-signature-ed25519': naclSignHex(ping, pair.secretKey),
      };

      // Act
      const verdict = inspectWith(provider, {
        headers: discordHeaders(ping),
        body: ping,
        secrets: [],
      });
      const refused = inspectWith(provider, { headers: forged, body: ping, secrets: [] });
      const oracleRefuses = await verifyKey(
        ping,
        forged['x-signature-ed25519'],
        forged['x-signature-timestamp'],
        pair.publicHex,
      );

      // Assess
      expect(verdict).toEqual({
        kind: 'reply',
        statusCode: 204,
        contentType: 'application/json',
        body: '',
      });
      expect(oracleRefuses).toBe(false);
      expect(refused).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('refuses a bad public key when the declaration is resolved, naming the provider', () => {
      // Act
      const resolving = () =>
        resolveDeclaration({
          providers: { discord: { preset: 'discord', publicKeys: ['0123'] } },
          subscribers: {},
        });

      // Assess
      expect(resolving).toThrow('provider "discord": publicKeys[0] is not an Ed25519 public key');
    });
  });

  describe('Preset: sendgrid', () => {
    const BATCH = JSON.stringify([
      { email: 'a@example.com', event: 'delivered', sg_event_id: 'sg_1', timestamp: NOW_SECONDS },
      { email: 'b@example.com', event: 'open', sg_event_id: 'sg_2', timestamp: NOW_SECONDS },
    ]);

    it('accepts a batch signed by starkbank-ecdsa (the library @sendgrid/eventwebhook verifies with), keyed by the body, typed "events"', () => {
      // Prepare
      const stark = starkbankP256();
      const provider = buildProviders(
        resolveDeclaration({
          providers: { sendgrid: { preset: 'sendgrid', publicKeys: [stark.publicBase64Der] } },
          subscribers: {},
        }).providers,
      ).get('sendgrid');
      if (!provider) throw new Error('no sendgrid provider');
      const signature = stark.sign(`${NOW_SECONDS}${BATCH}`);
      const sendgrid = new EventWebhook();

      // Act
      const oracle = sendgrid.verifySignature(
        sendgrid.convertPublicKeyToECDSA(stark.publicBase64Der),
        BATCH,
        signature,
        String(NOW_SECONDS),
      );
      const verdict = inspectWith(provider, {
        headers: {
          [EventWebhookHeader.SIGNATURE().toLowerCase()]: signature,
          [EventWebhookHeader.TIMESTAMP().toLowerCase()]: String(NOW_SECONDS),
        },
        body: BATCH,
        secrets: [],
      });

      // Assess
      expect(oracle).toBe(true);
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: sha256(BATCH),
        eventType: 'events',
      });
    });

    it("signs with the preset's options as SendGrid's library verifies", () => {
      // Prepare
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
      const options = resolveDeclaration({
        providers: { sendgrid: { preset: 'sendgrid', publicKeys: [spki] } },
        subscribers: {},
      }).providers.sendgrid as ResolvedAsymmetric;
      const headers = signAsymmetric(options, { privateKey, body: BATCH, timestamp: NOW_SECONDS });
      const sendgrid = new EventWebhook();

      // Act
      const oracle = sendgrid.verifySignature(
        sendgrid.convertPublicKeyToECDSA(spki),
        BATCH,
        headers[EventWebhookHeader.SIGNATURE().toLowerCase()] ?? '',
        headers[EventWebhookHeader.TIMESTAMP().toLowerCase()] ?? '',
      );

      // Assess
      expect(oracle).toBe(true);
    });
  });

  describe('Function: resolveDeclaration, presets', () => {
    it('lets a declared option override the preset, and refuses an unknown preset or a scheme beside one', () => {
      // Prepare
      const pair = ed25519Pair(22);

      // Act
      const widened = resolveDeclaration({
        providers: {
          discord: { preset: 'discord', publicKeys: [pair.publicHex], toleranceSeconds: 600 },
        },
        subscribers: {},
      }).providers.discord;
      const problems = (() => {
        try {
          resolveDeclaration({
            providers: {
              a: { preset: 'slack-ish', publicKeys: [] } as never,
              b: { preset: 'discord', scheme: 'hmac', publicKeys: [pair.publicHex] } as never,
              c: { preset: 'discord' },
            },
            subscribers: {},
          });
        } catch (error) {
          return (error as Error).message;
        }
        return '';
      })();

      // Assess
      expect(widened).toMatchObject({ toleranceSeconds: 600, preset: 'discord' });
      expect(problems).toContain(
        'provider "a": unknown preset "slack-ish"; use one of "discord", "sendgrid"',
      );
      expect(problems).toContain(
        'provider "b": a preset sets the scheme ("asymmetric"): leave scheme out',
      );
      expect(problems).toContain(
        'provider "c": publicKeys must list at least one of the sender\'s public keys',
      );
    });
  });
});
