import {
  bodyDigest,
  checkSecretList,
  decodeHex,
  hmac,
  keepHeaders,
  matchesAny,
  unsignedEventType,
} from './common.ts';
import { type Provider, reject400, reject401, type Verdict } from './types.ts';

/**
 * GitHub (https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries):
 *   X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
 * keyed with the webhook's secret. Only the body is signed: X-GitHub-Delivery (a
 * GUID that a manual redelivery keeps) and X-GitHub-Event are not. So the key of a
 * delivery is the SHA-256 of the body, and the GUID is kept for display and lookup:
 * the same body sent again under a fresh GUID (copied from "Recent Deliveries",
 * say) is a duplicate. X-GitHub-Event must match a strict pattern and is marked
 * unsigned in the envelope. GitHub's `ping`, sent when a webhook is created, is a
 * delivery like any other. The scheme signs no timestamp, so a replay is refused
 * for as long as its key is kept (the provider's retention, 30 days by default).
 */
export const GITHUB_HEADERS = {
  signature: 'x-hub-signature-256',
  delivery: 'x-github-delivery',
  event: 'x-github-event',
} as const;

const PREFIX = 'sha256=';
/** GitHub's event names: `push`, `pull_request`, `check_run`, … */
const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const SIGNATURE_BYTES = 32;
const KEPT_HEADERS = [
  'x-github-delivery',
  'x-github-event',
  'x-github-hook-id',
  'x-github-hook-installation-target-id',
  'x-github-hook-installation-target-type',
  'content-type',
  'user-agent',
];

export function github(options: { name: string; maxBodyBytes: number }): Provider {
  const { name, maxBodyBytes } = options;
  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      checkSecretList(
        name,
        secrets,
        "a GitHub webhook secret is the text typed in the webhook's \"Secret\" field (the repository's or organisation's Settings → Webhooks → your webhook), without whitespace",
      );
    },
    inspect(request, context): Verdict {
      const { headers } = request;
      const header = headers[GITHUB_HEADERS.signature];
      if (!header) {
        return reject401(
          'missing_signature',
          'the X-Hub-Signature-256 header is missing: give the webhook a secret in GitHub',
        );
      }
      const candidate = header.startsWith(PREFIX)
        ? decodeHex(header.slice(PREFIX.length), SIGNATURE_BYTES)
        : undefined;
      if (!candidate) {
        return reject401(
          'malformed_signature',
          'X-Hub-Signature-256 must be "sha256=" and 64 hex digits',
        );
      }
      const expected = context.secrets.map((secret) => hmac('sha256', secret, request.rawBody));
      if (!matchesAny([candidate], expected)) {
        return reject401(
          'signature_mismatch',
          'X-Hub-Signature-256 does not match the body with any active secret: check the webhook secret',
        );
      }

      const delivery = headers[GITHUB_HEADERS.delivery];
      if (!delivery) {
        return reject400('missing_delivery_id', 'the X-GitHub-Delivery header is missing');
      }
      const eventType = unsignedEventType(headers[GITHUB_HEADERS.event], EVENT_NAME, 'webhook');
      if (!eventType) {
        return reject400(
          'malformed_event_type',
          'X-GitHub-Event must be a GitHub event name: lower-case letters, digits and underscores',
        );
      }
      return {
        kind: 'accept',
        deliveryId: bodyDigest(request, context),
        providerDeliveryId: delivery,
        eventType,
        unsignedEventType: true,
        keptHeaders: keepHeaders(headers, KEPT_HEADERS),
      };
    },
  };
}

/** The X-Hub-Signature-256 header GitHub would send for `body`. */
export function signGithub(options: {
  secret: string;
  body: Uint8Array | string;
}): Record<string, string> {
  const signature = hmac('sha256', options.secret, options.body).toString('hex');
  return { [GITHUB_HEADERS.signature]: `${PREFIX}${signature}` };
}
