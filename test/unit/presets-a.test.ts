import { createHash, createHmac } from 'node:crypto';
import { hmacValidator as AdyenHmacValidator } from '@adyen/api-library';
import { Signature as HubSpotSignature } from '@hubspot/api-client';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { Paddle } from '@paddle/paddle-node-sdk';
import { WorkOS } from '@workos-inc/node';
import fc from 'fast-check';
import Razorpay from 'razorpay';
import { WebhooksHelper as SquareWebhooks } from 'square';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it, vi } from 'vitest';
import { valueAt } from '../../functions/providers/common.ts';
import { signHmac } from '../../functions/providers/hmac.ts';
import { buildProviders } from '../../functions/providers/registry.ts';
import type { Provider } from '../../functions/providers/types.ts';
import {
  type ProviderDeclaration,
  type ResolvedHmac,
  type ResolvedProvider,
  resolveDeclaration,
  signsDeliveryId,
  signsTimestamp,
} from '../../functions/shared/declaration.ts';
import { ed25519Pair, naclSignHex } from '../support/keys.ts';
import {
  changeOneByte,
  changeOneCharacter,
  expect401,
  type InspectInput,
  inspectWith,
  jsonObject,
  NOW,
  NOW_SECONDS,
  parsedBeforeVerdict,
  SEED,
} from '../support/providers.ts';

/**
 * Presets of the first batch: each declared as a user would (`{ preset }`),
 * resolved, built, and fed requests signed by the sender's own library where it
 * has a signer, else by node:crypto following the sender's documented algorithm;
 * the sender's own verifier (where it has one) is run on the same bytes. The
 * SDKs read the wall clock: they run with Date faked to NOW, never the real time.
 */

const HOST = 'hooks.example.com';
const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');
const hmacOf = (
  algorithm: 'sha256' | 'sha512',
  key: string | Buffer,
  text: string | Buffer,
  encoding: 'hex' | 'base64',
) => createHmac(algorithm, key).update(text).digest(encoding);

/** A preset declared on its own, resolved and built as the ingest function builds it. */
function preset(name: string, declaration: ProviderDeclaration) {
  const resolved = resolveDeclaration({ providers: { [name]: declaration }, subscribers: {} });
  const config = resolved.providers[name] as ResolvedProvider;
  const provider = buildProviders(resolved.providers).get(name) as Provider;
  return { config, provider, warnings: resolved.warnings };
}

/** Runs an SDK's own verifier with its clock (Date) at NOW, and the real clock back after. */
async function atNow<T>(oracle: () => T | Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ['Date'], now: NOW });
  try {
    return await oracle();
  } finally {
    vi.useRealTimers();
  }
}

interface Change {
  readonly position: number;
  readonly pick: number;
  /** A non-zero shift of a timestamp, in its own unit. */
  readonly shift: number;
}

/**
 * The property every signing preset meets: whatever the body, any single change
 * to a signed part of a correctly signed request is a 401, never a throw.
 */
function refusesEveryChange(
  provider: Provider,
  signed: (body: string) => InspectInput,
  bodyOf: (data: Record<string, unknown>) => string,
  changes: Readonly<Record<string, (input: InspectInput, change: Change) => InspectInput>>,
): void {
  fc.assert(
    fc.property(
      jsonObject(),
      fc.constantFrom(...Object.keys(changes)),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
      (data, what, position, pick, shift) => {
        // Prepare
        const input = signed(bodyOf(data));
        const change = changes[what];
        if (!change) throw new Error(`no change "${what}"`);

        // Act
        const verdict = inspectWith(provider, change(input, { position, pick, shift }));

        // Assess
        expect401(verdict);
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
}

/** The input with one header replaced. */
const withHeader = (input: InspectInput, name: string, value: string): InspectInput => ({
  ...input,
  headers: { ...input.headers, [name]: value },
});

/** A body byte changed. */
const bodyByte = (input: InspectInput, { position, pick }: Change): InspectInput => ({
  ...input,
  body: changeOneByte(input.body, position, pick + 1),
});

/** One character of a plain signature header changed. */
const signatureChar =
  (header: string) =>
  (input: InspectInput, { position, pick }: Change): InspectInput =>
    withHeader(input, header, changeOneCharacter(input.headers[header] ?? '', position, pick));

describe('Module: presets, first batch', () => {
  describe('Preset: paddle', () => {
    const SECRET = 'pdl_ntfset_01hookonce0paddle0secret_0aBcDeFgHiJkLmNoPqRsTuV';
    const { config, provider } = preset('paddle', { preset: 'paddle' });
    /** The SDK's webhook helper; constructing Paddle installs its Node crypto runtime (no request is made). */
    const paddle = new Paddle('pdl_sdbx_apikey_hookonce_oracle_never_calls_the_api').webhooks;
    const EVENT = JSON.stringify({
      event_id: 'evt_01h8bzakzx3hm2fmen703n5q45',
      event_type: 'transaction.completed',
      occurred_at: '2100-01-01T00:00:00.000000Z',
      notification_id: 'ntf_01h8bzam1z32agrxjwhjgqk8w6',
      data: { id: 'txn_01h8bz5xw1sy2d8nmbz6g1kt9g', status: 'completed' },
    });
    /** `Paddle-Signature` as Paddle documents it: `ts=…;h1=` the hex HMAC-SHA256 of `ts:body`. */
    const paddleSignature = (body: string, ts = NOW_SECONDS) =>
      `ts=${ts};h1=${hmacOf('sha256', SECRET, `${ts}:${body}`, 'hex')}`;
    const signed = (body: string): InspectInput => ({
      headers: { 'paddle-signature': paddleSignature(body), 'content-type': 'application/json' },
      body,
      secrets: [SECRET],
    });

    it('resolves to hmac over {timestamp}:{body} in a ts=…;h1=… header, keyed by the signed event_id, kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        preset: 'paddle',
        header: 'paddle-signature',
        structured: { separator: ';', assignment: '=', signatureKey: 'h1', timestampKey: 'ts' },
        signedContent: '{timestamp}:{body}',
        toleranceSeconds: 300,
        retentionDays: 7,
      });
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([true, true]);
    });

    it("accepts what Paddle signs, as @paddle/paddle-node-sdk's Webhooks.isSignatureValid (the check unmarshal makes) accepts it, keyed by event_id and typed by event_type", async () => {
      // Prepare
      const input = signed(EVENT);
      const header = input.headers['paddle-signature'] ?? '';

      // Act
      const verdict = inspectWith(provider, input);
      const oracle = await atNow(() => paddle.isSignatureValid(EVENT, SECRET, header));
      const forged = await atNow(() => paddle.isSignatureValid(`${EVENT} `, SECRET, header));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'evt_01h8bzakzx3hm2fmen703n5q45',
        eventType: 'transaction.completed',
        keptHeaders: { 'content-type': 'application/json' },
      });
      expect(oracle).toBe(true);
      expect(forged).toBe(false);
    });

    it('accepts a header signed with two secrets while one is rotated, and refuses a stale ts', () => {
      // Prepare
      const other = hmacOf(
        'sha256',
        'pdl_ntfset_an_older_secret_0000',
        `${NOW_SECONDS}:${EVENT}`,
        'hex',
      );
      const good = hmacOf('sha256', SECRET, `${NOW_SECONDS}:${EVENT}`, 'hex');
      const stale = NOW_SECONDS - 301;

      // Act
      const rotated = inspectWith(provider, {
        ...signed(EVENT),
        headers: { 'paddle-signature': `ts=${NOW_SECONDS};h1=${other};h1=${good}` },
      });
      const old = inspectWith(provider, {
        ...signed(EVENT),
        headers: { 'paddle-signature': paddleSignature(EVENT, stale) },
      });

      // Assess
      expect(rotated).toMatchObject({ kind: 'accept' });
      expect(old).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_old' });
    });

    it('refuses any single change to the body, the ts or the h1 signature with a 401, never a throw', () => {
      refusesEveryChange(
        provider,
        signed,
        (data) => JSON.stringify({ event_id: 'evt_p', event_type: 'x.y', data }),
        {
          body: bodyByte,
          timestamp: (input, { shift }) => {
            const h1 = (input.headers['paddle-signature'] ?? '').split(';h1=')[1] ?? '';
            return withHeader(input, 'paddle-signature', `ts=${NOW_SECONDS + shift};h1=${h1}`);
          },
          signature: (input, { position, pick }) => {
            const h1 = (input.headers['paddle-signature'] ?? '').split(';h1=')[1] ?? '';
            return withHeader(
              input,
              'paddle-signature',
              `ts=${NOW_SECONDS};h1=${changeOneCharacter(h1, position, pick)}`,
            );
          },
        },
      );
    });
  });

  describe('Preset: square', () => {
    const KEY = 'hookonce-square-signature-key-0001';
    const URL_CALLED = `https://${HOST}/webhooks/square`;
    const { config, provider } = preset('square', { preset: 'square' });
    const EVENT = JSON.stringify({
      merchant_id: '6SSW7HV8K2ST5',
      type: 'payment.updated',
      event_id: '6a8f5f28-54a1-4eb0-a98a-3111513fd4fc',
      created_at: '2100-01-01T00:00:00Z',
      data: { type: 'payment', id: 'hYy9pRFVxpDsO1FB05SunFWUe9JZY', object: { payment: {} } },
    });
    /** Square's documented signature: base64 HMAC-SHA256 of the notification URL followed by the body. */
    const squareSignature = (body: string, url = URL_CALLED) =>
      hmacOf('sha256', KEY, `${url}${body}`, 'base64');
    const signed = (body: string): InspectInput => ({
      headers: {
        host: HOST,
        'x-forwarded-proto': 'https',
        'x-square-hmacsha256-signature': squareSignature(body),
        'content-type': 'application/json',
      },
      body,
      secrets: [KEY],
      rawPath: '/webhooks/square',
    });

    it('resolves to hmac over {url}{body}, keyed by the signed event_id, kept 30 days (no timestamp)', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'x-square-hmacsha256-signature',
        signedContent: '{url}{body}',
        encoding: 'base64',
        retentionDays: 30,
      });
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([false, true]);
    });

    it("accepts what square's WebhooksHelper.verifySignature accepts on the same bytes, keyed by event_id, typed by type", async () => {
      // Prepare
      const input = signed(EVENT);
      const signature = input.headers['x-square-hmacsha256-signature'] ?? '';

      // Act
      const verdict = inspectWith(provider, input);
      const oracle = await SquareWebhooks.verifySignature({
        requestBody: EVENT,
        signatureHeader: signature,
        signatureKey: KEY,
        notificationUrl: URL_CALLED,
      });
      const otherUrl = await SquareWebhooks.verifySignature({
        requestBody: EVENT,
        signatureHeader: signature,
        signatureKey: KEY,
        notificationUrl: `${URL_CALLED}/`,
      });

      // Assess
      expect(oracle).toBe(true);
      expect(otherUrl).toBe(false);
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: '6a8f5f28-54a1-4eb0-a98a-3111513fd4fc',
        eventType: 'payment.updated',
        keptHeaders: { 'content-type': 'application/json' },
      });
    });

    it('verifies the URL entered in Square when publicUrl names it (a custom domain), query string included', async () => {
      // Prepare
      const publicUrl = 'https://api.example.org/square/events';
      const custom = preset('square', { preset: 'square', publicUrl }).provider;
      const signature = squareSignature(EVENT, `${publicUrl}?shop=7`);

      // Act
      const verdict = inspectWith(custom, {
        ...signed(EVENT),
        headers: { ...signed(EVENT).headers, 'x-square-hmacsha256-signature': signature },
        rawQueryString: 'shop=7',
      });
      const oracle = await SquareWebhooks.verifySignature({
        requestBody: EVENT,
        signatureHeader: signature,
        signatureKey: KEY,
        notificationUrl: `${publicUrl}?shop=7`,
      });

      // Assess
      expect(oracle).toBe(true);
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: '6a8f5f28-54a1-4eb0-a98a-3111513fd4fc',
      });
    });

    it('refuses any single change to the body, the host, the path, the query or the signature with a 401, never a throw', () => {
      refusesEveryChange(
        provider,
        signed,
        (data) => JSON.stringify({ event_id: 'e-p', type: 'payment.created', data }),
        {
          body: bodyByte,
          host: (input, { position, pick }) =>
            withHeader(input, 'host', changeOneCharacter(HOST, position, pick)),
          path: (input, { position, pick }) => ({
            ...input,
            rawPath: changeOneCharacter('/webhooks/square', position, pick),
          }),
          query: (input) => ({ ...input, rawQueryString: 'a=1' }),
          scheme: (input) => withHeader(input, 'x-forwarded-proto', 'http'),
          signature: signatureChar('x-square-hmacsha256-signature'),
        },
      );
    });
  });

  describe('Preset: workos', () => {
    const SECRET = 'hookonce_workos_signing_secret_0001';
    const { config, provider } = preset('workos', { preset: 'workos' });
    const workos = new WorkOS('sk_test_hookonce_oracle_never_calls_the_api');
    const EVENT = JSON.stringify({
      id: 'event_01HOOKONCE0000000000000000',
      event: 'dsync.user.created',
      data: { id: 'directory_user_01E1JJS84MFPPQ3G655FHTKX6Z', state: 'active' },
      created_at: '2100-01-01T00:00:00.000Z',
    });
    /** `WorkOS-Signature` with the SDK's own computeSignature: `t=<ms>, v1=<hex>`. */
    const workosSignature = async (body: string, t = NOW) =>
      `t=${t}, v1=${await workos.webhooks.computeSignature(t, body, SECRET)}`;
    const signedWith = (body: string, header: string): InspectInput => ({
      headers: { 'workos-signature': header, 'content-type': 'application/json' },
      body,
      secrets: [SECRET],
    });

    it('resolves to hmac over {timestamp}.{body} with a millisecond t=, ±180 s, keyed by the signed id, kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'workos-signature',
        structured: { separator: ',', assignment: '=', signatureKey: 'v1', timestampKey: 't' },
        timestampFormat: 'milliseconds',
        toleranceSeconds: 180,
        retentionDays: 7,
      });
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([true, true]);
    });

    it("accepts what @workos-inc/node's computeSignature signs and constructEvent accepts, keyed by id, typed by event", async () => {
      // Prepare
      const header = await workosSignature(EVENT);

      // Act
      const verdict = inspectWith(provider, signedWith(EVENT, header));
      const event = await atNow(() =>
        workos.webhooks.constructEvent({ payload: EVENT, sigHeader: header, secret: SECRET }),
      );

      // Assess
      expect(event).toMatchObject({
        id: 'event_01HOOKONCE0000000000000000',
        event: 'dsync.user.created',
      });
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'event_01HOOKONCE0000000000000000',
        eventType: 'dsync.user.created',
        keptHeaders: { 'content-type': 'application/json' },
      });
    });

    it('refuses a t= more than 180 s old, as the SDK does', async () => {
      // Prepare
      const header = await workosSignature(EVENT, NOW - 180_001);

      // Act
      const verdict = inspectWith(provider, signedWith(EVENT, header));
      const oracle = atNow(() =>
        workos.webhooks.constructEvent({ payload: EVENT, sigHeader: header, secret: SECRET }),
      );

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_old' });
      await expect(oracle).rejects.toThrow('Timestamp outside the tolerance zone');
    });

    it('refuses any single change to the body, the t= or the v1= with a 401, never a throw', () => {
      const sign = (body: string, t: number) =>
        `t=${t}, v1=${hmacOf('sha256', SECRET, `${t}.${body}`, 'hex')}`;
      refusesEveryChange(
        provider,
        (body) => signedWith(body, sign(body, NOW)),
        (data) => JSON.stringify({ id: 'event_p', event: 'x.y', data }),
        {
          body: bodyByte,
          timestamp: (input, { shift }) => {
            const v1 = (input.headers['workos-signature'] ?? '').split(', v1=')[1] ?? '';
            return withHeader(input, 'workos-signature', `t=${NOW + shift}, v1=${v1}`);
          },
          signature: (input, { position, pick }) => {
            const v1 = (input.headers['workos-signature'] ?? '').split(', v1=')[1] ?? '';
            return withHeader(
              input,
              'workos-signature',
              `t=${NOW}, v1=${changeOneCharacter(v1, position, pick)}`,
            );
          },
        },
      );
    });
  });

  describe('Preset: razorpay', () => {
    const SECRET = 'hookonce-razorpay-webhook-secret';
    const { config, provider, warnings } = preset('razorpay', { preset: 'razorpay' });
    const EVENT = JSON.stringify({
      entity: 'event',
      account_id: 'acc_BFQ7uQEaa7j2z7',
      event: 'payment.captured',
      contains: ['payment'],
      payload: { payment: { entity: { id: 'pay_DESlfW9H8K9uqM', amount: 100, currency: 'INR' } } },
      created_at: 4102444800,
    });
    /** Razorpay's documented signature: hex HMAC-SHA256 of the body. */
    const signed = (body: string): InspectInput => ({
      headers: {
        'x-razorpay-signature': hmacOf('sha256', SECRET, body, 'hex'),
        'x-razorpay-event-id': 'JfHsUQUDbOVvjB',
        'content-type': 'application/json',
      },
      body,
      secrets: [SECRET],
    });

    it('resolves to hmac over the body; the unsigned event id header is kept, not the key, and kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'x-razorpay-signature',
        signedContent: '{body}',
        deliveryId: { header: 'x-razorpay-event-id' },
        retentionDays: 30,
      });
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([false, false]);
      // The preset's own unsigned id header is documented, not warned about.
      expect(warnings).toEqual([]);
    });

    it("accepts what razorpay's validateWebhookSignature accepts on the same bytes, keyed by the body, the event id kept", () => {
      // Prepare
      const input = signed(EVENT);
      const signature = input.headers['x-razorpay-signature'] ?? '';

      // Act
      const verdict = inspectWith(provider, input);
      const retry = inspectWith(provider, withHeader(input, 'x-razorpay-event-id', 'Other01'));

      // Assess
      expect(Razorpay.validateWebhookSignature(EVENT, signature, SECRET)).toBe(true);
      expect(Razorpay.validateWebhookSignature(`${EVENT} `, signature, SECRET)).toBe(false);
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(EVENT),
        providerDeliveryId: 'JfHsUQUDbOVvjB',
        eventType: 'payment.captured',
        keptHeaders: {
          'content-type': 'application/json',
          'x-razorpay-event-id': 'JfHsUQUDbOVvjB',
        },
      });
      // The same signed body under another id is the same delivery.
      expect(retry).toMatchObject({ kind: 'accept', deliveryId: sha256(EVENT) });
    });

    it('refuses any single change to the body or the signature with a 401, never a throw', () => {
      refusesEveryChange(
        provider,
        signed,
        (data) => JSON.stringify({ event: 'payment.failed', data }),
        { body: bodyByte, signature: signatureChar('x-razorpay-signature') },
      );
    });
  });

  describe('Preset: hubspot', () => {
    const CLIENT_SECRET = 'hookonce-hubspot-client-secret-01';
    const QUERY = 'portalId=62515';
    const URL_CALLED = `https://${HOST}/webhooks/hubspot?${QUERY}`;
    const { config, provider } = preset('hubspot', { preset: 'hubspot' });
    const BATCH = JSON.stringify([
      {
        eventId: 1003,
        subscriptionId: 2345,
        portalId: 62515,
        appId: 54321,
        occurredAt: NOW - 1000,
        subscriptionType: 'contact.creation',
        attemptNumber: 0,
        objectId: 123,
        changeFlag: 'CREATED',
        changeSource: 'CRM',
      },
    ]);
    /** HubSpot's documented v3 signature: base64 HMAC-SHA256 of method + URI + body + timestamp. */
    const hubspotSignature = (body: string, ts: number, method = 'POST', url = URL_CALLED) =>
      hmacOf('sha256', CLIENT_SECRET, `${method}${url}${body}${ts}`, 'base64');
    const signedAt = (body: string, ts: number): InspectInput => ({
      headers: {
        host: HOST,
        'x-forwarded-proto': 'https',
        'x-hubspot-signature-v3': hubspotSignature(body, ts),
        'x-hubspot-request-timestamp': String(ts),
        'content-type': 'application/json',
      },
      body,
      secrets: [CLIENT_SECRET],
      rawPath: '/webhooks/hubspot',
      rawQueryString: QUERY,
    });
    const signed = (body: string) => signedAt(body, NOW);

    it('resolves to hmac over {method}{url}{body}{timestamp} with a millisecond timestamp header, kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'x-hubspot-signature-v3',
        timestampHeader: 'x-hubspot-request-timestamp',
        timestampFormat: 'milliseconds',
        signedContent: '{method}{url}{body}{timestamp}',
        encoding: 'base64',
        eventType: 'events',
        retentionDays: 7,
      });
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([true, false]);
    });

    it("accepts what @hubspot/api-client's Signature.isValid (v3) accepts on the same bytes, keyed by the signed method, URL and body", async () => {
      // Prepare
      const input = signed(BATCH);
      const signature = input.headers['x-hubspot-signature-v3'] ?? '';

      // Act
      const verdict = inspectWith(provider, input);
      const later = inspectWith(provider, { ...signedAt(BATCH, NOW + 5000), now: NOW + 5000 });
      const oracle = await atNow(() =>
        HubSpotSignature.isValid({
          signatureVersion: 'v3',
          signature,
          clientSecret: CLIENT_SECRET,
          requestBody: BATCH,
          url: URL_CALLED,
          method: 'POST',
          timestamp: NOW,
        }),
      );

      // Assess
      expect(oracle).toBe(true);
      expect(verdict).toMatchObject({ kind: 'accept', eventType: 'events' });
      expect(verdict).not.toHaveProperty('unsignedEventType');
      const key = (verdict as { deliveryId: string }).deliveryId;
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      expect(key).not.toBe(sha256(BATCH));
      // Signed again at another time, the same request is the same delivery.
      expect(later).toMatchObject({ kind: 'accept', deliveryId: key });
    });

    it('refuses a timestamp more than 5 minutes old, as the SDK does', async () => {
      // Prepare
      const ts = NOW - 300_001;
      const input = signedAt(BATCH, ts);

      // Act
      const verdict = inspectWith(provider, input);
      const oracle = atNow(() =>
        HubSpotSignature.isValid({
          signatureVersion: 'v3',
          signature: input.headers['x-hubspot-signature-v3'] ?? '',
          clientSecret: CLIENT_SECRET,
          requestBody: BATCH,
          url: URL_CALLED,
          method: 'POST',
          timestamp: ts,
        }),
      );

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_old' });
      await expect(oracle).rejects.toThrow('Timestamp is invalid');
    });

    it('refuses any single change to the body, the timestamp, the method, the host, the path, the query or the signature with a 401, never a throw', () => {
      refusesEveryChange(
        provider,
        signed,
        (data) => JSON.stringify([{ eventId: 1, subscriptionType: 'deal.creation', data }]),
        {
          body: bodyByte,
          timestamp: (input, { shift }) =>
            withHeader(input, 'x-hubspot-request-timestamp', String(NOW + shift)),
          method: (input, { pick }) => ({ ...input, method: pick % 2 === 0 ? 'PUT' : 'post' }),
          host: (input, { position, pick }) =>
            withHeader(input, 'host', changeOneCharacter(HOST, position, pick)),
          path: (input, { position, pick }) => ({
            ...input,
            rawPath: changeOneCharacter('/webhooks/hubspot', position, pick),
          }),
          query: (input, { position, pick }) => ({
            ...input,
            rawQueryString: changeOneCharacter(QUERY, position, pick),
          }),
          signature: signatureChar('x-hubspot-signature-v3'),
        },
      );
    });
  });

  describe.each([
    {
      name: 'clerk',
      event: {
        data: { id: 'user_29w83sxmDNGwOuEthce5gg56FcC', object: 'user' },
        object: 'event',
        type: 'user.created',
        timestamp: NOW,
      },
      type: 'user.created',
    },
    {
      name: 'resend',
      event: {
        type: 'email.delivered',
        created_at: '2100-01-01T00:00:00.000Z',
        data: { email_id: '56761188-7520-42d8-8898-ff6fc54ce618', to: ['delivered@resend.dev'] },
      },
      type: 'email.delivered',
    },
  ])('Preset: $name (Svix)', ({ name, event, type }) => {
    const SECRET = `whsec_${Buffer.from(`hookonce-${name}-svix-secret-24b`).toString('base64')}`;
    const { config, provider } = preset(name, { preset: name } as ProviderDeclaration);
    const EVENT = JSON.stringify(event);
    const svix = new SvixWebhook(SECRET);
    /** Headers as Svix sends them, signed by the svix package. */
    const signedAs = (body: string, id = 'msg_2hookonce0svix', at = NOW): InspectInput => ({
      headers: {
        'svix-id': id,
        'svix-timestamp': String(Math.floor(at / 1000)),
        'svix-signature': svix.sign(id, new Date(at), body),
        'content-type': 'application/json',
      },
      body,
      secrets: [SECRET],
    });
    const signed = (body: string) => signedAs(body);

    it('resolves to hmac over {id}.{timestamp}.{body} with a whsec_ secret, keyed by the signed svix-id, kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'svix-signature',
        structured: { separator: ' ', assignment: ',', signatureKey: 'v1' },
        timestampHeader: 'svix-timestamp',
        signedContent: '{id}.{timestamp}.{body}',
        secretEncoding: 'whsec',
        retentionDays: 7,
      });
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([true, true]);
    });

    it("accepts what svix signs and svix's verify accepts, keyed by svix-id, typed by type", async () => {
      // Prepare
      const input = signed(EVENT);
      const headers = input.headers as Record<string, string>;

      // Act
      const verdict = inspectWith(provider, input);
      const oracle = atNow(() => svix.verify(EVENT, headers));
      const forged = atNow(() => svix.verify(`${EVENT} `, headers));

      // Assess
      await expect(oracle).resolves.toBeUndefined();
      await expect(forged).rejects.toThrow();
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'msg_2hookonce0svix',
        eventType: type,
        keptHeaders: {
          'content-type': 'application/json',
          'svix-id': 'msg_2hookonce0svix',
          'svix-timestamp': String(NOW_SECONDS),
        },
      });
    });

    it('accepts a header that lists a signature per secret while one rotates', () => {
      // Prepare
      const input = signed(EVENT);
      const old = new SvixWebhook(`whsec_${Buffer.alloc(24, 7).toString('base64')}`).sign(
        'msg_2hookonce0svix',
        new Date(NOW),
        EVENT,
      );

      // Act
      const verdict = inspectWith(
        provider,
        withHeader(input, 'svix-signature', `${old} ${input.headers['svix-signature']}`),
      );

      // Assess
      expect(verdict).toMatchObject({ kind: 'accept' });
    });

    it('refuses any single change to the body, svix-timestamp, svix-id or the signature with a 401, never a throw', () => {
      refusesEveryChange(provider, signed, (data) => JSON.stringify({ type, data }), {
        body: bodyByte,
        timestamp: (input, { shift }) =>
          withHeader(input, 'svix-timestamp', String(NOW_SECONDS + shift)),
        id: (input, { position, pick }) =>
          withHeader(input, 'svix-id', changeOneCharacter('msg_2hookonce0svix', position, pick)),
        signature: (input, { position, pick }) => {
          const [version, text = ''] = (input.headers['svix-signature'] ?? '').split(',');
          return withHeader(
            input,
            'svix-signature',
            `${version},${changeOneCharacter(text, position, pick)}`,
          );
        },
      });
    });
  });

  describe('Preset: linear', () => {
    const SECRET = 'lin_wh_hookonce0linear0signing0secret01';
    const DELIVERY = '234d1a4e-b617-4388-90fe-adc3633d6b72';
    const { config, provider, warnings } = preset('linear', { preset: 'linear' });
    const linear = new LinearWebhookClient(SECRET);
    const ISSUE = { id: '2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9', title: 'Hook once' };
    /** An Issue event as Linear sends it, its webhookTimestamp `at` (left out when undefined). */
    const eventAt = (at: unknown, changes: Record<string, unknown> = {}) =>
      JSON.stringify({
        action: 'create',
        type: 'Issue',
        data: ISSUE,
        url: 'https://linear.app/acme/issue/ENG-1',
        createdAt: '2100-01-01T00:00:00.000Z',
        webhookTimestamp: at,
        ...changes,
      });
    /** Linear's documented signature: the hex HMAC-SHA256 of the raw body, the signing secret as text. */
    const signed = (body: string | Buffer, delivery = DELIVERY): InspectInput => ({
      headers: {
        'linear-signature': hmacOf('sha256', SECRET, body, 'hex'),
        'linear-delivery': delivery,
        'content-type': 'application/json',
      },
      body,
      secrets: [SECRET],
    });
    /** @linear/sdk's LinearWebhookClient.verify on the same bytes, its clock at NOW: true, or what it throws. */
    const sdk = (input: InspectInput) =>
      atNow(() => {
        try {
          return linear.verify(Buffer.from(input.body), input.headers['linear-signature'] ?? '');
        } catch (error) {
          return (error as Error).message;
        }
      });
    /** The key of a body whose webhookTimestamp is `at`: the SHA-256 of the 4-byte length of what precedes the value, that, and what follows it. */
    const keyOf = (body: string, at: number) => {
      const cut = body.indexOf(`"webhookTimestamp":${at}`) + `"webhookTimestamp":`.length;
      const length = Buffer.alloc(4);
      length.writeUInt32BE(Buffer.byteLength(body.slice(0, cut)));
      return createHash('sha256')
        .update(length)
        .update(body.slice(0, cut))
        .update(body.slice(cut + String(at).length))
        .digest('hex');
    };

    it('resolves to hmac-sha256 over the body with the body’s webhookTimestamp (ms, ±60 s), the unsigned Linear-Delivery kept, kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'linear-signature',
        algorithm: 'sha256',
        encoding: 'hex',
        signedContent: '{body}',
        timestampField: 'webhookTimestamp',
        timestampFormat: 'milliseconds',
        toleranceSeconds: 60,
        deliveryId: { header: 'linear-delivery' },
        eventTypeField: 'type',
        retentionDays: 7,
      });
      expect(config).not.toHaveProperty('timestampHeader');
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([true, false]);
      expect(warnings).toEqual([]);
    });

    it.each([
      ['now', NOW],
      ['60 s old', NOW - 60_000],
      ['60 s ahead', NOW + 60_000],
    ])(
      "accepts a webhookTimestamp %s, as @linear/sdk's LinearWebhookClient.verify does, keyed by the body without it, Linear-Delivery kept",
      async (_, at) => {
        // Prepare
        const body = eventAt(at);
        const input = signed(body);

        // Act
        const verdict = inspectWith(provider, input);
        const oracle = await sdk(input);

        // Assess
        expect(oracle).toBe(true);
        expect(verdict).toEqual({
          kind: 'accept',
          deliveryId: keyOf(body, at),
          providerDeliveryId: DELIVERY,
          eventType: 'Issue',
          keptHeaders: { 'content-type': 'application/json', 'linear-delivery': DELIVERY },
        });
      },
    );

    it.each([
      ['61 s old', NOW - 61_000, 'timestamp_too_old', 'Invalid webhook timestamp'],
      ['61 s ahead', NOW + 61_000, 'timestamp_too_new', 'Invalid webhook timestamp'],
      ['missing', undefined, 'missing_timestamp', 'Missing webhook timestamp'],
      ['null', null, 'missing_timestamp', 'Missing webhook timestamp'],
      ['a string of digits', String(NOW), 'malformed_timestamp', 'Invalid webhook timestamp'],
      [
        'an ISO 8601 text',
        new Date(NOW).toISOString(),
        'malformed_timestamp',
        'Invalid webhook timestamp',
      ],
      ['an object', { ms: NOW }, 'malformed_timestamp', 'Invalid webhook timestamp'],
    ])(
      'refuses a correctly signed body whose webhookTimestamp is %s with a 401, as the SDK does',
      async (_, at, code, thrown) => {
        // Prepare
        const input = signed(eventAt(at));

        // Act
        const verdict = inspectWith(provider, input);
        const oracle = await sdk(input);

        // Assess
        expect(verdict).toMatchObject({ kind: 'reject', status: 401, code });
        expect(oracle).toBe(thrown);
      },
    );

    it('refuses a correctly signed body that is not JSON with 401 missing_timestamp; the SDK cannot parse it either', async () => {
      // Prepare
      const input = signed('webhookTimestamp=1');

      // Act
      const verdict = inspectWith(provider, input);
      const oracle = await sdk(input);

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'missing_timestamp' });
      expect(oracle).not.toBe(true);
    });

    it('refuses a forged signature as the SDK does, before it reads the body: a stale one is a mismatch, not a timestamp refusal', async () => {
      // Prepare
      const body = eventAt(NOW);
      const forgedBody = { ...signed(body), body: eventAt(NOW, { action: 'remove' }) };
      const otherSecret = { ...signed(body), secrets: ['lin_wh_another0secret0of0this0length'] };
      const stale = {
        ...signed(eventAt(NOW - 3_600_000)),
        body: eventAt(NOW - 3_600_000, { type: 'Comment' }),
      };
      const oracleSecret = await atNow(() => {
        try {
          return new LinearWebhookClient('lin_wh_another0secret0of0this0length').verify(
            Buffer.from(body),
            signed(body).headers['linear-signature'] ?? '',
          );
        } catch (error) {
          return (error as Error).message;
        }
      });

      // Act
      const verdicts = [forgedBody, otherSecret, stale].map((input) =>
        inspectWith(provider, input),
      );
      const oracles = [await sdk(forgedBody), await sdk(stale)];

      // Assess
      for (const verdict of verdicts) {
        expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
      }
      expect(oracles).toEqual(['Invalid webhook signature', 'Invalid webhook signature']);
      expect(oracleSecret).toBe('Invalid webhook signature');
      expect(parsedBeforeVerdict(provider, stale)).toBe(false);
    });

    it('keys a retry that differs from the first attempt only in webhookTimestamp as the same delivery, whatever its Linear-Delivery', async () => {
      // Prepare: Linear's first attempt, and its retry 45 s later with a fresh webhookTimestamp.
      const first = signed(eventAt(NOW - 45_000));
      const retry = signed(eventAt(NOW), 'f5c8a1e2-0000-4000-8000-000000000001');

      // Act
      const verdicts = [
        inspectWith(provider, { ...first, now: NOW - 45_000 }),
        inspectWith(provider, retry),
      ];
      const oracle = await sdk(retry);

      // Assess
      expect(oracle).toBe(true);
      expect(verdicts[0]).toMatchObject({ kind: 'accept', providerDeliveryId: DELIVERY });
      expect(verdicts[1]).toMatchObject({
        kind: 'accept',
        providerDeliveryId: 'f5c8a1e2-0000-4000-8000-000000000001',
      });
      const [a, b] = verdicts.map((v) => (v.kind === 'accept' ? v.deliveryId : v.kind));
      expect(a).toBe(b);
      expect(a).not.toBe(sha256(String(first.body)));
    });

    it('keys bodies that differ in anything but webhookTimestamp as different deliveries', () => {
      // Prepare
      const bodies = [
        eventAt(NOW),
        eventAt(NOW, { action: 'update' }),
        eventAt(NOW, { type: 'Comment' }),
        eventAt(NOW, { data: { ...ISSUE, title: 'Hook twice' } }),
        eventAt(NOW, { data: { ...ISSUE, webhookTimestamp: NOW } }),
        eventAt(NOW).replace(`"webhookTimestamp":${NOW}`, `"webhookTimestamp": ${NOW}`),
        `${eventAt(NOW)}\n`,
      ];

      // Act
      const keys = bodies.map((body) => {
        const verdict = inspectWith(provider, signed(body));
        return verdict.kind === 'accept' ? verdict.deliveryId : verdict.kind;
      });

      // Assess: every one accepted, no two alike.
      expect(keys.every((key) => /^[0-9a-f]{64}$/.test(key))).toBe(true);
      expect(new Set(keys).size).toBe(bodies.length);
      // A nested member of the same name: the body cannot be cut, so it is keyed whole.
      expect(keys[4]).toBe(sha256(bodies[4] ?? ''));
    });

    it('refuses any single change to the body or the signature with a 401, never a throw', () => {
      refusesEveryChange(provider, signed, (data) => eventAt(NOW, { data }), {
        body: bodyByte,
        timestamp: (input, { shift }) => ({
          ...input,
          body: String(input.body).replace(
            `"webhookTimestamp":${NOW}`,
            `"webhookTimestamp":${NOW + shift}`,
          ),
        }),
        signature: signatureChar('linear-signature'),
      });
    });
  });

  describe.each([
    {
      name: 'lemonsqueezy',
      header: 'x-signature',
      algorithm: 'sha256' as const,
      event: {
        meta: { event_name: 'order_created', custom_data: { customer_id: 25 } },
        data: { type: 'orders', id: '1', attributes: { status: 'paid' } },
      },
      type: 'order_created',
      extra: { 'x-event-name': 'order_created' },
      providerDeliveryId: undefined,
    },
    {
      name: 'paystack',
      header: 'x-paystack-signature',
      algorithm: 'sha512' as const,
      event: {
        event: 'charge.success',
        data: { id: 302961, status: 'success', reference: 'qTPrJoy9Bx', amount: 10000 },
      },
      type: 'charge.success',
      extra: {},
      providerDeliveryId: undefined,
    },
  ])('Preset: $name (hex HMAC of the body)', (p) => {
    const SECRET = `hookonce-${p.name}-signing-secret`;
    const { config, provider } = preset(p.name, { preset: p.name } as ProviderDeclaration);
    const EVENT = JSON.stringify(p.event);
    /** The documented signature: the hex HMAC of the raw body with the secret as text. */
    const signed = (body: string): InspectInput => ({
      headers: {
        [p.header]: hmacOf(p.algorithm, SECRET, body, 'hex'),
        'content-type': 'application/json',
        ...p.extra,
      },
      body,
      secrets: [SECRET],
    });

    it(`resolves to hmac-${p.algorithm} over the body in ${p.header}, keyed by the body, kept 30 days`, () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: p.header,
        algorithm: p.algorithm,
        encoding: 'hex',
        signedContent: '{body}',
        retentionDays: 30,
      });
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([false, false]);
    });

    it('accepts the documented signature (node:crypto), keyed by the SHA-256 of the body and typed from the signed body', () => {
      // Prepare
      const input = signed(EVENT);

      // Act
      const verdict = inspectWith(provider, input);
      const unsigned = inspectWith(provider, {
        ...input,
        secrets: ['another-secret-of-this-length'],
      });

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: sha256(EVENT),
        eventType: p.type,
      });
      expect(verdict).not.toHaveProperty('unsignedEventType');
      if (p.providerDeliveryId) {
        expect(verdict).toMatchObject({ providerDeliveryId: p.providerDeliveryId });
      } else {
        expect(verdict).not.toHaveProperty('providerDeliveryId');
      }
      expect(unsigned).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('refuses any single change to the body or the signature with a 401, never a throw', () => {
      refusesEveryChange(provider, signed, (data) => JSON.stringify({ ...p.event, data }), {
        body: bodyByte,
        signature: signatureChar(p.header),
      });
    });
  });

  describe('Preset: gitlab', () => {
    const TOKEN = 'hookonce-gitlab-secret-token-01';
    const { config, provider } = preset('gitlab', { preset: 'gitlab' });
    const PUSH = JSON.stringify({
      object_kind: 'push',
      event_name: 'push',
      ref: 'refs/heads/main',
      checkout_sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      project_id: 15,
    });
    /** Headers as GitLab documents them: the secret token verbatim, the event name with spaces. */
    const sent = (body: string, token = TOKEN): InspectInput => ({
      headers: {
        'x-gitlab-token': token,
        'x-gitlab-event': 'Push Hook',
        'x-gitlab-event-uuid': '13792a34-cac6-4fda-95a8-c58e00a3954e',
        'content-type': 'application/json',
      },
      body,
      secrets: [TOKEN],
    });

    it('resolves to the token family in X-Gitlab-Token, typed by object_kind, kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'token',
        header: 'x-gitlab-token',
        prefix: '',
        deliveryId: { header: 'x-gitlab-event-uuid' },
        eventTypeField: 'object_kind',
        retentionDays: 30,
      });
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([false, false]);
    });

    it('accepts the token GitLab sends, keyed by the body, the event UUID kept, the type from object_kind marked unsigned', () => {
      // Act
      const verdict = inspectWith(provider, sent(PUSH));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(PUSH),
        providerDeliveryId: '13792a34-cac6-4fda-95a8-c58e00a3954e',
        eventType: 'push',
        unsignedEventType: true,
        keptHeaders: {
          'content-type': 'application/json',
          'x-gitlab-event-uuid': '13792a34-cac6-4fda-95a8-c58e00a3954e',
        },
      });
    });

    it('refuses an object_kind outside the strict pattern with 400 malformed_event_type', () => {
      // Act
      const verdict = inspectWith(provider, sent(JSON.stringify({ object_kind: 'Push Hook' })));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_event_type' });
    });

    it('refuses any single change to the token with a 401, never a throw', () => {
      refusesEveryChange(provider, sent, (data) => JSON.stringify({ object_kind: 'note', data }), {
        token: (input, { position, pick }) =>
          withHeader(input, 'x-gitlab-token', changeOneCharacter(TOKEN, position, pick)),
        missing: (input) => withHeader(input, 'x-gitlab-token', ''),
      });
    });
  });

  describe('Preset: adyen', () => {
    /** An Adyen HMAC key: 64 hex digits, as the Customer Area shows it. */
    const HMAC_KEY = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056';
    const { config, provider, warnings } = preset('adyen', { preset: 'adyen' });
    const adyen = new AdyenHmacValidator();
    type Item = Record<string, unknown> & { additionalData?: Record<string, unknown> };
    const ITEM: Item = {
      additionalData: { recurring$shopperReference: 'ref-1', authCode: '58747' },
      amount: { currency: 'EUR', value: 1130 },
      eventCode: 'AUTHORISATION',
      eventDate: '2100-01-01T01:00:00+01:00',
      merchantAccountCode: 'TestMerchant',
      merchantReference: 'order-7',
      paymentMethod: 'visa',
      pspReference: '7914073381342284',
      reason: '1234:7777:12/2012',
      success: 'true',
    };
    /** An item signed by Adyen's own library (HmacValidator.calculateHmac). */
    const signedItem = (item: Item, key = HMAC_KEY): Item => ({
      ...item,
      additionalData: {
        ...item.additionalData,
        hmacSignature: adyen.calculateHmac(item as never, key),
      },
    });
    const notification = (...items: Item[]) =>
      JSON.stringify({
        live: 'false',
        notificationItems: items.map((i) => ({ NotificationRequestItem: i })),
      });
    const sent = (body: string): InspectInput => ({
      headers: { 'content-type': 'application/json' },
      body,
      secrets: [HMAC_KEY],
    });
    /** What the key covers: each signed field, length first, in the template's order. */
    const signedFieldsKey = (item: Item) => {
      const hash = createHash('sha256');
      for (const path of [
        'pspReference',
        'originalReference',
        'merchantAccountCode',
        'merchantReference',
        'amount.value',
        'amount.currency',
        'eventCode',
        'success',
      ]) {
        const value = valueAt(item, path);
        const bytes = Buffer.from(value === undefined ? '' : String(value));
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        hash.update(length).update(bytes);
      }
      return hash.digest('hex');
    };

    it('resolves to hmac with the signature in each notification item, a hex key, kept 35 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        preset: 'adyen',
        signatureField: 'notificationItems.*.NotificationRequestItem.additionalData.hmacSignature',
        algorithm: 'sha256',
        encoding: 'base64',
        secretEncoding: 'hex',
        eventTypeField: 'notificationItems.0.NotificationRequestItem.eventCode',
        retentionDays: 35,
      });
      expect(config).not.toHaveProperty('header');
      expect([signsTimestamp(config), signsDeliveryId(config)]).toEqual([false, false]);
      expect(warnings).toEqual([]);
    });

    it("accepts an item signed by @adyen/api-library's HmacValidator, which validateHMAC accepts too, keyed by the signed fields, typed by its signed eventCode", () => {
      // Prepare
      const item = signedItem(ITEM);
      const body = notification(item);

      // Act
      const verdict = inspectWith(provider, sent(body));
      const oracle = adyen.validateHMAC(item as never, HMAC_KEY);

      // Assess
      expect(oracle).toBe(true);
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: signedFieldsKey(ITEM),
        eventType: 'AUTHORISATION',
        keptHeaders: { 'content-type': 'application/json' },
      });
    });

    it('keys a delivery by its signed fields only: a change to an unsigned field is the same delivery, another eventCode or success is another', () => {
      // Prepare
      const base = inspectWith(provider, sent(notification(signedItem(ITEM))));
      const unsignedChanged = {
        ...signedItem(ITEM),
        reason: 'changed',
        eventDate: '2100-01-02T00:00:00+01:00',
      };

      // Act
      const sameEvent = inspectWith(provider, sent(notification(unsignedChanged)));
      const failed = inspectWith(
        provider,
        sent(notification(signedItem({ ...ITEM, success: 'false' }))),
      );
      const captured = inspectWith(
        provider,
        sent(notification(signedItem({ ...ITEM, eventCode: 'CAPTURE' }))),
      );

      // Assess
      expect(adyen.validateHMAC(unsignedChanged as never, HMAC_KEY)).toBe(true);
      expect(sameEvent).toMatchObject({ kind: 'accept', deliveryId: signedFieldsKey(ITEM) });
      const keys = [base, failed, captured].map((v) => (v as { deliveryId: string }).deliveryId);
      expect(new Set(keys).size).toBe(3);
      expect(captured).toMatchObject({ eventType: 'CAPTURE' });
    });

    it('verifies every item of a batch, and refuses the batch when any one of them is forged', () => {
      // Prepare
      const second = { ...ITEM, pspReference: '7914073381342285', merchantReference: 'order-8' };
      const forged = signedItem(second, 'AA'.repeat(32));

      // Act
      const both = inspectWith(provider, sent(notification(signedItem(ITEM), signedItem(second))));
      const oneForged = inspectWith(provider, sent(notification(signedItem(ITEM), forged)));

      // Assess
      expect(both).toMatchObject({ kind: 'accept', eventType: 'AUTHORISATION' });
      expect((both as { deliveryId: string }).deliveryId).not.toBe(signedFieldsKey(ITEM));
      expect(adyen.validateHMAC(forged as never, HMAC_KEY)).toBe(false);
      expect(oneForged).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it.each<[string, string, string]>([
      ['a body that is not JSON', 'not json', 'missing_signature'],
      ['no notificationItems', JSON.stringify({ live: 'false' }), 'missing_signature'],
      ['an empty notificationItems', notification(), 'missing_signature'],
      ['an item without hmacSignature', notification(ITEM), 'missing_signature'],
      [
        'an hmacSignature that is not base64 of 32 bytes',
        notification({ ...ITEM, additionalData: { hmacSignature: 'abc' } }),
        'malformed_signature',
      ],
      [
        'seventeen items',
        notification(...Array.from({ length: 17 }, () => signedItem(ITEM))),
        'malformed_signature',
      ],
    ])('refuses %s with 401 %s', (_, body, code) => {
      // Act
      const verdict = inspectWith(provider, sent(body));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code });
    });

    it('refuses any single change to a signed field or to the signature with a 401, never a throw', () => {
      const FIELDS = [
        'pspReference',
        'originalReference',
        'merchantAccountCode',
        'merchantReference',
        'eventCode',
        'success',
      ] as const;
      fc.assert(
        fc.property(
          fc.constantFrom(...FIELDS, 'amount.value', 'amount.currency', 'signature'),
          fc.stringMatching(/^[A-Za-z0-9_-]{1,16}$/),
          fc.nat(),
          fc.nat(),
          (what, reference, position, pick) => {
            // Prepare
            const item = signedItem({ ...ITEM, merchantReference: reference });
            const signature = String(item.additionalData?.hmacSignature);
            const changed: Item =
              what === 'signature'
                ? {
                    ...item,
                    additionalData: {
                      ...item.additionalData,
                      hmacSignature: changeOneCharacter(signature, position, pick),
                    },
                  }
                : what === 'amount.value'
                  ? { ...item, amount: { currency: 'EUR', value: 1130 + (position % 1000) + 1 } }
                  : what === 'amount.currency'
                    ? {
                        ...item,
                        amount: {
                          currency: changeOneCharacter('EUR', position, pick),
                          value: 1130,
                        },
                      }
                    : {
                        ...item,
                        [what]: changeOneCharacter(String(item[what] ?? 'x'), position, pick),
                      };

            // Act
            const verdict = inspectWith(provider, sent(notification(changed)));

            // Assess
            expect(adyen.validateHMAC(changed as never, HMAC_KEY)).toBe(false);
            expect401(verdict);
          },
        ),
        { seed: SEED, numRuns: 300 },
      );
    });
  });

  describe('Family: a signature inside the JSON body (signatureField, {json:…})', () => {
    const SECRET = 'hookonce-body-field-secret-0001';

    it('refuses at resolve time {body} beside signatureField, a header beside it, and a "*" that is not the signature\'s array', () => {
      // Act
      const problems = (() => {
        try {
          resolveDeclaration({
            providers: {
              a: {
                scheme: 'hmac',
                signatureField: 'sig',
                signedContent: '{body}',
                algorithm: 'sha256',
                encoding: 'hex',
              },
              b: {
                scheme: 'hmac',
                header: 'x-sig',
                signatureField: 'sig',
                signedContent: '{json:id}',
                algorithm: 'sha256',
                encoding: 'hex',
              },
              c: {
                scheme: 'hmac',
                signatureField: 'items.*.sig',
                signedContent: '{json:other.*.id}',
                algorithm: 'sha256',
                encoding: 'hex',
              },
              d: {
                scheme: 'hmac',
                signatureField: 'a.*.b.*.sig',
                signedContent: '{json:id}',
                algorithm: 'sha256',
                encoding: 'hex',
              },
            },
            subscribers: {},
          });
        } catch (error) {
          return (error as Error).message;
        }
        return '';
      })();

      // Assess
      expect(problems).toContain(
        'provider "a": signedContent cannot hold {body} when the signature is in the body (signatureField)',
      );
      expect(problems).toContain(
        'provider "a": signedContent must sign fields of the body ({json:<path>})',
      );
      expect(problems).toContain(
        'provider "b": the signature is in header or in signatureField (the body), not both',
      );
      expect(problems).toContain(
        'provider "c": {json:other.*.id}: a "*" step is the element being verified, so it is only for the array of signatureField ("items.*")',
      );
      expect(problems).toContain(
        'provider "d": signatureField must be a dotted path into the JSON body, with at most one "*" step',
      );
    });

    it('keys by a signed body field named as the id, and keeps one the template does not sign for display, with a warning', () => {
      // Prepare
      const declare = (signedContent: string) =>
        preset('p', {
          scheme: 'hmac',
          signatureField: 'signature.value',
          signedContent,
          algorithm: 'sha256',
          encoding: 'hex',
          deliveryId: { jsonField: 'signature.token' },
          eventTypeField: 'event',
        });
      const signedToken = declare('{json:signature.timestamp}{json:signature.token}');
      const unsignedToken = declare('{json:signature.timestamp}');
      const body = (value: string) =>
        JSON.stringify({
          signature: { timestamp: '4102444800', token: 'tok-1', value },
          event: 'delivered',
        });
      const sig = (text: string) => hmacOf('sha256', SECRET, text, 'hex');

      // Act
      const keyed = inspectWith(signedToken.provider, {
        headers: {},
        body: body(sig('4102444800tok-1')),
        secrets: [SECRET],
      });
      const kept = inspectWith(unsignedToken.provider, {
        headers: {},
        body: body(sig('4102444800')),
        secrets: [SECRET],
      });

      // Assess: the type is a body field nothing signs, so it is marked unsigned.
      expect(signedToken.warnings).toEqual([]);
      expect(unsignedToken.warnings).toHaveLength(1);
      expect(keyed).toMatchObject({
        kind: 'accept',
        deliveryId: 'tok-1',
        eventType: 'delivered',
        unsignedEventType: true,
      });
      expect(kept).toMatchObject({
        kind: 'accept',
        providerDeliveryId: 'tok-1',
        unsignedEventType: true,
      });
      expect((kept as { deliveryId: string }).deliveryId).toMatch(/^[0-9a-f]{64}$/);
    });

    it('verifies an Ed25519 signature in the body (asymmetric) over a field, signed by tweetnacl', () => {
      // Prepare
      const pair = ed25519Pair(31);
      const { provider } = preset('p', {
        scheme: 'asymmetric',
        algorithm: 'ed25519',
        encoding: 'hex',
        publicKeys: [pair.publicHex],
        signatureField: 'proof',
        signedContent: 'v1:{json:id}',
        deliveryId: { jsonField: 'id' },
      });
      const body = (proof: string, id = 'evt_9') => JSON.stringify({ id, proof });

      // Act
      const good = inspectWith(provider, {
        headers: {},
        body: body(naclSignHex('v1:evt_9', pair.secretKey)),
        secrets: [],
      });
      const otherId = inspectWith(provider, {
        headers: {},
        body: body(naclSignHex('v1:evt_9', pair.secretKey), 'evt_8'),
        secrets: [],
      });

      // Assess
      expect(good).toMatchObject({ kind: 'accept', deliveryId: 'evt_9' });
      expect(otherId).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('reads an array element by its index in a dotted path, and renders {json:…} for a header signature too', () => {
      // Prepare
      const { provider, config } = preset('p', {
        scheme: 'hmac',
        header: 'x-sig',
        signedContent: '{json:items.1.id}|{body}',
        algorithm: 'sha256',
        encoding: 'hex',
        eventTypeField: 'items.0.type',
      });
      const body = JSON.stringify({ items: [{ type: 'a.b' }, { id: 7 }] });

      // Act
      const verdict = inspectWith(provider, {
        headers: signHmac(config as ResolvedHmac, { secret: SECRET, body }),
        body,
        secrets: [SECRET],
      });

      // Assess
      expect(valueAt({ a: [1, { b: 'x' }] }, 'a.1.b')).toBe('x');
      expect(valueAt({ a: [1] }, 'a.01')).toBeUndefined();
      expect(signHmac(config as ResolvedHmac, { secret: SECRET, body })).toEqual({
        'x-sig': hmacOf('sha256', SECRET, `7|${body}`, 'hex'),
      });
      expect(verdict).toMatchObject({ kind: 'accept', eventType: 'a.b' });
      expect(verdict).not.toHaveProperty('unsignedEventType');
    });

    it('cannot sign a request whose signature goes in its body: the signer says so', () => {
      // Prepare
      const { config } = preset('adyen', { preset: 'adyen' });

      // Act
      const signing = () =>
        signHmac(config as ResolvedHmac, { secret: 'AA'.repeat(32), body: '{}' });

      // Assess
      expect(signing).toThrow('only the sender can sign such a request');
    });
  });
});
