import {
  asName,
  bodyDigest,
  checkSecretList,
  checkTimestamp,
  decodeHex,
  hmac,
  isRecord,
  keepHeaders,
  matchesAny,
} from './common.ts';
import {
  type Acknowledgement,
  type Provider,
  reject400,
  reject401,
  type Verdict,
  type VerifyContext,
  type WebhookRequest,
} from './types.ts';

/**
 * Slack Events API (https://docs.slack.dev/authentication/verifying-requests-from-slack):
 *   X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">
 *   X-Slack-Request-Timestamp: <unix seconds>, accepted within ±5 minutes
 * keyed with the app's signing secret. The delivery id is the envelope's `event_id`
 * (the same on Slack's retries), the event type `event.type`. The `url_verification`
 * request Slack sends when the Request URL is saved is answered with its challenge,
 * neither stored nor published.
 *
 * Slash commands and interactivity post `application/x-www-form-urlencoded` bodies
 * signed the same way (the raw body bytes, as sent). Whether a body is an Events API
 * request or a form is read from the signed bytes, never from the unsigned
 * Content-Type: a JSON object is an Events API request, anything else is read as a
 * form. Interactivity (`payload=<JSON>`) is typed by the payload's `type`
 * (`block_actions`, `view_submission`, `shortcut`, …); a slash command (`command=`)
 * is typed `slash_command.<command>` (`slash_command./deploy`); Slack's `ssl_check=1`
 * request is answered 200 and neither stored nor published.
 *
 * A form delivery, once stored and published, and any copy of it, is answered an
 * empty 200 (QUIET_ACK), which Slack shows nothing of; an Events API request keeps
 * hookonce's JSON answer (Slack takes any 2xx).
 *
 * Neither form carries a delivery id: Slack does not retry them, and the ids they
 * hold (`trigger_id`, an action's `action_ts`) are absent from some payload types
 * (`view_closed`, `block_suggestion`). So the key of a form delivery is the SHA-256
 * of the signed body, which holds those ids wherever Slack sends them: two
 * interactions are two deliveries, a copy of a signed request is a duplicate (and
 * refused anyway once its timestamp is 5 minutes old). Unsigned headers such as
 * X-Slack-Retry-Num never take part in the key.
 */
export const SLACK_HEADERS = {
  signature: 'x-slack-signature',
  timestamp: 'x-slack-request-timestamp',
} as const;

const PREFIX = 'v0=';
/** What Slack's slash commands are typed: `slash_command.` then the command as sent (`/deploy`). */
export const SLASH_COMMAND_TYPE = 'slash_command';
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
      if (!isRecord(envelope)) return formVerdict(request, context);
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

/**
 * How a slash command or an interaction is acknowledged once stored and published
 * (or seen again): an empty 200. Slack shows the user what such a post is answered:
 * a slash command's body becomes its reply in the channel, and a non-200 is shown as
 * an error; an empty 200 is the quiet acknowledgement. Replies are the consumer's to
 * send, through `response_url` or the Web API.
 */
export const QUIET_ACK: Acknowledgement = { statusCode: 200, contentType: 'text/plain', body: '' };

/** The parsed JSON of an interactivity `payload` field, or undefined when it is not a JSON object. */
function parsePayload(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The verdict on a verified form body: an interactivity payload, a slash command,
 * or Slack's SSL check. Everything it reads is in the signed body.
 */
function formVerdict(request: WebhookRequest, context: VerifyContext): Verdict {
  const form = new URLSearchParams(request.rawBody.toString('utf8'));
  const accept = (eventType: string): Verdict => ({
    kind: 'accept',
    deliveryId: bodyDigest(request, context),
    eventType,
    keptHeaders: keepHeaders(request.headers, KEPT_HEADERS),
    acknowledgement: QUIET_ACK,
  });
  const payload = form.get('payload');
  if (payload !== null) {
    const parsed = parsePayload(payload);
    if (!parsed) {
      return reject400('malformed_body', 'the interactivity payload is not a JSON object');
    }
    const type = typeof parsed.type === 'string' ? parsed.type : '';
    if (!type) {
      return reject400('malformed_body', 'the interactivity payload has no "type"');
    }
    return accept(type);
  }
  const command = form.get('command');
  if (command !== null) {
    if (!command) return reject400('malformed_body', 'the slash command has an empty "command"');
    return accept(`${SLASH_COMMAND_TYPE}.${command}`);
  }
  if (form.get('ssl_check') === '1') {
    return { kind: 'reply', statusCode: 200, contentType: 'text/plain', body: '' };
  }
  return reject400(
    'malformed_body',
    'the body is neither a JSON Events API request, nor an interactivity payload, nor a slash command',
  );
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
