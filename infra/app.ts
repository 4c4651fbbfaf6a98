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
// cdk-nag's AwsSolutions pack checks every synth: a finding that is not
// acknowledged in infra/nag.ts (with its reason) fails `cdk synth` and `cdk deploy`.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
