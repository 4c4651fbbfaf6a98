import type { HookonceDeclaration } from '../functions/shared/declaration.ts';

/**
 * The default declaration: what `npm start` serves and what `cdk deploy`
 * creates. Edit it to add providers and subscribers (see docs/architecture.md,
 * Configuration, and docs/providers.md for what each provider sends).
 */
export const declaration: HookonceDeclaration = {
  name: 'hookonce',
  providers: {
    // Standard Webhooks: webhook-id / webhook-timestamp / webhook-signature; whsec_ secrets
    // (v1 signatures) and whpk_ public keys (v1a signatures).
    standard: { scheme: 'standard-webhooks' },
    // Stripe-Signature: t=…,v1=…; the event id and type from the body. Secret: whsec_…
    stripe: { scheme: 'stripe' },
    // X-Hub-Signature-256, X-GitHub-Delivery, X-GitHub-Event. Secret: the webhook's secret.
    github: { scheme: 'github' },
    // X-Shopify-Hmac-Sha256, X-Shopify-Event-Id, X-Shopify-Topic. Secret: the app's client secret.
    shopify: { scheme: 'shopify' },
    // X-Slack-Signature over v0:timestamp:body; event_id and event.type. Secret: the signing secret.
    slack: { scheme: 'slack' },
    // X-Twilio-Signature over the URL and the form parameters. Secret: the auth token.
    // Behind a custom domain or proxy, add publicUrl: 'https://…/webhooks/twilio'.
    twilio: { scheme: 'twilio' },
    // Any HMAC signer; this one signs "<x-delivery-id>.<x-timestamp>.<body>" with HMAC-SHA256
    // in hex in x-signature, and names the event type in the body's "type". Its delivery id
    // is signed, so it keys the delivery; an unsigned one would not (see docs/security.md).
    hmac: {
      scheme: 'hmac',
      header: 'x-signature',
      algorithm: 'sha256',
      encoding: 'hex',
      timestampHeader: 'x-timestamp',
      signedContent: '{id}.{timestamp}.{body}',
      deliveryId: { header: 'x-delivery-id' },
      eventTypeField: 'type',
    },
  },
  subscribers: {
    // Receives every event; its consumer counts each event's effect, once.
    example: {
      consumer: { entry: 'functions/consumers/example/handler.ts' },
    },
    // Stripe invoice and charge events only; its consumer keeps each invoice's latest
    // state whatever order the events arrive in, and each customer's paid total.
    billing: {
      // Exact types, or prefixes ending in "." or "*"; this becomes the SNS filter policy.
      filter: { providers: ['stripe'], types: ['stripe.invoice.', 'stripe.charge.'] },
      // A failed event comes back after the visibility timeout (6 × 10 s), three times at most.
      consumer: { entry: 'functions/consumers/billing/handler.ts', timeoutSeconds: 10 },
      batchSize: 10,
      maxConcurrency: 5, // at most 5 batches at once
      maxReceiveCount: 3, // receives before the DLQ
    },
  },
};
