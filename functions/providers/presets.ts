import type { ProviderScheme, SchemeName } from '../shared/declaration.ts';
import { MORE_PRESETS } from './presets-more.ts';

/**
 * Named presets: each is nothing but a scheme family's options for one sender,
 * checked like any declaration. A provider declared `{ preset: 'discord',
 * publicKeys: ['…'] }` is the family declaration below plus what only its owner
 * knows (keys, ids) and any option it overrides. Adding a sender that signs like
 * a family is an entry here and a test against the sender's own library, never a
 * verifier of its own.
 */

/**
 * A family's options without its keys: what a preset fixes. `retentionDays` too,
 * for a sender that retries longer than the default keeps keys (a declared one
 * still overrides it).
 */
export type PresetOptions = {
  [S in SchemeName]: { scheme: S; retentionDays?: number; subscriptionCheck?: boolean } & Partial<
    Omit<Extract<ProviderScheme, { scheme: S }>, 'scheme' | 'publicKeys' | 'jwks'>
  >;
}[SchemeName];

export const PRESETS = {
  /**
   * Discord webhook events (the Developer Portal's Webhooks page, not the
   * Interactions endpoint, which must answer each interaction itself): Ed25519 over
   * `X-Signature-Timestamp` followed by the body, the signature in hex in
   * `X-Signature-Ed25519`. Give the application's public key (General Information →
   * Public Key, 64 hex digits) as `publicKeys`. The PING Discord sends when the URL
   * is saved (`"type": 0`) is answered 204 and neither stored nor published. An
   * event carries no id of its own, so the body's SHA-256 keys it; its type is
   * `event.type` (`APPLICATION_AUTHORIZED`, `ENTITLEMENT_CREATE`, …).
   */
  discord: {
    scheme: 'asymmetric',
    algorithm: 'ed25519',
    encoding: 'hex',
    header: 'x-signature-ed25519',
    timestampHeader: 'x-signature-timestamp',
    signedContent: '{timestamp}{body}',
    eventTypeField: 'event.type',
    handshake: { jsonField: 'type', equals: 0 },
  },
  /**
   * Twilio SendGrid's signed Event Webhook: ECDSA P-256 with SHA-256 over
   * `X-Twilio-Email-Event-Webhook-Timestamp` followed by the body, the DER signature
   * in base64 in `X-Twilio-Email-Event-Webhook-Signature`. Give the verification key
   * (Settings → Mail Settings → Event Webhook → Signature Verification; base64 DER)
   * as `publicKeys`. A POST is a JSON array of events, each with its own
   * `sg_event_id`: the batch is keyed by the body's SHA-256 and typed `events`.
   */
  sendgrid: {
    scheme: 'asymmetric',
    algorithm: 'ecdsa-p256-sha256',
    encoding: 'base64',
    signatureFormat: 'der',
    header: 'x-twilio-email-event-webhook-signature',
    timestampHeader: 'x-twilio-email-event-webhook-timestamp',
    signedContent: '{timestamp}{body}',
    eventType: 'events',
  },
  /**
   * Paddle Billing notifications: HMAC-SHA256 in hex over `ts`, a colon and the
   * body, in `Paddle-Signature: ts=…;h1=…` (one `h1` per active secret while a
   * secret is rotated). The secret is the notification destination's secret key
   * (`pdl_ntfset_…`, used as text). Signed timestamp, ±300 s (Paddle's own SDK
   * allows 5 s: each attempt is signed anew). Key: the body's `event_id`
   * (`evt_…`), signed; `notification_id` differs per destination and per replay,
   * so it is left in the body. Type: `event_type`. Retries: live 60 attempts over
   * about 3 days (sandbox: 3 within 15 minutes), within the default 7 days.
   */
  paddle: {
    scheme: 'hmac',
    header: 'paddle-signature',
    structured: { separator: ';', signatureKey: 'h1', timestampKey: 'ts' },
    signedContent: '{timestamp}:{body}',
    algorithm: 'sha256',
    encoding: 'hex',
    deliveryId: { jsonField: 'event_id' },
    eventTypeField: 'event_type',
  },
  /**
   * Square webhooks: HMAC-SHA256 in base64 over the notification URL (exactly as
   * entered in the Developer Console, query string included) followed by the
   * body, in `x-square-hmacsha256-signature`; the secret is the subscription's
   * signature key (text). Set `publicUrl` when that URL is not the one the request
   * reaches (a custom domain, a proxy). Key: the body's `event_id`, signed. Type:
   * `type` (`payment.updated`). No timestamp is signed (Square's
   * `square-initial-delivery-timestamp` and `square-retry-number` are not): a
   * request never expires, so keys are kept the default 30 days, beyond Square's
   * retries (for up to 72 hours after the event).
   */
  square: {
    scheme: 'hmac',
    header: 'x-square-hmacsha256-signature',
    signedContent: '{url}{body}',
    algorithm: 'sha256',
    encoding: 'base64',
    deliveryId: { jsonField: 'event_id' },
    eventTypeField: 'type',
  },
  /**
   * WorkOS events: HMAC-SHA256 in hex over the timestamp in milliseconds, a dot and
   * the body, in `WorkOS-Signature: t=…, v1=…`; the secret is the endpoint's
   * signing secret (text). Signed timestamp, ±180 s (WorkOS's SDK default
   * tolerance). Key: the event's `id` (`event_…`), signed. Type: `event`
   * (`dsync.user.created`). Retries: with backoff for up to 3 days in
   * production, each attempt signed anew, within the default 7 days.
   */
  workos: {
    scheme: 'hmac',
    header: 'workos-signature',
    structured: { signatureKey: 'v1', timestampKey: 't' },
    timestampFormat: 'milliseconds',
    toleranceSeconds: 180,
    signedContent: '{timestamp}.{body}',
    algorithm: 'sha256',
    encoding: 'hex',
    deliveryId: { jsonField: 'id' },
    eventTypeField: 'event',
  },
  /**
   * Razorpay webhooks: HMAC-SHA256 in hex over the body, in
   * `X-Razorpay-Signature`; the secret is the one typed when the webhook was
   * created (Razorpay never shows it again). `x-razorpay-event-id` is not signed:
   * the body's SHA-256 keys a delivery and the id is kept as
   * `providerdeliveryid`. Type: `event` (`payment.captured`). No timestamp is
   * signed: keys are kept the default 30 days, beyond Razorpay's retries (24
   * hours) and the replays it makes on request (events up to 15 days old).
   */
  razorpay: {
    scheme: 'hmac',
    header: 'x-razorpay-signature',
    algorithm: 'sha256',
    encoding: 'hex',
    deliveryId: { header: 'x-razorpay-event-id' },
    eventTypeField: 'event',
  },
  /**
   * HubSpot's v3 signature: HMAC-SHA256 in base64 over the method, the URL called
   * (query string included), the body and `X-HubSpot-Request-Timestamp`
   * (milliseconds), in `X-HubSpot-Signature-v3`; the secret is the app's client
   * secret. Signed timestamp, ±300 s (HubSpot refuses older than 5 minutes). A
   * POST is a JSON array of events, each with its own `eventId`: the key is the
   * SHA-256 of the signed method, URL and body, and the batch is typed `events`.
   * Each item carries `attemptNumber`, so HubSpot's retries (up to 10, with
   * exponential backoff) are new bodies: consumers dedupe items by `eventId`.
   * Keys are kept the default 7 days.
   */
  hubspot: {
    scheme: 'hmac',
    header: 'x-hubspot-signature-v3',
    timestampHeader: 'x-hubspot-request-timestamp',
    timestampFormat: 'milliseconds',
    signedContent: '{method}{url}{body}{timestamp}',
    algorithm: 'sha256',
    encoding: 'base64',
    eventType: 'events',
  },
  /**
   * Clerk webhooks, sent through Svix: HMAC-SHA256 in base64 over
   * `svix-id.svix-timestamp.body`, in `svix-signature` (`v1,…` items, one per
   * active secret); the secret is the endpoint's `whsec_…` signing secret. Signed
   * timestamp, ±300 s. Key: `svix-id`, signed, the same on every retry. Type:
   * `type` (`user.created`). Retries: Svix's schedule, about 28 hours, within the
   * default 7 days.
   */
  clerk: {
    scheme: 'hmac',
    header: 'svix-signature',
    structured: { separator: ' ', assignment: ',', signatureKey: 'v1' },
    timestampHeader: 'svix-timestamp',
    deliveryId: { header: 'svix-id' },
    signedContent: '{id}.{timestamp}.{body}',
    algorithm: 'sha256',
    encoding: 'base64',
    secretEncoding: 'whsec',
    eventTypeField: 'type',
  },
  /**
   * Resend webhooks, sent through Svix exactly as Clerk's (`svix-id`,
   * `svix-timestamp`, `svix-signature`, a `whsec_…` secret). Key: `svix-id`,
   * signed. Type: `type` (`email.delivered`). Signed timestamp, ±300 s; Svix's
   * retries end after about 28 hours, within the default 7 days.
   */
  resend: {
    scheme: 'hmac',
    header: 'svix-signature',
    structured: { separator: ' ', assignment: ',', signatureKey: 'v1' },
    timestampHeader: 'svix-timestamp',
    deliveryId: { header: 'svix-id' },
    signedContent: '{id}.{timestamp}.{body}',
    algorithm: 'sha256',
    encoding: 'base64',
    secretEncoding: 'whsec',
    eventTypeField: 'type',
  },
  /**
   * Linear webhooks: HMAC-SHA256 in hex over the body, in `Linear-Signature`; the
   * secret is the webhook's signing secret. The signed timestamp is the body's
   * `webhookTimestamp` (epoch milliseconds, a JSON number), which Linear's SDK
   * (`LinearWebhookClient.verify`) refuses more than 60 s from its clock either
   * way: so does this preset, once the signature matched. A retry (Linear's
   * back off from about 10 minutes) must then carry a fresh `webhookTimestamp`,
   * and so a body that differs from the first attempt's in that value alone.
   * `Linear-Delivery` is not signed, so the key is a digest of the signed body,
   * taken without that value (timestampField): the retry is the same delivery,
   * and a body that differs in anything else is another. The id is kept as
   * `providerdeliveryid`. Type: the body's `type` (`Issue`, `Comment`; the verb is
   * `action`). Keys are kept the default 7 days, well beyond Linear's retries.
   */
  linear: {
    scheme: 'hmac',
    header: 'linear-signature',
    algorithm: 'sha256',
    encoding: 'hex',
    timestampField: 'webhookTimestamp',
    timestampFormat: 'milliseconds',
    toleranceSeconds: 60,
    deliveryId: { header: 'linear-delivery' },
    eventTypeField: 'type',
  },
  /**
   * Lemon Squeezy webhooks: HMAC-SHA256 in hex over the body, in `X-Signature`;
   * the secret is the signing secret typed when the webhook was made. No id is
   * sent: the body's SHA-256 keys a delivery. Type: `meta.event_name`
   * (`order_created`; the unsigned `X-Event-Name` header says the same). No
   * timestamp is signed: keys are kept the default 30 days, beyond Lemon
   * Squeezy's retries (3 more, about 5, 25 and 125 seconds apart).
   */
  lemonsqueezy: {
    scheme: 'hmac',
    header: 'x-signature',
    algorithm: 'sha256',
    encoding: 'hex',
    eventTypeField: 'meta.event_name',
  },
  /**
   * Paystack webhooks: HMAC-SHA512 in hex over the body, in
   * `x-paystack-signature`; the secret is the account's secret API key
   * (`sk_live_…`, `sk_test_…`). No id is sent: the body's SHA-256 keys a delivery.
   * Type: `event` (`charge.success`). No timestamp is signed: keys are kept the
   * default 30 days, beyond Paystack's retries (live: for 72 hours).
   */
  paystack: {
    scheme: 'hmac',
    header: 'x-paystack-signature',
    algorithm: 'sha512',
    encoding: 'hex',
    eventTypeField: 'event',
  },
  /**
   * GitLab webhooks: the token typed in the webhook's *Secret token* field comes
   * back in `X-Gitlab-Token`; nothing is signed. The key is the body's SHA-256;
   * `X-Gitlab-Event-UUID` is kept as `providerdeliveryid`. Type: the body's
   * `object_kind` (`push`, `merge_request`), unsigned and so checked against the
   * strict pattern (`X-Gitlab-Event` holds spaces: `Push Hook`). No timestamp:
   * keys are kept the default 30 days. GitLab does not retry on its own (a
   * failing webhook is disabled for a while, or for good on a 4xx); a request is
   * resent by hand from the webhook's *Recent events* or its API.
   */
  gitlab: {
    scheme: 'token',
    header: 'x-gitlab-token',
    deliveryId: { header: 'x-gitlab-event-uuid' },
    eventTypeField: 'object_kind',
  },
  /**
   * Adyen standard (payment) webhooks: each `NotificationRequestItem` carries its
   * own signature, HMAC-SHA256 in base64 in `additionalData.hmacSignature`, over
   * eight of its fields joined by colons (`pspReference`, `originalReference`,
   * `merchantAccountCode`, `merchantReference`, `amount.value`,
   * `amount.currency`, `eventCode`, `success`; an absent one is empty). The
   * secret is the webhook's HMAC key (Customer Area → Developers → Webhooks →
   * HMAC key), 64 hex digits, declared hex. Every item of a request must verify.
   * Nothing else of the body is signed (`additionalData`, `eventDate`, `reason`,
   * `live`), as with Adyen's own library: the key is the SHA-256 of the signed
   * fields of every item (Adyen's advice: an event is its `pspReference`,
   * `eventCode` and `success`), never of unsigned text. Type: the first item's
   * `eventCode` (`AUTHORISATION`), signed. No timestamp: Adyen retries for up to
   * 30 days, so keys are kept at least 35.
   */
  adyen: {
    scheme: 'hmac',
    signatureField: 'notificationItems.*.NotificationRequestItem.additionalData.hmacSignature',
    signedContent:
      '{json:notificationItems.*.NotificationRequestItem.pspReference}:' +
      '{json:notificationItems.*.NotificationRequestItem.originalReference}:' +
      '{json:notificationItems.*.NotificationRequestItem.merchantAccountCode}:' +
      '{json:notificationItems.*.NotificationRequestItem.merchantReference}:' +
      '{json:notificationItems.*.NotificationRequestItem.amount.value}:' +
      '{json:notificationItems.*.NotificationRequestItem.amount.currency}:' +
      '{json:notificationItems.*.NotificationRequestItem.eventCode}:' +
      '{json:notificationItems.*.NotificationRequestItem.success}',
    algorithm: 'sha256',
    encoding: 'base64',
    secretEncoding: 'hex',
    eventTypeField: 'notificationItems.0.NotificationRequestItem.eventCode',
    retentionDays: 35,
  },
  ...MORE_PRESETS,
} as const satisfies Readonly<Record<string, PresetOptions>>;

export type PresetName = keyof typeof PRESETS;
