import { randomBytes, randomUUID } from 'node:crypto';
import { signBasic } from '../../functions/providers/basic.ts';
import { isRecord } from '../../functions/providers/common.ts';
import { GITHUB_HEADERS, signGithub } from '../../functions/providers/github.ts';
import { contentDeliveryId, signHmac } from '../../functions/providers/hmac.ts';
import { SHOPIFY_HEADERS, signShopify } from '../../functions/providers/shopify.ts';
import { signSlack } from '../../functions/providers/slack.ts';
import {
  STANDARD_HEADERS,
  signStandardWebhook,
} from '../../functions/providers/standard-webhooks.ts';
import { signStripe } from '../../functions/providers/stripe.ts';
import { signToken } from '../../functions/providers/token.ts';
import { signTwilio, TWILIO_HEADERS } from '../../functions/providers/twilio.ts';
import type {
  ResolvedProvider,
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
  /** The secret to sign with. */
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
    for (const step of path.split('.')) at = isRecord(at) ? at[step] : undefined;
    return at;
  }

  set(path: string, value: string): void {
    if (this.get(path) === value) return;
    const steps = path.split('.');
    let at: Record<string, unknown> = this.#value;
    for (const step of steps.slice(0, -1)) {
      const next = at[step];
      if (!isRecord(next)) at[step] = {};
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
    case 'token':
    case 'basic': {
      const idHeader =
        provider.deliveryId && 'header' in provider.deliveryId
          ? provider.deliveryId.header
          : undefined;
      const idField =
        provider.deliveryId && 'jsonField' in provider.deliveryId
          ? provider.deliveryId.jsonField
          : undefined;
      if (!provider.deliveryId && input.id) {
        throw new UsageError(
          `"${input.name}" names each delivery by the SHA-256 of its body: change the body to send another delivery`,
        );
      }
      if (!provider.eventTypeField && !provider.eventTypeHeader && input.type) {
        throw new UsageError(
          `"${input.name}" declares no eventTypeField nor eventTypeHeader: its deliveries carry no event type of their own`,
        );
      }
      let body = input.body;
      let eventType = provider.eventType ?? 'webhook';
      if (idField || provider.eventTypeField) {
        const json = new JsonBody(input.body, `"${input.name}"`);
        if (idField) json.set(idField, id);
        if (provider.eventTypeField && input.type) json.set(provider.eventTypeField, input.type);
        body = json.bytes(input.body);
        if (provider.eventTypeField) {
          eventType = stringAt(json, provider.eventTypeField) ?? 'webhook';
        }
      }
      const extra: Record<string, string> = {};
      if (provider.eventTypeHeader) {
        eventType = input.type ?? eventType;
        extra[provider.eventTypeHeader] = eventType;
      }
      if (idHeader) extra[idHeader] = id;
      let signed: Record<string, string>;
      if (provider.scheme === 'hmac') {
        const timed =
          provider.timestampHeader !== undefined || provider.structured?.timestampKey !== undefined;
        signed = signHmac(provider, {
          secret,
          body,
          timestamp: timed ? timestampText(provider.timestampFormat, input.now) : undefined,
          id: idHeader ? id : undefined,
          url: input.url,
          headers: { ...base, ...extra },
        });
      } else {
        signed = provider.scheme === 'token' ? signToken(provider, secret) : signBasic(secret);
      }
      return {
        url: input.url,
        headers: { ...base, ...extra, ...signed },
        body,
        deliveryId: provider.deliveryId ? id : contentDeliveryId(body),
        eventType,
      };
    }
    case 'asymmetric':
    case 'jwt':
      throw new UsageError(
        `"${input.name}" (${provider.scheme}) is verified with the sender's public keys: only the sender's private key can sign for it, and hookonce send does not take one yet`,
      );
  }
}
