import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedDeclaration } from '../../functions/shared/declaration.ts';
import type { Env } from '../../functions/shared/env.ts';
import { METRICS_NAMESPACE, serviceNames } from '../../functions/shared/metrics.ts';
import type { MetricNames } from '../console/cloudwatch.ts';
import type { ProviderInfo } from '../console/options.ts';
import { UsageError } from './command.ts';
import { dataDir, shown } from './send.ts';
import { outputKey } from './target.ts';

/**
 * Where `hookonce console` and `hookonce tail` find what they read: the local
 * console's URL in the local.json `npm start` writes, or a deployed stack's
 * log group, metric names and endpoints in its outputs (infra/stack.ts).
 */

export type LocalConsole =
  | { readonly url: string; readonly file: string }
  | { readonly url?: undefined; readonly problem: string };

/** The local console's URL (`"console"` in local.json), or why there is none. */
export function localConsole(env: Env, cwd: string): LocalConsole {
  const file = join(dataDir(env, cwd), 'local.json');
  const where = shown(cwd, file);
  if (!existsSync(file)) {
    return { problem: `no running hookonce found (${where} is missing): start it with npm start` };
  }
  let local: { console?: unknown };
  try {
    local = JSON.parse(readFileSync(file, 'utf8')) as { console?: unknown };
  } catch {
    return { problem: `${where} is not valid JSON: start hookonce again with npm start` };
  }
  if (typeof local.console !== 'string' || !/^https?:\/\//.test(local.console)) {
    return {
      problem: `${where} names no console: start hookonce again with npm start (it serves the console)`,
    };
  }
  return { url: local.console.replace(/\/+$/, ''), file: where };
}

/** What the console reads of a stack's CloudWatch data. */
export interface StackActivityNames {
  readonly logGroup: string;
  readonly metrics: MetricNames;
}

const need = (outputs: Readonly<Record<string, string>>, key: string, stack: string): string => {
  const value = outputs[key];
  if (!value) {
    throw new UsageError(
      `stack ${stack} has no output ${key}: it was deployed by a hookonce without the console; deploy it again (npx cdk deploy) and retry`,
    );
  }
  return value;
};

/** The ingest log group and the metric names, from the outputs infra/stack.ts gives. */
export function activityNamesFromOutputs(
  outputs: Readonly<Record<string, string>>,
  stack: string,
): StackActivityNames {
  const services = serviceNames(need(outputs, 'DeploymentName', stack));
  return {
    logGroup: need(outputs, 'IngestLogGroupName', stack),
    metrics: {
      namespace: outputs.MetricsNamespace || METRICS_NAMESPACE,
      ingestService: services.ingest,
      consumerService: services.consumer,
    },
  };
}

/** The secret of each provider, as GetSecretValue takes it: the one its declaration names, or the one the stack made. */
export function secretIdsFromOutputs(
  outputs: Readonly<Record<string, string>>,
  declaration: ResolvedDeclaration,
): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const name of Object.keys(declaration.providers)) {
    const existing = declaration.existingSecrets[name];
    const id = existing
      ? 'name' in existing
        ? existing.name
        : existing.arn
      : outputs[`${outputKey(name)}SecretArn`];
    if (id) ids[name] = id;
  }
  return ids;
}

/**
 * Each declared provider as the providers page shows it on AWS: its endpoint
 * from `<Provider>EndpointUrl` (else `ApiUrl`), and where its secret is: the
 * secret the declaration names, or the one the stack made.
 */
export function providersFromOutputs(
  outputs: Readonly<Record<string, string>>,
  declaration: ResolvedDeclaration,
  stack: string,
): ProviderInfo[] {
  const secrets = secretIdsFromOutputs(outputs, declaration);
  return Object.entries(declaration.providers).map(([name, provider]) => {
    const key = outputKey(name);
    const api = outputs.ApiUrl?.replace(/\/+$/, '');
    const endpointUrl =
      outputs[`${key}EndpointUrl`] ??
      (api ? `${api}/webhooks/${name}` : need(outputs, `${key}EndpointUrl`, stack));
    return {
      name,
      scheme: provider.scheme,
      endpointUrl,
      secretSource: `Secrets Manager: ${secrets[name] ?? 'the secret the stack made (no output names it)'}`,
    };
  });
}
