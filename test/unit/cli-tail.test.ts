import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../infra/cli/cli.ts';
import { localConsole } from '../../infra/cli/console-target.ts';
import { readSse, SseConnectError, type SseEvent, SseParser } from '../../infra/cli/sse.ts';
import {
  followActivity,
  parseTailArgs,
  recordFromStream,
  runTail,
  TailFormatter,
} from '../../infra/cli/tail.ts';
import { MemoryActivity, type RequestRecord, STREAM_EVENT } from '../../infra/console/activity.ts';

const T0 = Date.parse('2100-01-01T14:10:41.250Z');

const record = (more: Partial<RequestRecord> = {}): RequestRecord => ({
  time: T0,
  provider: 'stripe',
  status: 202,
  outcome: 'published',
  deliveryId: 'evt_test_1',
  eventType: 'invoice.paid',
  ms: 12,
  ...more,
});

const folders: string[] = [];
const folder = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'hookonce-tail-'));
  folders.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A local HTTP server that answers every request with `handle`; closed after each test. */
const servers: Server[] = [];
async function serve(handle: (res: ServerResponse, path: string) => void): Promise<string> {
  const server = createServer((req, res) => handle(res, req.url ?? ''));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A URL nothing listens on: a server's port, once closed. */
async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const streamHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

describe('Module: infra/cli/sse', () => {
  describe('Class: SseParser', () => {
    it('dispatches an event at each blank line, with its name, data and id', () => {
      const parser = new SseParser();
      expect(
        parser.push('event: request\ndata: {"a":1}\nid: 7\n\n: a comment\ndata: plain\n\n'),
      ).toEqual([
        { event: 'request', data: '{"a":1}', id: '7' },
        { event: 'message', data: 'plain', id: '7' },
      ]);
    });

    it('gives the same events whatever the chunks, down to one character at a time', () => {
      const text =
        'event: request\r\ndata: one\r\ndata:two\r\n\r\nevent:x\rdata: three\r\rdata\n\n';
      const whole = new SseParser().push(text);
      const parser = new SseParser();
      const bytewise = [...text].flatMap((c) => parser.push(c));
      expect(whole).toEqual([
        { event: 'request', data: 'one\ntwo' },
        { event: 'x', data: 'three' },
        { event: 'message', data: '' },
      ]);
      expect(bytewise).toEqual(whole);
    });

    it('dispatches nothing for an event without data, and forgets its name', () => {
      const parser = new SseParser();
      expect(parser.push('event: ping\n\ndata: after\n\n')).toEqual([
        { event: 'message', data: 'after' },
      ]);
      expect(parser.push('data: unfinished\n')).toEqual([]);
    });
  });

  describe('Function: readSse', () => {
    it('reads the events of a real stream, split wherever the server flushes, until it ends', async () => {
      // Prepare
      const url = await serve((res) => {
        res.writeHead(200, streamHeaders);
        res.write('event: request\nda');
        setImmediate(() => {
          res.write('ta: {"n":1}\n\nevent: request\ndata: {"n":"é');
          setImmediate(() => res.end('"}\n\n'));
        });
      });
      const events: SseEvent[] = [];
      let opened = 0;

      // Act
      const end = await readSse(
        fetch,
        `${url}/api/stream`,
        (e) => events.push(e),
        new AbortController().signal,
        () => opened++,
      );

      // Assess
      expect(end).toBe('ended');
      expect(opened).toBe(1);
      expect(events).toEqual([
        { event: 'request', data: '{"n":1}' },
        { event: 'request', data: '{"n":"é"}' },
      ]);
    });

    it('stops reading when aborted, and says so', async () => {
      const url = await serve((res) => {
        res.writeHead(200, streamHeaders);
        res.write('event: request\ndata: 1\n\n');
      });
      const abort = new AbortController();
      const end = await readSse(fetch, url, () => abort.abort(), abort.signal);
      expect(end).toBe('aborted');
    });

    it('says plainly when nothing answers, or something that is not an event stream', async () => {
      const closed = await closedUrl();
      const notFound = await serve((res) => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{}');
      });
      const signal = new AbortController().signal;
      const refused = await readSse(fetch, closed, () => undefined, signal).catch((e) => e);
      const missing = await readSse(fetch, notFound, () => undefined, signal).catch((e) => e);
      expect(refused).toBeInstanceOf(SseConnectError);
      expect(refused.message).toBe(`nothing answers at ${closed} (ECONNREFUSED)`);
      expect(missing.message).toBe(
        `${notFound} answered 404 (application/json), not an event stream`,
      );
    });
  });
});

describe('Module: hookonce tail', () => {
  describe('Function: parseTailArgs', () => {
    it('reads the filters, the stack and --json', () => {
      expect(parseTailArgs([])).toEqual({
        stack: undefined,
        region: undefined,
        provider: undefined,
        outcome: undefined,
        type: undefined,
        json: false,
        recent: undefined,
        follow: true,
      });
      expect(
        parseTailArgs([
          '--stack',
          'Hookonce',
          '--region',
          'eu-west-1',
          '--provider',
          'stripe',
          '--outcome',
          'rejected',
          '--type',
          'invoice.',
          '--json',
        ]),
      ).toEqual({
        stack: 'Hookonce',
        region: 'eu-west-1',
        provider: 'stripe',
        outcome: 'rejected',
        type: 'invoice.',
        json: true,
        recent: undefined,
        follow: true,
      });
      expect(parseTailArgs(['--recent', '20', '--no-follow'])).toMatchObject({
        recent: 20,
        follow: false,
      });
      expect(parseTailArgs(['-h'])).toBe('help');
    });

    it.each([
      [['--outcome', 'ok'], '--outcome is one of published, taken_over, duplicate'],
      [['--region', 'eu-west-1'], '--region goes with --stack'],
      [['stripe'], 'unexpected argument "stripe"'],
      [['--folow'], "Unknown option '--folow'"],
      [['--recent', '0'], '--recent is a number from 1 to 1000, got "0"'],
      [['--recent', 'ten'], '--recent is a number from 1 to 1000, got "ten"'],
      [['--no-follow'], '--no-follow goes with --recent N'],
    ])('refuses %j', (args, message) => {
      expect(() => parseTailArgs(args)).toThrow(message);
    });
  });

  describe('Class: TailFormatter', () => {
    it('prints one aligned line per request: time, provider, status, outcome and reason, id, type, ms', () => {
      const format = new TailFormatter({ color: false, timeZone: 'UTC' });
      expect(
        [
          record(),
          record({ status: 200, outcome: 'duplicate', ms: 3 }),
          record({
            status: 401,
            outcome: 'rejected',
            reason: 'signature_mismatch',
            deliveryId: undefined,
            eventType: undefined,
            ms: 2,
          }),
          record({
            provider: undefined,
            status: 404,
            outcome: 'rejected',
            reason: 'unknown_provider',
            deliveryId: undefined,
            eventType: undefined,
            ms: undefined,
          }),
        ].map((r) => format.line(r)),
      ).toEqual([
        '14:10:41  stripe    202  published                     evt_test_1                invoice.paid         12 ms',
        '14:10:41  stripe    200  duplicate                     evt_test_1                invoice.paid          3 ms',
        '14:10:41  stripe    401  rejected signature_mismatch   -                         -                     2 ms',
        '14:10:41  -         404  rejected unknown_provider     -                         -',
      ]);
    });

    it('widens a column for a longer value, and keeps it wide', () => {
      const format = new TailFormatter({ color: false, timeZone: 'UTC' });
      const long = 'a'.repeat(64);
      const lines = [
        format.line(record({ deliveryId: long, provider: 'github', eventType: 'push' })),
        format.line(record()),
      ];
      expect(lines[0]?.indexOf('push')).toBe(lines[1]?.indexOf('invoice.paid'));
    });

    it('colours the status and outcome by class, and dims the time and ms, only when asked', () => {
      const colored = new TailFormatter({ color: true, timeZone: 'UTC' });
      const ok = colored.line(record());
      const refused = colored.line(record({ status: 401, outcome: 'rejected' }));
      const failed = colored.line(record({ status: 503, outcome: 'unavailable' }));
      expect(ok).toContain('\u001b[32m202\u001b[39m');
      expect(refused).toContain('\u001b[33m401\u001b[39m');
      expect(failed).toContain('\u001b[31m503\u001b[39m');
      expect(ok).toContain('\u001b[90m14:10:41\u001b[39m');
      expect(new TailFormatter({ color: false }).line(record())).not.toContain('\u001b[');
    });
  });

  describe('Function: recordFromStream', () => {
    it('reads a RequestRecord as the console streams it, and nothing else', () => {
      expect(recordFromStream(JSON.stringify(record({ reason: 'x' })))).toEqual(
        record({ reason: 'x' }),
      );
      expect(recordFromStream('{"time":1}')).toBe(undefined);
      expect(recordFromStream('not json')).toBe(undefined);
      expect(recordFromStream('null')).toBe(undefined);
    });
  });

  describe('Function: followActivity', () => {
    it('shows what the activity finds until Ctrl-C, then stops watching', async () => {
      const activity = new MemoryActivity();
      const abort = new AbortController();
      const seen: string[] = [];
      const following = followActivity(activity, (r) => seen.push(r.outcome), abort.signal);
      activity.add(record());
      activity.add(record({ outcome: 'duplicate', status: 200 }));
      abort.abort();
      await following;
      activity.add(record({ outcome: 'rejected', status: 401 }));
      expect(seen).toEqual(['published', 'duplicate']);
    });
  });

  describe('Function: runTail on the local runtime', () => {
    const io = (dir: string, out: string[], err: string[], env: Record<string, string> = {}) => ({
      env: { HOOKONCE_DATA_DIR: dir, ...env },
      cwd: dir,
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      fetch,
      now: () => T0,
    });
    const withConsole = (url: string) => {
      const dir = folder();
      writeFileSync(join(dir, 'local.json'), JSON.stringify({ console: `${url}/` }));
      return dir;
    };

    it('says how to start hookonce when none runs, and exits 1', async () => {
      const dir = folder();
      const out: string[] = [];
      const err: string[] = [];
      expect(await runCli(['tail'], io(dir, out, err))).toBe(1);
      expect(err).toEqual([
        'hookonce tail: no running hookonce found (local.json is missing): start it with npm start',
      ]);
      writeFileSync(join(dir, 'local.json'), '{"api":"http://127.0.0.1:3000"}');
      expect(localConsole({ HOOKONCE_DATA_DIR: dir }, dir)).toEqual({
        problem:
          'local.json names no console: start hookonce again with npm start (it serves the console)',
      });
    });

    it('asks whether npm start is running when its console does not answer, and exits 1', async () => {
      const url = await closedUrl();
      const out: string[] = [];
      const err: string[] = [];
      const code = await runTail([], io(withConsole(url), out, err), {
        onInterrupt: () => () => undefined,
      });
      expect(code).toBe(1);
      expect(err).toEqual([
        `hookonce tail: nothing answers at ${url}/api/stream (ECONNREFUSED): is npm start running?`,
      ]);
    });

    it('prints each request the console streams that passes the filters, and exits 0 on Ctrl-C', async () => {
      // Prepare: a console that streams three requests, whatever the filters, and stays open.
      const paths: string[] = [];
      const url = await serve((res, path) => {
        paths.push(path);
        res.writeHead(200, streamHeaders);
        res.write(': connected\n\n');
        for (const r of [
          record(),
          record({ provider: 'github', deliveryId: 'gh-1', eventType: 'push' }),
          record({
            status: 401,
            outcome: 'rejected',
            reason: 'signature_mismatch',
            deliveryId: undefined,
            eventType: undefined,
            ms: 2,
          }),
        ]) {
          res.write(`event: ${STREAM_EVENT}\ndata: ${JSON.stringify(r)}\n\n`);
        }
        res.write('event: counts\ndata: {}\n\n');
      });
      const dir = withConsole(url);
      const run = async (args: string[], lines: number, env: Record<string, string> = {}) => {
        const out: string[] = [];
        const err: string[] = [];
        let stop = () => {};
        let enough = () => {};
        const printed = new Promise<void>((resolve) => {
          enough = resolve;
        });
        const context = io(dir, [], err, env);
        const code = runTail(
          args,
          {
            ...context,
            out: (t) => {
              out.push(t);
              if (out.length === lines) enough();
            },
          },
          {
            isTTY: true,
            timeZone: 'UTC',
            onInterrupt: (s) => {
              stop = s;
              return () => undefined;
            },
          },
        );
        await printed;
        stop();
        return { code: await code, out, err };
      };

      // Act
      const stripe = await run(['--provider', 'stripe'], 2, { NO_COLOR: '1' });
      const json = await run(['--json', '--type', 'push'], 1);
      const colored = await run(['--outcome', 'rejected'], 1);

      // Assess
      expect(stripe.code).toBe(0);
      expect(stripe.err).toEqual([
        `tail of the local runtime (local.json, console ${url}): each webhook request as it ends; Ctrl-C to stop`,
      ]);
      expect(stripe.out).toEqual([
        '14:10:41  stripe    202  published                     evt_test_1                invoice.paid         12 ms',
        '14:10:41  stripe    401  rejected signature_mismatch   -                         -                     2 ms',
      ]);
      expect(json.code).toBe(0);
      expect(json.out.map((l) => JSON.parse(l))).toEqual([
        record({ provider: 'github', deliveryId: 'gh-1', eventType: 'push' }),
      ]);
      expect(colored.out[0]).toContain('\u001b[33m401\u001b[39m');
      // The filters go to the console too, which streams only what passes.
      expect(paths).toEqual([
        '/api/stream?provider=stripe',
        '/api/stream?type=push',
        '/api/stream?outcome=rejected',
      ]);
    });

    it('says when the console ends the stream, and exits 1', async () => {
      const url = await serve((res) => {
        res.writeHead(200, streamHeaders);
        res.end(`event: ${STREAM_EVENT}\ndata: ${JSON.stringify(record())}\n\n`);
      });
      const out: string[] = [];
      const err: string[] = [];
      const code = await runTail([], io(withConsole(url), out, err), {
        isTTY: false,
        timeZone: 'UTC',
        onInterrupt: () => () => undefined,
      });
      expect(code).toBe(1);
      expect(out).toHaveLength(1);
      expect(err.at(-1)).toBe(
        `hookonce tail: the console at ${url} ended the stream: did npm start stop?`,
      );
    });
  });
});
