import { createHash } from 'node:crypto';
import {
  checkSecretList,
  decodeBase64,
  decodeHex,
  hmac,
  keepHeaders,
  matchesAny,
  signedDigest,
} from './common.ts';
import { type Provider, reject400, reject401, type Verdict, type WebhookRequest } from './types.ts';

/**
 * Twilio (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
 *   X-Twilio-Signature: <base64 HMAC-SHA1 of the URL + the sorted form parameters>
 * keyed with the account's auth token. The URL is the one configured in Twilio,
 * query string included. A form body contributes each parameter, sorted by name,
 * as name + value; a JSON body is signed through a `bodySHA256` query parameter
 * (the hex SHA-256 of the body) and contributes nothing else. What is signed is the
 * decoded parameters, not the body's bytes: two encodings of the same parameters
 * (`+` or `%20` for a space) verify alike, as they do with Twilio's own validator.
 *
 * The public URL is `publicUrl` from the declaration plus the request's query
 * string, else rebuilt from the request as `<x-forwarded-proto>://<host><path>?<query>`
 * (API Gateway and the local gateway both set x-forwarded-proto). As Twilio's own
 * validator does, a URL with a port is also tried without it and one without a port
 * with the scheme's default, since Twilio may sign either form.
 *
 * I-Twilio-Idempotency-Token (kept across Twilio's retries) is not signed, so the
 * key of a delivery is the SHA-256 of what is: the URL form that matched and the
 * decoded, sorted parameters. A form encoded again (`+` for `%20`) is the same
 * content and so the same delivery; the token is kept for display and lookup. The
 * event type is fixed by the declaration (`eventType`, default `twilio`). No
 * timestamp is signed, so a replay is refused for as long as its key is kept
 * (the provider's retention, 30 days by default).
 */
export const TWILIO_HEADERS = {
  signature: 'x-twilio-signature',
  idempotencyToken: 'i-twilio-idempotency-token',
} as const;

export const BODY_HASH_PARAMETER = 'bodySHA256';

const SIGNATURE_BYTES = 20;
const AUTH_TOKEN = /^[0-9a-fA-F]{32}$/;
const KEPT_HEADERS = ['i-twilio-idempotency-token', 'content-type', 'user-agent'];

/** Form parameters by name, each with its values. */
export type FormParameters = Readonly<Record<string, readonly string[]>>;

/** Decodes an `application/x-www-form-urlencoded` body. */
export function formParameters(body: Uint8Array | string): FormParameters {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const params: Record<string, string[]> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (!Object.hasOwn(params, key)) params[key] = [];
    params[key]?.push(value);
  }
  return params;
}

/**
 * The bytes Twilio signs: the URL, then each parameter sorted by name as name+value
 * (a repeated name contributes each distinct value, sorted).
 */
function signedData(url: string, params: FormParameters): Buffer {
  let data = url;
  for (const key of Object.keys(params).sort()) {
    for (const value of [...new Set(params[key])].sort()) data += key + value;
  }
  return Buffer.from(data, 'utf8');
}

/** The X-Twilio-Signature value for a request to `url` with `params`. */
export function twilioSignature(authToken: string, url: string, params: FormParameters): string {
  return hmac('sha1', authToken, signedData(url, params)).toString('base64');
}

const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is;

/** The URL as given, and with its port removed, or the scheme's default port added. */
function portVariants(url: string): string[] {
  const parts = URL_PARTS.exec(url);
  if (!parts) return [url];
  const [, scheme = '', authority = '', rest = ''] = parts;
  const colon = authority.indexOf(':', authority.lastIndexOf(']') + 1);
  if (colon >= 0) return [url, scheme + authority.slice(0, colon) + rest];
  const port = scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return [url, scheme + authority + port + rest];
}

/** The public URL Twilio called, as the provider rebuilds it. */
export function twilioPublicUrl(request: WebhookRequest, publicUrl: string | undefined): string {
  const query = request.rawQueryString ? `?${request.rawQueryString}` : '';
  if (publicUrl) return publicUrl + query;
  const proto = (request.headers['x-forwarded-proto'] ?? 'https').split(',')[0]?.trim() || 'https';
  const host = request.headers.host || request.domainName;
  return `${proto.toLowerCase()}://${host}${request.rawPath}${query}`;
}

export function twilio(options: {
  name: string;
  maxBodyBytes: number;
  publicUrl?: string;
  eventType: string;
}): Provider {
  const { name, maxBodyBytes, publicUrl, eventType } = options;
  return {
    name,
    maxBodyBytes,
    checkSecrets(secrets) {
      checkSecretList(
        name,
        secrets,
        'a Twilio secret is the Auth Token of the account that sends the webhooks: 32 hexadecimal digits (Console → Account info)',
        (secret) => AUTH_TOKEN.test(secret),
      );
    },
    inspect(request, context): Verdict {
      const { headers, rawBody } = request;
      const header = headers[TWILIO_HEADERS.signature];
      if (!header)
        return reject401('missing_signature', 'the X-Twilio-Signature header is missing');
      const candidate = decodeBase64(header, SIGNATURE_BYTES);
      if (!candidate) {
        return reject401(
          'malformed_signature',
          'X-Twilio-Signature must be the base64 of 20 bytes',
        );
      }

      const url = twilioPublicUrl(request, publicUrl);
      const bodyHash = new URLSearchParams(request.rawQueryString).get(BODY_HASH_PARAMETER);
      // A JSON body is signed through bodySHA256 in the URL; a form body through its parameters.
      const params = bodyHash === null ? formParameters(rawBody) : {};
      // Each URL form in turn: the one that matched is what Twilio signed, and keys the delivery.
      let signed: Buffer | undefined;
      for (const variant of portVariants(url)) {
        const data = signedData(variant, params);
        const expected = context.secrets.map((secret) => hmac('sha1', secret, data));
        if (matchesAny([candidate], expected)) {
          signed = data;
          break;
        }
      }
      if (!signed) {
        return reject401(
          'signature_mismatch',
          'X-Twilio-Signature does not match the URL and the parameters with any active auth token: check the auth token, and set publicUrl when Twilio calls another host or path',
        );
      }
      if (bodyHash !== null) {
        const signedHash = decodeHex(bodyHash, 32);
        const actual = createHash('sha256').update(rawBody).digest();
        if (!signedHash || !matchesAny([signedHash], [actual])) {
          return reject401(
            'signature_mismatch',
            'the body does not match the bodySHA256 that Twilio signed',
          );
        }
      }

      const token = headers[TWILIO_HEADERS.idempotencyToken];
      if (!token) {
        return reject400('missing_delivery_id', 'the I-Twilio-Idempotency-Token header is missing');
      }
      return {
        kind: 'accept',
        deliveryId: signedDigest(signed),
        providerDeliveryId: token,
        eventType,
        keptHeaders: keepHeaders(headers, KEPT_HEADERS),
      };
    },
  };
}

/**
 * Signs as Twilio does, for the CLI. A form body is signed with its parameters; a
 * JSON body (`json: true`) adds `bodySHA256` to the URL and signs the URL alone.
 * Answers the URL that was signed (post to it) and the signature header.
 */
export function signTwilio(options: {
  authToken: string;
  url: string;
  body: Uint8Array | string;
  json: boolean;
}): { url: string; headers: Record<string, string> } {
  const { authToken, body, json } = options;
  if (!json) {
    return {
      url: options.url,
      headers: {
        [TWILIO_HEADERS.signature]: twilioSignature(authToken, options.url, formParameters(body)),
      },
    };
  }
  const hash = createHash('sha256').update(body).digest('hex');
  const url = `${options.url}${options.url.includes('?') ? '&' : '?'}${BODY_HASH_PARAMETER}=${hash}`;
  return { url, headers: { [TWILIO_HEADERS.signature]: twilioSignature(authToken, url, {}) } };
}
