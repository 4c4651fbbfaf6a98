import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, cx_api, Stack, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { declaration } from '../../infra/hookonce.config.ts';
import { CFN_GUARD_PLUGIN } from '../../infra/nag.ts';
import { HookonceStack } from '../../infra/stack.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** What `cdk synth` reads from cdk.json, without bundling: cfn-guard reads the templates only. */
const context = (): Record<string, unknown> => ({
  ...JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context,
  'aws:cdk:bundling-stacks': [],
});

/** An app that runs AWS Control Tower's proactive controls on every synth, as infra/app.ts does. */
function guardedApp(): App {
  const app = new App({ context: context() });
  Validations.of(app).addPlugins(new CfnGuardValidator());
  return app;
}

type Violation = {
  ruleName: string;
  description: string;
  violatingConstructs: { constructPath: string }[];
};
type Suppressed = Violation & { acknowledgedId: string; acknowledgedAt: string; reason: string };
type PluginReport = {
  pluginName: string;
  conclusion: string;
  violations: Violation[];
  suppressedViolations?: Suppressed[];
};

/** cfn-guard's part of the report CDK writes into the cloud assembly on synth. */
function guardReport(directory: string): PluginReport {
  const report = JSON.parse(readFileSync(join(directory, cx_api.VALIDATION_REPORT_FILE), 'utf8'));
  const guard = (report.pluginReports as PluginReport[]).find(
    (r) => r.pluginName === CFN_GUARD_PLUGIN,
  );
  if (!guard) throw new Error('cfn-guard reported nothing: did the plugin run?');
  return guard;
}

/** `rule @ construct` for every finding of a stack, below the stack's Hookonce. */
const findingsOf = (report: PluginReport, stack: string) =>
  report.violations.flatMap((v) =>
    v.violatingConstructs
      .filter((c) => c.constructPath.startsWith(`${stack}/`))
      .map((c) => `${v.ruleName} @ ${c.constructPath}`),
  );
const acknowledgedIn = (report: PluginReport, stack: string) =>
  (report.suppressedViolations ?? []).filter((s) => s.acknowledgedAt.startsWith(`${stack}/`));

describe('AWS Control Tower proactive controls (cfn-guard)', () => {
  let report: PluginReport;

  beforeAll(() => {
    // One synthesis: the repository's own stack as `cdk synth` makes it offline
    // (no account), and the same declaration deployed with an account and logs
    // kept a year.
    const app = guardedApp();
    new HookonceStack(app, 'Hookonce', { declaration });
    new HookonceStack(app, 'Kept', {
      declaration,
      env: { account: '123456789012', region: 'eu-west-1' },
      logRetention: RetentionDays.ONE_YEAR,
    });
    report = guardReport(app.synth().directory);
  });

  it('finds nothing unacknowledged in the repository’s own stack', () => {
    expect(findingsOf(report, 'Hookonce')).toEqual([]);
    expect(report.conclusion).toBe('success');
  });

  it('meets the DLQ, log encryption, key grant and invoke permission controls in code', () => {
    const acknowledged = new Set(acknowledgedIn(report, 'Hookonce').map((s) => s.ruleName));
    for (const rule of [
      'sqs_dlq_check', // CT.SQS.PR.1: every queue has a DLQ or is one
      'cloudwatch_log_group_encrypted_check', // CT.CLOUDWATCH.PR.3: the stack's key
      'kms_create_grant_aws_service_check', // CT.KMS.PR.3: grants for AWS services only
    ]) {
      expect(acknowledged).not.toContain(rule);
    }
  });

  it('acknowledges exactly these controls, each on the construct it concerns, with its reason', () => {
    const acks = acknowledgedIn(report, 'Hookonce');
    const where = [
      ...new Set(
        acks.map((s) => `${s.ruleName} @ ${s.acknowledgedAt.replace(/^Hookonce\/Hookonce\//, '')}`),
      ),
    ].sort();
    const functions = [
      'Intake/Ingest',
      'Sweep/Sweeper',
      'Subscriber-example/Consumer',
      'Subscriber-billing/Consumer',
    ];
    expect(where).toEqual(
      [
        'api_gw_v2_authorization_type_configured_check @ Intake/Api',
        // No account in the template: SourceAccount is a reference the rule cannot read.
        'lambda_function_public_access_prohibited_check @ Intake/Api',
        ...functions.map((fn) => `lambda_inside_vpc_check @ ${fn}`),
        ...['Intake/ApiAccessLogs', ...functions.map((fn) => `${fn}Logs`)].map(
          (group) => `cloudwatch_log_group_retention_period_check @ ${group}`,
        ),
        ...[
          's3_bucket_default_encryption_kms_check',
          's3_bucket_logging_enabled_check',
          's3_bucket_object_lock_enabled_check',
          's3_bucket_versioning_enabled_check',
          's3_event_notifications_enabled_check',
        ].map((rule) => `${rule} @ Intake/Payloads`),
      ].sort(),
    );
    for (const ack of acks) {
      expect(ack.acknowledgedId).toBe(`${CFN_GUARD_PLUGIN}::${ack.ruleName}`);
      // Each reason names its control and says why, in a sentence or more.
      const control = /^\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(ack.description)?.[1];
      expect(control).toBeDefined();
      expect(ack.reason.startsWith(`${control}: `)).toBe(true);
      expect(ack.reason.length).toBeGreaterThan(120);
    }
  });

  it('needs neither the invoke permission nor the log retention acknowledgement with an account and logs kept a year', () => {
    expect(findingsOf(report, 'Kept')).toEqual([]);
    const acknowledged = new Set(acknowledgedIn(report, 'Kept').map((s) => s.ruleName));
    expect(acknowledged).not.toContain('lambda_function_public_access_prohibited_check');
    expect(acknowledged).not.toContain('cloudwatch_log_group_retention_period_check');
    expect(acknowledged).toContain('lambda_inside_vpc_check');
  });

  it('fails the synth on a finding nobody acknowledged', () => {
    const app = guardedApp();
    new Queue(new Stack(app, 'Bare'), 'NoDeadLetterQueue');
    expect(() => app.synth()).toThrow(/sqs_dlq_check[\s\S]*Bare\/NoDeadLetterQueue/);
  });
});
