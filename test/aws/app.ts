/**
 * The CDK app `npm run test:aws` deploys: the repository's own declaration in
 * a stack of its own name, built to leave nothing behind on `cdk destroy`
 * (tables and secrets destroyed, no deletion protection).
 */
import { App, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { declaration } from '../../infra/hookonce.config.ts';
import { HookonceStack } from '../../infra/stack.ts';

const stackName = process.env.HOOKONCE_INTEG_STACK;
if (!stackName) throw new Error('HOOKONCE_INTEG_STACK names the stack to deploy');

const app = new App();
new HookonceStack(app, stackName, {
  declaration,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  removalPolicy: RemovalPolicy.DESTROY,
  deletionProtection: false,
  logRetention: RetentionDays.ONE_DAY,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
