import type { ResolvedSignedRequest } from '../shared/declaration.ts';
import { checkTimestampIn } from './common.ts';
import { type Covered, keptHeaderNames } from './naming.ts';
import {
  parseTemplate,
  renderTemplate,
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
}

export function planSignedRequest(
  options: ResolvedSignedRequest,
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
  const structured = options.structured;
  const format = structured
    ? `"${structured.signatureKey}${structured.assignment}<${signatureWords}>" items separated by "${structured.separator}"${structured.timestampKey ? `, with one "${structured.timestampKey}${structured.assignment}<timestamp>"` : ''}`
    : `${options.prefix ? `"${options.prefix}" and ` : ''}${signatureWords}`;
  return {
    options,
    parts,
    ...(signsId && idHeader ? { signedIdHeader: idHeader } : {}),
    covered: { body: true, headers },
    keptHeaders: keptHeaderNames(options, [options.header]),
    format,
  };
}

/** A request read as its declaration describes: the signatures offered and the bytes they must sign. */
export interface SignedRequest {
  readonly signatures: readonly Buffer[];
  readonly content: Buffer;
  readonly values: TemplateValues;
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
  const value = headers[options.header];
  if (!value) return reject401('missing_signature', `the ${options.header} header is missing`);

  const signatures: Buffer[] = [];
  let timestamp: string | undefined;
  const structured = options.structured;
  if (structured) {
    // Without setSeparator the header is one set of items; with it, one set per secret (Persona).
    const sets =
      structured.setSeparator === undefined ? [value] : value.split(structured.setSeparator);
    const timestamps: string[] = [];
    let offered = 0;
    let setsWithTwo = 0;
    for (const set of sets) {
      let inSet = 0;
      for (const item of set.split(structured.separator)) {
        const at = item.indexOf(structured.assignment);
        if (at < 0) continue;
        const key = item.slice(0, at).trim();
        const text = item.slice(at + structured.assignment.length).trim();
        if (key === structured.signatureKey) {
          offered += 1;
          const signature = decode(text);
          if (signature) signatures.push(signature);
        } else if (structured.timestampKey !== undefined && key === structured.timestampKey) {
          timestamps.push(text);
          inSet += 1;
        }
      }
      if (inSet > 1) setsWithTwo += 1;
    }
    if (offered > MAX_SIGNATURES) {
      return reject401(
        'malformed_signature',
        `${options.header} offers more than ${MAX_SIGNATURES} signatures`,
      );
    }
    if (structured.timestampKey !== undefined) {
      if (setsWithTwo > 0 || new Set(timestamps).size > 1) {
        return reject401(
          'malformed_signature',
          `${options.header} must hold exactly one ${structured.timestampKey}${structured.assignment}<timestamp>${structured.setSeparator === undefined ? '' : ' per set, the same in every set'}`,
        );
      }
      timestamp = timestamps[0];
    }
  } else if (value.startsWith(options.prefix)) {
    const signature = decode(value.slice(options.prefix.length).trim());
    if (signature) signatures.push(signature);
  }
  if (signatures.length === 0) {
    return reject401('malformed_signature', `${options.header} must be ${plan.format}`);
  }

  const fromHeader = options.timestampHeader !== undefined;
  if (fromHeader || structured?.timestampKey !== undefined) {
    if (options.timestampHeader !== undefined) timestamp = headers[options.timestampHeader];
    const stale = checkTimestampIn(timestamp, options.timestampFormat ?? 'seconds', {
      what: fromHeader
        ? `the ${options.timestampHeader} header`
        : `the ${structured?.timestampKey}${structured?.assignment} timestamp of ${options.header}`,
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
  const values: TemplateValues = {
    ...(timestamp !== undefined ? { timestamp } : {}),
    ...(id !== undefined ? { id } : {}),
    ...(options.publicUrl !== undefined ? { publicUrl: options.publicUrl } : {}),
  };
  return { signatures, content: renderTemplate(plan.parts, request, values), values };
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
