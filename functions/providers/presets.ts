import type { ProviderScheme, SchemeName } from '../shared/declaration.ts';

/**
 * Named presets: each is nothing but a scheme family's options for one sender,
 * checked like any declaration. A provider declared `{ preset: 'discord',
 * publicKeys: ['…'] }` is the family declaration below plus what only its owner
 * knows (keys, ids) and any option it overrides. Adding a sender that signs like
 * a family is an entry here and a test against the sender's own library, never a
 * verifier of its own.
 */

/** A family's options without its keys: what a preset fixes. */
type PresetOptions = {
  [S in SchemeName]: { scheme: S } & Partial<
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
} as const satisfies Readonly<Record<string, PresetOptions>>;

export type PresetName = keyof typeof PRESETS;
