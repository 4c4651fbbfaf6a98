/**
 * The console of `npm start`: what the local runtime hands startConsole(). Its
 * target is the runtime's own clients and resources, its providers' secrets are
 * described by where they come from (never shown), and a test webhook is the
 * CLI's sample for the provider, signed with the secret the runtime uses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ResolvedDeclaration } from '../../functions/shared/declaration.ts';
import { parseSecretList } from '../../functions/shared/secrets.ts';
import { CLI_ROOT } from '../cli/command.ts';
import { prepareDelivery, sampleFile } from '../cli/deliveries.ts';
import { contentTypeOf, shown } from '../cli/send.ts';
import type { Target } from '../cli/target.ts';
import type { ProviderSecret } from '../local/dev-secrets.ts';
import type { LocalResources } from '../local/resources.ts';
import type { ActivitySource, ConsumerStats } from './activity.ts';
import type { ConsoleOptions, ProviderInfo, TestSent } from './options.ts';

export interface LocalConsoleParts {
  readonly declaration: ResolvedDeclaration;
  readonly resources: LocalResources;
  readonly clients: {
    readonly dynamodb: DynamoDBClient;
    readonly sqs: SQSClient;
    readonly sns: SNSClient;
    readonly s3: S3Client;
  };
  /** The SNS/SQS emulator's endpoint: named when it does not answer. */
  readonly endpoint: string;
  /** The local API's URL, `http://127.0.0.1:3000`. */
  readonly apiUrl: string;
  readonly activity: ActivitySource;
  readonly consumers: ConsumerStats;
  readonly secrets: Readonly<Record<string, ProviderSecret>>;
  /** Where generated secrets are kept; absent without a data folder. */
  readonly secretsFile?: string;
  /**
   * The development key pairs of keyless keyed providers (dev-keys.ts): their
   * private halves sign test webhooks in this process and are never shown.
   */
  readonly developmentKeys?: Readonly<Record<string, { readonly privateKey: string }>>;
  /** Where those pairs are kept; absent without a data folder. */
  readonly keysFile?: string;
  /** Loopback port of the console; 0 picks a free one. */
  readonly port: number;
  /** Signs test webhooks; the ingest function checks their timestamps against the wall clock. @default Date.now */
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

/** The runtime as an operator command's target; the runtime owns (and closes) the clients. */
export function localTarget(parts: LocalConsoleParts): Target {
  return {
    description: 'the local runtime',
    dynamodb: parts.clients.dynamodb,
    sqs: parts.clients.sqs,
    sns: parts.clients.sns,
    topicArn: parts.resources.topicArn,
    deliveriesTable: parts.resources.deliveriesTable,
    consumerTable: parts.resources.consumerTable,
    subscribers: parts.resources.subscribers,
    endpoint: parts.endpoint,
    close() {},
  };
}

/** Where a provider's secret comes from, in words; never the secret. */
export function secretSource(secret: ProviderSecret | undefined, secretsFile?: string): string {
  if (!secret) return 'none';
  if (secret.source === 'env') return secret.envKey;
  return secretsFile
    ? `generated, kept in ${shown(process.cwd(), secretsFile)}`
    : 'generated, kept in memory only (no data folder)';
}

export function localProviders(parts: LocalConsoleParts): ProviderInfo[] {
  return Object.entries(parts.declaration.providers).map(([name, p]) => ({
    name,
    scheme: p.scheme,
    endpointUrl: `${parts.apiUrl}/webhooks/${encodeURIComponent(name)}`,
    secretSource: parts.developmentKeys?.[name]
      ? `development key pair, kept in ${parts.keysFile ? shown(process.cwd(), parts.keysFile) : 'memory only (no data folder)'}`
      : secretSource(parts.secrets[name], parts.secretsFile),
  }));
}

/** Sends the provider's sample from infra/cli/samples/, signed as it signs, under a fresh id. */
export function localSendTest(parts: LocalConsoleParts): (provider: string) => Promise<TestSent> {
  const now = parts.now ?? Date.now;
  const send = parts.fetch ?? fetch;
  return async (name) => {
    const provider = Object.hasOwn(parts.declaration.providers, name)
      ? parts.declaration.providers[name]
      : undefined;
    const devKey = parts.developmentKeys?.[name];
    const secret = devKey ? { value: devKey.privateKey } : parts.secrets[name];
    if (!provider || !secret) throw new Error(`no provider "${name}"`);
    // A private key is one PEM text, not a comma-separated list.
    const list = devKey ? [devKey.privateKey] : parseSecretList(secret.value);
    // A Standard Webhooks public key verifies but cannot sign.
    const usable =
      provider.scheme === 'standard-webhooks' ? list.filter((s) => !s.startsWith('whpk_')) : list;
    const key = usable[0];
    if (!key) throw new Error(`the active keys of "${name}" are public keys, which cannot sign`);
    const file = join(CLI_ROOT, 'samples', sampleFile(provider));
    const delivery = prepareDelivery({
      name,
      provider,
      body: readFileSync(file),
      contentType: contentTypeOf(file),
      url: `${parts.apiUrl}/webhooks/${encodeURIComponent(name)}`,
      secret: key,
      now: now(),
    });
    const res = await send(delivery.url, {
      method: 'POST',
      headers: { 'user-agent': 'hookonce-console', ...delivery.headers },
      body: delivery.body,
    });
    return { status: res.status, body: await res.text(), deliveryId: delivery.deliveryId };
  };
}

/** Everything startConsole() needs, from the local runtime: writable, with S3 for large payloads. */
export function localConsoleOptions(parts: LocalConsoleParts): ConsoleOptions {
  return {
    target: localTarget(parts),
    activity: parts.activity,
    consumers: parts.consumers,
    declaration: parts.declaration,
    providers: localProviders(parts),
    writable: true,
    sendTest: localSendTest(parts),
    s3: parts.clients.s3,
    port: parts.port,
  };
}
