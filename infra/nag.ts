import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { PAYLOAD_PREFIX } from '../functions/deliveries/payloads.ts';
import type { Hookonce } from './hookonce.ts';

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

  const functions = [
    hookonce.ingestFunction,
    hookonce.sweeperFunction,
    ...Object.values(hookonce.consumerFunctions),
  ];
  for (const fn of functions) {
    if (!fn.role) continue;
    if (options.tracing) {
      ack(
        fn.role,
        'AwsSolutions-IAM5[Resource::*]',
        'Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
          'permissions, so their only resource is "*" (the statement CDK adds for Tracing.ACTIVE). Every other ' +
          'statement of this role names its resources.',
      );
    }
  }
  const bucket = hookonce.payloadBucket;
  const bucketId = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement);
  const payloadObjects = `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${PAYLOAD_PREFIX}*]`;
  for (const fn of [hookonce.ingestFunction, ...Object.values(hookonce.consumerFunctions)]) {
    if (!fn.role) continue;
    ack(
      fn.role,
      payloadObjects,
      `Large payloads are stored under the ${PAYLOAD_PREFIX} prefix with keys made per delivery (provider, delivery id, ` +
        'SHA-256), unknown until a delivery arrives: the grant is limited to that prefix and to one action, ' +
        's3:PutObject for the ingest function and s3:GetObject for consumers.',
    );
  }
}
