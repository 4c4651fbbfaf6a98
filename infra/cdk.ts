/**
 * `hookonce/cdk`: the construct and the helpers a CDK app needs to run
 * hookonce, or to subscribe its own queues to a hookonce topic.
 *
 *   import { Hookonce } from 'hookonce/cdk';
 *   new Hookonce(this, 'Webhooks', { declaration });
 *
 * `aws-cdk-lib` and `constructs` are the app's own (peer dependencies).
 */
import type { Subscription } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { SubscriberFilter } from '../functions/shared/declaration.ts';
import type { Hookonce } from './hookonce.ts';

/** The named presets a provider may be declared by (`{ preset: 'discord', publicKeys: […] }`). */
export type { PresetName } from '../functions/providers/presets.ts';
export type {
  AsymmetricProvider,
  BasicProvider,
  ConsumerDeclaration,
  EventTypeOptions,
  EventTypeWhen,
  ExistingSecret,
  GithubProvider,
  Handshake,
  HandshakeReplyValue,
  HmacDeliveryId,
  HmacProvider,
  HookonceDeclaration,
  JsonValue,
  JsonWebKeyEntry,
  JwtAlgorithm,
  JwtDeliveryId,
  JwtProvider,
  PresetProvider,
  ProviderDeclaration,
  ProviderScheme,
  ResolvedDeclaration,
  SchemeName,
  ShopifyProvider,
  SignedRequestOptions,
  SlackProvider,
  StandardWebhooksProvider,
  StripeProvider,
  StructuredSignature,
  SubscriberDeclaration,
  SubscriberFilter,
  ThrottleDeclaration,
  TimestampFormat,
  TokenProvider,
  TwilioProvider,
} from '../functions/shared/declaration.ts';
/** The declaration's validator: checks it, fills defaults, throws one error listing every problem. */
export { resolveDeclaration } from '../functions/shared/declaration.ts';
/** A queue, its DLQs, the subscription, the consumer, its claims table and alarms, as one construct. */
export {
  HookonceSubscriber,
  type HookonceSubscriberProps,
  type SubscriberAlarms,
} from './constructs/subscriber.ts';
export { Hookonce, type HookonceProps, type SubscriberQueues } from './hookonce.ts';
export type { AlarmThresholds } from './observability.ts';
export {
  allowSubscriptionsFrom,
  type SubscribeOptions,
  subscribeToHookonce,
} from './subscribe.ts';

/**
 * `hookonce.subscribeQueue(queue, filter)` as a function: subscribes a queue of
 * the same app to the hookonce topic, with the filter checked against the
 * declared providers and the subscription's DLQ alarmed on hookonce's alarm topic.
 */
export function subscribeQueue(
  hookonce: Hookonce,
  queue: IQueue,
  filter: SubscriberFilter = {},
): Subscription {
  return hookonce.subscribeQueue(queue, filter);
}
