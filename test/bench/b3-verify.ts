import { createHmac, createSecretKey, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import type { Task } from 'tinybench';
import { buildProviders } from '../../functions/providers/registry.ts';
import type { Provider, WebhookRequest } from '../../functions/providers/types.ts';
import { systemClock } from '../../functions/shared/clock.ts';
import {
  type ProviderDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { asIngest, benchPresets, PRESET_NOTES } from './b3-presets.ts';
import { jsonBody } from './lib/local.ts';
import { type Row, row } from './lib/report.ts';
import type { Section, Settings } from './lib/settings.ts';
import { alternate, medianOf, verifierBench } from './lib/stats.ts';

const SIZES = [
  { label: '1 KiB', bytes: 1024 },
  { label: '64 KiB', bytes: 64 * 1024 },
] as const;

type Headers = Record<string, string>;
type Verify = (request: WebhookRequest, text: string) => unknown;

interface Peer {
  readonly label: string;
  /** Loaded only when used: some of these libraries take a while to import. */
  load(secret: string): Promise<Verify>;
}

/** What B3 knows of a scheme: how to sign for it, its raw-HMAC floor, and its peer library. */
interface SchemeCase {
  readonly scheme: string;
  /** Options the declaration needs beyond the scheme. */
  readonly options?: Record<string, unknown>;
  readonly secret: string;
  /** A request carrying `body`, signed now as the provider signs it. */
  sign(body: Buffer, id: string, nowMs: number, secret: string): WebhookRequest;
  /** One raw HMAC over the bytes the scheme signs (the floor). */
  floor(request: WebhookRequest, secret: string): () => unknown;
  readonly peer?: Peer;
}

const request = (
  headers: Headers,
  rawBody: Buffer,
  extra: Partial<WebhookRequest> = {},
): WebhookRequest => ({
  headers,
  method: 'POST',
  rawBody,
  rawQueryString: '',
  rawPath: '/webhooks/bench',
  domainName: 'hooks.example.com',
  ...extra,
});

const hmac = (
  algorithm: string,
  key: string | Buffer | KeyObject,
  ...parts: Array<string | Buffer>
) => {
  const h = createHmac(algorithm, key);
  for (const p of parts) h.update(p);
  return h.digest();
};

const standardKey = (secret: string) => Buffer.from(secret.slice('whsec_'.length), 'base64');
const seconds = (ms: number) => String(Math.floor(ms / 1000));
const TWILIO_URL = 'https://hooks.example.com/webhooks/bench';

/** A form body of `bytes` bytes, as Twilio posts its callbacks. */
function formBody(bytes: number, id: string): string {
  const head = `MessageSid=SM${id}&AccountSid=AC0000&From=%2B15550001111&To=%2B15550002222&Body=`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

const CASES: readonly SchemeCase[] = [
  {
    scheme: 'standard-webhooks',
    secret: `whsec_${randomBytes(32).toString('base64')}`,
    sign(body, id, nowMs, secret) {
      const ts = seconds(nowMs);
      const sig = hmac('sha256', standardKey(secret), `${id}.${ts}.`, body).toString('base64');
      return request(
        {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': ts,
          'webhook-signature': `v1,${sig}`,
        },
        body,
      );
    },
    floor: (r, secret) => {
      // A KeyObject: Node's HMAC with a Buffer key is several times slower on small inputs.
      const key = createSecretKey(standardKey(secret));
      const prefix = `${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.`;
      return () => hmac('sha256', key, prefix, r.rawBody);
    },
    peer: {
      label: 'standardwebhooks verify',
      async load(secret) {
        const { Webhook } = await import('standardwebhooks');
        const wh = new Webhook(secret);
        return (r, text) => wh.verify(text, r.headers as Headers);
      },
    },
  },
  {
    scheme: 'stripe',
    secret: `whsec_${randomBytes(24).toString('hex')}`,
    sign(body, _id, nowMs, secret) {
      const t = seconds(nowMs);
      const v1 = hmac('sha256', secret, `${t}.`, body).toString('hex');
      return request(
        { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` },
        body,
      );
    },
    floor: (r, secret) => {
      const t = /t=(\d+)/.exec(r.headers['stripe-signature'] ?? '')?.[1] ?? '';
      return () => hmac('sha256', secret, `${t}.`, r.rawBody);
    },
    peer: {
      label: 'stripe constructEvent',
      async load(secret) {
        const { default: Stripe } = await import('stripe');
        const webhooks = new Stripe('sk_test_bench_never_calls_the_api').webhooks;
        return (r, text) =>
          webhooks.constructEvent(text, r.headers['stripe-signature'] ?? '', secret);
      },
    },
  },
  {
    scheme: 'github',
    secret: randomBytes(20).toString('hex'),
    sign(body, id, _nowMs, secret) {
      return request(
        {
          'content-type': 'application/json',
          'x-github-delivery': id,
          'x-github-event': 'push',
          'x-hub-signature-256': `sha256=${hmac('sha256', secret, body).toString('hex')}`,
        },
        body,
      );
    },
    floor: (r, secret) => () => hmac('sha256', secret, r.rawBody),
    peer: {
      label: '@octokit/webhooks-methods verify',
      async load(secret) {
        const { verify } = await import('@octokit/webhooks-methods');
        return (r, text) => verify(secret, text, r.headers['x-hub-signature-256'] ?? '');
      },
    },
  },
  {
    scheme: 'shopify',
    secret: randomBytes(16).toString('hex'),
    sign(body, id, _nowMs, secret) {
      return request(
        {
          'content-type': 'application/json',
          'x-shopify-event-id': id,
          'x-shopify-topic': 'orders/create',
          'x-shopify-hmac-sha256': hmac('sha256', secret, body).toString('base64'),
        },
        body,
      );
    },
    floor: (r, secret) => () => hmac('sha256', secret, r.rawBody),
  },
  {
    scheme: 'slack',
    secret: randomBytes(16).toString('hex'),
    sign(body, _id, nowMs, secret) {
      const ts = seconds(nowMs);
      return request(
        {
          'content-type': 'application/json',
          'x-slack-request-timestamp': ts,
          'x-slack-signature': `v0=${hmac('sha256', secret, `v0:${ts}:`, body).toString('hex')}`,
        },
        body,
      );
    },
    floor: (r, secret) => {
      const prefix = `v0:${r.headers['x-slack-request-timestamp']}:`;
      return () => hmac('sha256', secret, prefix, r.rawBody);
    },
  },
  {
    scheme: 'twilio',
    secret: randomBytes(16).toString('hex'),
    sign(body, id, _nowMs, secret) {
      return request(
        {
          'content-type': 'application/x-www-form-urlencoded',
          host: 'hooks.example.com',
          'x-forwarded-proto': 'https',
          'i-twilio-idempotency-token': id,
          'x-twilio-signature': hmac('sha1', secret, twilioSignedData(body)).toString('base64'),
        },
        body,
      );
    },
    floor: (r, secret) => {
      const data = twilioSignedData(r.rawBody);
      return () => hmac('sha1', secret, data);
    },
    peer: {
      label: 'twilio validateRequest',
      async load(secret) {
        const { default: twilio } = await import('twilio');
        return (r, text) =>
          twilio.validateRequest(
            secret,
            r.headers['x-twilio-signature'] ?? '',
            TWILIO_URL,
            Object.fromEntries(new URLSearchParams(text)),
          );
      },
    },
  },
  {
    scheme: 'hmac',
    options: {
      header: 'x-signature',
      prefix: 'sha256=',
      algorithm: 'sha256',
      encoding: 'hex',
      timestampHeader: 'x-timestamp',
      deliveryId: { header: 'x-delivery-id' },
      eventTypeField: 'type',
    },
    secret: randomBytes(32).toString('hex'),
    sign(body, id, nowMs, secret) {
      const ts = seconds(nowMs);
      return request(
        {
          'content-type': 'application/json',
          'x-delivery-id': id,
          'x-timestamp': ts,
          'x-signature': `sha256=${hmac('sha256', secret, `${ts}.`, body).toString('hex')}`,
        },
        body,
      );
    },
    floor: (r, secret) => {
      const prefix = `${r.headers['x-timestamp']}.`;
      return () => hmac('sha256', secret, prefix, r.rawBody);
    },
  },
];

/** What Twilio signs for a form body: the URL, then each parameter's name and value, sorted. */
function twilioSignedData(body: Buffer): string {
  const params = [...new URLSearchParams(body.toString('utf8'))].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return TWILIO_URL + params.map(([k, v]) => k + v).join('');
}

/** The scheme's verifier, when this build's registry has it. */
function buildVerifier(c: SchemeCase): Provider | string {
  try {
    const declared = { scheme: c.scheme, ...c.options } as unknown as ProviderDeclaration;
    const resolved = resolveDeclaration({ providers: { bench: declared }, subscribers: {} });
    const provider = buildProviders(resolved.providers).get('bench');
    if (!provider) return 'the registry built nothing';
    provider.checkSecrets([c.secret]);
    return provider;
  } catch (error) {
    return (error as Error).message.split('\n').slice(-1)[0]?.trim() ?? String(error);
  }
}

interface Prepared {
  readonly c: SchemeCase;
  readonly size: (typeof SIZES)[number];
  readonly verifier?: Provider;
  readonly peer?: Verify;
}

/**
 * B3: signature verification, ops/s, per provider scheme the registry has and
 * B3 can sign, at 1 KiB and 64 KiB: hookonce's verifier (as the ingest core calls
 * it) against one raw HMAC over the same bytes (the floor) and the provider's own
 * library (the peer). A peer whose scheme the registry lacks still runs against
 * its own floor.
 */
export async function benchVerify(settings: Settings): Promise<Section> {
  const { rounds, timeMs } = settings.b3;
  const cases: Prepared[] = [];
  const skipped: string[] = [];
  for (const c of CASES) {
    const built = buildVerifier(c);
    const verifier = typeof built === 'string' ? undefined : built;
    if (typeof built === 'string') skipped.push(`${c.scheme}: ${built}`);
    const peer = c.peer ? await c.peer.load(c.secret) : undefined;
    if (!verifier && !peer) continue;
    for (const size of SIZES) cases.push({ c, size, verifier, peer });
  }

  // Every subject must accept what it is given, or its ops/s would mean nothing.
  const bodyFor = (c: SchemeCase, bytes: number, id: string) =>
    Buffer.from(c.scheme === 'twilio' ? formBody(bytes, id) : jsonBody(bytes, id));
  for (const p of [...cases]) {
    const body = bodyFor(p.c, p.size.bytes, 'evt_check');
    const signedAt = systemClock.now();
    const r = p.c.sign(body, randomUUID(), signedAt, p.c.secret);
    if (p.verifier) {
      const verdict = asIngest(p.verifier, r, [p.c.secret], signedAt)();
      if (verdict.kind !== 'accept') {
        skipped.push(
          `${p.c.scheme} ${p.size.label}: hookonce's verifier answered ${verdict.kind}${verdict.kind === 'reject' ? ` ${verdict.code}` : ''} to B3's signature`,
        );
        cases.splice(cases.indexOf(p), 1, { ...p, verifier: undefined });
      }
    }
    if (p.peer) {
      const ok = await p.peer(r, body.toString('utf8'));
      if (!ok) throw new Error(`${p.c.peer?.label} did not accept B3's ${p.c.scheme} signature`);
    }
  }

  const runs = await alternate(rounds, ['all'], async (_, round) => {
    const bench = verifierBench(timeMs);
    const ordered = round % 2 === 0 ? cases : [...cases].reverse();
    for (const p of ordered) {
      // Signed at the start of each round: the timestamp stays within every tolerance.
      const body = bodyFor(p.c, p.size.bytes, `evt_${randomUUID()}`);
      const signedAt = systemClock.now();
      const r = p.c.sign(body, randomUUID(), signedAt, p.c.secret);
      const text = body.toString('utf8');
      const key = `${p.c.scheme} ${p.size.label}`;
      const subjects: Array<[string, () => unknown]> = [[`${key} floor`, p.c.floor(r, p.c.secret)]];
      const verifier = p.verifier;
      if (verifier) {
        subjects.push([`${key} hookonce`, asIngest(verifier, r, [p.c.secret], signedAt)]);
      }
      const peer = p.peer;
      if (peer) subjects.push([`${key} peer`, () => peer(r, text)]);
      for (const [name, fn] of round % 2 === 0 ? subjects : subjects.reverse()) bench.add(name, fn);
    }
    await bench.run();
    return new Map(bench.tasks.map((t) => [t.name, opsPerSecond(t)]));
  });

  const ops = (name: string) => medianOf(runs, 'all', (m) => m.get(name) ?? Number.NaN);
  const rows: Row[] = [];
  for (const p of cases) {
    const key = `${p.c.scheme} ${p.size.label}`;
    const provider = p.c.scheme === 'standard-webhooks' ? 'standard' : p.c.scheme;
    const floor = { label: 'floor: one HMAC', value: ops(`${key} floor`), unit: 'ops/s' } as const;
    const peerLabel = p.c.peer ? `peer: ${p.c.peer.label}` : '';
    if (p.verifier) {
      const ours = { label: 'hookonce', value: ops(`${key} hookonce`), unit: 'ops/s' } as const;
      if (p.peer) {
        rows.push(
          row({
            id: 'B3',
            measure: `verify ${provider}, ${p.size.label}`,
            subject: ours,
            reference: { label: peerLabel, value: ops(`${key} peer`), unit: 'ops/s' },
            target: { op: '>=', value: 1 },
          }),
        );
      }
      rows.push(
        row({
          id: 'B3',
          measure: `verify ${provider}, ${p.size.label}`,
          subject: ours,
          reference: floor,
        }),
      );
    } else if (p.peer) {
      rows.push(
        row({
          id: 'B3',
          measure: `verify ${provider}, ${p.size.label} (peer only)`,
          subject: { label: peerLabel, value: ops(`${key} peer`), unit: 'ops/s' },
          reference: floor,
        }),
      );
    }
  }
  const notes = [
    `verify: tinybench, ${timeMs} ms per task, ${rounds} round(s), task order reversed every other round, medians; ops/s = 1000 ÷ mean latency. hookonce: the provider's inspect() from functions/providers/registry.ts as the ingest core calls it, the body's JSON parse made before the timing (ingest parses every body it carries inline once, whatever the provider, to splice it into the envelope; a verifier that reads a field reads that parse), a key hashed from the body inside the timing. The peers: their own calls as their users make them (standardwebhooks' verify and stripe's constructEvent parse the body; octokit's verify and twilio's validateRequest do not, and twilio's is handed the form already split into parameters). Floor: one HMAC over exactly the bytes the scheme signs, nothing else, keyed the fastest way Node offers (a KeyObject for the binary Standard Webhooks key, the string for text secrets: Node's HMAC with a Buffer key is several times slower on small inputs). Bodies are JSON (a form body for Twilio) padded to size; hookonce gets the raw Buffer, the peers the string body a Lambda receives.`,
    "rows without a target are there for context: the floor only ever bounds a verifier from above; the target is against the provider's own library, where there is one (Shopify, Slack and the generic hmac scheme have none among the peers).",
  ];
  const presets = await benchPresets(settings);
  rows.push(...presets.rows);
  notes.push(...PRESET_NOTES);
  skipped.push(...presets.skipped);
  if (skipped.length > 0) notes.push(`not benchmarked here: ${skipped.join('; ')}.`);
  return { rows, notes };
}

function opsPerSecond(task: Task): number {
  const result = task.result;
  if (!('latency' in result)) {
    throw new Error(`task ${task.name} did not complete`, {
      cause: 'error' in result ? result.error : undefined,
    });
  }
  return 1000 / result.latency.mean;
}
