/**
 * What the console needs, wherever it runs: `npm start` gives it the local
 * runtime's clients and its in-memory activity; `hookonce console --stack`
 * gives it a deployed stack's clients (the operator's own credentials) and
 * CloudWatch as the activity. The pages are the same.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../../functions/shared/clock.ts';
import type { ResolvedDeclaration } from '../../functions/shared/declaration.ts';
import type { Target } from '../cli/target.ts';
import type { ActivitySource, ConsumerStats } from './activity.ts';

/** A provider as the providers page shows it. Never its secret. */
export interface ProviderInfo {
  readonly name: string;
  readonly scheme: string;
  /** Where the provider posts: `http://127.0.0.1:3000/webhooks/stripe`, or the API's URL on AWS. */
  readonly endpointUrl: string;
  /** Where the secret comes from, in words: `HOOKONCE_SECRET_STRIPE`, `generated, kept in .hookonce/secrets.json`, `Secrets Manager: prod/stripe`. */
  readonly secretSource: string;
}

/** What sending a signed test webhook answered. */
export interface TestSent {
  readonly status: number;
  readonly body: string;
  /** The delivery id it was sent under. */
  readonly deliveryId: string;
}

export interface ConsoleOptions {
  /** The deliveries table, the claims table, the topic and each subscriber's queue and DLQ. */
  readonly target: Target;
  readonly activity: ActivitySource;
  readonly consumers: ConsumerStats;
  readonly declaration: ResolvedDeclaration;
  readonly providers: readonly ProviderInfo[];
  /** Replay, redrive and sending test webhooks are offered only when true. */
  readonly writable: boolean;
  /** Sends a signed sample webhook to a provider's endpoint; absent where the console cannot sign. */
  readonly sendTest?: (provider: string) => Promise<TestSent>;
  /** Reads payloads too large for the item (`payloadRef`); absent: the page says where the payload is. */
  readonly s3?: S3Client;
  /** Loopback port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Where "now" comes from: the counts' last 30 minutes, leases left. @default the system clock */
  readonly clock?: Clock;
  /** How often the event stream sends a comment to keep the connection open. @default 15000 */
  readonly heartbeatMs?: number;
}

export interface ConsoleServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  stop(): Promise<void>;
}
