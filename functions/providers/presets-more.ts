/**
 * More named presets, kept apart from presets.ts so each file stays one screenful
 * of senders; presets.ts spreads them into PRESETS. Same rules: family options
 * only, each entry proven against the sender's own library or documented example.
 *
 * Each entry says where the delivery id comes from and whether the signature
 * covers it (only then does it key a delivery, docs/security.md), where the event
 * type comes from, the timestamp window, the sender's retry window and so the
 * retention its keys get, and its handshake. Retention is never set here: a preset
 * that signs a timestamp keeps keys the declaration's `retentionDays` (7 by
 * default, above each such sender's retries), one that signs none at least 30.
 */
import type { PresetOptions } from './presets.ts';

export const MORE_PRESETS = {
  /**
   * Intercom webhooks (Developer Hub → your app → Webhooks): HMAC-SHA1 of the body
   * keyed by the app's client secret, `X-Hub-Signature: sha1=<hex>`. The
   * notification's `id` (`notif_…`) is in the signed body and keys the delivery; its
   * type is `topic` (`conversation.user.created`; the test notification is `ping`,
   * accepted like any other). No timestamp is signed: keys are kept 30 days, far
   * above Intercom's retries of a failed notification.
   */
  intercom: {
    scheme: 'hmac',
    header: 'x-hub-signature',
    prefix: 'sha1=',
    algorithm: 'sha1',
    encoding: 'hex',
    deliveryId: { jsonField: 'id' },
    eventTypeField: 'topic',
  },
  /**
   * Typeform webhooks: HMAC-SHA256 of the body keyed by the webhook's `secret`,
   * `Typeform-Signature: sha256=<base64>`. The body's `event_id` is signed and keys
   * the delivery; its type is `event_type` (`form_response`). No timestamp: keys
   * are kept 30 days, above Typeform's retries (at most 10 hours).
   */
  typeform: {
    scheme: 'hmac',
    header: 'typeform-signature',
    prefix: 'sha256=',
    algorithm: 'sha256',
    encoding: 'base64',
    deliveryId: { jsonField: 'event_id' },
    eventTypeField: 'event_type',
  },
  /**
   * Calendly webhook subscriptions (API v2, `signing_key` given when the
   * subscription is made): `Calendly-Webhook-Signature: t=<seconds>,v1=<hex>`, the
   * HMAC-SHA256 of `t.body`, within ±180 s (Calendly's own examples allow 3
   * minutes). A payload carries no id of its own: the body's SHA-256 keys it, and a
   * retry (the same body, signed at a new time) is a duplicate. Its type is `event`
   * (`invitee.created`). Calendly retries for 24 hours: the default 7-day keys
   * outlast it.
   */
  calendly: {
    scheme: 'hmac',
    header: 'calendly-webhook-signature',
    structured: { signatureKey: 'v1', timestampKey: 't' },
    toleranceSeconds: 180,
    signedContent: '{timestamp}.{body}',
    algorithm: 'sha256',
    encoding: 'hex',
    eventTypeField: 'event',
  },
  /**
   * PagerDuty webhooks v3 (Integrations → Generic Webhooks (v3)): HMAC-SHA256 of the
   * body, `X-PagerDuty-Signature: v1=<hex>,v1=<hex>`, one `v1=` per signing secret
   * while one is rotated (any one that matches passes). The body's `event.id` is
   * signed and keys the delivery; its type is `event.event_type`
   * (`incident.triggered`). `X-Webhook-Id` and `X-Webhook-Subscription` are not
   * signed and not used. No timestamp: keys are kept 30 days, far above PagerDuty's
   * retries (minutes).
   */
  pagerduty: {
    scheme: 'hmac',
    header: 'x-pagerduty-signature',
    structured: { signatureKey: 'v1' },
    algorithm: 'sha256',
    encoding: 'hex',
    deliveryId: { jsonField: 'event.id' },
    eventTypeField: 'event.event_type',
  },
  /**
   * Bitbucket Cloud webhooks with a secret: HMAC-SHA256 of the body, `X-Hub-Signature:
   * sha256=<hex>`. Neither `X-Request-UUID` nor `X-Event-Key` is signed: the body's
   * SHA-256 keys the delivery (a redelivery of the same body is a duplicate) and the
   * UUID is kept as the provider's id; the type is `X-Event-Key` (`repo:push`),
   * checked and marked unsigned. Bitbucket resends a request answered 5xx up to
   * twice; a redelivery from its request log is the same body. No timestamp: keys
   * are kept 30 days.
   */
  bitbucket: {
    scheme: 'hmac',
    header: 'x-hub-signature',
    prefix: 'sha256=',
    algorithm: 'sha256',
    encoding: 'hex',
    deliveryId: { header: 'x-request-uuid' },
    eventTypeHeader: 'x-event-key',
  },
  /**
   * Twitch EventSub over webhooks: HMAC-SHA256 of `Twitch-Eventsub-Message-Id`, then
   * `Twitch-Eventsub-Message-Timestamp` (RFC 3339, nanoseconds), then the body, in
   * `Twitch-Eventsub-Message-Signature: sha256=<hex>`; the secret is the one given
   * when the subscription is made (Twitch takes 10 to 100 characters: give at least
   * 16). The message id is signed and keys the delivery (a resent message keeps
   * it); the timestamp must be within ±600 s (Twitch's advice: refuse messages
   * older than 10 minutes). The type is the signed `subscription.type`
   * (`channel.follow`). A revocation (`subscription.status` other than `enabled`,
   * no `event`) is stored and published as type `revocation`. The
   * `webhook_callback_verification` that confirms a subscription is answered, once
   * its signature verifies, with its `challenge` as text/plain, and neither stored
   * nor published. Keys are kept 7 days by default.
   */
  twitch: {
    scheme: 'hmac',
    header: 'twitch-eventsub-message-signature',
    prefix: 'sha256=',
    algorithm: 'sha256',
    encoding: 'hex',
    timestampHeader: 'twitch-eventsub-message-timestamp',
    timestampFormat: 'iso8601',
    toleranceSeconds: 600,
    deliveryId: { header: 'twitch-eventsub-message-id' },
    signedContent: '{id}{timestamp}{body}',
    eventTypeField: 'subscription.type',
    eventTypeWhen: {
      jsonField: 'subscription.status',
      notEquals: 'enabled',
      eventType: 'revocation',
    },
    handshake: {
      jsonField: 'subscription.status',
      equals: 'webhook_callback_verification_pending',
      replyText: { jsonField: 'challenge' },
    },
  },
  /**
   * Vercel webhooks (account or integration webhooks): HMAC-SHA1 of the body in hex,
   * `x-vercel-signature`, keyed by the webhook's secret (an integration's: its
   * client secret). The body's `id` is signed and keys the delivery; its type is
   * `type` (`deployment.created`). No timestamp: keys are kept 30 days.
   */
  vercel: {
    scheme: 'hmac',
    header: 'x-vercel-signature',
    algorithm: 'sha1',
    encoding: 'hex',
    deliveryId: { jsonField: 'id' },
    eventTypeField: 'type',
  },
  /**
   * Sentry integration webhooks (Settings → Developer Settings → your integration):
   * HMAC-SHA256 of the body in hex, `Sentry-Hook-Signature`, keyed by the
   * integration's client secret. `Request-ID`, `Sentry-Hook-Resource` and
   * `Sentry-Hook-Timestamp` are not signed: the body's SHA-256 keys the delivery,
   * `Request-ID` is kept as the provider's id, and the type is `Sentry-Hook-Resource`
   * (`issue`, `event_alert`, …; the body's `action` says what happened), checked and
   * marked unsigned. The timestamp is kept, not checked. Keys are kept 30 days.
   */
  sentry: {
    scheme: 'hmac',
    header: 'sentry-hook-signature',
    algorithm: 'sha256',
    encoding: 'hex',
    deliveryId: { header: 'request-id' },
    eventTypeHeader: 'sentry-hook-resource',
  },
  /**
   * Postmark webhooks sign nothing; the URL may carry HTTP Basic credentials
   * (`https://user:password@…`), which Postmark sends as `Authorization: Basic`. Each
   * secret is that `username:password`. The body's SHA-256 keys a delivery (a retry
   * of the same body is a duplicate); `MessageID` is kept as the provider's id and
   * the unsigned type is `RecordType` (`Delivery`, `Bounce`, `Open`, …; an inbound
   * message has none: `webhook`). Postmark retries an inbound message 10 times
   * over about 10.5 hours; no timestamp: keys are kept 30 days.
   */
  postmark: {
    scheme: 'basic',
    deliveryId: { jsonField: 'MessageID' },
    eventTypeField: 'RecordType',
  },
  /**
   * Telegram Bot API webhooks (`setWebhook` with a `secret_token`): the token comes
   * back in `X-Telegram-Bot-Api-Secret-Token`, and nothing is signed. The body's
   * SHA-256 keys an update; its `update_id` is kept as the provider's id (unsigned:
   * never the key). Every update is typed `update` (the kind is whichever field the
   * update holds: `message`, `callback_query`, …). No timestamp: keys are kept 30
   * days, above the 24 hours Telegram keeps an undelivered update.
   */
  telegram: {
    scheme: 'token',
    header: 'x-telegram-bot-api-secret-token',
    deliveryId: { jsonField: 'update_id' },
    eventType: 'update',
  },
  /**
   * Coinbase Commerce webhooks (Settings → Webhook subscriptions → shared secret):
   * HMAC-SHA256 of the body in hex, `X-CC-Webhook-Signature`. The event's id,
   * `event.id`, is signed and keys the delivery (the same on every attempt); the type
   * is `event.type` (`charge:confirmed`). Retries last up to 3 days; no timestamp:
   * keys are kept 30 days.
   */
  'coinbase-commerce': {
    scheme: 'hmac',
    header: 'x-cc-webhook-signature',
    algorithm: 'sha256',
    encoding: 'hex',
    deliveryId: { jsonField: 'event.id' },
    eventTypeField: 'event.type',
  },
  /**
   * Checkout.com webhooks (Dashboard → Developers → Webhooks, the endpoint's secret
   * key): HMAC-SHA256 of the body in hex, `Cko-Signature`. The event's `id`
   * (`evt_…`) is signed and keys the delivery; the type is `type`
   * (`payment_approved`). Checkout.com resends up to 8 times over about 30 hours;
   * no timestamp: keys are kept 30 days.
   */
  'checkout-com': {
    scheme: 'hmac',
    header: 'cko-signature',
    algorithm: 'sha256',
    encoding: 'hex',
    deliveryId: { jsonField: 'id' },
    eventTypeField: 'type',
  },
  /**
   * Persona webhooks (Dashboard → Webhooks, the `wbhsec_…` secret, used whole):
   * `Persona-Signature: t=<seconds>,v1=<hex>`, the HMAC-SHA256 of `t.body`, within
   * ±300 s. While a secret rotates Persona sends two such sets separated by a space,
   * each with its `t=`. The event's `data.id` (`evt_…`) is signed and keys the
   * delivery; the type is `data.attributes.name` (`inquiry.completed`). Persona
   * makes 5 attempts within about 6 minutes: keys are kept 7 days by default.
   */
  persona: {
    scheme: 'hmac',
    header: 'persona-signature',
    structured: { signatureKey: 'v1', timestampKey: 't', setSeparator: ' ' },
    signedContent: '{timestamp}.{body}',
    algorithm: 'sha256',
    encoding: 'hex',
    deliveryId: { jsonField: 'data.id' },
    eventTypeField: 'data.attributes.name',
  },
  /**
   * Zoom webhooks (Marketplace app → Features → Access, the Secret Token):
   * `x-zm-signature: v0=<hex>`, the HMAC-SHA256 of `v0:{x-zm-request-timestamp}:{body}`,
   * within ±300 s. No id is signed: the body's SHA-256 keys an event (its `event_ts`
   * tells events apart; a retry is the same body signed again). The type is `event`
   * (`meeting.started`). The `endpoint.url_validation` Zoom sends when the URL is
   * saved, and every 72 hours, is answered once its signature verifies with
   * `{ plainToken, encryptedToken }`, the token's HMAC-SHA256 (hex) keyed by the
   * secret that verified it, and neither stored nor published. Zoom retries 3
   * times, the last about 85 minutes after the first attempt: keys are kept 7 days
   * by default.
   */
  zoom: {
    scheme: 'hmac',
    header: 'x-zm-signature',
    prefix: 'v0=',
    algorithm: 'sha256',
    encoding: 'hex',
    timestampHeader: 'x-zm-request-timestamp',
    signedContent: 'v0:{timestamp}:{body}',
    eventTypeField: 'event',
    handshake: {
      jsonField: 'event',
      equals: 'endpoint.url_validation',
      replyObject: {
        plainToken: { jsonField: 'payload.plainToken' },
        encryptedToken: { hmacOfField: 'payload.plainToken' },
      },
    },
  },
  /**
   * Meta webhooks (Graph API: Pages, Instagram, WhatsApp Business): HMAC-SHA256 of
   * the body keyed by the App Secret, `X-Hub-Signature-256: sha256=<hex>`. No id is
   * signed: the body's SHA-256 keys a delivery. The type is `object` (`page`,
   * `instagram`, `whatsapp_business_account`); the fields that changed are in
   * `entry[]`. No timestamp: keys are kept 30 days, above Meta's retries (up to 7
   * days for WhatsApp). The GET verification request (`hub.mode=subscribe`,
   * `hub.verify_token`, `hub.challenge`) is answered on `GET /webhooks/<name>`
   * (subscriptionCheck): put the verify token you chose in the secret list as
   * `verify:<token>`, beside the App Secret.
   */
  meta: {
    scheme: 'hmac',
    subscriptionCheck: true,
    header: 'x-hub-signature-256',
    prefix: 'sha256=',
    algorithm: 'sha256',
    encoding: 'hex',
    eventTypeField: 'object',
  },
  /**
   * Plaid webhooks: an ES256 JWT in `Plaid-Verification`, its key named by `kid`
   * (give the JWKS from `/webhook_verification_key/get` as `jwks`: nothing is fetched
   * at run time), issued (`iat`) at most 300 s ago, whose `request_body_sha256` claim
   * must be the body's SHA-256. Plaid sends byte-identical bodies as distinct
   * notifications (`SYNC_UPDATES_AVAILABLE` again and again) and its bodies carry no
   * id, so the SHA-256 of the token's signed part keys a delivery: a copy of a token
   * is a duplicate, a new notification with the same body is not, and neither is
   * Plaid's retry (signed anew, for up to 24 hours): consumers see it again. The
   * type is `webhook_code`. Keys are kept 7 days by default.
   */
  plaid: {
    scheme: 'jwt',
    header: 'plaid-verification',
    algorithms: ['ES256'],
    maxAgeSeconds: 300,
    bodyHashClaim: 'request_body_sha256',
    deliveryKey: 'token',
    eventTypeField: 'webhook_code',
  },
} as const satisfies Readonly<Record<string, PresetOptions>>;
