import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AnyPrincipal,
  Effect,
  Grant,
  type IGrantable,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import {
  ApplicationLogLevel,
  Architecture,
  Code,
  type FunctionProps,
  Function as LambdaFunction,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import {
  LogLevel,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { HANDLER_BUNDLING, type HookonceHandler, handlerCode } from '../functions.ts';

/**
 * esbuild makes ESM, and CommonJS dependencies bundled into it still call
 * `require` (for Node built-ins): give them one.
 */
const REQUIRE_SHIM = HANDLER_BUNDLING.banner.js;

/**
 * What CloudWatch Logs needs of the key to encrypt a log group and read it back:
 * the exact actions of the wildcards AWS documents (Encrypt*, Decrypt*,
 * ReEncrypt*, GenerateDataKey*, Describe*), without the key-pair ones.
 */
const LOGS_KEY_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:DescribeKey',
];

/** What every function of one deployment shares. */
export interface FunctionDefaults {
  /** The folder function entries are relative to, and where package-lock.json lives. */
  readonly projectRoot: string;
  /** How long each function's own log group keeps its logs. */
  readonly logRetention: RetentionDays;
  /** Encrypts each function's log group; its policy must let CloudWatch Logs use it (logsKey()). */
  readonly logsKey: IKey;
  /** X-Ray active tracing (Lambda samples it: the first request each second, 5 % of the rest). */
  readonly tracing: boolean;
  /** POWERTOOLS_LOG_LEVEL: the lowest level the functions print (functions/shared/log.ts). */
  readonly logLevel: string;
  /** POWERTOOLS_LOGGER_SAMPLE_RATE, 0 to 1. */
  readonly debugLogSampleRate: number;
}

/**
 * Lambda's advanced logging controls, as every hookonce function has them: the
 * JSON log format, in which Lambda filters lines by their `level`; Lambda's own
 * lines (START, END and REPORT, three an invocation, and the init lines) only
 * from WARN up; and the application lines from the most verbose level the
 * function may print: DEBUG with `logLevel: 'DEBUG'` or a debug sample rate,
 * else INFO. Never from above INFO, whatever `logLevel` says: a line that
 * carries metrics is an INFO line (an EMF line without a level is INFO to
 * Lambda too), so Lambda would drop metrics with it. `logLevel` WARN or ERROR is
 * applied by the function itself, which prints a line carrying metrics
 * whatever its level. Lambda sets AWS_LAMBDA_LOG_LEVEL to the application
 * level, which Powertools Logger takes as its own; hookonce's logger decides
 * by POWERTOOLS_LOG_LEVEL (functions/shared/log.ts).
 */
export function lambdaLogging(
  logLevel: string,
  debugLogSampleRate: number,
): Pick<FunctionProps, 'loggingFormat' | 'systemLogLevelV2' | 'applicationLogLevelV2'> {
  return {
    loggingFormat: LoggingFormat.JSON,
    systemLogLevelV2: SystemLogLevel.WARN,
    applicationLogLevelV2:
      logLevel === 'DEBUG' || debugLogSampleRate > 0
        ? ApplicationLogLevel.DEBUG
        : ApplicationLogLevel.INFO,
  };
}

/** Checks a debug sample rate before anything is built with it. */
export function checkDebugLogSampleRate(rate: number): number {
  if (!(rate >= 0 && rate <= 1)) {
    throw new Error(`debugLogSampleRate must be between 0 and 1, got ${rate}`);
  }
  return rate;
}

/** An entry as an absolute path; it must lie inside the project. */
export function entryPath(projectRoot: string, entry: string): string {
  const path = resolve(projectRoot, entry);
  const inside = relative(projectRoot, path);
  if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw new Error(`function entry "${entry}" must lie inside ${projectRoot}`);
  }
  return path;
}

/**
 * A customer managed key (rotated yearly) that CloudWatch Logs may use for this
 * account's log groups in this region, and on which only AWS services, acting
 * for a resource, may be given grants (AWS Control Tower's CT.KMS.PR.3). It
 * encrypts data that leaves with the stack, so it leaves with the stack too.
 */
export function logsKey(scope: Construct, id: string, description: string): Key {
  const key = new Key(scope, id, {
    description,
    enableKeyRotation: true,
    pendingWindow: Duration.days(7),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const { account, region, partition } = Stack.of(scope);
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'CloudWatchLogsUseKey',
      principals: [new ServicePrincipal(`logs.${region}.amazonaws.com`)],
      actions: LOGS_KEY_ACTIONS,
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:${region}:${account}:log-group:*`,
        },
      },
    }),
  );
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'GrantsOnlyForAwsServices',
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: {
        BoolIfExists: {
          'kms:GrantIsForAWSResource': 'false',
          'aws:PrincipalIsAWSService': 'false',
        },
      },
    }),
  );
  return key;
}

export type HookonceFunctionProps = Pick<
  NodejsFunctionProps,
  'description' | 'handler' | 'timeout' | 'memorySize' | 'reservedConcurrentExecutions'
> & {
  /** Relative to the project root. */
  readonly entry: string;
  /**
   * One of hookonce's own functions: deployed from the bundle the package ships
   * when there is one (an app that installed hookonce), else bundled from `entry`.
   */
  readonly shipped?: HookonceHandler;
  /** Its `service` in logs and metrics (POWERTOOLS_SERVICE_NAME). */
  readonly serviceName: string;
};

/**
 * A function as every hookonce function is built: Node.js 24 on arm64, one
 * lean ESM bundle, a log group of its own (`<id>Logs`, encrypted) and a role
 * of its own (`<id>Role`) that may write to that log group and nothing else
 * until bind() adds what its handler uses (no AWSLambdaBasicExecutionRole:
 * that one may create any log group and write to all of them).
 */
export function hookonceFunction(
  scope: Construct,
  id: string,
  defaults: FunctionDefaults,
  props: HookonceFunctionProps,
): LambdaFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: defaults.logRetention,
    encryptionKey: defaults.logsKey,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new Role(scope, `${id}Role`, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: props.description,
  });
  Grant.addToPrincipal({
    grantee: role,
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resourceArns: [logGroup.logGroupArn],
  });
  const common = {
    description: props.description,
    timeout: props.timeout,
    memorySize: props.memorySize,
    reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    role,
    tracing: defaults.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
    ...lambdaLogging(defaults.logLevel, defaults.debugLogSampleRate),
    // Read by hookonce's logger over Powertools Logger (functions/shared/log.ts).
    environment: {
      POWERTOOLS_SERVICE_NAME: props.serviceName,
      POWERTOOLS_LOG_LEVEL: defaults.logLevel,
      POWERTOOLS_LOGGER_SAMPLE_RATE: String(defaults.debugLogSampleRate),
    },
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    logGroup,
  } satisfies Omit<FunctionProps, 'code' | 'handler'>;
  const code = props.shipped ? handlerCode(props.shipped, defaults.projectRoot) : undefined;
  if (code?.kind === 'bundle') {
    // Built and minified when the package was built: deployed as it is, no bundling at synth.
    return new LambdaFunction(scope, id, {
      ...common,
      code: Code.fromAsset(code.directory),
      handler: code.handler,
    });
  }
  return new NodejsFunction(scope, id, {
    ...common,
    entry: entryPath(defaults.projectRoot, props.entry),
    handler: props.handler,
    projectRoot: defaults.projectRoot,
    depsLockFilePath: join(defaults.projectRoot, 'package-lock.json'),
    // The SDK v3 clients reuse connections on their own; no variable needed.
    awsSdkConnectionReuse: false,
    bundling: {
      format: OutputFormat.ESM,
      target: 'node24',
      minify: true,
      sourceMap: false,
      // Bundle everything, the AWS SDK included: one file, pinned versions, and
      // tree-shaking keeps only the clients a function uses.
      externalModules: [],
      mainFields: ['module', 'main'],
      banner: REQUIRE_SHIM,
      logLevel: LogLevel.WARNING,
    },
  });
}

/**
 * A variable that names a resource comes with the grant to use it; a plain
 * setting comes with `null`.
 */
export type Bindings = Readonly<Record<string, ((grantee: IGrantable) => unknown) | null>>;

/**
 * Sets a function's environment and, for each variable naming a resource, the
 * grant that lets the function use that resource: in one call, so a handler
 * never gets a name it may not use. Every variable must be listed, so one
 * added to an environment builder without its grant fails the synth.
 */
export function bind(
  fn: NodejsFunction,
  environment: Record<string, string>,
  bindings: Bindings,
): void {
  const unbound = Object.keys(environment).filter((key) => !(key in bindings));
  const unknown = Object.keys(bindings).filter((key) => !(key in environment));
  if (unbound.length > 0 || unknown.length > 0) {
    throw new Error(
      `${fn.node.path}: environment and grants disagree (no grant: ${unbound.join(', ') || '-'}; ` +
        `no variable: ${unknown.join(', ') || '-'})`,
    );
  }
  for (const [key, value] of Object.entries(environment)) {
    fn.addEnvironment(key, value);
    bindings[key]?.(fn);
  }
}
