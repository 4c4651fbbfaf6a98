/**
 * The console's pages, rendered on the server from the views of data.ts. Every
 * value goes through the escaping `html` template; the only script is
 * /assets/console.js (live timeline, refreshed regions, the copy button), and
 * every page works without it.
 */
import { STATUS_CODES } from 'node:http';
import type { FilterPolicy } from '../../functions/shared/declaration.ts';
import type { PeekedMessage } from '../cli/dlq.ts';
import {
  type ActivityQuery,
  type MinuteCounts,
  OUTCOMES,
  type RequestOutcome,
  type RequestRecord,
} from './activity.ts';
import type { ClaimView, DeliveryLookupView, DeliveryView, SubscriberView } from './data.ts';
import { clockTime, type Html, html, layout, type Notice, raw, timeHtml } from './html.ts';
import type { ProviderInfo } from './options.ts';

/** How the timeline names each outcome: a new delivery is `new`, however it was published. */
export const OUTCOME_LABELS: Readonly<Record<RequestOutcome, string>> = {
  published: 'new',
  taken_over: 'new (taken over)',
  duplicate: 'duplicate',
  in_progress: 'in progress',
  rejected: 'rejected',
  answered: 'answered',
  unavailable: 'unavailable',
  error: 'error',
};

/** What every page needs to know of the console. */
export interface PageContext {
  readonly where: string;
  readonly writable: boolean;
  /** The per-server token every form posts back. */
  readonly token: string;
  readonly notice?: Notice;
}

const enc = encodeURIComponent;

export const deliveryHref = (provider: string, id: string): string =>
  `/deliveries/${enc(provider)}/${enc(id)}`;

export function outcomeText(record: Pick<RequestRecord, 'outcome' | 'reason'>): string {
  const label = OUTCOME_LABELS[record.outcome] ?? record.outcome;
  return record.reason ? `${label}: ${record.reason}` : label;
}

/** One request of the timeline; console.js builds the same row from a streamed record. */
export function timelineRow(record: RequestRecord): Html {
  const shownId = record.providerDeliveryId ?? record.deliveryId;
  const delivery =
    record.provider !== undefined && record.deliveryId !== undefined
      ? html`<a href="${deliveryHref(record.provider, record.deliveryId)}">${shownId}</a>`
      : html`<span class="none">—</span>`;
  return html`<tr class="outcome-${record.outcome}">
<td>${timeHtml(record.time, true)}</td>
<td>${record.provider ?? html`<span class="none">—</span>`}</td>
<td>${record.status}</td>
<td><span class="badge">${outcomeText(record)}</span></td>
<td>${delivery}</td>
<td>${record.eventType ?? html`<span class="none">—</span>`}</td>
<td class="num">${record.ms === undefined ? html`<span class="none">—</span>` : `${record.ms} ms`}</td>
</tr>`;
}

const SERIES: ReadonlyArray<{ key: keyof Omit<MinuteCounts, 'minute'>; label: string }> = [
  { key: 'received', label: 'received' },
  { key: 'published', label: 'published' },
  { key: 'duplicates', label: 'duplicates' },
  { key: 'rejected', label: 'rejected' },
];

const BAR = 8;
const GAP = 2;
const ROW = 26;
const LABEL = 84;

/** The strip of counts per minute: a small SVG chart, and the same numbers as a table. */
export function countsStrip(minutes: readonly MinuteCounts[]): Html {
  const max = Math.max(1, ...minutes.flatMap((m) => SERIES.map((s) => m[s.key])));
  const total = (key: (typeof SERIES)[number]['key']) => minutes.reduce((n, m) => n + m[key], 0);
  const width = LABEL + minutes.length * (BAR + GAP) + 48;
  const height = SERIES.length * ROW;
  const summary = SERIES.map((s) => `${total(s.key)} ${s.label}`).join(', ');
  const first = minutes[0];
  const last = minutes.at(-1);
  const span =
    first && last
      ? `from ${clockTime(first.minute)} to ${clockTime(last.minute + 59_999)} UTC`
      : '';
  const rows = SERIES.map((s, row) => {
    const base = row * ROW + ROW - 6;
    const bars = minutes.map((m, i) => {
      const value = m[s.key];
      if (value === 0) return '';
      const h = Math.max(1, Math.round((value / max) * (ROW - 8)));
      return html`<rect class="bar ${s.key}" x="${LABEL + i * (BAR + GAP)}" y="${base - h}" width="${BAR}" height="${h}"><title>${clockTime(m.minute).slice(0, 5)}: ${value} ${s.label}</title></rect>`;
    });
    return html`<g><text class="label" x="0" y="${base}">${s.label}</text><line class="axis" x1="${LABEL}" x2="${LABEL + minutes.length * (BAR + GAP)}" y1="${base + 0.5}" y2="${base + 0.5}"/>${bars}<text class="total" x="${LABEL + minutes.length * (BAR + GAP) + 6}" y="${base}">${total(s.key)}</text></g>`;
  });
  return html`<figure class="strip">
<svg role="img" aria-labelledby="counts-title counts-desc" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
<title id="counts-title">Requests per minute, last ${minutes.length} minutes</title>
<desc id="counts-desc">${span}: ${summary}</desc>
${rows}
</svg>
<figcaption>${summary} in the last ${minutes.length} minutes (${span})</figcaption>
</figure>
<details class="counts-table">
<summary>Counts per minute as a table</summary>
<table>
<caption>Requests per minute, ${span}</caption>
<thead><tr><th scope="col">Minute (UTC)</th>${SERIES.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
<tbody>
${minutes.map(
  (m) =>
    html`<tr><th scope="row">${clockTime(m.minute).slice(0, 5)}</th>${SERIES.map((s) => html`<td class="num">${m[s.key]}</td>`)}</tr>`,
)}
</tbody>
</table>
</details>`;
}

const countsRegion = (minutes: readonly MinuteCounts[]): Html =>
  html`<div id="counts" data-refresh="/?partial=counts" data-every="30000">${countsStrip(minutes)}</div>`;

export { countsRegion };

const selected = (on: boolean): Html => (on ? raw(' selected') : raw(''));

export function timelinePage(
  ctx: PageContext,
  data: {
    readonly description: string;
    readonly records: readonly RequestRecord[];
    readonly query: ActivityQuery;
    readonly providers: readonly string[];
    readonly minutes: readonly MinuteCounts[];
  },
): Html {
  const q = data.query;
  const stream = new URLSearchParams();
  if (q.provider) stream.set('provider', q.provider);
  if (q.outcome) stream.set('outcome', q.outcome);
  if (q.type) stream.set('type', q.type);
  const streamUrl = `/api/stream${stream.size > 0 ? `?${stream}` : ''}`;
  const filtered = stream.size > 0;
  const body = html`<h1>Timeline</h1>
<p>Every webhook request to ${data.description}, newest first.
<span id="stream-status" role="status" data-state="off">New requests appear here as they arrive when scripts run; reload otherwise.</span></p>
<section aria-labelledby="counts-heading">
<h2 id="counts-heading">Last 30 minutes</h2>
${countsRegion(data.minutes)}
</section>
<section aria-labelledby="requests-heading">
<h2 id="requests-heading">Requests</h2>
<form method="get" action="/" class="filters" aria-label="Filter the requests">
<div><label for="filter-provider">Provider</label>
<select id="filter-provider" name="provider"><option value="">any</option>${data.providers.map((p) => html`<option value="${p}"${selected(p === q.provider)}>${p}</option>`)}</select></div>
<div><label for="filter-outcome">Outcome</label>
<select id="filter-outcome" name="outcome"><option value="">any</option>${OUTCOMES.map((o) => html`<option value="${o}"${selected(o === q.outcome)}>${OUTCOME_LABELS[o]}</option>`)}</select></div>
<div><label for="filter-type">Event type starts with</label>
<input id="filter-type" name="type" value="${q.type ?? ''}" autocomplete="off" spellcheck="false"></div>
<div class="buttons"><button type="submit">Apply filters</button>${filtered ? html` <a href="/">Clear filters</a>` : ''}</div>
</form>
<table class="timeline" data-stream="${streamUrl}">
<caption>${filtered ? 'Requests that pass the filters' : 'All requests'}, newest first${data.records.length > 0 ? ` (${data.records.length} shown)` : ''}</caption>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Provider</th><th scope="col">Status</th><th scope="col">Outcome</th><th scope="col">Delivery</th><th scope="col">Event type</th><th scope="col">Latency</th></tr></thead>
<tbody id="timeline-rows" aria-live="polite" aria-relevant="additions">
${data.records.map(timelineRow)}
</tbody>
</table>
${data.records.length === 0 ? html`<p id="timeline-empty">No request${filtered ? ' passes these filters' : ' yet'}. Send one with <code>npx hookonce send stripe</code>.</p>` : ''}
</section>`;
  return layout({
    title: 'Timeline',
    page: 'timeline',
    where: ctx.where,
    writable: ctx.writable,
    notice: ctx.notice,
    body,
    bodyData: html` data-outcomes="${JSON.stringify(OUTCOME_LABELS)}"`,
  });
}

const policyText = (policy: FilterPolicy | null): string =>
  policy ? JSON.stringify(policy) : 'every event (no filter policy)';

export function claimText(claim: ClaimView, now: number): string {
  switch (claim.state) {
    case 'none':
      return 'no claim';
    case 'done':
      return 'DONE';
    case 'in_progress':
      return `in progress: lease held by ${claim.leaseOwner ?? '?'} for ${Math.max(0, Math.ceil(((claim.leaseUntil ?? now) - now) / 1000))} s more`;
    case 'failed':
      return `failed: ${claim.lastError ?? 'no error recorded'}`;
    case 'abandoned':
      return 'abandoned: the lease lapsed without a recorded failure (a crash or a timeout)';
  }
}

/** Whether every subscriber this event goes to has applied it: the claims stop refreshing then. */
export const settled = (view: DeliveryView): boolean =>
  view.subscribers.every((s) => !s.matches || s.claim.state === 'done');

/** The subscribers' table of one delivery: filter, match and claim; refreshed while unsettled. */
export function claimsRegion(view: DeliveryView, index: number, now: number): Html {
  const refresh = settled(view)
    ? html``
    : html` data-refresh="${deliveryHref(view.provider, view.deliveryId)}?partial=claims&amp;n=${index}" data-every="1500"`;
  return html`<div id="claims-${index}"${refresh}>
<table class="claims">
<caption>Each subscriber's filter, and its consumer's claim on <code>${view.eventId}</code></caption>
<thead><tr><th scope="col">Subscriber</th><th scope="col">Filter policy</th><th scope="col">Takes this event</th><th scope="col">Claim</th><th scope="col">Details</th></tr></thead>
<tbody>
${view.subscribers.map(
  (s) => html`<tr data-subscriber="${s.name}">
<th scope="row">${s.name}</th>
<td><code>${policyText(s.policy)}</code>${s.policySource === 'declaration' ? html`<br><small>declared; the subscription could not be read: ${s.policyError ?? ''}</small>` : s.policyError ? html`<br><small>${s.policyError}</small>` : ''}</td>
<td data-field="matches">${s.matches ? 'yes' : 'no'}</td>
<td data-field="claim" class="claim-${s.claim.state}">${claimText(s.claim, now)}</td>
<td>${claimDetails(s.claim)}</td>
</tr>`,
)}
</tbody>
</table>
</div>`;
}

function claimDetails(claim: ClaimView): Html {
  const parts: Html[] = [];
  if (claim.attempts !== undefined)
    parts.push(html`${claim.attempts === 1 ? '1 attempt' : `${claim.attempts} attempts`}`);
  if (claim.claimedAt !== undefined) parts.push(html`claimed ${timeHtml(claim.claimedAt)}`);
  if (claim.doneAt !== undefined) parts.push(html`done ${timeHtml(claim.doneAt)}`);
  if (claim.leaseOwner !== undefined && claim.state !== 'done')
    parts.push(html`lease owner ${claim.leaseOwner}`);
  if (claim.leaseUntil !== undefined && claim.leaseUntil > 0)
    parts.push(html`lease until ${timeHtml(claim.leaseUntil)}`);
  if (claim.lastError !== undefined)
    parts.push(html`last error ${timeHtml(claim.lastErrorAt)}: ${claim.lastError}`);
  if (parts.length === 0) return html`<span class="none">—</span>`;
  return html`${parts.map((p, i) => html`${i > 0 ? html`<br>` : ''}${p}`)}`;
}

/** A JSON value as nested, collapsible lists (native details elements: keyboard-ready, no script). */
export function jsonTree(value: unknown, budget = { nodes: 2_000 }): Html {
  const node = (v: unknown, key: Html, depth: number): Html => {
    budget.nodes -= 1;
    if (budget.nodes < 0) return html``;
    if (v !== null && typeof v === 'object') {
      const entries: Array<[string, unknown]> = Array.isArray(v)
        ? v.map((item, i) => [String(i), item])
        : Object.entries(v);
      const summary = Array.isArray(v)
        ? `[ ${entries.length} item${entries.length === 1 ? '' : 's'} ]`
        : `{ ${entries.length} key${entries.length === 1 ? '' : 's'} }`;
      const children = entries.map(([k, child]) =>
        node(
          child,
          Array.isArray(v)
            ? html`<span class="index">${k}</span>`
            : html`<span class="key">${JSON.stringify(k)}</span>`,
          depth + 1,
        ),
      );
      const cut =
        budget.nodes < 0 ? html`<li class="none">… more not shown: see the raw text</li>` : '';
      return html`<li><details${depth < 2 ? raw(' open') : raw('')}><summary>${key}${key.value ? ': ' : ''}<span class="type">${summary}</span></summary><ul>${children}${cut}</ul></details></li>`;
    }
    const kind = v === null ? 'null' : typeof v;
    return html`<li>${key}${key.value ? ': ' : ''}<span class="json-${kind}">${JSON.stringify(v)}</span></li>`;
  };
  return html`<ul class="json-tree">${node(value, html``, 0)}</ul>`;
}

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
};

function dl(rows: ReadonlyArray<[string, Html | string | number | undefined]>): Html {
  return html`<dl class="fields">${rows
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

function deliveryArticle(ctx: PageContext, view: DeliveryView, index: number, now: number): Html {
  const s = view.state;
  const p = view.payload;
  const href = deliveryHref(view.provider, view.deliveryId);
  const json = p.text !== undefined && !p.truncated ? parseJson(p.text) : { ok: false as const };
  const takers = view.subscribers.filter((sub) => sub.matches);
  const replay = !ctx.writable
    ? html``
    : html`<section aria-labelledby="replay-${index}">
<h3 id="replay-${index}">Replay to a subscriber</h3>
${
  takers.length === 0
    ? html`<p>No subscriber's filter takes this event.</p>`
    : html`<form method="post" action="${href}/replay" class="inline">
<input type="hidden" name="token" value="${ctx.token}">
<label for="replay-subscriber-${index}">Subscriber</label>
<select id="replay-subscriber-${index}" name="subscriber">${takers.map((t) => html`<option value="${t.name}">${t.name}</option>`)}</select>
<button type="submit">Replay</button>
</form>
<p class="hint">Sends the stored envelope to that subscriber's queue only. Its guard skips it if its claim is DONE.</p>`
}
</section>`;
  return html`<article aria-labelledby="delivery-${index}">
<h2 id="delivery-${index}"><code>${view.eventId}</code></h2>
${dl([
  ['provider', view.provider],
  ['key', view.deliveryId],
  ["provider's id", view.providerDeliveryId],
  [
    'event type',
    html`${view.eventType} <small>(envelope type <code>${view.type}</code>${view.unsignedEventType ? ', from an unsigned header' : ''})</small>`,
  ],
])}
<section aria-labelledby="state-${index}">
<h3 id="state-${index}">State</h3>
${dl([
  ['status', s.status],
  ['attempts', s.attempts],
  // A lease matters while the delivery is RECEIVED; once published, its owner is who published it.
  [s.status === 'RECEIVED' ? 'lease owner' : 'last lease owner', s.leaseOwner],
  [
    'lease until',
    s.status === 'RECEIVED' && s.leaseUntil !== undefined ? timeHtml(s.leaseUntil) : undefined,
  ],
  ['received', timeHtml(s.receivedAt)],
  ['published', s.publishedAt !== undefined ? timeHtml(s.publishedAt) : undefined],
  ['failed publishes', s.publishFailures],
  [
    'last error',
    s.lastError !== undefined ? html`${s.lastError} (${timeHtml(s.lastErrorAt)})` : undefined,
  ],
  ['parked', s.failedAt !== undefined ? timeHtml(s.failedAt) : undefined],
  ['kept until', timeHtml(s.expiresAt * 1000)],
])}
</section>
<section aria-labelledby="subscribers-${index}">
<h3 id="subscribers-${index}">Subscribers</h3>
${claimsRegion(view, index, now)}
</section>
${replay}
<section aria-labelledby="send-${index}">
<h3 id="send-${index}">Send it again</h3>
<div class="copy">
<label for="send-command-${index}">Command (signed by the CLI with the secret it finds; no secret here)</label>
<input id="send-command-${index}" class="command" readonly value="${view.sendCommand}" spellcheck="false">
<button type="button" data-copy="send-command-${index}" hidden>Copy</button>
<span role="status" class="copied" id="copied-send-command-${index}"></span>
</div>
<p class="hint">${p.unavailable === undefined ? html`Save the payload as <a href="${href}/payload" download="${view.fileName}">${view.fileName}</a> first.` : html`The payload is not available here.`}</p>
</section>
<section aria-labelledby="headers-${index}">
<h3 id="headers-${index}">Headers kept</h3>
${
  Object.keys(view.headers).length === 0
    ? html`<p>None.</p>`
    : html`<table class="headers"><caption>Headers stored with the delivery (signatures are never kept)</caption><thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead><tbody>${Object.entries(
        view.headers,
      ).map(
        ([k, v]) => html`<tr><th scope="row"><code>${k}</code></th><td><code>${v}</code></td></tr>`,
      )}</tbody></table>`
}
</section>
<section aria-labelledby="payload-${index}">
<h3 id="payload-${index}">Payload</h3>
${dl([
  ['size', `${p.bytes} bytes`],
  ['content type', p.contentType],
  ['sha256', html`<code>${p.sha256}</code>`],
  ['stored', p.source === 's3' ? html`in S3: <code>${p.ref ?? ''}</code>` : 'in the item'],
])}
${p.unavailable !== undefined ? html`<p class="notice error">${p.unavailable}</p>` : ''}
${p.text !== undefined ? html`<h4>Raw text${p.truncated ? ' (the first 256 KiB)' : ''}</h4><pre class="payload" tabindex="0">${p.text}</pre>` : ''}
${p.base64 !== undefined ? html`<h4>Bytes, in base64 (not UTF-8 text)${p.truncated ? ', the first 256 KiB' : ''}</h4><pre class="payload" tabindex="0">${p.base64}</pre>` : ''}
${json.ok ? html`<h4>As JSON</h4><p class="hint">A parser may round large numbers: the raw text above is exact.</p>${jsonTree(json.value)}` : ''}
</section>
<section aria-labelledby="envelope-${index}">
<h3 id="envelope-${index}">Envelope</h3>
<p class="hint">The CloudEvents message each subscriber's queue receives.</p>
<pre class="payload" tabindex="0">${view.envelope}</pre>
</section>
</article>`;
}

export function deliveryPage(ctx: PageContext, lookup: DeliveryLookupView, now: number): Html {
  const body =
    lookup.deliveries.length === 0
      ? html`<h1>No delivery found</h1><p>No delivery of ${lookup.provider} has the key or the provider's id <code>${lookup.id}</code>: it may be past its retention, or it never reached hookonce (a refused request is never stored).</p><p><a href="/">Back to the timeline</a></p>`
      : html`<h1>Delivery</h1>
${lookup.by === 'provider id' ? html`<p>Found by the provider's id <code>${lookup.id}</code>: ${lookup.deliveries.length} deliver${lookup.deliveries.length === 1 ? 'y' : 'ies'}.</p>` : ''}
${lookup.deliveries.map((view, i) => deliveryArticle(ctx, view, i, now))}`;
  return layout({
    title: lookup.deliveries.length === 0 ? 'No delivery' : `Delivery ${lookup.id}`,
    page: 'delivery',
    where: ctx.where,
    writable: ctx.writable,
    notice: ctx.notice,
    body,
  });
}

/** A number of the subscribers' table; `—` where the source does not count it (or could not be read). */
const cell = (name: string, field: string, value: number | undefined): Html =>
  html`<td class="num" data-subscriber="${name}" data-field="${field}">${value === undefined ? html`<span class="none">—</span>` : value}</td>`;

/** The subscribers' numbers: queue depths and the consumer's outcomes; refreshed every 2 s. */
export function subscriberStats(views: readonly SubscriberView[]): Html {
  return html`<div id="subscriber-stats" data-refresh="/subscribers?partial=stats" data-every="2000">
<table class="stats">
<caption>Queues now, and each consumer's records in the last hour</caption>
<thead><tr><th scope="col">Subscriber</th><th scope="col">Waiting</th><th scope="col">In flight</th><th scope="col">In DLQ</th><th scope="col">Succeeded</th><th scope="col">Failed</th><th scope="col">Duplicates skipped</th></tr></thead>
<tbody>
${views.map(
  (v) => html`<tr>
<th scope="row"><a href="#subscriber-${v.name}">${v.name}</a></th>
${cell(v.name, 'waiting', v.queues?.waiting)}${cell(v.name, 'in-flight', v.queues?.inFlight)}${cell(v.name, 'dlq', v.queues?.dead)}
${cell(v.name, 'succeeded', v.lastHour.succeeded)}${cell(v.name, 'failed', v.lastHour.failed)}${cell(v.name, 'duplicates', v.lastHour.duplicates)}
</tr>`,
)}
</tbody>
</table>
${views.filter((v) => v.queuesError).map((v) => html`<p class="notice error">${v.name}: ${v.queuesError}</p>`)}
</div>`;
}

export function subscribersPage(
  ctx: PageContext,
  views: readonly SubscriberView[],
  peeked?: {
    readonly subscriber: string;
    readonly messages: readonly PeekedMessage[];
    readonly error?: string;
  },
): Html {
  const body = html`<h1>Subscribers</h1>
${subscriberStats(views)}
${views.map((v) => {
  const peek = peeked?.subscriber === v.name ? peeked : undefined;
  return html`<section aria-labelledby="subscriber-${v.name}" class="subscriber">
<h2 id="subscriber-${v.name}" tabindex="-1">${v.name}</h2>
${dl([
  [
    'filter policy',
    html`<code>${policyText(v.policy)}</code>${v.policySource === 'declaration' ? html` <small>(declared; the subscription could not be read: ${v.policyError ?? ''})</small>` : ''}`,
  ],
  ['consumer', html`<code>${v.consumer}</code>`],
  ['dead-letter queue', `after ${v.maxReceiveCount} receives`],
])}
<h3>Dead-letter queue</h3>
<div class="actions">
<form method="get" action="/subscribers" class="inline">
<input type="hidden" name="peek" value="${v.name}">
<button type="submit" aria-label="Peek at ${v.name}'s dead-letter queue">Peek</button>
</form>
${
  ctx.writable
    ? html`<form method="post" action="/subscribers/${enc(v.name)}/redrive" class="inline">
<input type="hidden" name="token" value="${ctx.token}">
<button type="submit" aria-label="Redrive ${v.name}'s dead-letter queue to its queue">Redrive to its queue</button>
</form>`
    : ''
}
</div>
${peek ? peekedTable(v.name, peek) : ''}
</section>`;
})}`;
  return layout({
    title: 'Subscribers',
    page: 'subscribers',
    where: ctx.where,
    writable: ctx.writable,
    notice: ctx.notice,
    body,
  });
}

function peekedTable(
  subscriber: string,
  peek: { readonly messages: readonly PeekedMessage[]; readonly error?: string },
): Html {
  if (peek.error !== undefined)
    return html`<p class="notice error" id="peek-${subscriber}">${peek.error}</p>`;
  if (peek.messages.length === 0)
    return html`<p id="peek-${subscriber}" role="status">${subscriber}'s DLQ is empty.</p>`;
  return html`<table class="peek" id="peek-${subscriber}">
<caption>The first ${peek.messages.length} message${peek.messages.length === 1 ? '' : 's'} of ${subscriber}'s DLQ, left in place (peeking counts as a receive)</caption>
<thead><tr><th scope="col">Event</th><th scope="col">Type</th><th scope="col">Received</th><th scope="col">First sent</th><th scope="col">Last error</th></tr></thead>
<tbody>
${peek.messages.map((m) => {
  const split = m.eventId?.indexOf(':') ?? -1;
  const event =
    m.eventId && split > 0
      ? html`<a href="${deliveryHref(m.eventId.slice(0, split), m.eventId.slice(split + 1))}">${m.eventId}</a>`
      : html`not a hookonce envelope: <code>${m.preview ?? ''}</code>`;
  return html`<tr>
<td>${event}</td>
<td>${m.type ?? html`<span class="none">—</span>`}</td>
<td class="num">${m.receiveCount}×</td>
<td>${timeHtml(m.sentAt)}</td>
<td>${m.lastError !== undefined ? html`${m.lastError} (${timeHtml(m.lastErrorAt)})` : 'not recorded (a timeout or a crash, or the claim expired)'}</td>
</tr>`;
})}
</tbody>
</table>`;
}

export function providersPage(
  ctx: PageContext,
  providers: readonly ProviderInfo[],
  canSend: boolean,
): Html {
  const body = html`<h1>Providers</h1>
<table class="providers">
<caption>Where each provider posts, and where its signing secret comes from (never the secret)</caption>
<thead><tr><th scope="col">Provider</th><th scope="col">Scheme</th><th scope="col">Endpoint</th><th scope="col">Secret from</th>${canSend ? html`<th scope="col">Test</th>` : ''}</tr></thead>
<tbody>
${providers.map(
  (p) => html`<tr data-provider="${p.name}">
<th scope="row">${p.name}</th>
<td>${p.scheme}</td>
<td><code class="endpoint">POST ${p.endpointUrl}</code></td>
<td>${p.secretSource}</td>
${
  canSend
    ? html`<td><form method="post" action="/providers/${enc(p.name)}/test" class="inline">
<input type="hidden" name="token" value="${ctx.token}">
<button type="submit" aria-label="Send a signed test webhook to ${p.name}">Send a signed test webhook</button>
</form></td>`
    : ''
}
</tr>`,
)}
</tbody>
</table>
${canSend ? html`<p class="hint">A test webhook is the provider's sample from <code>infra/cli/samples/</code>, under a fresh delivery id, signed as the provider signs.</p>` : ''}`;
  return layout({
    title: 'Providers',
    page: 'providers',
    where: ctx.where,
    writable: ctx.writable,
    notice: ctx.notice,
    body,
  });
}

export function errorPage(ctx: Omit<PageContext, 'token'>, status: number, text: string): Html {
  return layout({
    title: STATUS_CODES[status] ?? String(status),
    page: 'error',
    where: ctx.where,
    writable: ctx.writable,
    body: html`<h1>${status} ${STATUS_CODES[status] ?? ''}</h1><p>${text}</p><p><a href="/">Back to the timeline</a></p>`,
  });
}
