import { Duration } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { Function as HookonceLambda } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { PENDING_INDEX } from '../../functions/deliveries/store.ts';
import type { ResolvedDeclaration } from '../../functions/shared/declaration.ts';
import {
  DEFAULT_SWEEP_GRACE_SECONDS,
  DEFAULT_SWEEP_MAX_ATTEMPTS,
  DEFAULT_SWEEP_MAX_PER_RUN,
  SWEEP_INTERVAL_SECONDS,
  SWEEPER_ENV,
  sweeperEnvironment,
} from '../../functions/sweeper/config.ts';
import { SWEEPER_FUNCTION } from '../functions.ts';
import { serviceNames } from '../observability.ts';
import type { FanOut } from './fanout.ts';
import { bind, type FunctionDefaults, hookonceFunction } from './function.ts';

/** The sweeper queries the pending index and takes deliveries over (UpdateItem); nothing else. */
const SWEEPER_TABLE_ACTIONS = ['dynamodb:UpdateItem'];
const SWEEPER_INDEX_ACTIONS = ['dynamodb:Query'];

export interface SweeperProps {
  readonly declaration: ResolvedDeclaration;
  readonly deliveriesTable: TableV2;
  readonly fanOut: FanOut;
  readonly functionDefaults: FunctionDefaults;
  /** @default none reserved */
  readonly reservedConcurrency?: number;
}

/**
 * The sweeper: a function run every minute that publishes deliveries stored
 * but never published (their ingest invocation died), and its schedule.
 */
export class Sweeper extends Construct {
  public readonly sweeperFunction: HookonceLambda;

  public constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const { declaration, deliveriesTable, fanOut } = props;
    const retentionSeconds = declaration.retentionDays * 24 * 3600;
    const fn = hookonceFunction(this, 'Sweeper', props.functionDefaults, {
      description: `${declaration.name}: publishes deliveries stored but never published`,
      entry: SWEEPER_FUNCTION.entry,
      shipped: 'sweeper',
      handler: SWEEPER_FUNCTION.handler,
      timeout: Duration.seconds(SWEEPER_FUNCTION.timeoutSeconds),
      memorySize: SWEEPER_FUNCTION.memorySize,
      reservedConcurrentExecutions: props.reservedConcurrency,
      serviceName: serviceNames(declaration.name).sweeper,
    });
    this.sweeperFunction = fn;
    bind(
      fn,
      sweeperEnvironment({
        tableName: deliveriesTable.tableName,
        topicArn: fanOut.topic.topicArn,
        pendingShards: declaration.pendingShards,
        retentionSeconds,
        graceSeconds: DEFAULT_SWEEP_GRACE_SECONDS,
        maxPerRun: DEFAULT_SWEEP_MAX_PER_RUN,
        maxAttempts: DEFAULT_SWEEP_MAX_ATTEMPTS,
      }),
      {
        // It queries the pending index and takes deliveries over; it never creates one.
        [SWEEPER_ENV.table]: (grantee) => {
          Grant.addToPrincipal({
            grantee,
            actions: SWEEPER_TABLE_ACTIONS,
            resourceArns: [deliveriesTable.tableArn],
          });
          Grant.addToPrincipal({
            grantee,
            actions: SWEEPER_INDEX_ACTIONS,
            resourceArns: [`${deliveriesTable.tableArn}/index/${PENDING_INDEX}`],
          });
        },
        [SWEEPER_ENV.topicArn]: (grantee) => fanOut.grantPublish(grantee),
        [SWEEPER_ENV.pendingShards]: null,
        [SWEEPER_ENV.retentionSeconds]: null,
        [SWEEPER_ENV.graceSeconds]: null,
        [SWEEPER_ENV.maxPerRun]: null,
        [SWEEPER_ENV.maxAttempts]: null,
      },
    );
    new Rule(this, 'SweepSchedule', {
      description: `${declaration.name}: run the sweeper`,
      schedule: Schedule.rate(Duration.seconds(SWEEP_INTERVAL_SECONDS)),
      targets: [new LambdaFunction(fn, { retryAttempts: 0 })],
    });
  }
}
