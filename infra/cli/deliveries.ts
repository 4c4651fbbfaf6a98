import {
  createHash,
  createPrivateKey,
  type KeyObject,
  randomBytes,
  randomUUID,
  sign,
} from 'node:crypto';
import { signAsymmetric } from '../../functions/providers/asymmetric.ts';
import { signBasic } from '../../functions/providers/basic.ts';
import { hmac, isRecord } from '../../functions/providers/common.ts';
import { GITHUB_HEADERS, signGithub } from '../../functions/providers/github.ts';
import { contentDeliveryId, decodeSecret, signHmac } from '../../functions/providers/hmac.ts';
import { SHOPIFY_HEADERS, signShopify } from '../../functions/providers/shopify.ts';
import { signSlack } from '../../functions/providers/slack.ts';
import {
  STANDARD_HEADERS,
  signStandardWebhook,
} from '../../functions/providers/standard-webhooks.ts';
import { signStripe } from '../../functions/providers/stripe.ts';
import {
  itemPath,
  parseTemplate,
  renderTemplate,
  signerRequest,
} from '../../functions/providers/template.ts';
import { signToken } from '../../functions/providers/token.ts';
import { signTwilio, TWILIO_HEADERS } from '../../functions/providers/twilio.ts';
import type {
  ResolvedProvider,
  ResolvedProviderOf,
  SchemeName,
  TimestampFormat,
} from '../../functions/shared/declaration.ts';
import { UsageError } from './command.ts';

/**
 * Turns a sample body into the request a provider would send: a delivery id
 * (fresh unless given), the event type where the sender sets it, and the
 * signature, made by the same signers the verifier tests prove against the
 * providers' own libraries.
 */

export interface DeliveryInput {
  /** The provider's name in the declaration (the URL segment). */
  name: string;
  provider: ResolvedProvider;
  body: Buffer;
  contentType: string;
  /** Where the request goes. */
  url: string;
  /**
   * The secret to sign with; for a provider verified with public keys
   * (asymmetric, jwt), the private key that signs, as PKCS #8 PEM.
   */
  secret: string;
  /** A delivery id to use instead of a fresh one (send it twice to see the duplicate). */
  id?: string;
  /** An event type to put where this provider carries it. */
  type?: string;
  /** Milliseconds since the epoch. */
  now: number;
}

export interface PreparedDelivery {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  deliveryId: string;
  eventType: string | undefined;
}

/** The sample each scheme sends when no --file is given, under infra/cli/samples/. */
export const SAMPLES: Readonly<Record<SchemeName, string>> = {
  'standard-webhooks': 'standard.json',
  stripe: 'stripe.json',
  github: 'github.json',
  shopify: 'shopify.json',
  slack: 'slack.json',
  twilio: 'twilio.form',
  hmac: 'hmac.json',
  asymmetric: 'hmac.json',
  token: 'hmac.json',
  basic: 'hmac.json',
  jwt: 'hmac.json',
};

/**
 * The sample a provider sends when no --file is given, under infra/cli/samples/:
 * a preset's own (samples/presets/<preset>.json), else its scheme's.
 */
export const sampleFile = (provider: ResolvedProvider): string =>
  provider.preset ? `presets/${provider.preset}.json` : SAMPLES[provider.scheme];

const alphanumeric = (length: number): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
};

/** A fresh id in the style of each provider's own ids. */
export function freshDeliveryId(scheme: SchemeName): string {
  switch (scheme) {
    case 'stripe':
      return `evt_${alphanumeric(24)}`;
    case 'slack':
      return `Ev${alphanumeric(10).toUpperCase()}`;
    case 'standard-webhooks':
      return `msg_${alphanumeric(27)}`;
    case 'twilio':
      return `${randomUUID()}-${Math.floor(Date.now() / 1000)}`;
    case 'github':
    case 'shopify':
      return randomUUID();
    case 'hmac':
    case 'asymmetric':
    case 'token':
    case 'basic':
    case 'jwt':
      return `dlv_${alphanumeric(20)}`;
  }
}

/** A timestamp written as the declaration says a sender writes it. */
function timestampText(format: TimestampFormat | undefined, now: number): string {
  if (format === 'milliseconds') return String(now);
  if (format === 'iso8601') return new Date(now).toISOString();
  return String(Math.floor(now / 1000));
}

/** A timestamp as a sender writes it into its JSON body: a number of seconds or milliseconds, or ISO 8601 text. */
function bodyTimestamp(format: TimestampFormat | undefined, now: number): number | string {
  if (format === 'milliseconds') return now;
  if (format === 'iso8601') return new Date(now).toISOString();
  return Math.floor(now / 1000);
}

/** A JSON body with fields set at dotted paths, written back in its own style (pretty or compact). */
class JsonBody {
  readonly #text: string;
  readonly #value: Record<string, unknown>;
  #changed = false;

  constructor(body: Buffer, what: string) {
    this.#text = body.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(this.#text);
    } catch {
      throw new UsageError(`${what} needs a JSON body, and the file is not JSON`);
    }
    if (!isRecord(value)) throw new UsageError(`${what} needs a JSON object as its body`);
    this.#value = value;
  }

  get(path: string): unknown {
    let at: unknown = this.#value;
    for (const step of path.split('.')) {
      at = isRecord(at) || Array.isArray(at) ? (at as Record<string, unknown>)[step] : undefined;
    }
    return at;
  }

  set(path: string, text: string): void {
    const current = this.get(path);
    // A field the sample writes as a number (Telegram's update_id) stays one.
    this.put(path, typeof current === 'number' && /^-?\d{1,15}$/.test(text) ? Number(text) : text);
  }

  /** Sets the field at `path` to `value` as it is (a number stays a number). */
  put(path: string, value: unknown): void {
    const current = this.get(path);
    if (current === value) return;
    const steps = path.split('.');
    let at: Record<string, unknown> = this.#value;
    for (const step of steps.slice(0, -1)) {
      const next = at[step];
      if (!isRecord(next) && !Array.isArray(next)) at[step] = {};
      at = at[step] as Record<string, unknown>;
    }
    at[steps.at(-1) ?? path] = value;
    this.#changed = true;
  }

  bytes(original: Buffer): Buffer {
    if (!this.#changed) return original;
    const pretty = this.#text.includes('\n');
    return Buffer.from(
      pretty ? `${JSON.stringify(this.#value, null, 2)}\n` : JSON.stringify(this.#value),
    );
  }
}

const stringAt = (body: JsonBody, path: string): string | undefined => {
  const value = body.get(path);
  return typeof value === 'string' ? value : undefined;
};

export function prepareDelivery(input: DeliveryInput): PreparedDelivery {
  const { provider, secret } = input;
  const seconds = Math.floor(input.now / 1000);
  const id = input.id ?? freshDeliveryId(provider.scheme);
  const base = { 'content-type': input.contentType };

  switch (provider.scheme) {
    case 'stripe': {
      const json = new JsonBody(input.body, 'a Stripe event');
      json.set('id', id);
      if (input.type) json.set('type', input.type);
      const body = json.bytes(input.body);
      return {
        url: input.url,
        headers: { ...base, ...signStripe({ secret, timestamp: seconds, body }) },
        body,
        deliveryId: id,
        eventType: stringAt(json, 'type'),
      };
    }
    case 'github': {
      const eventType = input.type ?? 'push';
      return {
        url: input.url,
        headers: {
          ...base,
          [GITHUB_HEADERS.delivery]: id,
          [GITHUB_HEADERS.event]: eventType,
          ...signGithub({ secret, body: input.body }),
        },
        body: input.body,
        deliveryId: id,
        eventType,
      };
    }
    case 'shopify': {
      const eventType = input.type ?? 'orders/create';
      return {
        url: input.url,
        headers: {
          ...base,
          [SHOPIFY_HEADERS.topic]: eventType,
          [SHOPIFY_HEADERS.eventId]: id,
          [SHOPIFY_HEADERS.webhookId]: id,
          [SHOPIFY_HEADERS.shopDomain]: 'hookonce-dev.myshopify.com',
          'x-shopify-triggered-at': new Date(input.now).toISOString(),
          ...signShopify({ secret, body: input.body }),
        },
        body: input.body,
        deliveryId: id,
        eventType,
      };
    }
    case 'slack': {
      const json = new JsonBody(input.body, 'a Slack Events API request');
      const isVerification = stringAt(json, 'type') === 'url_verification';
      if (!isVerification) json.set('event_id', id);
      if (input.type) json.set('event.type', input.type);
      const body = json.bytes(input.body);
      return {
        url: input.url,
        headers: { ...base, ...signSlack({ secret, timestamp: seconds, body }) },
        body,
        deliveryId: isVerification ? '(url_verification: none)' : id,
        eventType: stringAt(json, 'event.type') ?? stringAt(json, 'type'),
      };
    }
    case 'standard-webhooks': {
      const json = new JsonBody(input.body, 'a Standard Webhooks delivery');
      if (input.type) json.set('type', input.type);
      const body = json.bytes(input.body);
      return {
        url: input.url,
        headers: {
          ...base,
          [STANDARD_HEADERS.id]: id,
          [STANDARD_HEADERS.timestamp]: String(seconds),
          [STANDARD_HEADERS.signature]: signStandardWebhook({
            secret,
            id,
            timestamp: seconds,
            body,
          }),
        },
        body,
        deliveryId: id,
        eventType: stringAt(json, 'type') ?? 'webhook',
      };
    }
    case 'twilio': {
      if (input.type) {
        throw new UsageError(
          `Twilio sends no event type: every delivery of "${input.name}" is "${provider.eventType}" (eventType in the declaration)`,
        );
      }
      const target = new URL(input.url);
      const signUrl = provider.publicUrl ? `${provider.publicUrl}${target.search}` : input.url;
      const json = /json/i.test(input.contentType);
      const signed = signTwilio({ authToken: secret, url: signUrl, body: input.body, json });
      // A JSON body adds bodySHA256 to the signed URL: the request carries the same query.
      const added = signed.url.slice(signUrl.length).replace(/^[?&]/, '');
      const url = added ? `${input.url}${target.search ? '&' : '?'}${added}` : input.url;
      return {
        url,
        headers: { ...base, [TWILIO_HEADERS.idempotencyToken]: id, ...signed.headers },
        body: input.body,
        deliveryId: id,
        eventType: provider.eventType,
      };
    }
    case 'hmac':
    case 'asymmetric':
    case 'token':
    case 'basic':
    case 'jwt':
      return prepareFamily(input, provider, id);
  }
}

type FamilyProvider = ResolvedProviderOf<'hmac' | 'asymmetric' | 'token' | 'basic' | 'jwt'>;

/** The private key of a provider verified with public keys, from the PEM `send` was given. */
function privateKeyOf(name: string, pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new UsageError(
      `"${name}" is verified with public keys: sign with the matching private key (PKCS #8 PEM), not a secret`,
    );
  }
}

/** A family's delivery: the id and type where the declaration puts them, signed as it verifies. */
function prepareFamily(
  input: DeliveryInput,
  provider: FamilyProvider,
  id: string,
): PreparedDelivery {
  const deliveryId = provider.deliveryId;
  const idHeader = deliveryId && 'header' in deliveryId ? deliveryId.header : undefined;
  const idField = deliveryId && 'jsonField' in deliveryId ? deliveryId.jsonField : undefined;
  const idClaim = deliveryId && 'claim' in deliveryId ? deliveryId.claim : undefined;
  if (!deliveryId && input.id) {
    throw new UsageError(
      provider.scheme === 'jwt' && provider.deliveryKey === 'token'
        ? `"${input.name}" names each delivery by the SHA-256 of its token, signed anew at each send: every send is a new delivery`
        : `"${input.name}" names each delivery by the SHA-256 of its body: change the body to send another delivery`,
    );
  }
  if (!provider.eventTypeField && !provider.eventTypeHeader && input.type) {
    throw new UsageError(
      `"${input.name}" declares no eventTypeField nor eventTypeHeader: its deliveries carry no event type of their own`,
    );
  }
  let body = input.body;
  let eventType = provider.eventType ?? 'webhook';
  // A timestamp signed in the body (Linear's webhookTimestamp) is written there, now.
  const hmacProvider = provider.scheme === 'hmac' ? provider : undefined;
  const timestampField = hmacProvider?.timestampField;
  if (idField || provider.eventTypeField || timestampField) {
    const json = new JsonBody(input.body, `"${input.name}"`);
    if (idField) json.set(idField, id);
    if (provider.eventTypeField && input.type) json.set(provider.eventTypeField, input.type);
    if (timestampField)
      json.put(timestampField, bodyTimestamp(hmacProvider?.timestampFormat, input.now));
    body = json.bytes(input.body);
    if (provider.eventTypeField) {
      eventType = stringAt(json, provider.eventTypeField) ?? 'webhook';
    }
  }
  const base = { 'content-type': input.contentType };
  const extra: Record<string, string> = {};
  if (provider.eventTypeHeader) {
    eventType = input.type ?? eventType;
    extra[provider.eventTypeHeader] = eventType;
  }
  if (idHeader) extra[idHeader] = id;
  const timed =
    (provider.scheme === 'hmac' || provider.scheme === 'asymmetric') &&
    (provider.timestampHeader !== undefined || provider.structured?.timestampKey !== undefined);
  const timestamp =
    timed && (provider.scheme === 'hmac' || provider.scheme === 'asymmetric')
      ? timestampText(provider.timestampFormat, input.now)
      : undefined;
  let signed: Record<string, string> = {};
  switch (provider.scheme) {
    case 'hmac':
      if (provider.signatureField !== undefined) {
        body = signInBody(provider, input.secret, body);
      } else {
        signed = signHmac(provider, {
          secret: input.secret,
          body,
          timestamp,
          id: idHeader ? id : undefined,
          url: input.url,
          headers: { ...base, ...extra },
        });
      }
      break;
    case 'asymmetric':
      if (provider.signatureField !== undefined) {
        throw new UsageError(
          `"${input.name}" is signed inside its body (${provider.signatureField}) with a private key: hookonce send does not write such signatures`,
        );
      }
      signed = signAsymmetric(provider, {
        privateKey: privateKeyOf(input.name, input.secret),
        body,
        timestamp,
        id: idHeader ? id : undefined,
        url: input.url,
        headers: { ...base, ...extra },
      });
      break;
    case 'jwt':
      signed = signJwt(
        provider,
        privateKeyOf(input.name, input.secret),
        body,
        input.now,
        idClaim && id,
      );
      break;
    case 'token':
      signed = signToken(provider, input.secret);
      break;
    case 'basic':
      signed = signBasic(input.secret);
      break;
  }
  const key =
    provider.scheme === 'jwt' && provider.deliveryKey === 'token'
      ? '(the SHA-256 of the token)'
      : contentDeliveryId(body, timestampField);
  return {
    url: input.url,
    headers: { ...base, ...extra, ...signed },
    body,
    deliveryId: deliveryId ? id : key,
    eventType,
  };
}

/**
 * Signs a body whose signature is a field of it (Adyen: one signature in each
 * item): the template rendered for each element the `*` step stands for, its HMAC
 * written at that element's signature field. The body is written back in its own
 * style (pretty or compact).
 */
export function signInBody(
  provider: ResolvedProviderOf<'hmac'>,
  secret: string,
  body: Buffer,
): Buffer {
  const field = provider.signatureField ?? '';
  const key = decodeSecret(secret, provider.secretEncoding ?? 'raw');
  if (!key)
    throw new UsageError(`the secret is not written as ${provider.secretEncoding ?? 'raw'}`);
  const text = body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('a body-signed delivery needs a JSON body, and the file is not JSON');
  }
  const steps = field.split('.');
  const star = steps.indexOf('*');
  const at = (path: readonly string[]): unknown =>
    path.reduce<unknown>(
      (v, step) =>
        isRecord(v) || Array.isArray(v) ? (v as Record<string, unknown>)[step] : undefined,
      value,
    );
  const items = star < 0 ? [undefined] : at(steps.slice(0, star));
  if (!Array.isArray(items) || items.length === 0) {
    throw new UsageError(`the body has no array at ${steps.slice(0, star).join('.')} to sign`);
  }
  const { parts } = parseTemplate(provider.signedContent);
  const request = signerRequest({ body });
  items.forEach((_, i) => {
    const item = star < 0 ? undefined : i;
    const content = renderTemplate(parts, request, {
      json: value,
      ...(item !== undefined ? { item } : {}),
    });
    const signature = hmac(provider.algorithm, key, content).toString(provider.encoding);
    const path = itemPath(field, item).split('.');
    let parent: unknown = value;
    for (const step of path.slice(0, -1)) {
      const container = parent as Record<string, unknown>;
      if (!isRecord(container[step]) && !Array.isArray(container[step])) container[step] = {};
      parent = container[step];
    }
    (parent as Record<string, unknown>)[path.at(-1) ?? field] = signature;
  });
  return Buffer.from(
    text.includes('\n') ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value),
  );
}

const base64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

/**
 * A JWT as such a sender sends it: `iat` now, the body's SHA-256 in the
 * body-hash claim, the id in the id claim, the first declared issuer and
 * audience, signed with the algorithm the key's type implies.
 */
export function signJwt(
  provider: ResolvedProviderOf<'jwt'>,
  privateKey: KeyObject,
  body: Buffer,
  now: number,
  id?: string,
): Record<string, string> {
  const type = privateKey.asymmetricKeyType;
  const alg = type === 'ed25519' ? 'EdDSA' : type === 'ec' ? 'ES256' : 'RS256';
  if (!provider.algorithms.includes(alg)) {
    throw new UsageError(
      `this key signs ${alg}, which the declaration does not allow (${provider.algorithms.join(', ')})`,
    );
  }
  const claims: Record<string, unknown> = { iat: Math.floor(now / 1000) };
  if (provider.bodyHashClaim) {
    claims[provider.bodyHashClaim] = createHash('sha256').update(body).digest('hex');
  }
  const idClaim =
    provider.deliveryId && 'claim' in provider.deliveryId ? provider.deliveryId.claim : undefined;
  if (idClaim && id) claims[idClaim] = id;
  if (provider.issuer?.[0]) claims.iss = provider.issuer[0];
  if (provider.audience?.[0]) claims.aud = provider.audience[0];
  const input = `${base64url(JSON.stringify({ alg, typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  const signature =
    alg === 'EdDSA'
      ? sign(null, Buffer.from(input), privateKey)
      : sign(
          'sha256',
          Buffer.from(input),
          alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey,
        );
  return { [provider.header]: `${provider.prefix}${input}.${base64url(signature)}` };
}
