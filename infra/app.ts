import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { declaration } from './hookonce.config.ts';
import { HookonceStack } from './stack.ts';

// `cdk synth` / `cdk deploy`. The account and region come from the CLI's
// profile when there is one; unset, the stack stays environment-agnostic.
const app = new App();
new HookonceStack(app, 'Hookonce', {
  declaration,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// Two policy checks run on every synth; a finding that is not acknowledged in
// infra/nag.ts (with its reason) fails `cdk synth` and `cdk deploy`:
// - cdk-nag's AwsSolutions pack;
// - AWS Control Tower's proactive controls, as cfn-guard rules (the plugin ships
//   cfn-guard and the rules: it runs offline).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new CfnGuardValidator());
