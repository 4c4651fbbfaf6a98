/**
 * Which declaration the CLI works with: the app's own, found from the folder it
 * runs in, so `npx hookonce send stripe` in an app that installed the package
 * signs for that app's providers, not for the package's sample.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type HookonceDeclaration,
  type ResolvedDeclaration,
  resolveDeclaration as resolveWithoutKeys,
} from '../../functions/shared/declaration.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import { declaration as sample } from '../hookonce.config.ts';
import { withDevelopmentKeys } from '../local/dev-keys.ts';
import type { CliIo } from './command.ts';

/** Looked for in this order under the working folder; `HOOKONCE_CONFIG` names another file. */
export const CONFIG_FILES = [
  'hookonce.config.ts',
  'hookonce.config.mjs',
  'hookonce.config.js',
  'infra/hookonce.config.ts',
] as const;

export interface LoadedDeclaration {
  readonly declaration: ResolvedDeclaration;
  /** The file it came from, or undefined for the package's sample declaration. */
  readonly file?: string;
}

/**
 * The declaration of the app in `io.cwd`: the module `HOOKONCE_CONFIG` names, else
 * the first of {@link CONFIG_FILES} there, exporting `declaration` (or a default
 * export); the package's sample when there is none. A module that exports none,
 * or a declaration that is not valid, is a ConfigError naming the file.
 */
export async function loadDeclaration(io: Pick<CliIo, 'env' | 'cwd'>): Promise<LoadedDeclaration> {
  // A provider verified with public keys and declared without any takes the
  // development public key `npm start` keeps for it, as the local runtime does.
  const keysFile = resolve(io.cwd, io.env.HOOKONCE_DATA_DIR || '.hookonce', 'keys.json');
  const resolveDeclaration = (d: HookonceDeclaration): ResolvedDeclaration =>
    resolveWithoutKeys(withDevelopmentKeys(d, keysFile, { generate: false }).declaration);
  const named = io.env.HOOKONCE_CONFIG;
  const file = named
    ? resolve(io.cwd, named)
    : CONFIG_FILES.map((f) => resolve(io.cwd, f)).find((f) => existsSync(f));
  if (!file) return { declaration: resolveDeclaration(sample) };
  if (!existsSync(file))
    throw new ConfigError(`HOOKONCE_CONFIG names ${file}, which does not exist`);
  let module: { declaration?: unknown; default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as typeof module;
  } catch (error) {
    throw new ConfigError(`could not load ${file}: ${(error as Error).message}`, { cause: error });
  }
  const exported = module.declaration ?? module.default;
  if (typeof exported !== 'object' || exported === null) {
    throw new ConfigError(`${file} exports no declaration: export const declaration = { … }`);
  }
  try {
    return { declaration: resolveDeclaration(exported as HookonceDeclaration), file };
  } catch (error) {
    throw new ConfigError(`${file}: ${(error as Error).message}`, { cause: error });
  }
}
