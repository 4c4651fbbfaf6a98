import { CfnElement, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { PAYLOAD_PREFIX } from '../functions/deliveries/payloads.ts';
import { payloadObjectPatterns } from './access.ts';
import type { HookonceSubscriber } from './constructs/subscriber.ts';
import type { Hookonce } from './hookonce.ts';

/** How cfn-guard's validation plugin (@cdklabs/cdk-validator-cfnguard) names its findings. */
export const CFN_GUARD_PLUGIN = 'cdk-validator-cfnguard';

/**
 * The cdk-nag (AwsSolutions) findings hookonce accepts, each on the construct
 * it concerns and with the reason it is right there. Everything else the pack
 * checks is met in code; test/infra/nag.test.ts runs the pack on the stack
 * and fails on any finding not acknowledged here. CDK's own Validations API
 * records them, so an app that imports the construct gets them without
 * depending on cdk-nag.
 */
export function acknowledgeFindings(hookonce: Hookonce, options: { tracing: boolean }): void {
  const ack = (scope: IConstruct, id: string, reason: string): void =>
    Validations.of(scope).acknowledge({ id, reason });

  ack(
    hookonce.api,
    'AwsSolutions-APIG4',
    'POST /webhooks/{provider} is called by third-party webhook providers, which cannot sign AWS requests or obtain tokens: ' +
      'the ingest function authenticates every request by its provider signature over the raw body (and its timestamp) ' +
      'before anything is stored, and answers 401 otherwise. The stage is throttled and access-logged.',
  );

  ack(
    hookonce.payloadBucket,
    'AwsSolutions-S1',
    'The bucket holds only bodies too large to travel inline, written by the ingest function and read by consumers, ' +
      'expiring a day after the dedup window. Every write is logged by the ingest function with its delivery id; ' +
      'server access logs would need a second bucket for no extra audit value. Enable CloudTrail S3 data events if ' +
      'per-object reads must be audited.',
  );

  for (const [provider, secret] of Object.entries(hookonce.secrets)) {
    if (!(secret instanceof Secret)) continue; // imported: the stack does not manage it
    ack(
      secret,
      'AwsSolutions-SMG4',
      `The secret holds the signing secrets that provider "${provider}" issues in its own dashboard; ` +
        'Secrets Manager cannot rotate them. Rotation is done at the provider: add the new secret to the JSON list, ' +
        'then remove the old one once the provider signs with the new one (README, Secrets).',
    );
  }

  for (const fn of [hookonce.ingestFunction, hookonce.sweeperFunction]) {
    if (options.tracing) acknowledgeTracing(fn);
  }
  if (hookonce.ingestFunction.role) {
    ack(
      hookonce.ingestFunction.role,
      payloadObjectsFinding(hookonce.payloadBucket, `${PAYLOAD_PREFIX}*`),
      PAYLOAD_REASON,
    );
  }
}

const PAYLOAD_REASON =
  `Large payloads are stored under the ${PAYLOAD_PREFIX} prefix with keys made per delivery (provider, delivery id, ` +
  'SHA-256), unknown until a delivery arrives: the grant is limited to that prefix (for a consumer, to the ' +
  'prefixes of the providers its filter admits) and to the actions each function takes: s3:PutObject and ' +
  's3:DeleteObject for the ingest function, s3:GetObject for consumers.';

/** cdk-nag's finding on a grant to the payload objects under `pattern`. */
function payloadObjectsFinding(bucket: IBucket, pattern: string): string {
  const cfn = bucket.node.defaultChild;
  const arn = CfnElement.isCfnElement(cfn)
    ? `<${Stack.of(bucket).getLogicalId(cfn as CfnElement)}.Arn>`
    : bucket.bucketArn;
  return `AwsSolutions-IAM5[Resource::${arn}/${pattern}]`;
}

/** The one statement with `Resource: *` that active X-Ray tracing adds to a function's role. */
function acknowledgeTracing(fn: IFunction): void {
  if (!fn.role) return;
  Validations.of(fn.role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
      'permissions, so their only resource is "*" (the statement CDK adds for Tracing.ACTIVE). Every other ' +
      'statement of this role names its resources.',
  });
}

const LAMBDA_VPC_REASON =
  'CT.LAMBDA.PR.3: the functions reach only AWS APIs (DynamoDB, SNS, SQS, S3, Secrets Manager), over TLS and ' +
  'authorised by their roles; no network resource of the account is theirs to reach. A VPC would add NAT ' +
  'gateways or interface endpoints (an hourly cost per zone) and cold-start latency for no data path to isolate.';

/** CT.CLOUDWATCH.PR.2 for log groups kept less than a year, or undefined when they are kept long enough. */
function logRetentionReason(logRetention: RetentionDays): string | undefined {
  if (logRetention === RetentionDays.INFINITE || logRetention >= RetentionDays.ONE_YEAR) {
    return undefined;
  }
  return (
    `CT.CLOUDWATCH.PR.2: logs are kept ${logRetention} days, as the construct's logRetention prop says ` +
    '(default one month): they are operational (requests, deliveries, errors; never payloads or secrets), ' +
    'and CloudWatch Logs storage is billed per GB-month. Set logRetention to a year or more where policy ' +
    'requires it, and this acknowledgement goes away.'
  );
}

/**
 * The findings of one subscriber (cdk-nag's and AWS Control Tower's), on the
 * constructs they concern: its consumer's X-Ray statement, its read of the
 * payload objects of the providers its filter admits, the consumer outside a
 * VPC, and its log group's retention when shorter than a year.
 */
export function acknowledgeSubscriberFindings(
  subscriber: HookonceSubscriber,
  options: {
    tracing: boolean;
    bucket: IBucket | undefined;
    logRetention: RetentionDays;
    alarmAction: boolean;
  },
): void {
  const fn = subscriber.consumerFunction;
  if (options.tracing) acknowledgeTracing(fn);
  if (fn.role && options.bucket) {
    for (const pattern of payloadObjectPatterns(subscriber.settings.filter)) {
      Validations.of(fn.role).acknowledge({
        id: payloadObjectsFinding(options.bucket, pattern),
        reason: PAYLOAD_REASON,
      });
    }
  }
  const guard = (scope: IConstruct, rule: string, reason: string): void =>
    Validations.of(scope).acknowledge({ id: `${CFN_GUARD_PLUGIN}::${rule}`, reason });
  guard(fn, 'lambda_inside_vpc_check', LAMBDA_VPC_REASON);
  const retention = logRetentionReason(options.logRetention);
  const logGroup = fn.node.scope?.node.tryFindChild(`${fn.node.id}Logs`);
  if (retention && logGroup) {
    guard(logGroup, 'cloudwatch_log_group_retention_period_check', retention);
  }
  if (!options.alarmAction) {
    for (const alarm of Object.values(subscriber.alarms)) {
      guard(
        alarm,
        'cloudwatch_alarm_action_check',
        'CT.CLOUDWATCH.PR.1: the subscriber was given no alarmAction, so its alarms (both DLQs, consumer ' +
          'errors) show in the CloudWatch console and on dashboards only. Pass alarmAction (e.g. an SnsAction on ' +
          "the team's alarm topic) and they notify when they fire and clear; this acknowledgement then goes away.",
      );
    }
  }
}

/**
 * cdk-nag's SQS3 looks for queues that redrive into a DLQ; a subscription's
 * DLQ is named by the SNS subscription's redrive policy instead.
 */
export function acknowledgeSubscriptionDeadLetterQueue(queue: IConstruct): void {
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is a dead-letter queue: the one the SNS subscription of its queue redrives to (the ' +
      "subscription's RedrivePolicy) when SNS cannot deliver an event, which cdk-nag does not recognise. " +
      'It is marked as a DLQ (RedriveAllowPolicy) and alarmed on as soon as it holds a message.',
  });
}

/**
 * The AWS Control Tower proactive controls (run by cfn-guard through
 * @cdklabs/cdk-validator-cfnguard) that hookonce does not meet, each on the
 * construct it concerns and with the reason. The rest are met in code:
 * test/infra/guard.test.ts fails on any finding not acknowledged here. An
 * organisation that turns one of these controls on in Control Tower must
 * change what it checks (or leave the control off for this stack): an
 * acknowledgement here only keeps `cdk synth` going.
 */
export function acknowledgeControlTowerFindings(
  hookonce: Hookonce,
  options: { logRetention: RetentionDays },
): void {
  const ack = (scope: IConstruct, rule: string, reason: string): void =>
    Validations.of(scope).acknowledge({ id: `${CFN_GUARD_PLUGIN}::${rule}`, reason });

  ack(
    hookonce.api,
    'api_gw_v2_authorization_type_configured_check',
    'CT.APIGATEWAY.PR.5: POST /webhooks/{provider} is called by third-party webhook providers, which cannot sign ' +
      'AWS requests (AWS_IAM) or obtain tokens (JWT, a Lambda authorizer): the ingest function authenticates every ' +
      'request by its provider signature over the raw body and its timestamp before anything is stored.',
  );

  const functions = [hookonce.ingestFunction, hookonce.sweeperFunction];
  for (const fn of functions) ack(fn, 'lambda_inside_vpc_check', LAMBDA_VPC_REASON);

  // The template names no account when the stack is environment-agnostic: SourceAccount
  // is then a reference the rule cannot read (it passes once the account is known).
  if (Token.isUnresolved(Stack.of(hookonce).account)) {
    ack(
      hookonce.api,
      'lambda_function_public_access_prohibited_check',
      'CT.LAMBDA.PR.2: the permission that lets API Gateway invoke the ingest function names both SourceArn (this ' +
        "API's route) and SourceAccount, but this stack is environment-agnostic, so both are references the rule " +
        'cannot read before deployment. Synthesized with an account (CDK_DEFAULT_ACCOUNT), the rule passes.',
    );
  }

  const retention = logRetentionReason(options.logRetention);
  if (retention) {
    const logGroups = [
      hookonce.accessLogs,
      ...functions.map((fn) => fn.node.scope?.node.tryFindChild(`${fn.node.id}Logs`)),
    ];
    for (const logGroup of logGroups) {
      if (logGroup) ack(logGroup, 'cloudwatch_log_group_retention_period_check', retention);
    }
  }

  const bucketRules: Record<string, string> = {
    s3_bucket_logging_enabled_check:
      'CT.S3.PR.2: the bucket holds only bodies too large to travel inline, written by the ingest function (which ' +
      'logs each with its delivery id) and read by consumers; server access logs would need a second bucket for ' +
      'no extra audit value. Enable CloudTrail S3 data events where per-object reads must be audited.',
    s3_event_notifications_enabled_check:
      'CT.S3.PR.4: nothing reacts to a payload being written: consumers fetch a body by the URI in the event ' +
      'that names it, so there is no event to notify.',
    s3_bucket_object_lock_enabled_check:
      'CT.S3.PR.9: Object Lock keeps objects from being deleted, and these must go: each expires a day after the ' +
      'dedup window, and the ingest function deletes a body it stored for a delivery whose claim it lost.',
    s3_bucket_versioning_enabled_check:
      'CT.S3.PR.11: an object is written once under a key made of its delivery id and SHA-256, never overwritten; ' +
      'versioning would only keep deleted and expired bodies on as noncurrent versions past the retention window.',
    s3_bucket_default_encryption_kms_check:
      'CT.S3.PR.10: bodies are encrypted at rest with S3-managed keys (SSE-S3), and access is limited by IAM to ' +
      'the ingest function and, per provider, to the consumers that may read them. A KMS key would add a key ' +
      "grant to every consumer's read and tie the retained bucket's objects to a key that leaves with the stack.",
  };
  for (const [rule, reason] of Object.entries(bucketRules)) {
    ack(hookonce.payloadBucket, rule, reason);
  }
}
