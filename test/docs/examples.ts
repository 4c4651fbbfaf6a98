/**
 * The documents' usage examples as TypeScript modules a compiler can check. A
 * `hookonce/cdk` example is the body of a stack's constructor (`this` is the
 * stack), its imports lifted to the top; a `hookonce/consumer` example is a
 * module as written. What an example leaves to the reader (its own queue, its
 * own `chargeCustomer`) is declared in `reader.d.ts`, with a type, so a
 * misnamed prop or a wrong argument still fails to compile.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Example } from './docs.ts';

/** The reader's own values the examples use. */
export const READER_DECLARATIONS = `// What the documents' examples leave to the reader.
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Hookonce } from 'hookonce/cdk';

declare global {
  /** The Hookonce construct of the README's example. */
  const webhooks: Hookonce;
  const invoicesQueue: IQueue;
  const yourPagerTopic: ITopic;
  const month: string;
  function chargeCustomer(payload: unknown): Promise<void>;
  function sendReport(month: string): Promise<void>;
}
export {};
`;

/** One example as a module. */
export function exampleModule(example: Example): string {
  const header = `// ${example.where}\n`;
  if (example.entryPoint !== 'hookonce/cdk') return `${header}${example.code}\nexport {};\n`;
  const lines = example.code.split('\n');
  const imports = lines.filter((line) => /^import\b/.test(line));
  const body = lines.filter((line) => !/^import\b/.test(line));
  return [
    header.trimEnd(),
    ...imports,
    "import { Stack as ExampleStack } from 'aws-cdk-lib';",
    "import type { Construct as ExampleScope } from 'constructs';",
    '',
    'export class Example extends ExampleStack {',
    '  constructor(scope: ExampleScope, id: string) {',
    '    super(scope, id);',
    ...body.map((line) => (line ? `    ${line}` : line)),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Writes each example as `example-<n>.ts`, and `reader.d.ts`, into `dir`; answers the files. */
export function writeExamples(dir: string, examples: readonly Example[]): string[] {
  writeFileSync(join(dir, 'reader.d.ts'), READER_DECLARATIONS);
  return [
    'reader.d.ts',
    ...examples.map((example, i) => {
      const file = `example-${i + 1}.ts`;
      writeFileSync(join(dir, file), exampleModule(example));
      return file;
    }),
  ];
}
