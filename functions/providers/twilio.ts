import { createHash } from 'node:crypto';
import { parse as parseQuery, stringify as stringifyQuery } from 'node:querystring';
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
 * (API Gateway and the local gateway both set x-forwarded-proto). The URL forms tried
 * are those Twilio's own validator (`validateRequest` of the twilio package) accepts,
 * in its order (see twilioUrlForms): the URL as received, without its port and with
 * the scheme's default port; only when neither matches, the URL as the WHATWG URL
 * parser writes it back (escapes normalised), again without and with the port, and
 * each of those with its query string re-encoded as Node's `querystring` writes it.
 * A URL with userinfo (`https://user:pass@host/…`) keeps it in every form, and its
 * port is the one after the host, never a colon of the userinfo.
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
const LOWER_HEX_SHA256 = /^[0-9a-f]{64}$/;

/** The bodySHA256 parameter of the URL as the WHATWG parser reads it; undefined when the URL does not parse. */
function bodyHashOf(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get(BODY_HASH_PARAMETER) ?? undefined;
  } catch {
    return undefined;
  }
}
const AUTH_TOKEN = /^[0-9a-fA-F]{32}$/;
const KEPT_HEADERS = ['i-twilio-idempotency-token', 'content-type', 'user-agent'];

/** Form parameters by name, each with its values. */
export type FormParameters = Readonly<Record<string, readonly string[]>>;

/**
 * Decodes an `application/x-www-form-urlencoded` body. The result has no prototype,
 * so a parameter named `__proto__` is a parameter like any other (and signed as one),
 * never dropped.
 */
export function formParameters(body: Uint8Array | string): FormParameters {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const params: Record<string, string[]> = Object.create(null);
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

/** `scheme://`, then the authority (userinfo, host, port) up to the first `/`, `?` or `#`. */
const URL_HEAD = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i;

/**
 * The URL with its port taken out (`withPort: false`), or, when it has none, the
 * scheme's default port put in (`withPort: true`; a URL with a port is kept as it
 * is). The port starts at the first colon after the userinfo (up to the last `@`)
 * and after an IPv6 literal's `]`. A URL without `scheme://` is kept as it is.
 */
function portForm(url: string, withPort: boolean): string {
  const head = URL_HEAD.exec(url);
  if (!head) return url;
  const [whole, scheme = '', authority = ''] = head;
  const hostStart = authority.lastIndexOf('@') + 1;
  const userInfo = authority.slice(0, hostStart);
  const hostAndPort = authority.slice(hostStart);
  const colon = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  const host = colon < 0 ? hostAndPort : hostAndPort.slice(0, colon);
  const rest = url.slice(whole.length);
  if (!withPort) return scheme + userInfo + host + rest;
  if (colon >= 0) return url;
  const port = scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return scheme + userInfo + host + port + rest;
}

/** The URL with its query string decoded and written again by Node's `querystring` (`'` as `%27`, a space as `%20`, repeated names together). */
function legacyQueryForm(url: string): string {
  const question = url.indexOf('?');
  if (question < 0 || question === url.length - 1) return url;
  return `${url.slice(0, question)}?${stringifyQuery(parseQuery(url.slice(question + 1)))}`;
}

/** The URL as the WHATWG parser writes it back, or undefined when it does not parse. */
function normalisedUrl(url: string): string | undefined {
  try {
    return new URL(url).toString();
  } catch {
    return undefined;
  }
}

/**
 * The URL forms Twilio's validator accepts a signature over, in two rounds: first
 * the URL as received, without and with its port; then (tried only when the first
 * round fails, and only when the URL parses) the parser's normalised URL without
 * and with its port, and each of those with its query string re-encoded.
 */
export function twilioUrlForms(url: string): { asReceived: string[]; normalised: string[] } {
  const asReceived = [...new Set([portForm(url, false), portForm(url, true)])];
  const parsed = normalisedUrl(url);
  if (parsed === undefined) return { asReceived, normalised: [] };
  const bare = portForm(parsed, false);
  const ported = portForm(parsed, true);
  const normalised = [
    ...new Set([bare, ported, legacyQueryForm(bare), legacyQueryForm(ported)]),
  ].filter((form) => !asReceived.includes(form));
  return { asReceived, normalised };
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
      const json = new URLSearchParams(request.rawQueryString).has(BODY_HASH_PARAMETER);
      // A JSON body is signed through bodySHA256 in the URL; a form body through its parameters.
      const params = json ? {} : formParameters(rawBody);
      // Each URL form in turn: the one that matched is what Twilio signed, and keys the delivery.
      const matching = (forms: readonly string[]): Buffer | undefined => {
        for (const form of forms) {
          const data = signedData(form, params);
          const expected = context.secrets.map((secret) => hmac('sha1', secret, data));
          if (matchesAny([candidate], expected)) return data;
        }
        return undefined;
      };
      const forms = twilioUrlForms(url);
      const signed = matching(forms.asReceived) ?? matching(forms.normalised);
      if (!signed) {
        return reject401(
          'signature_mismatch',
          'X-Twilio-Signature does not match the URL and the parameters with any active auth token: check the auth token, and set publicUrl when Twilio calls another host or path',
        );
      }
      if (json) {
        // Read as Twilio's validator reads it: from the parsed URL, lower-case hex only.
        const bodyHash = bodyHashOf(url);
        const signedHash =
          bodyHash && LOWER_HEX_SHA256.test(bodyHash) ? decodeHex(bodyHash, 32) : undefined;
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
