import { createHash } from 'node:crypto';
import type { ResolvedSignedRequest } from '../shared/declaration.ts';
import { ConfigError } from '../shared/errors.ts';
import { checkTimestampIn, type TimestampFormat, valueAt } from './common.ts';
import { type Covered, keptHeaderNames } from './naming.ts';
import {
  type BodySplit,
  bodyAround,
  type ContentChunk,
  contentKey,
  feedChunks,
  itemPath,
  memberOf,
  parseTemplate,
  renderPieces,
  renderTemplate,
  signerJson,
  signerRequest,
  type TemplatePart,
  type TemplateValues,
} from './template.ts';
import {
  type Rejection,
  reject400,
  reject401,
  type VerifyContext,
  type WebhookRequest,
} from './types.ts';

/**
 * What the signature families (`hmac`, `asymmetric`) share: where the signature
 * is (a header, after a prefix, or items of a structured header such as
 * `t=…,v1=…,v1=…`), where the signed timestamp is (a header, or an item of the
 * signature header) and how it is written, and the signed-content template. The
 * family only says how to decode a signature and whether one verifies.
 *
 * A sender may instead put its signature in the JSON body (`signatureField`,
 * Adyen's `additionalData.hmacSignature`) over fields of that body (`{json:…}`):
 * then only those fields are signed, and with a `*` step each element of the
 * array is signed on its own, and every one must verify.
 */

/** The most signatures one header may offer: each costs a verification per key. */
export const MAX_SIGNATURES = 16;

/** A declaration's signature parts, prepared once per provider. */
export interface SignedRequestPlan {
  readonly options: ResolvedSignedRequest;
  readonly parts: readonly TemplatePart[];
  /** The delivery id header when the template signs it ({id}). */
  readonly signedIdHeader?: string;
  /** What a verified request covers, beside the body. */
  readonly covered: Covered;
  readonly keptHeaders: readonly string[];
  /** How the signature is written, for messages. */
  readonly format: string;
  /** Where the signature is, for messages: `x-signature`, or `the body field a.b`. */
  readonly where: string;
  /** Where the signed timestamp is, for messages; undefined when nothing signs one. */
  readonly timestampWhat?: string;
  /** Whether the template reads the JSON body ({json:…}). */
  readonly readsJson: boolean;
  /** The array whose elements each hold a signature: signatureField up to its `*` step. */
  readonly signatureList?: string;
  /** A timestamp in a field of the signed body (hmac's timestampField), checked once the signature matched. */
  readonly bodyTimestamp?: BodyTimestamp;
}

/** Where a body's signed timestamp is, and its window. */
export interface BodyTimestamp {
  /** The dotted path of the field. */
  readonly field: string;
  /** The member that holds it: the path's last step. */
  readonly member: string;
  readonly format: TimestampFormat;
  readonly toleranceSeconds: number;
}

export function planSignedRequest(
  options: ResolvedSignedRequest & { timestampField?: string },
  signatureWords: string,
): SignedRequestPlan {
  const { parts } = parseTemplate(options.signedContent);
  const idHeader =
    options.deliveryId && 'header' in options.deliveryId ? options.deliveryId.header : undefined;
  const signsId = parts.some((p) => 'field' in p && p.field === 'id');
  const headers = new Set<string>();
  for (const part of parts) if ('header' in part) headers.add(part.header);
  if (signsId && idHeader) headers.add(idHeader);
  if (options.timestampHeader && parts.some((p) => 'field' in p && p.field === 'timestamp')) {
    headers.add(options.timestampHeader);
  }
  const fields = parts.flatMap((p) => ('json' in p ? [p.json] : []));
  const structured = options.structured;
  const format = structured
    ? `"${structured.signatureKey}${structured.assignment}<${signatureWords}>" items separated by "${structured.separator}"${structured.timestampKey ? `, with one "${structured.timestampKey}${structured.assignment}<timestamp>"` : ''}`
    : `${options.prefix ? `"${options.prefix}" and ` : ''}${signatureWords}`;
  const timestampWhat =
    options.timestampHeader !== undefined
      ? `the ${options.timestampHeader} header`
      : structured?.timestampKey !== undefined
        ? `the ${structured.timestampKey}${structured.assignment} timestamp of ${options.header ?? ''}`
        : undefined;
  const fieldSteps = options.signatureField?.split('.') ?? [];
  const star = fieldSteps.indexOf('*');
  const field = options.timestampField;
  return {
    options,
    parts,
    ...(field !== undefined
      ? {
          bodyTimestamp: {
            field,
            member: memberOf(field),
            format: options.timestampFormat ?? 'seconds',
            toleranceSeconds: options.toleranceSeconds ?? 300,
          },
        }
      : {}),
    ...(star >= 0 ? { signatureList: fieldSteps.slice(0, star).join('.') } : {}),
    ...(signsId && idHeader ? { signedIdHeader: idHeader } : {}),
    ...(timestampWhat !== undefined ? { timestampWhat } : {}),
    readsJson: fields.length > 0,
    covered: {
      body: parts.some((p) => 'field' in p && p.field === 'body'),
      headers,
      ...(fields.length > 0 ? { fields } : {}),
    },
    keptHeaders: keptHeaderNames(options, options.header ? [options.header] : []),
    format,
    where: options.header ?? `the body field ${options.signatureField}`,
  };
}

/** One signed part of a request: the signatures offered and what one of them must sign. */
export interface SignedPart {
  readonly signatures: readonly Buffer[];
  /** One piece per part of the template (renderPieces). */
  readonly pieces: readonly ContentChunk[];
  /** The signed content as it is fed to an HMAC or a hash (feedChunks): nothing copied. */
  readonly content: readonly ContentChunk[];
  readonly values: TemplateValues;
}

function signedPart(
  plan: SignedRequestPlan,
  request: WebhookRequest,
  signatures: readonly Buffer[],
  values: TemplateValues,
): SignedPart {
  const pieces = renderPieces(plan.parts, request, values);
  return { signatures, pieces, content: feedChunks(pieces), values };
}

/**
 * A request read as its declaration describes: one part, or, for a signature in
 * each element of a body array, one per element. Every part must verify.
 */
export interface SignedRequest {
  readonly parts: readonly SignedPart[];
}

/**
 * Reads the signature header, checks the signed timestamp against the window, and
 * renders what the signatures must cover. Answers a rejection for anything missing
 * or malformed; never throws. `decode` turns one signature's text into its bytes,
 * or undefined when it is not a signature of this family.
 */
export function readSignedRequest(
  request: WebhookRequest,
  context: VerifyContext,
  plan: SignedRequestPlan,
  decode: (text: string) => Buffer | undefined,
): SignedRequest | Rejection {
  const { options } = plan;
  const { headers } = request;
  if (options.signatureField !== undefined) {
    return readBodySignatures(request, context, plan, options.signatureField, decode);
  }
  const header = options.header ?? '';
  const value = headers[header];
  if (!value) return reject401('missing_signature', `the ${header} header is missing`);

  const signatures: Buffer[] = [];
  let timestamp: string | undefined;
  const structured = options.structured;
  if (structured) {
    // Without setSeparator the header is one set of items; with it, one set per secret (Persona).
    const sets =
      structured.setSeparator === undefined ? [value] : value.split(structured.setSeparator);
    let offered = 0;
    let setsWithTwo = 0;
    let timestampsDiffer = false;
    const { separator, assignment } = structured;
    for (const set of sets) {
      let inSet = 0;
      // Each item of the set in turn (as set.split(separator) would give them), read in
      // place; the next assignment is searched for once, so a long header costs one pass.
      let at = -2;
      for (let from = 0; from <= set.length; ) {
        let end = set.indexOf(separator, from);
        if (end < 0) end = set.length;
        const item = from;
        from = end + separator.length;
        if (at !== -1 && at < item) at = set.indexOf(assignment, item);
        if (at < 0 || at + assignment.length > end) continue;
        const key = set.slice(item, at).trim();
        const text = set.slice(at + assignment.length, end).trim();
        if (key === structured.signatureKey) {
          offered += 1;
          const signature = decode(text);
          if (signature) signatures.push(signature);
        } else if (structured.timestampKey !== undefined && key === structured.timestampKey) {
          if (timestamp === undefined) timestamp = text;
          else if (text !== timestamp) timestampsDiffer = true;
          inSet += 1;
        }
      }
      if (inSet > 1) setsWithTwo += 1;
    }
    if (offered > MAX_SIGNATURES) {
      return reject401(
        'malformed_signature',
        `${header} offers more than ${MAX_SIGNATURES} signatures`,
      );
    }
    if (structured.timestampKey !== undefined) {
      if (setsWithTwo > 0 || timestampsDiffer) {
        return reject401(
          'malformed_signature',
          `${header} must hold exactly one ${structured.timestampKey}${structured.assignment}<timestamp>${structured.setSeparator === undefined ? '' : ' per set, the same in every set'}`,
        );
      }
    }
  } else if (value.startsWith(options.prefix)) {
    const signature = decode(value.slice(options.prefix.length).trim());
    if (signature) signatures.push(signature);
  }
  if (signatures.length === 0) {
    return reject401('malformed_signature', `${header} must be ${plan.format}`);
  }
  const values = readValues(request, context, plan, timestamp);
  if ('kind' in values) return values;
  return {
    parts: [signedPart(plan, request, signatures, values)],
  };
}

/**
 * The timestamp (checked against the window), the signed id and what else the
 * template reads; a rejection when one is missing or stale.
 */
function readValues(
  request: WebhookRequest,
  context: VerifyContext,
  plan: SignedRequestPlan,
  structuredTimestamp: string | undefined,
): TemplateValues | Rejection {
  const { options } = plan;
  const { headers } = request;
  let timestamp = structuredTimestamp;
  if (plan.timestampWhat !== undefined) {
    if (options.timestampHeader !== undefined) timestamp = headers[options.timestampHeader];
    const stale = checkTimestampIn(timestamp, options.timestampFormat ?? 'seconds', {
      what: plan.timestampWhat,
      nowMs: context.now,
      toleranceSeconds: options.toleranceSeconds ?? 300,
    });
    if (stale) return stale;
  }

  let id: string | undefined;
  if (plan.signedIdHeader) {
    id = headers[plan.signedIdHeader];
    if (!id)
      return reject400('missing_delivery_id', `the ${plan.signedIdHeader} header is missing`);
  }
  const values: { -readonly [K in keyof TemplateValues]: TemplateValues[K] } = {};
  if (timestamp !== undefined) values.timestamp = timestamp;
  if (id !== undefined) values.id = id;
  if (options.publicUrl !== undefined) values.publicUrl = options.publicUrl;
  if (plan.readsJson) values.json = context.json();
  return values;
}

/**
 * The signatures of a sender that signs inside its JSON body: the one at
 * `field`, or, when `field` has a `*` step, one in each element of that array (1
 * to MAX_SIGNATURES of them), each over the template rendered for its element.
 */
function readBodySignatures(
  request: WebhookRequest,
  context: VerifyContext,
  plan: SignedRequestPlan,
  field: string,
  decode: (text: string) => Buffer | undefined,
): SignedRequest | Rejection {
  const body = context.json();
  if (body === undefined) {
    return reject401('missing_signature', `the body is not JSON, so it holds no ${field}`);
  }
  let items: Array<number | undefined> = [undefined];
  if (plan.signatureList !== undefined) {
    const list = valueAt(body, plan.signatureList);
    if (!Array.isArray(list) || list.length === 0) {
      return reject401('missing_signature', `the body has no items to hold ${field}`);
    }
    if (list.length > MAX_SIGNATURES) {
      return reject401(
        'malformed_signature',
        `the body holds more than ${MAX_SIGNATURES} signed items`,
      );
    }
    items = list.map((_, i) => i);
  }
  const values = readValues(request, context, plan, undefined);
  if ('kind' in values) return values;
  const parts: SignedPart[] = [];
  for (const item of items) {
    const text = valueAt(body, field, item);
    if (typeof text !== 'string' || text === '') {
      return reject401('missing_signature', `the body has no ${itemPath(field, item)}`);
    }
    const signature = decode(text);
    if (!signature) {
      return reject401('malformed_signature', `${itemPath(field, item)} must be ${plan.format}`);
    }
    const itemValues: TemplateValues = {
      ...values,
      json: body,
      ...(item !== undefined ? { item } : {}),
    };
    parts.push(signedPart(plan, request, [signature], itemValues));
  }
  return { parts };
}

const FORMAT_WORDS: Readonly<Record<TimestampFormat, string>> = {
  seconds: 'a JSON number of whole seconds since the epoch',
  milliseconds: 'a JSON number of whole milliseconds since the epoch',
  iso8601: 'a JSON string: an ISO 8601 date and time with its zone (2100-01-01T00:00:00Z)',
};

/**
 * The signed body's timestamp (plan.bodyTimestamp), read from the parsed body once
 * the signature matched and checked against the window as a header's is: its value
 * as JSON writes it (what the key leaves out, bodyAround), or a 401 when it is
 * missing, not written as declared, or outside the window.
 */
export function readBodyTimestamp(
  at: BodyTimestamp,
  context: VerifyContext,
): { readonly json: string } | Rejection {
  const what = `the body's ${at.field}`;
  const body = context.json();
  if (body === undefined) {
    return reject401('missing_timestamp', `the body is not JSON, so it holds no ${at.field}`);
  }
  const value = valueAt(body, at.field);
  if (value === undefined || value === null) {
    return reject401('missing_timestamp', `${what} is missing`);
  }
  const text =
    at.format === 'iso8601'
      ? typeof value === 'string'
        ? value
        : undefined
      : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
        ? String(value)
        : undefined;
  if (text === undefined) {
    return reject401('malformed_timestamp', `${what} must be ${FORMAT_WORDS[at.format]}`);
  }
  const stale = checkTimestampIn(text, at.format, {
    what,
    nowMs: context.now,
    toleranceSeconds: at.toleranceSeconds,
  });
  return stale ?? { json: JSON.stringify(value) };
}

/**
 * The key of a verified delivery whose id is not signed: contentKey() of its one
 * part, or, for a signature in each item, the SHA-256 of every item's key in order.
 * With a timestamp in the body (`timestamp`: its value as readBodyTimestamp
 * answered), the body is keyed without that value where it can be cut around it
 * (bodyAround), else whole.
 */
export function signedRequestKey(
  plan: SignedRequestPlan,
  read: SignedRequest,
  bodySha256: () => string,
  request: WebhookRequest,
  timestamp?: { readonly json: string },
): string {
  const at = plan.bodyTimestamp;
  const split: BodySplit | undefined =
    at && timestamp ? bodyAround(request.rawBody, at.member, timestamp.json) : undefined;
  const keys = read.parts.map((part) => contentKey(plan.parts, part.pieces, bodySha256, split));
  if (keys.length === 1) return keys[0] ?? '';
  const hash = createHash('sha256');
  for (const key of keys) hash.update(key).update('\n');
  return hash.digest('hex');
}

/**
 * The header a signer writes its signature into; a declaration whose signature is
 * in the body (`signatureField`) has none, and these signers do not write bodies.
 */
export function signerHeader(options: ResolvedSignedRequest): string {
  if (options.header === undefined) {
    throw new ConfigError(
      `this sender signs inside its body (${options.signatureField}): only the sender can sign such a request`,
    );
  }
  return options.header;
}

/** What a signer of such a declaration is given: the request to sign, as a sender makes it. */
export interface SignerValues {
  readonly body: Uint8Array | string;
  readonly timestamp?: number | string;
  readonly id?: string;
  /** What a template's {url}, {path} read (default: https://hooks.example.com/webhooks/provider). */
  readonly url?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
}

/**
 * Signs as a sender of the declaration does (for tests and the CLI): renders the
 * signed content, hands it to `signContent` (the family's HMAC or private-key
 * signature, encoded), and answers the headers the sender sends: the signature
 * header, and the timestamp and delivery id headers the declaration names.
 */
export function signRequest(
  options: ResolvedSignedRequest,
  values: SignerValues,
  signContent: (content: Buffer) => string,
): Record<string, string> {
  const header = signerHeader(options);
  const timestamp = values.timestamp === undefined ? undefined : String(values.timestamp);
  const content = renderTemplate(
    parseTemplate(options.signedContent).parts,
    signerRequest(values),
    {
      ...(timestamp !== undefined ? { timestamp } : {}),
      ...(values.id !== undefined ? { id: values.id } : {}),
      ...(options.publicUrl !== undefined ? { publicUrl: options.publicUrl } : {}),
      json: signerJson(values.body),
    },
  );
  const headers: Record<string, string> = {
    [header]: writeSignatureHeader(options, [signContent(content)], timestamp),
  };
  if (options.timestampHeader && timestamp !== undefined) {
    headers[options.timestampHeader] = timestamp;
  }
  if (options.deliveryId && 'header' in options.deliveryId && values.id !== undefined) {
    headers[options.deliveryId.header] = values.id;
  }
  return headers;
}

/** The structured or plain value of a signature header holding `signatures` (for signers). */
export function writeSignatureHeader(
  options: ResolvedSignedRequest,
  signatures: readonly string[],
  timestamp: string | undefined,
): string {
  const structured = options.structured;
  if (!structured) return `${options.prefix}${signatures[0] ?? ''}`;
  if (structured.setSeparator !== undefined && signatures.length > 1) {
    return signatures
      .map((s) => writeSignatureHeader(options, [s], timestamp))
      .join(structured.setSeparator);
  }
  const items: string[] = [];
  if (structured.timestampKey !== undefined && timestamp !== undefined) {
    items.push(`${structured.timestampKey}${structured.assignment}${timestamp}`);
  }
  for (const s of signatures) items.push(`${structured.signatureKey}${structured.assignment}${s}`);
  return items.join(structured.separator);
}
