import type { ResolvedDeclaration } from '../functions/shared/declaration.ts';

/** Resource names the local runtime uses (CDK lets CloudFormation name the AWS ones). */
export function localNames(declaration: ResolvedDeclaration) {
  const p = declaration.name;
  return {
    deliveriesTable: `${p}-deliveries`,
    consumerTable: `${p}-consumer-state`,
    topic: `${p}-events`,
    payloadBucket: `${p}-payloads`,
    queue: (subscriber: string) => `${p}-${subscriber}`,
    dlq: (subscriber: string) => `${p}-${subscriber}-dlq`,
  };
}
