import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  type AttributeValue,
  DynamoDBClient,
  ScanCommand,
  type ScanCommandInput,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import {
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { FilterPolicy, ResolvedDeclaration } from '../../functions/shared/declaration.ts';
import type { Env } from '../../functions/shared/env.ts';
import { LOCAL_CREDENTIALS } from '../local/credentials.ts';
import { type CliIo, CommandFailure, UsageError } from './command.ts';
import { dataDir, shown } from './send.ts';

/**
 * Where an operator command (`replay`, `dlq`) acts: the local runtime, found
 * through the local.json `npm start` writes, or a deployed stack, found through
 * its CloudFormation outputs. Either way, the same SDK calls follow.
 */

export interface QueuePair {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

export interface Target {
  /** For the output: `the local runtime (.hookonce/local.json)`, `stack Hookonce (eu-west-1)`. */
  readonly description: string;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  readonly topicArn: string;
  readonly deliveriesTable: string;
  readonly consumerTable: string;
  /** Every subscriber's queue and DLQ, by name. */
  readonly subscribers: Readonly<Record<string, QueuePair>>;
  /** Endpoints the calls go to, when they are not AWS's own. */
  readonly endpoint?: string;
  /** A deployed stack's region; absent on the local runtime. */
  readonly region?: string;
  /** Every output of a deployed stack, by key (`IngestLogGroupName`, …); absent on the local runtime. */
  readonly outputs?: Readonly<Record<string, string>>;
  close(): void;
}

export interface TargetOptions {
  /** A deployed stack's name; without it, the local runtime. */
  readonly stack?: string;
  readonly region?: string;
  readonly env: Env;
  readonly cwd: string;
  readonly declaration: ResolvedDeclaration;
}

/** `payments-team` → `PaymentsTeam`: how infra/stack.ts names a subscriber's outputs. */
export const outputKey = (subscriber: string): string =>
  subscriber
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** What an operator command needs of a stack's outputs, by the keys infra/stack.ts gives them. */
export function namesFromOutputs(
  outputs: ReadonlyArray<{ OutputKey?: string; OutputValue?: string }>,
  subscribers: readonly string[],
  stack: string,
): {
  topicArn: string;
  deliveriesTable: string;
  consumerTable: string;
  queues: Record<string, { queueUrl: string; dlqUrl: string }>;
} {
  const value = (key: string): string => {
    const found = outputs.find((o) => o.OutputKey === key)?.OutputValue;
    if (!found) {
      throw new UsageError(
        `stack ${stack} has no output ${key}: is it a hookonce stack deployed from this declaration?`,
      );
    }
    return found;
  };
  const queues: Record<string, { queueUrl: string; dlqUrl: string }> = {};
  for (const name of subscribers) {
    queues[name] = {
      queueUrl: value(`${outputKey(name)}QueueUrl`),
      dlqUrl: value(`${outputKey(name)}DeadLetterQueueUrl`),
    };
  }
  return {
    topicArn: value('TopicArn'),
    deliveriesTable: value('DeliveriesTableName'),
    consumerTable: value('ConsumerTableName'),
    queues,
  };
}

/** A stack's outputs by key. */
export function outputMap(
  outputs: ReadonlyArray<{ OutputKey?: string; OutputValue?: string }>,
): Record<string, string> {
  const map: Record<string, string> = {};
  for (const { OutputKey, OutputValue } of outputs) {
    if (OutputKey && OutputValue !== undefined) map[OutputKey] = OutputValue;
  }
  return map;
}

interface LocalFile {
  readonly dynamodb?: unknown;
  readonly sqs?: unknown;
  readonly sns?: unknown;
  readonly topicArn?: unknown;
  readonly region?: unknown;
  readonly deliveriesTable?: unknown;
  readonly consumerTable?: unknown;
  readonly queues?: Record<string, Partial<QueuePair>>;
}

export async function openTarget(options: TargetOptions): Promise<Target> {
  return options.stack ? openStack(options, options.stack) : openLocal(options);
}

function openLocal(options: TargetOptions): Target {
  const file = join(dataDir(options.env, options.cwd), 'local.json');
  if (!existsSync(file)) {
    throw new UsageError(
      `no running hookonce found (${shown(options.cwd, file)} is missing): start it with \`npm start\`, or name a deployed stack with --stack`,
    );
  }
  let local: LocalFile;
  try {
    local = JSON.parse(readFileSync(file, 'utf8')) as LocalFile;
  } catch {
    throw new UsageError(`${shown(options.cwd, file)} is not valid JSON: start hookonce again`);
  }
  const { dynamodb, sqs, sns, topicArn, region, deliveriesTable, consumerTable } = local;
  if (
    typeof dynamodb !== 'string' ||
    typeof sqs !== 'string' ||
    typeof sns !== 'string' ||
    typeof topicArn !== 'string' ||
    typeof region !== 'string' ||
    typeof deliveriesTable !== 'string' ||
    typeof consumerTable !== 'string'
  ) {
    throw new UsageError(
      `${shown(options.cwd, file)} lacks endpoints or table names: start hookonce again`,
    );
  }
  const subscribers: Record<string, QueuePair> = {};
  for (const [name, q] of Object.entries(local.queues ?? {})) {
    if (q.queueUrl && q.queueArn && q.dlqUrl && q.dlqArn) {
      subscribers[name] = {
        queueUrl: q.queueUrl,
        queueArn: q.queueArn,
        dlqUrl: q.dlqUrl,
        dlqArn: q.dlqArn,
      };
    }
  }
  // One attempt: a local emulator that does not answer is not running.
  const config = { region, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
  const ddb = new DynamoDBClient({ ...config, endpoint: dynamodb });
  const sqsClient = new SQSClient({ ...config, endpoint: sqs });
  const snsClient = new SNSClient({ ...config, endpoint: sns });
  return {
    description: `the local runtime (${shown(options.cwd, file)})`,
    dynamodb: ddb,
    sqs: sqsClient,
    sns: snsClient,
    topicArn,
    deliveriesTable,
    consumerTable,
    subscribers,
    endpoint: sqs,
    close() {
      ddb.destroy();
      sqsClient.destroy();
      snsClient.destroy();
    },
  };
}

/**
 * The region and the credentials a stack is reached with, resolved before any
 * call, as the SDK resolves them (flags, AWS_REGION, AWS_PROFILE, ~/.aws, …):
 * what is missing is said with its fix (CommandFailure, exit 1), not as an SDK
 * error. The region is read from the environment and files only; so are the
 * credentials, but for the SDK's last resort, the instance metadata of an EC2
 * host (off with AWS_EC2_METADATA_DISABLED=true).
 */
async function checkAccess(client: CloudFormationClient, env: Env): Promise<string> {
  let region: string | undefined;
  try {
    region = await client.config.region();
  } catch {
    region = undefined;
  }
  if (!region) {
    throw new CommandFailure(
      'no AWS region: pass --region or set AWS_REGION (or give your AWS profile a region)',
    );
  }
  try {
    await client.config.credentials();
  } catch {
    const profile = env.AWS_PROFILE;
    throw new CommandFailure(
      profile
        ? `no AWS credentials for the profile ${profile} (AWS_PROFILE): run \`aws configure --profile ${profile}\` (or \`aws sso login --profile ${profile}\`), or set AWS_PROFILE to a profile that has them`
        : 'no AWS credentials: run `aws configure` (or `aws sso login`), or set AWS_PROFILE to a profile that has them',
    );
  }
  return region;
}

async function openStack(options: TargetOptions, stack: string): Promise<Target> {
  const config = options.region ? { region: options.region } : {};
  const cloudformation = new CloudFormationClient(config);
  let outputs: Array<{ OutputKey?: string; OutputValue?: string }>;
  let region: string;
  try {
    region = await checkAccess(cloudformation, options.env);
  } catch (error) {
    cloudformation.destroy();
    throw error;
  }
  try {
    const out = await cloudformation.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = out.Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    throw new UsageError(
      `could not read stack ${stack}: ${(error as Error).message} (check the stack name, --region or AWS_REGION, and your AWS credentials)`,
    );
  } finally {
    cloudformation.destroy();
  }
  const names = namesFromOutputs(outputs, Object.keys(options.declaration.subscribers), stack);
  const dynamodb = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const sns = new SNSClient(config);
  const arnOf = async (url: string): Promise<string> => {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    const arn = out.Attributes?.QueueArn;
    if (!arn) throw new Error(`no ARN for ${url}`);
    return arn;
  };
  const subscribers: Record<string, QueuePair> = {};
  for (const [name, q] of Object.entries(names.queues)) {
    subscribers[name] = {
      ...q,
      queueArn: await arnOf(q.queueUrl),
      dlqArn: await arnOf(q.dlqUrl),
    };
  }
  return {
    description: `stack ${stack} (${region})`,
    dynamodb,
    sqs,
    sns,
    topicArn: names.topicArn,
    deliveriesTable: names.deliveriesTable,
    consumerTable: names.consumerTable,
    subscribers,
    region,
    outputs: outputMap(outputs),
    close() {
      dynamodb.destroy();
      sqs.destroy();
      sns.destroy();
    },
  };
}

/** The queue pair of a subscriber, or a UsageError that lists the ones there are. */
export function subscriberQueues(target: Target, subscriber: string): QueuePair {
  const pair = Object.hasOwn(target.subscribers, subscriber)
    ? target.subscribers[subscriber]
    : undefined;
  if (!pair) {
    const known = Object.keys(target.subscribers);
    throw new UsageError(
      `no subscriber "${subscriber}" in ${target.description}; it has ${known.length > 0 ? known.join(', ') : 'none'}`,
    );
  }
  return pair;
}

/**
 * The filter policy SNS applies to a subscriber's queue now, read from its
 * subscription: `undefined` when it has none (every event is delivered).
 * Replay honours this, the policy in force, rather than the declaration.
 */
export async function liveFilterPolicy(
  target: Target,
  subscriber: string,
): Promise<FilterPolicy | undefined> {
  const { queueArn } = subscriberQueues(target, subscriber);
  let next: string | undefined;
  do {
    const page = await target.sns.send(
      new ListSubscriptionsByTopicCommand({ TopicArn: target.topicArn, NextToken: next }),
    );
    const found = page.Subscriptions?.find((s) => s.Endpoint === queueArn);
    if (found?.SubscriptionArn) {
      const out = await target.sns.send(
        new GetSubscriptionAttributesCommand({ SubscriptionArn: found.SubscriptionArn }),
      );
      const scope = out.Attributes?.FilterPolicyScope;
      if (scope && scope !== 'MessageAttributes') {
        throw new Error(
          `${subscriber}'s filter policy applies to the ${scope}, not to the attributes`,
        );
      }
      const policy = out.Attributes?.FilterPolicy;
      return policy ? (JSON.parse(policy) as FilterPolicy) : undefined;
    }
    next = page.NextToken;
  } while (next);
  throw new UsageError(`${subscriber}'s queue is not subscribed to the topic ${target.topicArn}`);
}

/** An SDK error from an emulator that is not running, said plainly. */
export function unreachable(target: Target, error: unknown): string | undefined {
  const text = `${(error as Error)?.name ?? ''} ${(error as Error)?.message ?? ''} ${String((error as { cause?: { code?: string } })?.cause?.code ?? '')}`;
  if (target.endpoint && /ECONNREFUSED|ECONNRESET|socket hang up|fetch failed/i.test(text)) {
    return `nothing answers at ${target.endpoint}: is \`npm start\` running?`;
  }
  return undefined;
}

/**
 * Reads the whole deliveries table in `segments` parallel Scan segments, handing
 * each page's items (those the filter kept) to `onItems`. Answers how many items
 * the scan read, filtered out or not.
 */
export async function scanDeliveries(
  target: Target,
  input: Omit<ScanCommandInput, 'TableName' | 'Segment' | 'TotalSegments' | 'ExclusiveStartKey'>,
  segments: number,
  onItems: (items: readonly Record<string, AttributeValue>[]) => void,
): Promise<number> {
  let scanned = 0;
  const segment = async (n: number): Promise<void> => {
    let start: ScanCommandOutput['LastEvaluatedKey'];
    do {
      const page = await target.dynamodb.send(
        new ScanCommand({
          ...input,
          TableName: target.deliveriesTable,
          Segment: n,
          TotalSegments: segments,
          ExclusiveStartKey: start,
        }),
      );
      scanned += page.ScannedCount ?? 0;
      onItems(page.Items ?? []);
      start = page.LastEvaluatedKey;
    } while (start);
  };
  await Promise.all(Array.from({ length: segments }, (_, n) => segment(n)));
  return scanned;
}

/**
 * Opens the target an operator command works on, runs `work` on it and closes it:
 * an emulator or stack that cannot be reached is said plainly (`hookonce <command>:
 * …`, exit 1) instead of as an SDK stack trace.
 */
export async function withTarget(
  command: string,
  options: TargetOptions,
  io: Pick<CliIo, 'err'>,
  work: (target: Target) => Promise<number>,
): Promise<number> {
  const target = await openTarget(options);
  try {
    return await work(target);
  } catch (error) {
    const plain = unreachable(target, error);
    if (plain) {
      io.err(`hookonce ${command}: ${plain}`);
      return 1;
    }
    throw error;
  } finally {
    target.close();
  }
}
