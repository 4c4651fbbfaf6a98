import type { EventTypeWhen, Handshake, JwtDeliveryId } from '../shared/declaration.ts';
import { asName, keepHeaders, pathSteps, unsignedEventType, valueAt } from './common.ts';
import { reject400, type Verdict, type VerifyContext, type WebhookRequest } from './types.ts';

/**
 * How every scheme family names a delivery once its request is verified: the
 * delivery id, the event type, and a provider's handshake (a ping answered at
 * once). Only what was verified may key a delivery (docs/security.md): a declared
 * id that the verified content does not cover is kept as `providerDeliveryId`,
 * and the key is then `contentKey()`, a digest of what was verified.
 */
export interface NamingOptions {
  /** A header, a field of the JSON body (a dotted path), or (JWT) a claim. */
  deliveryId?: JwtDeliveryId;
  /** The event type is a field of the JSON body (a dotted path). */
  eventTypeField?: string;
  /** The event type is a header's value. */
  eventTypeHeader?: string;
  /** Every delivery has this event type. */
  eventType?: string;
  /** A verified body whose field has this value is answered at once, neither stored nor published. */
  handshake?: Handshake;
  /** A fixed event type for the bodies that match, before the other sources. */
  eventTypeWhen?: EventTypeWhen;
}

/** What the verification covered. */
export interface Covered {
  /** The body's bytes (a template's {body}, a JWT's body-hash claim). */
  readonly body: boolean;
  /** Headers whose values are signed, lower-cased. */
  readonly headers: ReadonlySet<string>;
  /** A verified JWT's claims. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /**
   * Fields of the JSON body a template signs one by one ({json:…}) when it does not
   * sign the body whole; a `*` step stands for any index of its array.
   */
  readonly fields?: readonly string[];
}

/**
 * Whether `path` names a body field the verification covered: any, when the body
 * is signed whole; else one the template signs (`a.*.b` covers `a.0.b`, `a.1.b`).
 */
export function coversField(covered: Covered, path: string): boolean {
  if (covered.body) return true;
  const steps = pathSteps(path);
  return (covered.fields ?? []).some((field) => {
    const signed = pathSteps(field);
    return (
      signed.length === steps.length &&
      signed.every(
        (step, i) => step === steps[i] || (step === '*' && ARRAY_INDEX.test(steps[i] ?? '')),
      )
    );
  });
}

const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

/** What an event type taken from anything unsigned must look like, else 400 malformed_event_type. */
export const UNSIGNED_EVENT_TYPE = /^[A-Za-z0-9_./:-]{1,128}$/;

/** The event type of a delivery that names none. */
export const DEFAULT_EVENT_TYPE = 'webhook';

/** The names of `options` that read the JSON body. */
const readsBody = (options: NamingOptions): boolean =>
  (options.deliveryId !== undefined && 'jsonField' in options.deliveryId) ||
  options.eventTypeField !== undefined ||
  options.handshake !== undefined ||
  options.eventTypeWhen !== undefined;

/**
 * The verdict of a verified request: a handshake's reply, or the delivery's key,
 * the provider's own unsigned id, its event type and the headers it keeps; or a
 * 400 when a declared name is missing or unusable. Never throws.
 */
export function nameDelivery(
  request: WebhookRequest,
  context: VerifyContext,
  options: NamingOptions,
  covered: Covered,
  contentKey: () => string,
  keptHeaderNames: readonly string[],
  hmacOf?: (text: string) => string,
): Verdict {
  const { headers } = request;
  let body: unknown;
  if (readsBody(options)) {
    body = context.json();
    if (body === undefined) return reject400('malformed_body', 'the body is not valid JSON');
  }

  const handshake = options.handshake;
  if (handshake && valueAt(body, handshake.jsonField) === handshake.equals) {
    return handshakeReply(handshake, body, hmacOf);
  }

  let deliveryId: string | undefined;
  let providerDeliveryId: string | undefined;
  const source = options.deliveryId;
  if (source && 'claim' in source) {
    deliveryId = asName(covered.claims?.[source.claim]);
    if (!deliveryId) {
      return reject400(
        'missing_delivery_id',
        `the token has no "${source.claim}" claim to use as its id`,
      );
    }
  } else if (source && 'jsonField' in source) {
    const id = asName(valueAt(body, source.jsonField));
    if (!id) {
      return reject400(
        'missing_delivery_id',
        `the body has no "${source.jsonField}" to use as its id`,
      );
    }
    if (coversField(covered, source.jsonField)) deliveryId = id;
    else providerDeliveryId = id;
  } else if (source) {
    const id = headers[source.header];
    if (!id) return reject400('missing_delivery_id', `the ${source.header} header is missing`);
    if (covered.headers.has(source.header)) deliveryId = id;
    else providerDeliveryId = id;
  }
  deliveryId ??= contentKey();

  let eventType = options.eventType ?? DEFAULT_EVENT_TYPE;
  let unsigned = false;
  const when = options.eventTypeWhen;
  const whenValue = when ? valueAt(body, when.jsonField) : undefined;
  if (when && ('notEquals' in when ? whenValue !== when.notEquals : whenValue === when.equals)) {
    // A declared type (checked when resolved), chosen by the body: unsigned when the body is.
    eventType = when.eventType;
    unsigned = !covered.body;
  } else if (options.eventTypeField !== undefined) {
    const type = valueAt(body, options.eventTypeField);
    eventType = typeof type === 'string' && type ? type : DEFAULT_EVENT_TYPE;
    if (!coversField(covered, options.eventTypeField)) {
      unsigned = true;
      if (!UNSIGNED_EVENT_TYPE.test(eventType)) return malformedType();
    }
  } else if (options.eventTypeHeader !== undefined) {
    const value = headers[options.eventTypeHeader];
    if (covered.headers.has(options.eventTypeHeader)) {
      eventType = value || DEFAULT_EVENT_TYPE;
    } else {
      unsigned = true;
      const type = unsignedEventType(value, UNSIGNED_EVENT_TYPE, DEFAULT_EVENT_TYPE);
      if (type === undefined) return malformedType();
      eventType = type;
    }
  }

  return {
    kind: 'accept',
    deliveryId,
    ...(providerDeliveryId !== undefined ? { providerDeliveryId } : {}),
    eventType,
    ...(unsigned ? { unsignedEventType: true as const } : {}),
    keptHeaders: keepHeaders(headers, keptHeaderNames),
  };
}

/** The longest body text a handshake's reply echoes or signs. */
export const MAX_HANDSHAKE_TEXT = 4096;

/** A non-empty string field of a verified body, short enough to answer with; undefined otherwise. */
function replyField(body: unknown, path: string): string | undefined {
  const value = valueAt(body, path);
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_HANDSHAKE_TEXT
    ? value
    : undefined;
}

/**
 * The answer to a verified handshake: 204, a fixed JSON reply, a body field's text
 * as text/plain (Twitch), or a JSON object of fields and their HMACs (Zoom). A
 * field that is missing, not text or too long is a 400, never an empty answer.
 */
function handshakeReply(
  handshake: Handshake,
  body: unknown,
  hmacOf: ((text: string) => string) | undefined,
): Verdict {
  const missing = (path: string) =>
    reject400('malformed_body', `the handshake has no "${path}" text to answer with`);
  if (handshake.replyText) {
    const text = replyField(body, handshake.replyText.jsonField);
    if (text === undefined) return missing(handshake.replyText.jsonField);
    return { kind: 'reply', statusCode: 200, contentType: 'text/plain', body: text };
  }
  if (handshake.replyObject) {
    const reply: Record<string, string> = {};
    for (const [name, value] of Object.entries(handshake.replyObject)) {
      const path = 'jsonField' in value ? value.jsonField : value.hmacOfField;
      const text = replyField(body, path);
      if (text === undefined) return missing(path);
      if ('jsonField' in value) reply[name] = text;
      else if (hmacOf) reply[name] = hmacOf(text);
      else return missing(path);
    }
    return {
      kind: 'reply',
      statusCode: 200,
      contentType: 'application/json',
      body: JSON.stringify(reply),
    };
  }
  return handshake.reply === undefined
    ? { kind: 'reply', statusCode: 204, contentType: 'application/json', body: '' }
    : {
        kind: 'reply',
        statusCode: 200,
        contentType: 'application/json',
        body: JSON.stringify(handshake.reply),
      };
}

const malformedType = () =>
  reject400(
    'malformed_event_type',
    'the event type, which nothing signs, must be 1 to 128 letters, digits and _ . / : -',
  );

/**
 * The headers a delivery keeps: the content type, the user agent, and the
 * headers its declaration names (id, type, timestamp). Never a signature or a
 * credential: `secretHeaders` are left out whatever the declaration says.
 */
export function keptHeaderNames(
  options: NamingOptions & { timestampHeader?: string },
  secretHeaders: readonly string[],
): string[] {
  const names = new Set(['content-type', 'user-agent']);
  if (options.timestampHeader) names.add(options.timestampHeader);
  if (options.deliveryId && 'header' in options.deliveryId) names.add(options.deliveryId.header);
  if (options.eventTypeHeader) names.add(options.eventTypeHeader);
  for (const secret of secretHeaders) names.delete(secret);
  return [...names];
}
