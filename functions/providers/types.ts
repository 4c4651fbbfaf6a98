/** What a provider sees of an incoming request: the raw bytes, before anything parses them. */
export interface WebhookRequest {
  /** The HTTP method as received, e.g. `POST` (POST; GET for a provider's subscription check; a signed `{method}` reads it from here). */
  readonly method: string;
  /** Header names lower-cased, as API Gateway HTTP APIs deliver them. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly rawBody: Buffer;
  /** The query string exactly as received, without the `?`. */
  readonly rawQueryString: string;
  /** The request path as received, e.g. `/webhooks/twilio`. */
  readonly rawPath: string;
  /** The host the provider called (API Gateway's domain name, or the local server's). */
  readonly domainName: string;
}

/** Reason codes of a 401. Never carries the expected signature. */
export type SignatureFailure =
  | 'missing_signature'
  | 'malformed_signature'
  | 'signature_mismatch'
  | 'missing_timestamp'
  | 'malformed_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  /** A token or Basic scheme: the credentials header is absent. */
  | 'missing_credentials'
  /** A token or Basic scheme: the header is not in the declared form (prefix, base64, `user:password`). */
  | 'malformed_credentials'
  /** A token or Basic scheme: no active token or password matches. */
  | 'credentials_mismatch'
  /** A JWT signed with an algorithm the declaration does not allow (`none`, an HS algorithm, any other). */
  | 'algorithm_not_allowed'
  /** A validly signed JWT whose issuer or audience is not one the declaration names. */
  | 'claim_mismatch';

/** Reason codes of a 400. */
export type InputFailure =
  | 'missing_delivery_id'
  | 'malformed_delivery_id'
  | 'malformed_event_type'
  | 'malformed_body';

export type Verdict =
  | {
      readonly kind: 'accept';
      /**
       * What keys the delivery, taken only from what the signature covers: the
       * provider's delivery id where it is signed, else a digest of the signed
       * content (signedDigest), so a signed request sent again under a new
       * unsigned id is still the same delivery.
       */
      readonly deliveryId: string;
      /** The provider's own delivery id when it is not signed (and so not the key): kept for display and lookup. */
      readonly providerDeliveryId?: string;
      /** The provider's own event name; the envelope type is `<provider>.<eventType>`. */
      readonly eventType: string;
      /**
       * Set when the event type comes from something the signature does not cover: a
       * header it does not sign, or the body of a scheme that signs no body (a token,
       * HTTP Basic, a JWT without a body-hash claim).
       */
      readonly unsignedEventType?: true;
      /** Headers worth keeping with the delivery: never a signature or a secret. */
      readonly keptHeaders: Readonly<Record<string, string>>;
      /**
       * How the sender wants this delivery acknowledged once it is stored and
       * published, and when it comes again (a duplicate), instead of hookonce's
       * JSON answer (`202 {"id", "duplicate": false}`, `200 {"id", "duplicate": true}`).
       * Set per request by the scheme: Slack shows the answer to a slash command or
       * an interaction to the user, so those are acknowledged with an empty 200.
       */
      readonly acknowledgement?: Acknowledgement;
    }
  | {
      /** Answered at once, neither stored nor published (e.g. Slack's url_verification challenge). */
      readonly kind: 'reply';
      readonly statusCode: number;
      readonly contentType: string;
      readonly body: string;
    }
  | {
      readonly kind: 'reject';
      readonly status: 401;
      readonly code: SignatureFailure;
      readonly message: string;
    }
  | {
      readonly kind: 'reject';
      readonly status: 400;
      readonly code: InputFailure;
      readonly message: string;
    };

export type Rejection = Extract<Verdict, { kind: 'reject' }>;

/** The answer to a stored delivery, new or duplicate, when its sender wants its own (Verdict). */
export interface Acknowledgement {
  readonly statusCode: 200;
  readonly contentType: string;
  readonly body: string;
}

export interface VerifyContext {
  /** The active secrets, newest first; any one of them may have signed (rotation). */
  readonly secrets: readonly string[];
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** The body parsed as JSON, or `undefined` when it is not JSON. Parsed once, after the signature is checked. */
  readonly json: () => unknown;
  /**
   * The SHA-256 (hex) of the raw body, computed once for the verifier and the
   * store alike. @default computed by the verifier that needs it
   */
  readonly bodySha256?: () => string;
}

/** One provider's scheme: verify the signature on the raw bytes, then name the delivery. */
export interface Provider {
  readonly name: string;
  readonly maxBodyBytes: number;
  /** How long a delivery's key is kept (its replay and dedup window). @default the store's retention */
  readonly retentionSeconds?: number;
  /**
   * Set by a scheme whose keys are in the declaration (asymmetric, jwt): it takes
   * no secret source, and its keys were checked when it was built.
   */
  readonly secretless?: true;
  /**
   * Answers Meta's GET subscription check (functions/providers/subscription.ts)
   * with a `verify:<token>` entry of its secrets; without it a GET is a 405.
   */
  readonly subscriptionCheck?: true;
  /** Checks that the secrets it is given are well formed; throws a ConfigError otherwise. */
  checkSecrets(secrets: readonly string[]): void;
  inspect(request: WebhookRequest, context: VerifyContext): Verdict;
}

export const reject401 = (code: SignatureFailure, message: string): Rejection => ({
  kind: 'reject',
  status: 401,
  code,
  message,
});

export const reject400 = (code: InputFailure, message: string): Rejection => ({
  kind: 'reject',
  status: 400,
  code,
  message,
});
