#!/usr/bin/env node
// `hookonce`: the CLI. In the repository it runs the TypeScript sources (Node
// 24 strips their types); in the installed package, which has no sources, the
// compiled dist/.
import { existsSync } from 'node:fs';

const source = new URL('../infra/cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : '../dist/infra/cli/main.js');
