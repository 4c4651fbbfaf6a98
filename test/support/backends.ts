import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll } from 'vitest';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import {
  type HookonceDeclaration,
  type ResolvedDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import {
  type DynamoEmulator,
  type DynamoKind,
  type Emulator,
  javaAvailable,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  startDynalite,
  startDynamoDbLocal,
  startFauxqs,
} from '../../infra/local/emulators.ts';
import {
  ensureBucket,
  ensureMessaging,
  ensureTables,
  type LocalResources,
} from '../../infra/local/resources.ts';
import { localNames } from '../../infra/names.ts';

/**
 * The DynamoDB backends every integration suite runs against, with `describe.each`:
 * dynalite always, and the official DynamoDB Local wherever Java is installed
 * (CI has it), for fidelity.
 */
export const backends: readonly DynamoKind[] = javaAvailable()
  ? ['dynalite', 'dynamodb-local']
  : ['dynalite'];

/** Region, credentials and endpoint for an SDK client pointed at a local emulator. */
export const localClientConfig = (endpoint: string) => ({
  endpoint,
  region: LOCAL_REGION,
  credentials: LOCAL_CREDENTIALS,
});

export const dynamoClientFor = (emulator: Emulator): DynamoDBClient =>
  new DynamoDBClient(localClientConfig(emulator.endpoint));
export const snsClientFor = (emulator: Emulator): SNSClient =>
  new SNSClient(localClientConfig(emulator.endpoint));
export const sqsClientFor = (emulator: Emulator): SQSClient =>
  new SQSClient(localClientConfig(emulator.endpoint));
/** fauxqs serves buckets by path, not as subdomains. */
export const s3ClientFor = (emulator: Emulator): S3Client =>
  new S3Client({ ...localClientConfig(emulator.endpoint), forcePathStyle: true });

export const startDynamo = (kind: DynamoKind): Promise<DynamoEmulator> =>
  kind === 'dynamodb-local' ? startDynamoDbLocal() : startDynalite();

/**
 * A test declaration: one Standard Webhooks provider `standard` and one subscriber
 * `all` that receives everything, unless `overrides` says otherwise. Give every
 * suite its own `name`: it prefixes every table, topic and queue.
 */
export function testDeclaration(
  name: string,
  overrides: Partial<HookonceDeclaration> = {},
): ResolvedDeclaration {
  return resolveDeclaration({
    name,
    providers: { standard: { scheme: 'standard-webhooks' } },
    subscribers: { all: { consumer: { entry: 'functions/consumers/example/handler.ts' } } },
    ...overrides,
  });
}

export interface DynamoBackend {
  readonly kind: DynamoKind;
  readonly emulator: DynamoEmulator;
  readonly client: DynamoDBClient;
  readonly deliveriesTable: string;
  readonly consumerTable: string;
}

/**
 * Starts one DynamoDB emulator of `kind` for the enclosing describe block (beforeAll),
 * creates the declaration's tables with ensureTables(), and stops it all in afterAll.
 * The returned object is filled in once beforeAll has run.
 */
export function useDynamo(kind: DynamoKind, declaration: ResolvedDeclaration): DynamoBackend {
  const names = localNames(declaration);
  const backend = {
    kind,
    deliveriesTable: names.deliveriesTable,
    consumerTable: names.consumerTable,
  } as { -readonly [K in keyof DynamoBackend]: DynamoBackend[K] };
  beforeAll(async () => {
    backend.emulator = await startDynamo(kind);
    backend.client = dynamoClientFor(backend.emulator);
    await ensureTables(backend.client, declaration);
  });
  afterAll(async () => {
    backend.client?.destroy();
    await backend.emulator?.stop();
  });
  return backend;
}

export interface MessagingBackend {
  readonly emulator: Emulator;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly topicArn: string;
  readonly payloadBucket: string;
  readonly subscribers: LocalResources['subscribers'];
}

/**
 * Starts fauxqs (SNS and SQS) for the enclosing describe block and creates the
 * declaration's topic, queues and subscriptions with ensureMessaging().
 */
export function useMessaging(declaration: ResolvedDeclaration): MessagingBackend {
  const backend = {} as { -readonly [K in keyof MessagingBackend]: MessagingBackend[K] };
  beforeAll(async () => {
    backend.emulator = await startFauxqs();
    backend.sns = snsClientFor(backend.emulator);
    backend.sqs = sqsClientFor(backend.emulator);
    backend.s3 = s3ClientFor(backend.emulator);
    backend.payloadBucket = await ensureBucket(backend.s3, declaration);
    const made = await ensureMessaging(backend.sns, backend.sqs, declaration);
    backend.topicArn = made.topicArn;
    backend.subscribers = made.subscribers;
  });
  afterAll(async () => {
    backend.sns?.destroy();
    backend.sqs?.destroy();
    backend.s3?.destroy();
    await backend.emulator?.stop();
  });
  return backend;
}

/**
 * Receives and deletes every message now in a queue, and returns their bodies.
 * fauxqs fans a publish out before it answers, so what a finished publish sent is
 * already there: no waiting.
 */
/** Every event published to `subscriber`'s queue until it is empty, read and deleted, parsed. */
export async function drainEvents(
  messaging: MessagingBackend,
  subscriber = 'all',
): Promise<HookonceEvent[]> {
  const queue = messaging.subscribers[subscriber];
  if (!queue) throw new Error(`no queue for subscriber "${subscriber}"`);
  const bodies = await drainQueue(messaging.sqs, queue.queueUrl);
  return bodies.map((b) => JSON.parse(b) as HookonceEvent);
}

export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 30,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return bodies;
    for (const m of messages) {
      bodies.push(m.Body ?? '');
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    }
  }
}

/** A Standard Webhooks secret: `whsec_` and the base64 of `key`. */
export const standardSecret = (key: string): string =>
  `whsec_${Buffer.from(key).toString('base64')}`;

export const TEST_SECRET = standardSecret('hookonce-test-secret-of-32-bytes');
export const OTHER_SECRET = standardSecret('another-secret-that-nobody-holds');

/**
 * The headers a Standard Webhooks sender puts on a delivery, signed by the
 * provider's own library (the oracle): `new Webhook(secret).sign(id, date, body)`.
 */
export function signStandard(options: {
  id: string;
  /** Epoch milliseconds of the signature's timestamp. */
  at: number;
  body: string;
  secret?: string;
  contentType?: string;
}): Record<string, string> {
  const date = new Date(options.at);
  return {
    'content-type': options.contentType ?? 'application/json',
    'webhook-id': options.id,
    'webhook-timestamp': String(Math.floor(options.at / 1000)),
    'webhook-signature': new Webhook(options.secret ?? TEST_SECRET).sign(
      options.id,
      date,
      options.body,
    ),
  };
}
