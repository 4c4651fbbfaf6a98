import {
  createHash,
  createHmac,
  generateKeyPairSync,
  hash,
  randomBytes,
  randomUUID,
  sign as signWith,
  timingSafeEqual,
  webcrypto,
} from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Task } from 'tinybench';
import { parseJson } from '../../functions/fanout/envelope.ts';
import { DEFAULT_INLINE_PAYLOAD_BYTES } from '../../functions/ingest/ingest.ts';
import { buildProviders } from '../../functions/providers/registry.ts';
import type { Provider, Verdict, WebhookRequest } from '../../functions/providers/types.ts';
import { systemClock } from '../../functions/shared/clock.ts';
import {
  type ProviderDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { lambdaContext, webhookEvent } from '../support/events.ts';
import { type Row, row } from './lib/report.ts';
import type { Settings } from './lib/settings.ts';
import { alternate, medianOf, verifierBench } from './lib/stats.ts';

/**
 * B3, per preset: each preset whose sender publishes a verifier in its SDK,
 * built from `{ preset }` as a user declares it, against that SDK's verify on the
 * same signed request. Median ns per verify; the target is hookonce ≤ 1.0× the SDK.
 */

const SIZES = [
  { label: '1 KiB', bytes: 1024 },
  { label: '64 KiB', bytes: 64 * 1024 },
] as const;

type Headers = Record<string, string>;
type Verify = (request: WebhookRequest, text: string) => unknown;

interface PresetCase {
  /** The row label: the preset's name. */
  readonly name: string;
  readonly preset: string;
  /** The SDK call, short, for the row. */
  readonly sdk: string;
  /** Declaration options beyond the preset (keys). */
  readonly options?: Record<string, unknown>;
  readonly secrets: readonly string[];
  /** A body of `bytes` bytes the preset accepts. */
  body(bytes: number, id: string): string;
  /** The request signed now, as the sender signs it. */
  sign(body: Buffer, nowMs: number): Promise<WebhookRequest>;
  /** The SDK's verifier, made once (keys imported once where the SDK allows it). */
  load(): Promise<Verify>;
  /**
   * For a preset that signs no delivery id, so the delivery is keyed by a SHA-256 of
   * what it signs: the least any verifier that names the delivery must do, one HMAC
   * over the signed content and one SHA-256 over the content that keys it, with
   * node:crypto and nothing else (the content joined before the timing).
   */
  digestFloor?(request: WebhookRequest): () => unknown;
}

const HOST = 'hooks.example.com';
const PATH = '/webhooks/bench';
const URL_CALLED = `https://${HOST}${PATH}`;

const request = (headers: Headers, rawBody: Buffer, extra: Partial<WebhookRequest> = {}) =>
  ({
    headers: {
      'content-type': 'application/json',
      host: HOST,
      'x-forwarded-proto': 'https',
      ...headers,
    },
    method: 'POST',
    rawBody,
    rawQueryString: '',
    rawPath: PATH,
    domainName: HOST,
    ...extra,
  }) satisfies WebhookRequest;

const hmac = (
  algorithm: string,
  key: string | Buffer,
  text: string | Buffer,
  encoding: 'hex' | 'base64',
) => createHmac(algorithm, key).update(text).digest(encoding);
const seconds = (ms: number) => Math.floor(ms / 1000);
const sha256 = (content: Buffer) => hash('sha256', content, 'hex');

/** A JSON object of `bytes` bytes: `head`, then a padding field. */
function padded(bytes: number, head: Record<string, unknown>): string {
  const room = bytes - JSON.stringify({ ...head, padding: '' }).length;
  if (room < 0) throw new Error(`a body of ${bytes} bytes is too small`);
  return JSON.stringify({ ...head, padding: 'x'.repeat(room) });
}

/** A JSON array of one event of `bytes` bytes in all. */
const paddedArray = (bytes: number, head: Record<string, unknown>) =>
  `[${padded(bytes - 2, head)}]`;

const svixCase = (name: string): PresetCase => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  return {
    name,
    preset: name,
    sdk: 'svix verify',
    secrets: [secret],
    body: (bytes, id) => padded(bytes, { type: 'user.created', data: { id } }),
    async sign(body, nowMs) {
      const { Webhook } = await import('svix');
      const id = `msg_${randomUUID()}`;
      return request(
        {
          'svix-id': id,
          'svix-timestamp': String(seconds(nowMs)),
          'svix-signature': new Webhook(secret).sign(id, new Date(nowMs), body.toString('utf8')),
        },
        body,
      );
    },
    async load() {
      const { Webhook } = await import('svix');
      const wh = new Webhook(secret);
      return (r, text) => wh.verify(text, r.headers as Headers);
    },
  };
};

const octokitCase = (
  name: string,
  header: string,
  type: Record<string, unknown>,
  headers: Headers,
): PresetCase => {
  const secret = randomBytes(20).toString('hex');
  return {
    name,
    preset: name,
    sdk: 'octokit verify',
    secrets: [secret],
    body: (bytes, id) => padded(bytes, { ...type, id }),
    async sign(body) {
      const { sign } = await import('@octokit/webhooks-methods');
      return request({ ...headers, [header]: await sign(secret, body.toString('utf8')) }, body);
    },
    async load() {
      const { verify } = await import('@octokit/webhooks-methods');
      return (r, text) => verify(secret, text, r.headers[header] ?? '');
    },
    digestFloor: (r) => () => [hmac('sha256', secret, r.rawBody, 'hex'), sha256(r.rawBody)],
  };
};

/** The eight fields of an Adyen item its HMAC covers, and an unsigned padding field. */
const adyenItem = (id: string, padding: string) => ({
  additionalData: { authCode: '58747', padding },
  amount: { currency: 'EUR', value: 1130 },
  eventCode: 'AUTHORISATION',
  eventDate: '2100-01-01T01:00:00+01:00',
  merchantAccountCode: 'BenchMerchant',
  merchantReference: id,
  pspReference: '7914073381342284',
  success: 'true',
});

const discordPair = generateKeyPairSync('ed25519');
const discordPublicHex = (discordPair.publicKey.export({ format: 'der', type: 'spki' }) as Buffer)
  .subarray(-32)
  .toString('hex');
const sendgridPair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sendgridSpki = (
  sendgridPair.publicKey.export({ format: 'der', type: 'spki' }) as Buffer
).toString('base64');
const PLAID_KID = '6c5516e1-92dc-479e-a8ff-5a51992e0b3b';
const ADYEN_KEY = randomBytes(32).toString('hex').toUpperCase();

const CASES: readonly PresetCase[] = [
  (() => {
    const secret = `pdl_ntfset_${randomBytes(16).toString('hex')}`;
    return {
      name: 'paddle',
      preset: 'paddle',
      sdk: 'paddle isSignatureValid',
      secrets: [secret],
      body: (bytes, id) =>
        padded(bytes, { event_id: `evt_${id}`, event_type: 'transaction.completed' }),
      async sign(body, nowMs) {
        const ts = seconds(nowMs);
        return request(
          { 'paddle-signature': `ts=${ts};h1=${hmac('sha256', secret, `${ts}:${body}`, 'hex')}` },
          body,
        );
      },
      async load() {
        const { Paddle } = await import('@paddle/paddle-node-sdk');
        const webhooks = new Paddle('pdl_sdbx_apikey_bench_never_calls_the_api').webhooks;
        return (r, text) =>
          webhooks.isSignatureValid(text, secret, r.headers['paddle-signature'] ?? '');
      },
    } satisfies PresetCase;
  })(),
  (() => {
    const key = randomBytes(16).toString('hex');
    return {
      name: 'square',
      preset: 'square',
      sdk: 'square verifySignature',
      secrets: [key],
      body: (bytes, id) => padded(bytes, { event_id: id, type: 'payment.updated' }),
      async sign(body) {
        return request(
          {
            'x-square-hmacsha256-signature': hmac('sha256', key, `${URL_CALLED}${body}`, 'base64'),
          },
          body,
        );
      },
      async load() {
        const { WebhooksHelper } = await import('square');
        return (r, text) =>
          WebhooksHelper.verifySignature({
            requestBody: text,
            signatureHeader: r.headers['x-square-hmacsha256-signature'] ?? '',
            signatureKey: key,
            notificationUrl: URL_CALLED,
          });
      },
    } satisfies PresetCase;
  })(),
  {
    name: 'adyen',
    preset: 'adyen',
    sdk: 'adyen validateHMAC',
    secrets: [ADYEN_KEY],
    body(bytes, id) {
      const room =
        bytes -
        JSON.stringify({
          live: 'false',
          notificationItems: [{ NotificationRequestItem: adyenItem(id, '') }],
        }).length;
      // The signature is added when signing: leave room for its 44 characters and field name.
      const pad = 'x'.repeat(Math.max(0, room - '"hmacSignature":"",'.length - 44));
      return JSON.stringify({
        live: 'false',
        notificationItems: [{ NotificationRequestItem: adyenItem(id, pad) }],
      });
    },
    async sign(body) {
      const { hmacValidator } = await import('@adyen/api-library');
      const validator = new hmacValidator();
      const parsed = JSON.parse(body.toString('utf8')) as {
        notificationItems: Array<{
          NotificationRequestItem: Record<string, unknown> & {
            additionalData: Record<string, unknown>;
          };
        }>;
      };
      for (const { NotificationRequestItem: item } of parsed.notificationItems) {
        item.additionalData = {
          hmacSignature: validator.calculateHmac(item as never, ADYEN_KEY),
          ...item.additionalData,
        };
      }
      return request({}, Buffer.from(JSON.stringify(parsed)));
    },
    async load() {
      const { hmacValidator } = await import('@adyen/api-library');
      const validator = new hmacValidator();
      // As Adyen's docs use it: parse the notification, validate every item.
      return (_r, text) =>
        (
          JSON.parse(text) as { notificationItems: Array<{ NotificationRequestItem: never }> }
        ).notificationItems.every((i) =>
          validator.validateHMAC(i.NotificationRequestItem, ADYEN_KEY),
        );
    },
  },
  (() => {
    const secret = randomBytes(16).toString('hex');
    return {
      name: 'workos',
      preset: 'workos',
      sdk: 'workos constructEvent',
      secrets: [secret],
      body: (bytes, id) =>
        padded(bytes, { id: `event_${id}`, event: 'dsync.user.created', data: {} }),
      async sign(body, nowMs) {
        return request(
          {
            'workos-signature': `t=${nowMs}, v1=${hmac('sha256', secret, `${nowMs}.${body}`, 'hex')}`,
          },
          body,
        );
      },
      async load() {
        const { WorkOS } = await import('@workos-inc/node');
        const webhooks = new WorkOS('sk_test_bench_never_calls_the_api').webhooks;
        return (r, text) =>
          webhooks.constructEvent({
            payload: text,
            sigHeader: r.headers['workos-signature'] ?? '',
            secret,
          });
      },
    } satisfies PresetCase;
  })(),
  (() => {
    const secret = randomBytes(16).toString('hex');
    return {
      name: 'razorpay',
      preset: 'razorpay',
      sdk: 'razorpay validateWebhookSignature',
      secrets: [secret],
      body: (bytes, id) => padded(bytes, { entity: 'event', event: 'payment.captured', id }),
      async sign(body) {
        return request(
          {
            'x-razorpay-signature': hmac('sha256', secret, body, 'hex'),
            'x-razorpay-event-id': randomUUID(),
          },
          body,
        );
      },
      async load() {
        const { default: Razorpay } = await import('razorpay');
        return (r, text) =>
          Razorpay.validateWebhookSignature(text, r.headers['x-razorpay-signature'] ?? '', secret);
      },
      digestFloor: (r) => () => [hmac('sha256', secret, r.rawBody, 'hex'), sha256(r.rawBody)],
    } satisfies PresetCase;
  })(),
  (() => {
    const secret = `lin_wh_${randomBytes(16).toString('hex')}`;
    /** A 13-digit stand-in the signer replaces with the signing time, so the size holds. */
    const PENDING = 1_000_000_000_000;
    return {
      name: 'linear',
      preset: 'linear',
      sdk: 'linear LinearWebhookClient.verify',
      secrets: [secret],
      body: (bytes, id) =>
        padded(bytes, {
          action: 'create',
          type: 'Issue',
          data: { id },
          webhookTimestamp: PENDING,
        }),
      async sign(body, nowMs) {
        // Linear signs the body, which carries the time it was sent.
        const event = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        event.webhookTimestamp = nowMs;
        const signed = Buffer.from(JSON.stringify(event));
        if (signed.length !== body.length) throw new Error('the signing time changed the size');
        return request(
          {
            'linear-signature': hmac('sha256', secret, signed, 'hex'),
            'linear-delivery': randomUUID(),
          },
          signed,
        );
      },
      async load() {
        const { LinearWebhookClient } = await import('@linear/sdk/webhooks');
        const client = new LinearWebhookClient(secret);
        // verify answers true or throws: a throw fails the run.
        return (r, text) => client.verify(Buffer.from(text), r.headers['linear-signature'] ?? '');
      },
      digestFloor: (r) => () => [hmac('sha256', secret, r.rawBody, 'hex'), sha256(r.rawBody)],
    } satisfies PresetCase;
  })(),
  (() => {
    const secret = randomBytes(16).toString('hex');
    return {
      name: 'hubspot',
      preset: 'hubspot',
      sdk: 'hubspot Signature.isValid',
      secrets: [secret],
      body: (bytes, id) =>
        paddedArray(bytes, { eventId: id, subscriptionType: 'contact.creation', attemptNumber: 0 }),
      async sign(body, nowMs) {
        return request(
          {
            'x-hubspot-signature-v3': hmac(
              'sha256',
              secret,
              `POST${URL_CALLED}${body}${nowMs}`,
              'base64',
            ),
            'x-hubspot-request-timestamp': String(nowMs),
          },
          body,
        );
      },
      async load() {
        const { Signature } = await import('@hubspot/api-client');
        return (r, text) =>
          Signature.isValid({
            signatureVersion: 'v3',
            signature: r.headers['x-hubspot-signature-v3'] ?? '',
            clientSecret: secret,
            requestBody: text,
            url: URL_CALLED,
            method: 'POST',
            timestamp: Number(r.headers['x-hubspot-request-timestamp']),
          });
      },
      digestFloor(r) {
        const keyed = Buffer.concat([Buffer.from(`POST${URL_CALLED}`), r.rawBody]);
        const signed = Buffer.concat([
          keyed,
          Buffer.from(r.headers['x-hubspot-request-timestamp'] ?? ''),
        ]);
        return () => [hmac('sha256', secret, signed, 'base64'), sha256(keyed)];
      },
    } satisfies PresetCase;
  })(),
  (() => {
    const secret = randomUUID();
    return {
      name: 'coinbase-commerce',
      preset: 'coinbase-commerce',
      sdk: 'coinbase-commerce-node Webhook.verifySigHeader',
      secrets: [secret],
      // The preset keys a delivery by the signed `event.id` and types it by `event.type`.
      body: (bytes, id) =>
        padded(bytes, {
          id: 1,
          scheduled_for: '2100-01-01T00:00:00Z',
          event: { id, resource: 'event', type: 'charge:confirmed', data: { code: 'BENCH01' } },
        }),
      async sign(body) {
        const { default: coinbase } = await import('coinbase-commerce-node');
        const signature = coinbase.Webhook.computeSignature(body.toString('utf8'), secret);
        return request({ 'x-cc-webhook-signature': signature }, body);
      },
      async load() {
        const { default: coinbase } = await import('coinbase-commerce-node');
        const { Webhook, errors } = coinbase;
        // verifySigHeader answers true or throws its SignatureVerificationError (whose
        // message quotes the whole body): that refusal is answered false, which fails
        // the run naming the preset; any other throw fails it as it is.
        return (r, text) => {
          try {
            return Webhook.verifySigHeader(text, r.headers['x-cc-webhook-signature'] ?? '', secret);
          } catch (error) {
            if (error instanceof errors.SignatureVerificationError) return false;
            throw error;
          }
        };
      },
    } satisfies PresetCase;
  })(),
  (() => {
    const secret = randomBytes(16).toString('hex');
    return {
      name: 'zoom',
      preset: 'zoom',
      sdk: '@zoom/rivet AwsLambdaReceiver handler',
      secrets: [secret],
      body: (bytes, id) =>
        padded(bytes, {
          event: 'meeting.started',
          event_ts: 4_102_444_800_000,
          payload: { account_id: 'bench', object: { id, uuid: id, topic: 'B3' } },
        }),
      async sign(body, nowMs) {
        const ts = String(seconds(nowMs));
        return request(
          {
            'x-zm-signature': `v0=${hmac('sha256', secret, `v0:${ts}:${body}`, 'hex')}`,
            'x-zm-request-timestamp': ts,
          },
          body,
        );
      },
      async load() {
        // Rivet's verifier is not exported on its own: its AwsLambdaReceiver's handler
        // runs it, as a Rivet app deployed on Lambda does, on the API Gateway (payload
        // 2.0) event, awaited per call; the event is made once per request, as Lambda
        // hands it. The handler's first act is to log the whole event and context with
        // console.debug: that JSON.stringify of both is timed, the writing is not
        // (console.debug is a no-op for the synchronous part of the call, which holds
        // that log line and the whole verification).
        const { AwsLambdaReceiver } = await import('@zoom/rivet/meetings');
        const handler = new AwsLambdaReceiver({ webhooksSecretToken: secret }).start();
        const context = lambdaContext('b3-zoom');
        const events = new WeakMap<WebhookRequest, APIGatewayProxyEventV2>();
        const unused = () => undefined;
        const noop = () => undefined;
        return async (r, text) => {
          let event = events.get(r);
          if (!event) {
            event = webhookEvent({ provider: 'bench', headers: r.headers as Headers, body: text });
            events.set(r, event);
          }
          const debug = console.debug;
          console.debug = noop;
          let answer: ReturnType<typeof handler>;
          try {
            answer = handler(event, context, unused);
          } finally {
            console.debug = debug;
          }
          const result = await answer;
          return typeof result === 'object' && result.statusCode === 200;
        };
      },
      digestFloor(r) {
        const signed = Buffer.concat([
          Buffer.from(`v0:${r.headers['x-zm-request-timestamp'] ?? ''}:`),
          r.rawBody,
        ]);
        return () => [hmac('sha256', secret, signed, 'hex'), sha256(r.rawBody)];
      },
    } satisfies PresetCase;
  })(),
  svixCase('clerk'),
  svixCase('resend'),
  octokitCase(
    'bitbucket',
    'x-hub-signature',
    {},
    { 'x-request-uuid': randomUUID(), 'x-event-key': 'repo:push' },
  ),
  octokitCase('meta', 'x-hub-signature-256', { object: 'whatsapp_business_account' }, {}),
  {
    name: 'discord',
    preset: 'discord',
    sdk: 'discord-interactions verifyKey',
    options: { publicKeys: [discordPublicHex] },
    secrets: [],
    body: (bytes, id) =>
      padded(bytes, {
        version: 1,
        application_id: id,
        type: 1,
        event: { type: 'APPLICATION_AUTHORIZED' },
      }),
    async sign(body, nowMs) {
      const ts = String(seconds(nowMs));
      const signature = signWith(
        null,
        Buffer.concat([Buffer.from(ts), body]),
        discordPair.privateKey,
      );
      return request(
        { 'x-signature-ed25519': signature.toString('hex'), 'x-signature-timestamp': ts },
        body,
      );
    },
    async load() {
      const { verifyKey } = await import('discord-interactions');
      // The key imported once (verifyKey takes a CryptoKey): the SDK at its fastest.
      const key = await webcrypto.subtle.importKey(
        'raw',
        Buffer.from(discordPublicHex, 'hex'),
        { name: 'Ed25519' },
        false,
        ['verify'],
      );
      return (r, text) =>
        verifyKey(
          text,
          r.headers['x-signature-ed25519'] ?? '',
          r.headers['x-signature-timestamp'] ?? '',
          key,
        );
    },
  },
  {
    name: 'sendgrid',
    preset: 'sendgrid',
    sdk: '@sendgrid/eventwebhook verifySignature',
    options: { publicKeys: [sendgridSpki] },
    secrets: [],
    body: (bytes, id) =>
      paddedArray(bytes, { email: 'a@example.com', event: 'delivered', sg_event_id: id }),
    async sign(body, nowMs) {
      const ts = String(seconds(nowMs));
      const signature = signWith(
        'sha256',
        Buffer.concat([Buffer.from(ts), body]),
        sendgridPair.privateKey,
      );
      return request(
        {
          'x-twilio-email-event-webhook-signature': signature.toString('base64'),
          'x-twilio-email-event-webhook-timestamp': ts,
        },
        body,
      );
    },
    async load() {
      const { EventWebhook } = await import('@sendgrid/eventwebhook');
      const sendgrid = new EventWebhook();
      const key = sendgrid.convertPublicKeyToECDSA(sendgridSpki);
      return (r, text) =>
        sendgrid.verifySignature(
          key,
          text,
          r.headers['x-twilio-email-event-webhook-signature'] ?? '',
          r.headers['x-twilio-email-event-webhook-timestamp'] ?? '',
        );
    },
  },
];

/** Plaid needs jose's key pair, made asynchronously: added once, on first use. */
async function plaidCase(): Promise<PresetCase> {
  const { exportJWK, generateKeyPair, jwtVerify, importJWK, SignJWT } = await import('jose');
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: PLAID_KID, alg: 'ES256', use: 'sig' };
  return {
    name: 'plaid',
    preset: 'plaid',
    sdk: 'jose jwtVerify + body hash',
    options: { jwks: { keys: [jwk] } },
    secrets: [],
    body: (bytes, id) =>
      padded(bytes, {
        webhook_type: 'TRANSACTIONS',
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
        item_id: id,
      }),
    async sign(body, nowMs) {
      const token = await new SignJWT({
        request_body_sha256: createHash('sha256').update(body).digest('hex'),
      })
        .setProtectedHeader({ alg: 'ES256', kid: PLAID_KID, typ: 'JWT' })
        .setIssuedAt(seconds(nowMs))
        .sign(pair.privateKey);
      return request({ 'plaid-verification': token }, body);
    },
    async load() {
      // Plaid's documented check: the JWK imported once, jwtVerify (ES256, at most 5 minutes old), the body's hash compared.
      const key = await importJWK(jwk, 'ES256');
      return async (r, text) => {
        const { payload } = await jwtVerify(r.headers['plaid-verification'] ?? '', key, {
          algorithms: ['ES256'],
          maxTokenAge: '5 min',
        });
        const claimed = Buffer.from(String(payload.request_body_sha256), 'hex');
        const actual = createHash('sha256').update(text).digest();
        return claimed.length === actual.length && timingSafeEqual(claimed, actual);
      };
    },
  };
}

function buildPreset(c: PresetCase): Provider {
  const declared = { preset: c.preset, ...c.options } as unknown as ProviderDeclaration;
  const resolved = resolveDeclaration({ providers: { bench: declared }, subscribers: {} });
  const provider = buildProviders(resolved.providers).get('bench');
  if (!provider) throw new Error(`the registry built nothing for preset ${c.preset}`);
  provider.checkSecrets(c.secrets);
  return provider;
}

/**
 * hookonce's verifier, timed as the ingest core calls it. The body's JSON parse is
 * the ingest's, not the verifier's: ingest parses every body it carries inline (up
 * to DEFAULT_INLINE_PAYLOAD_BYTES) once, whatever the provider, to splice it into
 * the envelope as `data`, and hands that parse to a verifier that reads a field of
 * it. So B3 makes the parse before the timing, for every verifier alike. A body's
 * SHA-256 is the verifier's own (ingest hashes an inline body only for a verifier
 * that keys by it): none is handed in, so it is computed inside the timing.
 */
export function asIngest(
  provider: Provider,
  request: WebhookRequest,
  secrets: readonly string[],
  now: number,
): () => Verdict {
  if (request.rawBody.length > DEFAULT_INLINE_PAYLOAD_BYTES) {
    throw new Error(`B3's bodies are carried inline: ${request.rawBody.length} bytes is not`);
  }
  const parsed = parseJson(request.rawBody);
  const json = () => parsed;
  return () => provider.inspect(request, { secrets, now, json });
}

interface Prepared {
  readonly c: PresetCase;
  readonly size: (typeof SIZES)[number];
  readonly verifier: Provider;
  readonly sdk: Verify;
}

export const PRESET_NOTES = [
  "per preset: each preset whose sender publishes a verifier, declared `{ preset }` (with its public keys or JWKS where it has them) and built by resolveDeclaration and buildProviders, against that SDK on the same request, signed just before its pair is timed; median ns per verify (tinybench p50), ratio hookonce ÷ SDK, target ≤ 1.00×; each side must accept what it is timed on, or the run fails. hookonce: `provider.inspect` as the ingest core calls it, on the raw body as bytes: the signature checked (with the timestamp window where the preset signs a timestamp), then the delivery named, as hookonce must before it can store it: its key (the signed delivery id where the preset has one, else the SHA-256 of the body or of the signed content, computed inside the timing), its event type (from a header, or from a field of the body) and the headers it keeps. The body's JSON parse is made before the timing, for every preset alike: ingest parses each body it carries inline (up to 96 KiB, both sizes here) once, whatever the provider, to splice it into the envelope, and a preset that reads a field reads that parse. The SDK: its verify call on the body as text (decoded before the timing, as an SDK user is handed it), which names nothing. The SDK calls: paddle `Webhooks.isSignatureValid` (async), square `WebhooksHelper.verifySignature` with the notification URL, adyen `HmacValidator.validateHMAC` on every item of the parsed notification, workos `webhooks.constructEvent` (async, verifies and returns the event, no network), razorpay `validateWebhookSignature`, linear `@linear/sdk` `LinearWebhookClient.verify` (the body turned into a Buffer, then the HMAC compared and the body parsed for its `webhookTimestamp`, within 60 s of the clock), hubspot `Signature.isValid` v3, coinbase-commerce `coinbase-commerce-node` `Webhook.verifySigHeader` (one HMAC and a string compare; it refuses by throwing), zoom `@zoom/rivet`'s `AwsLambdaReceiver` handler on the API Gateway event (async; Rivet exports its check only through its receivers: it parses the body, serialises it again to HMAC it, and first serialises the whole event and context for a console.debug line, timed, written nowhere), clerk and resend `svix` `Webhook.verify` (parses the body), bitbucket and meta `@octokit/webhooks-methods` `verify` (async), discord `discord-interactions` `verifyKey` (async WebCrypto, with the public key imported once as a CryptoKey, its fastest use), sendgrid `@sendgrid/eventwebhook` `verifySignature` (starkbank-ecdsa, pure JS; key converted once), plaid `jose` `jwtVerify` (ES256, at most 5 min old, the JWK imported once) then the body's SHA-256 compared with `request_body_sha256`, as Plaid documents; the async SDKs are awaited per call. B1 times the whole ingest.",
  "per preset, the rows against `floor: HMAC + SHA-256 key`, and why those presets stay above 1.00× their SDK: razorpay, bitbucket and meta sign no delivery id, so the delivery is keyed by the SHA-256 of the body (zoom's too, which stays ahead of Rivet all the same; linear's: of the body cut around its `webhookTimestamp`, found in the raw bytes, one pass all the same), and hubspot's by the SHA-256 of the signed method, URL and body (a HubSpot request is a batch; its items' `eventId`s are not promised unique). Only what the provider signs may decide identity, and the key must not depend on the secret (a retry signed after a secret rotation is the same delivery), so hookonce makes a second pass over the body that the SDK's verify call does not: the floor is one HMAC over the signed content plus one SHA-256 over what keys it, with node:crypto and nothing else, and it alone measures about 1.9× the SDK at 64 KiB. hookonce's own share is what it takes above that floor. coinbase-commerce keys by its signed `event.id`, no second pass, but its SDK does one HMAC and a string compare and nothing else, so what hookonce does besides (decoding the signature, naming the delivery) shows at 1 KiB; at 64 KiB the HMAC is nearly all of both. Where the SDK does as much or more, hookonce is ahead: Rivet re-serialises the parsed body to verify it, adyen's validateHMAC runs on the parsed notification, square's verifySignature goes through two async wrappers, svix (through standardwebhooks) hashes in pure JS and parses the body, workos imports its secret into WebCrypto on every call, sendgrid verifies ECDSA in pure JS (starkbank-ecdsa), discord-interactions and jose go through async WebCrypto; linear's verify parses the body for its `webhookTimestamp` (hookonce reads ingest's one parse), which on a large body costs more than the second pass.",
];

/** The per-preset rows of B3. */
export async function benchPresets(
  settings: Settings,
): Promise<{ rows: Row[]; skipped: string[] }> {
  const { rounds, timeMs } = settings.b3;
  const skipped: string[] = [];
  const prepared: Prepared[] = [];
  for (const c of [...CASES, await plaidCase()]) {
    let verifier: Provider;
    let sdk: Verify;
    try {
      verifier = buildPreset(c);
      sdk = await c.load();
    } catch (error) {
      skipped.push(`${c.name}: ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    for (const size of SIZES) {
      let ok = true;
      // Both must accept B3's request, or their ns/verify would mean nothing.
      const body = Buffer.from(c.body(size.bytes, 'check'));
      const now = systemClock.now();
      const signed = { request: await c.sign(body, now), secrets: c.secrets };
      const verdict = asIngest(verifier, signed.request, signed.secrets, now)();
      if (verdict.kind !== 'accept') {
        skipped.push(
          `${c.name} ${size.label}: hookonce answered ${verdict.kind}${verdict.kind === 'reject' ? ` ${verdict.code}` : ''}`,
        );
        ok = false;
      }
      const accepted = await sdk(signed.request, signed.request.rawBody.toString('utf8'));
      if (accepted === false) throw new Error(`${c.sdk} did not accept B3's ${c.name} signature`);
      if (ok) prepared.push({ c, size, verifier, sdk });
    }
  }

  const runs = await alternate(rounds, ['all'], async (_, round) => {
    const medians = new Map<string, number>();
    const ordered = round % 2 === 0 ? prepared : [...prepared].reverse();
    for (const p of ordered) {
      // One bench per pair, its request signed just before it runs, so the request
      // stays inside every timestamp window while it is timed (paddle's SDK allows 5 s
      // by the wall clock); each side must accept what it times, or the run fails.
      const bench = verifierBench(timeMs);
      const key = `${p.c.name} ${p.size.label}`;
      const { verifier, sdk } = p;
      const body = Buffer.from(p.c.body(p.size.bytes, randomUUID()));
      const now = systemClock.now();
      const signed = { request: await p.c.sign(body, now), secrets: p.c.secrets };
      const text = signed.request.rawBody.toString('utf8');
      const inspect = asIngest(verifier, signed.request, signed.secrets, now);
      const accepted = (result: unknown) => {
        if (result === false) throw new Error(`${p.c.sdk} refused B3's ${key} request`);
        return result;
      };
      const subjects: Array<[string, () => unknown]> = [
        [
          `${key} hookonce`,
          () => {
            const verdict = inspect();
            if (verdict.kind !== 'accept') throw new Error(`hookonce refused B3's ${key} request`);
            return verdict;
          },
        ],
        [
          `${key} sdk`,
          () => {
            const result = sdk(signed.request, text);
            return result instanceof Promise ? result.then(accepted) : accepted(result);
          },
        ],
      ];
      const floor = p.c.digestFloor?.(signed.request);
      if (floor) subjects.push([`${key} floor`, floor]);
      for (const [name, fn] of round % 2 === 0 ? subjects : subjects.reverse()) bench.add(name, fn);
      await bench.run();
      for (const t of bench.tasks) medians.set(t.name, medianNs(t));
    }
    return medians;
  });

  const ns = (name: string) => medianOf(runs, 'all', (m) => m.get(name) ?? Number.NaN);
  const rows = prepared.flatMap((p) => {
    const key = `${p.c.name} ${p.size.label}`;
    const ours = { label: 'hookonce', value: ns(`${key} hookonce`), unit: 'ns' } as const;
    const vsSdk = row({
      id: 'B3',
      measure: `preset ${key}`,
      subject: ours,
      reference: { label: `sdk: ${p.c.sdk}`, value: ns(`${key} sdk`), unit: 'ns' },
      target: { op: '<=', value: 1 },
    });
    if (!p.c.digestFloor) return [vsSdk];
    const floor = {
      label: 'floor: HMAC + SHA-256 key',
      value: ns(`${key} floor`),
      unit: 'ns',
    } as const;
    return [vsSdk, row({ id: 'B3', measure: `preset ${key}`, subject: ours, reference: floor })];
  });
  return { rows, skipped };
}

/** The task's median latency in ns (tinybench reports ms). */
function medianNs(task: Task): number {
  const result = task.result;
  if (!('latency' in result)) {
    throw new Error(`task ${task.name} did not complete`, {
      cause: 'error' in result ? result.error : undefined,
    });
  }
  return result.latency.p50 * 1e6;
}
