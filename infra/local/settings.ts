import type { Env } from '../../functions/shared/env.ts';
import type { DynamoKind } from './emulators.ts';

/**
 * What `npm start` reads from its environment, apart from the code that starts
 * the runtime, so each default and each refusal is tested without starting it.
 */

/**
 * `npm start`'s ports, the same at every start, so the endpoints in local.json, in
 * the AWS CLI's --endpoint-url and in an SDK's configuration stay right across
 * restarts. 8000 is DynamoDB Local's own default and 4566 fauxqs's (and
 * LocalStack's), the ports tools and tutorials point at first; whichever
 * DynamoDB runs, it is on the same port.
 */
export const DEFAULT_PORTS = { api: 3000, console: 3001, dynamodb: 8000, aws: 4566 } as const;

export type PortRole = keyof typeof DEFAULT_PORTS;

/** The variable that sets each port. */
export const PORT_VARIABLES: Readonly<Record<PortRole, string>> = {
  api: 'PORT',
  console: 'HOOKONCE_CONSOLE_PORT',
  dynamodb: 'HOOKONCE_DYNAMODB_PORT',
  aws: 'HOOKONCE_AWS_PORT',
};

/** What each port serves, for messages. */
export const PORT_ROLES: Readonly<Record<PortRole, string>> = {
  api: 'the webhook endpoints',
  console: 'the console',
  dynamodb: 'DynamoDB',
  aws: 'SNS, SQS and S3',
};

export const DEFAULT_DATA_DIR = '.hookonce';

export interface StartSettings {
  readonly ports: Readonly<Record<PortRole, number>>;
  readonly dataDir: string;
  readonly dynamodb: DynamoKind;
}

/** `npm start`'s settings from its environment; throws an Error that says what to set. */
export function startSettings(env: Env): StartSettings {
  const port = (role: PortRole): number => {
    const name = PORT_VARIABLES[role];
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return DEFAULT_PORTS[role];
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || value > 65535) {
      throw new Error(`${name} must be a port number (0 picks a free one), got "${raw}"`);
    }
    return value;
  };
  const dynamodb = (env.HOOKONCE_DYNAMODB || 'dynalite') as DynamoKind;
  if (dynamodb !== 'dynalite' && dynamodb !== 'dynamodb-local') {
    throw new Error(`HOOKONCE_DYNAMODB is dynalite or dynamodb-local, got "${dynamodb}"`);
  }
  return {
    ports: {
      api: port('api'),
      console: port('console'),
      dynamodb: port('dynamodb'),
      aws: port('aws'),
    },
    dataDir: env.HOOKONCE_DATA_DIR || DEFAULT_DATA_DIR,
    dynamodb,
  };
}
