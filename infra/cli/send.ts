import { existsSync, readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type ResolvedDeclaration,
  type ResolvedProvider,
  resolveDeclaration,
  signsDeliveryId,
  usesSecrets,
} from '../../functions/shared/declaration.ts';
import type { Env } from '../../functions/shared/env.ts';
import { parseSecretList, secretEnvKey } from '../../functions/shared/secrets.ts';
import { declaration as defaultDeclaration } from '../hookonce.config.ts';
import { CLI_ROOT, type CliIo, type Command, CommandFailure, UsageError } from './command.ts';
import { loadDeclaration } from './config.ts';
import { prepareDelivery, sampleFile } from './deliveries.ts';

/** A path as the user would type it: relative to the working directory when inside it. */
export function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The folder `npm start` keeps its state in, as it finds it. */
export const dataDir = (env: Env, cwd: string): string =>
  resolve(cwd, env.HOOKONCE_DATA_DIR || '.hookonce');

export interface SendOptions {
  provider: string;
  file?: string;
  url?: string;
  id?: string;
  type?: string;
  secret?: string;
  contentType?: string;
}

/** Parses `send`'s arguments; throws a UsageError that says what is wrong. */
export function parseSendArgs(args: readonly string[]): SendOptions | 'help' {
  let parsed: ReturnType<typeof parseSendArgsRaw>;
  try {
    parsed = parseSendArgsRaw(args);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) return 'help';
  const [provider, ...extra] = parsed.positionals;
  if (!provider) throw new UsageError('name the provider to send to, e.g. `hookonce send stripe`');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const { file, url, id, type, secret } = parsed.values;
  for (const [name, value] of Object.entries({ file, url, id, type, secret })) {
    if (value === '') throw new UsageError(`--${name} needs a value`);
  }
  return { provider, file, url, id, type, secret, contentType: parsed.values['content-type'] };
}

function parseSendArgsRaw(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      file: { type: 'string', short: 'f' },
      url: { type: 'string', short: 'u' },
      id: { type: 'string' },
      type: { type: 'string', short: 't' },
      secret: { type: 'string' },
      'content-type': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

export interface SigningSecret {
  value: string;
  /** Where it came from, for the output and for error messages. */
  from: string;
  /** Said before sending, when the secret is not the one this shell would suggest. */
  note?: string;
}

/**
 * Where the running local hookonce took a provider's secret from, as local.json
 * records it (never the value): a variable of the shell that ran `npm start`, or
 * secrets.json in the data folder.
 */
export type ServerSecretSource =
  | { readonly source: 'env'; readonly variable: string }
  | { readonly source: 'generated' | 'kept'; readonly file: string };

/** What the CLI reads of the local.json `npm start` writes. */
export interface LocalFile {
  readonly api?: unknown;
  readonly secrets?: Readonly<Record<string, ServerSecretSource>>;
  /** The providers verified with a development key pair `npm start` made or kept (keys.json). */
  readonly keys?: Readonly<
    Record<string, { readonly source: 'generated' | 'kept'; readonly file: string }>
  >;
}

/**
 * The development private key `npm start` keeps for a provider verified with
 * public keys that the declaration gives none (keys.json in the data folder).
 * Without one, only the sender's private key can sign: say so.
 */
export function signingKey(options: {
  name: string;
  env: Env;
  cwd: string;
  local: LocalFile | undefined;
  toLocal: boolean;
}): SigningSecret {
  const { name, env, cwd, local } = options;
  const file = join(dataDir(env, cwd), 'keys.json');
  const refuse = (why: string) =>
    new CommandFailure(
      `"${name}" is verified with the sender's public keys, and ${why}: only the matching private key can sign. Declare it without publicKeys for local use and restart \`npm start\`, which then makes a development key pair (kept in ${shown(cwd, file)}) that send signs with`,
    );
  if (options.toLocal && local && !local.keys?.[name]) {
    throw refuse('the running hookonce checks the keys its declaration gives');
  }
  let kept: Record<string, { privateKey?: unknown }> = {};
  if (existsSync(file)) {
    try {
      kept = JSON.parse(readFileSync(file, 'utf8')) as typeof kept;
    } catch {
      throw new UsageError(`${file} is not valid JSON: delete it and start hookonce again`);
    }
  }
  const pem = kept[name]?.privateKey;
  if (typeof pem !== 'string' || !pem)
    throw refuse(`${shown(cwd, file)} holds no development key for it`);
  return { value: pem, from: `the development key in ${shown(cwd, file)}` };
}

/** The local.json of the local runtime, or undefined when there is none (or it is not JSON). */
export function readLocalFile(env: Env, cwd: string): LocalFile | undefined {
  const file = join(dataDir(env, cwd), 'local.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LocalFile;
  } catch {
    return undefined;
  }
}

/**
 * The secret to sign with, taken as the server takes it: HOOKONCE_SECRET_<PROVIDER>
 * first, else the development secret `npm start` generated and kept in
 * secrets.json. With several active secrets, the first (the newest) signs.
 *
 * When it signs for the local runtime, `server` (from local.json) says where that
 * runtime took its secret from. Taken from a variable this shell does not set: the
 * CLI cannot know the value, and says so (CommandFailure) rather than sign with
 * another secret and be answered 401. Taken from secrets.json while this shell
 * sets the variable (set after `npm start` started): secrets.json signs, as the
 * server checks, and a note says so.
 */
export function signingSecret(options: {
  name: string;
  provider: ResolvedProvider;
  env: Env;
  cwd: string;
  secret?: string;
  server?: ServerSecretSource;
}): SigningSecret {
  const { name, provider, env, cwd, server } = options;
  if (options.secret) return { value: options.secret, from: '--secret' };
  const key = secretEnvKey(name);
  let list: string[] = [];
  let from = key;
  let note: string | undefined;
  const raw = env[key];
  const inShell = Boolean(raw?.trim());
  if (server?.source === 'env' && !env[server.variable]?.trim()) {
    throw new CommandFailure(
      `the running hookonce takes ${name}'s secret from ${server.variable}, which this shell does not set, so nothing here signs as it checks: export ${server.variable} in this shell with the value it has where \`npm start\` runs (or pass --secret)`,
    );
  }
  if (raw && inShell && server?.source !== 'generated' && server?.source !== 'kept') {
    list = parseSecretList(raw);
  } else {
    const file = join(dataDir(env, cwd), 'secrets.json');
    if (!existsSync(file)) {
      throw new UsageError(
        `no secret for "${name}": set ${key}, or start hookonce once with \`npm start\` so it generates one in ${shown(cwd, file)}`,
      );
    }
    let kept: Record<string, unknown>;
    try {
      kept = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new UsageError(`${file} is not valid JSON: delete it and start hookonce again`);
    }
    const value = kept[name];
    if (typeof value !== 'string' || !value) {
      throw new UsageError(
        `${shown(cwd, file)} holds no secret for "${name}": start hookonce once with this provider declared, or set ${key}`,
      );
    }
    list = parseSecretList(value);
    from = shown(cwd, file);
    if (inShell) {
      note = `${key} is set in this shell, but the running hookonce did not start with it: signed with its secret from ${from}, the one it checks; restart \`npm start\` with ${key} set to use yours`;
    }
  }
  // A Standard Webhooks public key verifies but cannot sign.
  const usable =
    provider.scheme === 'standard-webhooks' ? list.filter((s) => !s.startsWith('whpk_')) : list;
  const value = usable[0];
  if (!value) {
    throw new UsageError(
      `the active keys of "${name}" in ${from} are public keys (whpk_), which cannot sign: pass the private key with --secret whsk_…`,
    );
  }
  return { value, from, ...(note ? { note } : {}) };
}

/** The endpoint of the local runtime, from the local.json `npm start` writes. */
export function localUrl(name: string, env: Env, cwd: string): string {
  const file = join(dataDir(env, cwd), 'local.json');
  if (!existsSync(file)) {
    throw new UsageError(
      `no running hookonce found (${shown(cwd, file)} is missing): start it with \`npm start\`, or pass --url`,
    );
  }
  const local = readLocalFile(env, cwd);
  if (typeof local?.api !== 'string') throw new UsageError(`${file} names no api endpoint`);
  return `${local.api}/webhooks/${encodeURIComponent(name)}`;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.json': 'application/json',
  '.form': 'application/x-www-form-urlencoded',
  '.xml': 'application/xml',
};

export const contentTypeOf = (file: string): string =>
  CONTENT_TYPES[extname(file).toLowerCase()] ?? 'text/plain; charset=utf-8';

export async function runSend(
  options: SendOptions,
  io: CliIo,
  declaration: ResolvedDeclaration = resolveDeclaration(defaultDeclaration),
): Promise<number> {
  const provider = declaration.providers[options.provider];
  if (!provider) {
    throw new UsageError(
      `no provider "${options.provider}" in infra/hookonce.config.ts; it declares ${Object.keys(declaration.providers).join(', ')}`,
    );
  }
  const file = options.file
    ? resolve(io.cwd, options.file)
    : join(CLI_ROOT, 'samples', sampleFile(provider));
  if (!existsSync(file)) throw new UsageError(`no file ${options.file ?? file}`);
  // Sent to the local runtime (by default, or by its URL): sign as it checks.
  const local = readLocalFile(io.env, io.cwd);
  const toLocal =
    typeof local?.api === 'string' &&
    (options.url === undefined || options.url.startsWith(`${local.api}/`));
  const secret = usesSecrets(provider)
    ? signingSecret({
        name: options.provider,
        provider,
        env: io.env,
        cwd: io.cwd,
        secret: options.secret,
        server: toLocal ? local?.secrets?.[options.provider] : undefined,
      })
    : options.secret
      ? { value: options.secret, from: '--secret' }
      : signingKey({ name: options.provider, env: io.env, cwd: io.cwd, local, toLocal });
  const url = options.url ?? localUrl(options.provider, io.env, io.cwd);
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--url "${url}" is not a URL`);
  }

  const delivery = prepareDelivery({
    name: options.provider,
    provider,
    body: readFileSync(file),
    contentType: options.contentType ?? contentTypeOf(file),
    url,
    secret: secret.value,
    id: options.id,
    type: options.type,
    now: io.now(),
  });

  io.out(`> POST ${delivery.url}`);
  for (const [name, value] of Object.entries(delivery.headers)) io.out(`> ${name}: ${value}`);
  io.out(
    `> (${delivery.body.length} bytes from ${shown(io.cwd, file)}; delivery ${delivery.deliveryId}${delivery.eventType ? `, type ${delivery.eventType}` : ''}; signed with ${usesSecrets(provider) ? `the secret from ${secret.from}` : secret.from})`,
  );
  if (secret.note) io.out(`> (${secret.note})`);
  if (provider.scheme === 'jwt' && provider.deliveryKey === 'token' && !signsDeliveryId(provider)) {
    io.out(
      `> (${options.provider} keys a delivery by the SHA-256 of its token: a send in another second signs a new token, and so is a new delivery)`,
    );
  } else if (!signsDeliveryId(provider)) {
    const field = provider.scheme === 'hmac' ? provider.timestampField : undefined;
    const what = field
      ? `what it signs, without the body's ${field} (written anew at each send),`
      : 'what it signs';
    io.out(
      `> (${options.provider} does not sign its delivery id: the SHA-256 of ${what} keys the delivery, so this body sent again is a duplicate whatever --id says; send another body with --file for a new one)`,
    );
  }

  let response: Response;
  try {
    response = await io.fetch(delivery.url, {
      method: 'POST',
      headers: { 'user-agent': 'hookonce-cli', ...delivery.headers },
      body: delivery.body,
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    io.err(
      `could not reach ${delivery.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}. Is hookonce running (\`npm start\`), and is the URL right?`,
    );
    return 1;
  }
  const text = await response.text();
  io.out(`< ${response.status} ${STATUS_CODES[response.status] ?? ''}`.trimEnd());
  io.out(text);
  if (response.status === 401) {
    io.err(
      usesSecrets(provider)
        ? `hookonce refused the signature: check that the secret from ${secret.from} is one the server has active`
        : `hookonce refused the signature: check that the running hookonce verifies ${options.provider} with the public key of ${secret.from}`,
    );
  }
  return response.ok ? 0 : 1;
}

export const sendCommand: Command = {
  name: 'send',
  summary: 'send a correctly signed test webhook to a local or deployed endpoint',
  usage: 'hookonce send <provider> [--file F] [--url URL] [--id ID] [--type T] [--secret S]',
  help: `Signs a webhook the way the provider does and POSTs it, then prints the request
and hookonce's answer. Exits non-zero unless the answer is 2xx.

  <provider>           a provider of infra/hookonce.config.ts (stripe, github, …)
  -f, --file F         the body to send (default: the provider's sample in infra/cli/samples/)
  -u, --url URL        where to send it (default: the local runtime's endpoint, from
                       .hookonce/local.json, or $HOOKONCE_DATA_DIR/local.json)
      --id ID          the delivery id (default: a fresh one); send twice with the same
                       --id to see hookonce answer the duplicate with 200. For a
                       provider that does not sign its id (github, shopify, twilio),
                       the body keys the delivery: the same body is a duplicate
  -t, --type T         the event type, where the provider carries one
      --secret S       sign with S (default: HOOKONCE_SECRET_<PROVIDER>, else the
                       development secret in .hookonce/secrets.json, as the server takes it;
                       for the local runtime, where .hookonce/local.json says it took it
                       from: when that is a variable this shell lacks, send says so
                       and exits 1 rather than sign with another secret). For a provider
                       verified with public keys (discord, sendgrid, plaid, asymmetric,
                       jwt): the private key, as PKCS #8 PEM text; by default the
                       development key pair \`npm start\` makes in .hookonce/keys.json
                       when the declaration gives no publicKeys
      --content-type C the body's content type (default: from the file's extension)
  -h, --help           this help

Examples:
  npx hookonce send stripe
  npx hookonce send stripe --id evt_test_1      # run it twice: 202, then 200 duplicate
  npx hookonce send github --type ping
  npx hookonce send paddle --id evt_test_1      # a preset (\`hookonce providers\` lists them)
  npx hookonce send discord                     # signed with npm start's development key
  npx hookonce send shopify --file order.json --url https://abc.execute-api.us-east-1.amazonaws.com/webhooks/shopify`,
  async run(args, io) {
    const options = parseSendArgs(args);
    if (options === 'help') {
      io.out(`usage: ${this.usage}\n\n${this.help}`);
      return 0;
    }
    return runSend(options, io, (await loadDeclaration(io)).declaration);
  },
};
