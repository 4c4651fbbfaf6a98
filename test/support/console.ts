import { request as httpRequest } from 'node:http';

/** An answer of the console, read whole. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/**
 * One request to the console through node:http, so a test sets exactly the
 * headers a browser (or an attacker's page) would send: Host, Origin,
 * Sec-Fetch-Site (a header given as '' is not sent). Redirects are not followed.
 */
export function call(
  base: string,
  path: string,
  options: {
    readonly method?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
  } = {},
): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: options.method ?? 'GET',
        // A header given as '' is left out.
        headers: Object.fromEntries(
          Object.entries({ host: url.host, accept: 'text/html', ...options.headers }).filter(
            ([, v]) => v !== '',
          ),
        ),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A form post as the console's own page sends it. */
export function postForm(
  base: string,
  path: string,
  fields: Readonly<Record<string, string>>,
  headers: Readonly<Record<string, string>> = {},
): Promise<Answer> {
  return call(base, path, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: new URL(base).origin,
      'sec-fetch-site': 'same-origin',
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The per-server token of the console's forms, as a page carries it. */
export function tokenOf(html: string): string {
  const match = /name="token" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('the page has no form token');
  return match[1];
}

/** One message of an event stream: an event with its data, or a comment. */
export type StreamMessage =
  | { readonly event: string; readonly data: string }
  | { readonly comment: string };

/**
 * Reads a Server-Sent Events stream message by message, until `done` says so;
 * answers what it read. The stream is closed afterwards.
 */
export async function readStream(
  url: string,
  done: (message: StreamMessage, all: readonly StreamMessage[]) => boolean,
  onOpen: () => Promise<void> | void = () => undefined,
): Promise<StreamMessage[]> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  if (!res.body) throw new Error('no stream');
  const messages: StreamMessage[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  let opened = false;
  try {
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        let message: StreamMessage;
        if (block.startsWith(':')) {
          message = { comment: block.slice(1).trim() };
        } else {
          const lines = block.split('\n');
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
          const data = lines
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          message = { event, data };
        }
        messages.push(message);
        if (!opened) {
          opened = true;
          await onOpen();
        }
        if (done(message, messages)) return messages;
      }
    }
    return messages;
  } finally {
    abort.abort();
  }
}
