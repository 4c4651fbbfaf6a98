/**
 * The console: a small HTTP server on the loopback interface with four pages
 * (timeline, delivery, subscribers, providers), the JSON endpoints the pages and
 * the terminal views read, and a Server-Sent Events stream of the requests.
 *
 * Only 127.0.0.1 is listened on. A request whose Host is not that address and
 * port is refused (a DNS-rebinding page cannot reach it under another name); a
 * POST must come from the console's own pages (Origin and Sec-Fetch-Site, when
 * the browser sends them, say same-origin) and carry the per-server token of
 * its form; a console that is not writable refuses every action.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../../functions/shared/clock.ts';
import { peekDlq, redriveDlq } from '../cli/dlq.ts';
import { findDeliveries } from '../cli/lookup.ts';
import type { Progress } from '../cli/progress.ts';
import { replayDelivery } from '../cli/replay.ts';
import { liveFilterPolicy, unreachable } from '../cli/target.ts';
import {
  type ActivityQuery,
  matches,
  OUTCOMES,
  type RequestOutcome,
  STREAM_EVENT,
} from './activity.ts';
import {
  declaredPolicy,
  deliveryLookup,
  PolicyCache,
  payloadBytes,
  payloadFileName,
  subscriberViews,
} from './data.ts';
import type { Html, Notice } from './html.ts';
import type { ConsoleOptions, ConsoleServer } from './options.ts';
import {
  claimsRegion,
  countsRegion,
  deliveryHref,
  deliveryPage,
  errorPage,
  type PageContext,
  providersPage,
  subscriberStats,
  subscribersPage,
  timelinePage,
} from './pages.ts';

const MINUTE = 60_000;
/** A comment on the stream this often keeps proxies and browsers from closing it. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** A form's body is a token and a name or two. */
const MAX_FORM_BYTES = 16 * 1024;
/** Notices kept for pages to show after an action redirects back (the oldest go first). */
const MAX_NOTICES = 100;

const SECURITY_HEADERS: OutgoingHttpHeaders = {
  'content-security-policy':
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

const ASSETS: Readonly<Record<string, string>> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/** The console's own files, read once: served from the package, never from a CDN. */
const assets = new Map(
  Object.entries(ASSETS).map(([name, type]) => [
    name,
    { type, body: readFileSync(new URL(`./assets/${name}`, import.meta.url)) },
  ]),
);

/** An answer the handler gives instead of going on. */
class Refusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const NO_PROGRESS: Progress = { update() {}, setTotal() {}, done() {} };

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const token = randomBytes(32).toString('base64url');
  const policies = new PolicyCache(options.target, now, declaredPolicy(options));
  const notices = new Map<string, Notice>();
  const streams = new Set<ServerResponse>();
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const where = options.target.description;
  const providerNames = Object.keys(options.declaration.providers);
  let host = '';
  let origin = '';

  const context = (url: URL): PageContext => {
    const id = url.searchParams.get('notice');
    const notice = id ? notices.get(id) : undefined;
    return { where, writable: options.writable, token, ...(notice ? { notice } : {}) };
  };
  const remember = (notice: Notice): string => {
    const id = randomUUID();
    notices.set(id, notice);
    for (const key of notices.keys()) {
      if (notices.size <= MAX_NOTICES) break;
      notices.delete(key);
    }
    return id;
  };

  const send = (
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Uint8Array,
    headers: OutgoingHttpHeaders = {},
  ) => {
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  };
  const page = (res: ServerResponse, status: number, markup: Html) =>
    send(res, status, 'text/html; charset=utf-8', markup.value);
  const json = (res: ServerResponse, status: number, value: unknown) =>
    send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);
  const redirect = (res: ServerResponse, path: string, notice: Notice) => {
    res.writeHead(303, {
      ...SECURITY_HEADERS,
      location: `${path}?notice=${remember(notice)}`,
      'content-length': 0,
    });
    res.end();
  };

  const activityQuery = (url: URL, defaultLimit: number): ActivityQuery => {
    const p = url.searchParams;
    const provider = p.get('provider') || undefined;
    const outcome = p.get('outcome') || undefined;
    const type = p.get('type') || undefined;
    const limit = p.get('limit');
    if (outcome !== undefined && !(OUTCOMES as readonly string[]).includes(outcome)) {
      throw new Refusal(400, `outcome is one of ${OUTCOMES.join(', ')}`);
    }
    if (type !== undefined && type.length > 256) throw new Refusal(400, 'type is too long');
    if (provider !== undefined && provider.length > 64)
      throw new Refusal(400, 'provider is too long');
    const n = limit === null || limit === '' ? defaultLimit : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      throw new Refusal(400, 'limit is a whole number from 1 to 1000');
    }
    return {
      ...(provider !== undefined ? { provider } : {}),
      ...(outcome !== undefined ? { outcome: outcome as RequestOutcome } : {}),
      ...(type !== undefined ? { type } : {}),
      limit: n,
    };
  };

  const lastMinutes = (minutes: number) => {
    const current = Math.floor(now() / MINUTE) * MINUTE;
    return options.activity.perMinute(current - (minutes - 1) * MINUTE, current + MINUTE);
  };

  const subscriberName = (name: string): string => {
    if (!Object.hasOwn(options.declaration.subscribers, name)) {
      throw new Refusal(404, 'no such subscriber');
    }
    return name;
  };

  const stream = (req: IncomingMessage, res: ServerResponse, query: ActivityQuery) => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    const filter = { ...query, limit: undefined };
    const stop = options.activity.watch((record) => {
      if (matches(record, filter)) {
        res.write(`event: ${STREAM_EVENT}\ndata: ${JSON.stringify(record)}\n\n`);
      }
    });
    const beat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    beat.unref();
    streams.add(res);
    const end = () => {
      stop();
      clearInterval(beat);
      streams.delete(res);
    };
    req.on('close', end);
    res.on('close', end);
  };

  async function get(req: IncomingMessage, res: ServerResponse, url: URL, path: string[]) {
    const [first, second, third, fourth, ...rest] = path;
    const partial = url.searchParams.get('partial');
    if (first === '' && path.length === 1) {
      if (partial === 'counts') return page(res, 200, countsRegion(await lastMinutes(30)));
      const query = activityQuery(url, 100);
      const [records, minutes] = await Promise.all([
        options.activity.recent(query),
        lastMinutes(30),
      ]);
      return page(
        res,
        200,
        timelinePage(context(url), {
          description: options.activity.description,
          records,
          query,
          providers: providerNames,
          minutes,
        }),
      );
    }
    if (first === 'favicon.ico' && second === undefined) {
      res.writeHead(204, SECURITY_HEADERS);
      res.end();
      return;
    }
    if (first === 'assets' && second !== undefined && third === undefined) {
      const asset = assets.get(second);
      if (!asset) throw new Refusal(404, 'no such file');
      return send(res, 200, asset.type, asset.body, { 'cache-control': 'no-cache' });
    }
    if (first === 'deliveries' && second && third && rest.length === 0) {
      if (fourth === 'payload') {
        const lookup = await findDeliveries(options.target, second, third, { segments: 4 });
        const record = lookup.found[0];
        const body = record ? await payloadBytes(record, options) : undefined;
        if (!record || !body) throw new Refusal(404, 'no payload here for that delivery');
        return send(res, 200, 'application/octet-stream', body, {
          'content-disposition': `attachment; filename="${payloadFileName(record)}"`,
        });
      }
      if (fourth !== undefined) throw new Refusal(404, 'no such page');
      const at = now();
      const lookup = await deliveryLookup(options, policies, second, third, at);
      if (!lookup) throw new Refusal(404, `no provider "${second}" is declared`);
      if (partial === 'claims') {
        // The region is refreshed by the delivery's key (one read, never a scan); `n` is
        // where it sits on a page that found several by the provider's id.
        const n = Number(url.searchParams.get('n') ?? 0);
        const view = lookup.by === 'key' ? lookup.deliveries[0] : lookup.deliveries[n];
        if (!view || !Number.isInteger(n) || n < 0) throw new Refusal(404, 'no such delivery');
        return page(res, 200, claimsRegion(view, n, at));
      }
      return page(
        res,
        lookup.deliveries.length > 0 ? 200 : 404,
        deliveryPage(context(url), lookup, at),
      );
    }
    if (first === 'subscribers' && second === undefined) {
      const views = await subscriberViews(options, policies, now());
      if (partial === 'stats') return page(res, 200, subscriberStats(views));
      const peekName = url.searchParams.get('peek');
      let peeked: Parameters<typeof subscribersPage>[2];
      if (peekName) {
        const name = subscriberName(peekName);
        try {
          peeked = { subscriber: name, messages: await peekDlq(options.target, name, 10) };
        } catch (error) {
          peeked = { subscriber: name, messages: [], error: plain(error) };
        }
      }
      return page(res, 200, subscribersPage(context(url), views, peeked));
    }
    if (first === 'providers' && second === undefined) {
      return page(
        res,
        200,
        providersPage(context(url), options.providers, options.writable && !!options.sendTest),
      );
    }
    if (first === 'api') {
      if (second === 'requests' && third === undefined) {
        return json(res, 200, { requests: await options.activity.recent(activityQuery(url, 200)) });
      }
      if (second === 'stream' && third === undefined) {
        if (req.method === 'HEAD') {
          return send(res, 200, 'text/event-stream; charset=utf-8', '');
        }
        return stream(req, res, activityQuery(url, 1));
      }
      if (second === 'counts' && third === undefined) {
        const raw = url.searchParams.get('minutes');
        const minutes = raw === null || raw === '' ? 30 : Number(raw);
        if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
          throw new Refusal(400, 'minutes is a whole number from 1 to 1440');
        }
        return json(res, 200, { minutes: await lastMinutes(minutes) });
      }
      if (second === 'deliveries' && third && fourth && rest.length === 0) {
        const lookup = await deliveryLookup(options, policies, third, fourth, now());
        if (!lookup) throw new Refusal(404, `no provider "${third}" is declared`);
        return json(res, lookup.deliveries.length > 0 ? 200 : 404, lookup);
      }
      if (second === 'subscribers' && third === undefined) {
        return json(res, 200, { subscribers: await subscriberViews(options, policies, now()) });
      }
      if (second === 'subscribers' && third && fourth === 'dlq' && rest.length === 0) {
        const max = Number(url.searchParams.get('max') || 10);
        if (!Number.isInteger(max) || max < 1 || max > 100) {
          throw new Refusal(400, 'max is a whole number from 1 to 100');
        }
        return json(res, 200, {
          messages: await peekDlq(options.target, subscriberName(third), max),
        });
      }
      if (second === 'providers' && third === undefined) {
        return json(res, 200, {
          providers: options.providers,
          sendTest: options.writable && !!options.sendTest,
        });
      }
    }
    throw new Refusal(404, 'no such page');
  }

  async function post(req: IncomingMessage, res: ServerResponse, path: string[]) {
    if (!options.writable) {
      throw new Refusal(403, 'this console is read-only: start it writable to act');
    }
    // A browser says where a form post comes from: Sec-Fetch-Site, and Origin, which is
    // "null" for a page served with Referrer-Policy: no-referrer (these are).
    const site = req.headers['sec-fetch-site'];
    const from = req.headers.origin;
    const sameSite = site === undefined || site === 'same-origin';
    const sameOrigin =
      from === undefined || from === origin || (from === 'null' && site === 'same-origin');
    if (!sameSite || !sameOrigin) {
      throw new Refusal(403, 'refused: the request does not come from this console');
    }
    const form = await readForm(req);
    if (!sameToken(form.get('token') ?? '', token)) {
      throw new Refusal(403, 'refused: the form is not one of this console (reload the page)');
    }
    const [first, second, third, fourth, ...rest] = path;
    if (first === 'deliveries' && second && third && fourth === 'replay' && rest.length === 0) {
      const back = deliveryHref(second, third);
      const subscriber = form.get('subscriber') ?? '';
      if (!Object.hasOwn(options.target.subscribers, subscriber)) {
        return redirect(res, back, { ok: false, text: 'choose a subscriber to replay to' });
      }
      const lookup = await findDeliveries(options.target, second, third, { segments: 4 });
      const record = lookup.found[0];
      if (!record) {
        return redirect(res, back, { ok: false, text: 'no such delivery: nothing sent' });
      }
      const id = `${record.provider}:${record.deliveryId}`;
      let outcome: Awaited<ReturnType<typeof replayDelivery>>;
      try {
        const policy = await liveFilterPolicy(options.target, subscriber);
        outcome = await replayDelivery(options.target, subscriber, record, policy, now());
      } catch (error) {
        return redirect(res, back, { ok: false, text: `nothing sent: ${plain(error)}` });
      }
      const text = outcome.sent
        ? `sent ${id} to ${subscriber}'s queue: its consumer's guard skips it if its claim is DONE`
        : outcome.why === 'filtered'
          ? `${subscriber}'s filter policy does not take ${record.provider}.${record.eventType}: nothing sent`
          : outcome.why === 'expired'
            ? `${id} is past its retention: nothing sent (the guard no longer remembers it either)`
            : `SQS did not take the message: nothing sent`;
      return redirect(res, back, { ok: outcome.sent, text });
    }
    if (first === 'subscribers' && second && third === 'redrive' && fourth === undefined) {
      const name = subscriberName(second);
      let notice: Notice;
      try {
        const report = await redriveDlq(options.target, name, NO_PROGRESS);
        const messages = (n: number) => `${n} message${n === 1 ? '' : 's'}`;
        notice = {
          ok: report.failed === 0,
          text: `moved ${messages(report.moved)} from ${name}'s DLQ back to its queue${report.failed > 0 ? `; ${messages(report.failed)} could not be moved` : ''}`,
        };
      } catch (error) {
        notice = { ok: false, text: `redrive failed: ${plain(error)}` };
      }
      return redirect(res, '/subscribers', notice);
    }
    if (first === 'providers' && second && third === 'test' && fourth === undefined) {
      if (!options.sendTest) throw new Refusal(404, 'this console cannot send test webhooks');
      if (!Object.hasOwn(options.declaration.providers, second)) {
        throw new Refusal(404, 'no such provider');
      }
      let notice: Notice;
      try {
        const sent = await options.sendTest(second);
        const ok = sent.status >= 200 && sent.status < 300;
        notice = {
          ok,
          text: `${second} answered ${sent.status} ${STATUS_CODES[sent.status] ?? ''} to test delivery ${sent.deliveryId}`,
          detail: sent.body.slice(0, 4096),
          ...(ok
            ? { link: { href: deliveryHref(second, sent.deliveryId), label: 'Open the delivery' } }
            : {}),
        };
      } catch (error) {
        notice = { ok: false, text: `could not send a test webhook: ${plain(error)}` };
      }
      return redirect(res, '/providers', notice);
    }
    throw new Refusal(404, 'no such action');
  }

  const plain = (error: unknown): string =>
    unreachable(options.target, error) ??
    (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const refusal =
        error instanceof Refusal
          ? error
          : new Refusal(unreachable(options.target, error) ? 503 : 500, plain(error));
      const wantsJson =
        (req.url ?? '').startsWith('/api/') || !(req.headers.accept ?? '').includes('text/html');
      if (wantsJson) json(res, refusal.status, { error: refusal.message });
      else
        page(
          res,
          refusal.status,
          errorPage({ where, writable: options.writable }, refusal.status, refusal.message),
        );
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // DNS rebinding: a page of another site, resolved to 127.0.0.1, sends its own name.
    if (req.headers.host !== host) {
      send(
        res,
        403,
        'text/plain; charset=utf-8',
        `refused: this console answers only to ${host}\n`,
      );
      return;
    }
    const url = new URL(req.url ?? '/', origin);
    let path: string[];
    try {
      path = url.pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw new Refusal(400, 'the path is not valid percent-encoding');
    }
    if (req.method === 'GET' || req.method === 'HEAD') return get(req, res, url, path);
    if (req.method === 'POST') return post(req, res, path);
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', {
      allow: 'GET, HEAD, POST',
    });
  }

  server.keepAliveTimeout = 5_000;
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  host = `127.0.0.1:${port}`;
  origin = `http://${host}`;

  return {
    url: origin,
    async stop() {
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The fields of a form post: url-encoded, and small. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new Refusal(415, 'an action is a form post (application/x-www-form-urlencoded)');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new Refusal(413, 'the form is too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
