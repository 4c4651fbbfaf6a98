import {
  asName,
  checkSecretList,
  checkTimestamp,
  decodeHex,
  hmac,
  isRecord,
  keepHeaders,
  matchesAny,
} from './common.ts';
import { type Provider, reject400, reject401, type Verdict } from './types.ts';

/**
 * Slack Events API (https://docs.slack.dev/authentication/verifying-requests-from-slack):
 *   X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">
 *   X-Slack-Request-Timestamp: <unix seconds>, accepted within ±5 minutes
 * keyed with the app's signing secret. The delivery id is the envelope's `event_id`
 * (the same on Slack's retries), the event type `event.type`. The `url_verification`
 * request Slack sends when the Request URL is saved is answered with its challenge,
 * neither stored nor published.
 */
export const SLACK_HEADERS = {
  signature: 'x-slack-signature',
  timestamp: 'x-slack-request-timestamp',
} as const;

const PREFIX = 'v0=';
const SIGNATURE_BYTES = 32;
const KEPT_HEADERS = [
  'x-slack-request-timestamp',
  'x-slack-retry-num',
  'x-slack-retry-reason',
  'content-type',
  'user-agent',
];

export function slack(options: {
  name: string;
  maxBodyBytes: number;
  toleranceSeconds: number;
}): Provider {
  const { name, maxBodyBytes, toleranceSeconds } = options;
  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      checkSecretList(
        name,
        secrets,
        "a Slack secret is the app's Signing Secret (api.slack.com/apps → your app → Basic Information → App Credentials), without whitespace; not the verification token",
      );
    },
    inspect(request, context): Verdict {
      const { headers } = request;
      const header = headers[SLACK_HEADERS.signature];
      if (!header) return reject401('missing_signature', 'the X-Slack-Signature header is missing');
      const timestamp = headers[SLACK_HEADERS.timestamp];
      const stale = checkTimestamp(timestamp, {
        what: 'X-Slack-Request-Timestamp',
        nowMs: context.now,
        toleranceSeconds,
      });
      if (stale) return stale;
      const candidate = header.startsWith(PREFIX)
        ? decodeHex(header.slice(PREFIX.length), SIGNATURE_BYTES)
        : undefined;
      if (!candidate) {
        return reject401(
          'malformed_signature',
          'X-Slack-Signature must be "v0=" and 64 hex digits',
        );
      }
      const expected = context.secrets.map((secret) =>
        hmac('sha256', secret, `v0:${timestamp}:`, request.rawBody),
      );
      if (!matchesAny([candidate], expected)) {
        return reject401(
          'signature_mismatch',
          "X-Slack-Signature does not match the body with any active secret: check the app's Signing Secret",
        );
      }

      const envelope = context.json();
      if (!isRecord(envelope)) {
        return reject400(
          'malformed_body',
          'the body is not a JSON Events API request (slash commands and interactivity are not received here)',
        );
      }
      if (envelope.type === 'url_verification') {
        if (typeof envelope.challenge !== 'string') {
          return reject400('malformed_body', 'the url_verification request has no challenge');
        }
        return {
          kind: 'reply',
          statusCode: 200,
          contentType: 'application/json',
          body: JSON.stringify({ challenge: envelope.challenge }),
        };
      }
      const id = asName(envelope.event_id);
      if (!id) return reject400('missing_delivery_id', 'the Events API request has no "event_id"');
      const inner = isRecord(envelope.event) ? envelope.event.type : undefined;
      const type =
        typeof inner === 'string' && inner
          ? inner
          : typeof envelope.type === 'string' && envelope.type
            ? envelope.type
            : 'webhook';
      return {
        kind: 'accept',
        deliveryId: id,
        eventType: type,
        keptHeaders: keepHeaders(headers, KEPT_HEADERS),
      };
    },
  };
}

/** The headers Slack would send for `body` at `timestamp` (whole seconds). */
export function signSlack(options: {
  secret: string;
  timestamp: number;
  body: Uint8Array | string;
}): Record<string, string> {
  const signature = hmac('sha256', options.secret, `v0:${options.timestamp}:`, options.body);
  return {
    [SLACK_HEADERS.signature]: `${PREFIX}${signature.toString('hex')}`,
    [SLACK_HEADERS.timestamp]: String(options.timestamp),
  };
}
