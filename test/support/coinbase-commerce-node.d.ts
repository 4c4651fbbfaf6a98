/**
 * The part of coinbase-commerce-node (CommonJS, no types of its own) the tests and
 * the bench use as the oracle of the coinbase-commerce preset: its Webhook helpers.
 */
declare module 'coinbase-commerce-node' {
  /** An event as verifyEventBody returns it: the body's `event`, its fields copied. */
  interface CoinbaseEvent {
    readonly id: string;
    readonly type: string;
    readonly [field: string]: unknown;
  }
  interface CoinbaseWebhook {
    /** The hex HMAC-SHA256 of `payload` keyed by `secret`. */
    computeSignature(payload: string, secret: string): string;
    /** True, or throws a SignatureVerificationError. */
    verifySigHeader(payload: string, sigHeader: string, secret: string): true;
    /** Parses `payload`, requires its `event`, verifies, returns the event; else throws. */
    verifyEventBody(payload: string, sigHeader: string, secret: string): CoinbaseEvent;
  }
  type CoinbaseError = new (...args: never[]) => Error;
  const coinbase: {
    readonly Webhook: CoinbaseWebhook;
    readonly errors: {
      readonly SignatureVerificationError: CoinbaseError;
      readonly InvalidResponseError: CoinbaseError;
    };
  };
  export = coinbase;
}
