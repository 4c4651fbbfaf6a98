// The console's one script, served from /assets/console.js: the timeline's live
// rows (Server-Sent Events from /api/stream), the regions that refresh
// themselves (data-refresh), and the copy buttons. Every page works without it.

const labels = JSON.parse(document.body.dataset.outcomes ?? '{}');

const none = () => {
  const span = document.createElement('span');
  span.className = 'none';
  span.textContent = '—';
  return span;
};

const td = (content, className) => {
  const cell = document.createElement('td');
  if (className) cell.className = className;
  cell.append(content);
  return cell;
};

/** The same row pages.ts renders (timelineRow), built from a streamed record with text nodes only. */
function row(record) {
  const tr = document.createElement('tr');
  tr.className = `outcome-${record.outcome}`;
  const iso = new Date(record.time).toISOString();
  const time = document.createElement('time');
  time.dateTime = iso;
  time.title = iso;
  time.textContent = iso.slice(11, 19);
  const badge = document.createElement('span');
  badge.className = 'badge';
  const label = labels[record.outcome] ?? record.outcome;
  badge.textContent = record.reason ? `${label}: ${record.reason}` : label;
  let delivery = none();
  if (record.provider !== undefined && record.deliveryId !== undefined) {
    delivery = document.createElement('a');
    delivery.href = `/deliveries/${encodeURIComponent(record.provider)}/${encodeURIComponent(record.deliveryId)}`;
    delivery.textContent = record.providerDeliveryId ?? record.deliveryId;
  }
  tr.append(
    td(time),
    td(record.provider ?? none()),
    td(String(record.status)),
    td(badge),
    td(delivery),
    td(record.eventType ?? none()),
    td(record.ms === undefined ? none() : `${record.ms} ms`, 'num'),
  );
  return tr;
}

/** Regions that fetch themselves again (their data-refresh URL answers the region's new markup). */
const regions = new Map();

function watch(id) {
  let timer;
  let running = false;
  let again = false;
  const every = () => Number(document.getElementById(id)?.dataset.every) || 5000;
  const run = async () => {
    timer = undefined;
    const region = document.getElementById(id);
    if (!region?.dataset.refresh) return;
    running = true;
    try {
      // Never pull the page from under the user's keyboard focus.
      if (!region.contains(document.activeElement)) await replace(region);
    } finally {
      running = false;
    }
    const next = document.getElementById(id);
    if (!next?.dataset.refresh) return;
    timer = setTimeout(run, again ? 0 : every());
    again = false;
  };
  timer = setTimeout(run, every());
  regions.set(id, {
    soon() {
      if (running) {
        again = true;
        return;
      }
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(run, 500);
    },
  });
}

async function replace(region) {
  let text;
  try {
    const res = await fetch(region.dataset.refresh, { headers: { accept: 'text/html' } });
    if (!res.ok) return;
    text = await res.text();
  } catch {
    return; // the console is gone for now: the next round tries again
  }
  const template = document.createElement('template');
  template.innerHTML = text.trim();
  const next = template.content.firstElementChild;
  if (!next || next.id !== region.id) return;
  // Keep what the reader opened open.
  const open = [...region.querySelectorAll('details')].map((d) => d.open);
  next.querySelectorAll('details').forEach((d, i) => {
    if (open[i] !== undefined) d.open = open[i];
  });
  region.replaceWith(next);
}

for (const region of document.querySelectorAll('[data-refresh][id]')) watch(region.id);

const table = document.querySelector('table[data-stream]');
if (table) {
  const rows = document.getElementById('timeline-rows');
  const status = document.getElementById('stream-status');
  const source = new EventSource(table.dataset.stream);
  source.addEventListener('open', () => {
    status.dataset.state = 'open';
    status.textContent = 'Live: new requests appear at the top as they arrive.';
  });
  source.addEventListener('error', () => {
    status.dataset.state = 'reconnecting';
    status.textContent = 'The connection to the console was lost; reconnecting…';
  });
  source.addEventListener('request', (event) => {
    rows.prepend(row(JSON.parse(event.data)));
    while (rows.rows.length > 200) rows.lastElementChild?.remove();
    document.getElementById('timeline-empty')?.remove();
    regions.get('counts')?.soon();
  });
}

for (const button of document.querySelectorAll('button[data-copy]')) {
  const input = document.getElementById(button.dataset.copy);
  const note = document.getElementById(`copied-${button.dataset.copy}`);
  if (!input) continue;
  button.hidden = false;
  button.addEventListener('click', async () => {
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      if (note) note.textContent = 'Copied.';
    } catch {
      if (note) note.textContent = 'Selected: press Ctrl-C (⌘-C on a Mac) to copy.';
    }
  });
}
