import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../functions/deliveries/store.ts';
import { resolveDeclaration } from '../../functions/shared/declaration.ts';
import { minutesBetween } from '../../infra/console/activity.ts';
import { payloadFileName, sendCommandFor, shellQuote } from '../../infra/console/data.ts';
import { escapeHtml, html, layout, raw } from '../../infra/console/html.ts';
import { secretSource } from '../../infra/console/local.ts';
import {
  claimText,
  countsStrip,
  jsonTree,
  outcomeText,
  timelineRow,
} from '../../infra/console/pages.ts';
import { MemoryConsumerStats } from '../../infra/console/stats.ts';

const T0 = Date.UTC(2100, 0, 1);
const MINUTE = 60_000;

const declaration = resolveDeclaration({
  providers: {
    stripe: { scheme: 'stripe' },
    github: { scheme: 'github' },
    twilio: { scheme: 'twilio' },
    hmac: { scheme: 'hmac', header: 'x-signature', algorithm: 'sha256', encoding: 'hex' },
  },
  subscribers: { example: { consumer: { entry: 'functions/consumers/example/handler.ts' } } },
});

const record = (fields: Partial<DeliveryRecord>): DeliveryRecord => ({
  provider: 'stripe',
  deliveryId: 'evt_1',
  eventType: 'invoice.paid',
  payloadSha256: 'ab',
  contentType: 'application/json',
  headers: {},
  status: 'PUBLISHED',
  receivedAt: T0,
  attempts: 1,
  expiresAt: T0 / 1000 + 3600,
  ...fields,
});

const provider = (name: string) => {
  const p = declaration.providers[name];
  if (!p) throw new Error(name);
  return p;
};

describe('Module: console html', () => {
  it('escapes every interpolated value, and leaves Html made by the template as it is', () => {
    // Act
    const out = html`<p title="${'"><img src=x onerror=alert(1)>'}">${'<script>alert(1)</script>'}${html`<b>${'&'}</b>`}${[
      '<i>',
      html`<br>`,
    ]}${undefined}${null}${false}${0}</p>`;

    // Assert
    expect(out.value).toBe(
      '<p title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&lt;script&gt;alert(1)&lt;/script&gt;<b>&amp;</b>&lt;i&gt;<br>0</p>',
    );
    expect(escapeHtml(`'`)).toBe('&#39;');
  });

  it('lays every page out with a skip link, labelled navigation, the current page and the one script', () => {
    // Act
    const page = layout({
      title: '<Timeline>',
      page: 'subscribers',
      where: 'stack <x>',
      writable: false,
      body: raw('<h1>x</h1>'),
    }).value;

    // Assert
    expect(page).toContain('<a class="skip" href="#main">Skip to content</a>');
    expect(page).toContain('<nav aria-label="Pages">');
    expect(page).toContain('<a href="/subscribers" aria-current="page">Subscribers</a>');
    expect(page).toContain('<main id="main" tabindex="-1">');
    expect(page).toContain('<title>&lt;Timeline&gt; · hookonce console</title>');
    expect(page).toContain('stack &lt;x&gt; · read-only');
    expect(page).toContain('<script type="module" src="/assets/console.js"></script>');
    // No inline script or style: the Content-Security-Policy allows none.
    expect(page).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/);
  });
});

describe('Module: console pages', () => {
  it('shows a published request as new, a refused one with its reason, and escapes each field', () => {
    // Act
    const row = timelineRow({
      time: T0,
      provider: 'stripe',
      status: 202,
      outcome: 'published',
      deliveryId: 'evt_<b>',
      eventType: 'invoice.<i>paid',
      ms: 12,
    }).value;
    const refused = timelineRow({
      time: T0,
      provider: 'stripe',
      status: 401,
      outcome: 'rejected',
      reason: 'signature_mismatch',
    }).value;

    // Assert
    expect(row).toContain('<span class="badge">new</span>');
    expect(row).toContain('<a href="/deliveries/stripe/evt_%3Cb%3E">evt_&lt;b&gt;</a>');
    expect(row).toContain('invoice.&lt;i&gt;paid');
    expect(row).toContain(
      '<time datetime="2100-01-01T00:00:00.000Z" title="2100-01-01T00:00:00.000Z">00:00:00</time>',
    );
    expect(row).toContain('12 ms');
    expect(refused).toContain('rejected: signature_mismatch');
    expect(outcomeText({ outcome: 'taken_over' })).toBe('new (taken over)');
    expect(outcomeText({ outcome: 'unavailable', reason: 'dynamodb' })).toBe(
      'unavailable: dynamodb',
    );
  });

  it('draws the counts per minute as an SVG strip and gives the same numbers as a table', () => {
    // Arrange
    const counts = new Map([
      [T0, { minute: T0, received: 4, duplicates: 1, rejected: 1, published: 2 }],
      [
        T0 + 2 * MINUTE,
        { minute: T0 + 2 * MINUTE, received: 1, duplicates: 0, rejected: 0, published: 1 },
      ],
    ]);
    const minutes = minutesBetween(counts, T0, T0 + 30 * MINUTE);

    // Act
    const strip = countsStrip(minutes).value;

    // Assert
    expect(strip).toContain('<svg role="img" aria-labelledby="counts-title counts-desc"');
    expect(strip).toContain('5 received, 3 published, 1 duplicates, 1 rejected');
    // One bar per non-zero count: received 2, published 2, duplicates 1, rejected 1.
    expect(strip.match(/<rect /g)).toHaveLength(6);
    expect(strip.match(/<tr><th scope="row">/g)).toHaveLength(30);
    expect(strip).toContain(
      '<tr><th scope="row">00:00</th><td class="num">4</td><td class="num">2</td><td class="num">1</td><td class="num">1</td></tr>',
    );
  });

  it('renders a JSON payload as collapsible lists, escaped, within a budget of nodes', () => {
    // Act
    const tree = jsonTree({ '<k>': ['<script>', 1, null, true], n: { deep: { deeper: 1 } } }).value;
    const cut = jsonTree(
      Array.from({ length: 50 }, (_, i) => i),
      { nodes: 10 },
    ).value;

    // Assert
    expect(tree).toContain('<span class="key">&quot;&lt;k&gt;&quot;</span>');
    expect(tree).toContain('<span class="json-string">&quot;&lt;script&gt;&quot;</span>');
    expect(tree).not.toContain('<script>');
    expect(tree).toContain('<details open><summary>');
    // Two levels open, deeper ones closed.
    expect(tree).toContain('<details><summary><span class="key">&quot;deep&quot;</span>');
    expect(cut).toContain('more not shown');
    expect(cut.match(/<li>/g)?.length).toBeLessThan(12);
  });

  it('tells a claim from the guard: done, failed with its error, in progress with its lease', () => {
    // Assert
    expect(claimText({ state: 'done' }, T0)).toBe('DONE');
    expect(claimText({ state: 'failed', lastError: 'Error: broken' }, T0)).toBe(
      'failed: Error: broken',
    );
    expect(
      claimText({ state: 'in_progress', leaseOwner: 'req-1', leaseUntil: T0 + 4_500 }, T0),
    ).toBe('in progress: lease held by req-1 for 5 s more');
    expect(claimText({ state: 'none' }, T0)).toBe('no claim');
  });
});

describe('Module: console data', () => {
  it('quotes for a POSIX shell only what needs it', () => {
    // Assert
    expect(shellQuote('evt_1')).toBe('evt_1');
    expect(shellQuote('a b')).toBe(`'a b'`);
    expect(shellQuote(`$(rm -rf ~)`)).toBe(`'$(rm -rf ~)'`);
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
    expect(shellQuote('-x')).toBe(`'-x'`);
  });

  it('writes the send command each scheme needs: its id where signed, its type where in a header, never a secret', () => {
    // Act
    const stripe = sendCommandFor(record({}), provider('stripe'));
    const github = sendCommandFor(
      record({
        provider: 'github',
        deliveryId: 'a'.repeat(64),
        providerDeliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        eventType: 'push',
      }),
      provider('github'),
    );
    const twilio = sendCommandFor(
      record({
        provider: 'twilio',
        deliveryId: 'b'.repeat(64),
        providerDeliveryId: 'tok-1',
        eventType: 'message',
        contentType: 'application/x-www-form-urlencoded',
      }),
      provider('twilio'),
    );
    const hmac = sendCommandFor(
      record({ provider: 'hmac', deliveryId: 'c'.repeat(64), contentType: 'text/csv' }),
      provider('hmac'),
    );
    const hostile = sendCommandFor(record({ deliveryId: `evt_'$(id)` }), provider('stripe'));

    // Assert
    expect(stripe).toBe('npx hookonce send stripe --file stripe-evt_1.json --id evt_1');
    expect(github).toBe(
      'npx hookonce send github --file github-72d3162e-cc78-11e3-81ab-4c9367dc0958.json --id 72d3162e-cc78-11e3-81ab-4c9367dc0958 --type push',
    );
    expect(twilio).toBe('npx hookonce send twilio --file twilio-tok-1.form --id tok-1');
    expect(hmac).toBe(
      `npx hookonce send hmac --file hmac-${'c'.repeat(64)}.txt --content-type text/csv`,
    );
    expect(hostile).toBe(
      `npx hookonce send stripe --file stripe-evt__id.json --id 'evt_'\\''$(id)'`,
    );
  });

  it('names a payload file after its provider and id, with nothing a path could be made of', () => {
    // Assert
    expect(payloadFileName(record({ deliveryId: '../../etc/passwd' }))).toBe(
      'stripe-etc_passwd.json',
    );
    expect(payloadFileName(record({ deliveryId: '..', contentType: undefined }))).toBe(
      'stripe-payload.txt',
    );
  });
});

describe('Function: secretSource', () => {
  it('says where a secret comes from, never what it is', () => {
    // Arrange
    const value = 'whsec_do_not_show_me';

    // Act
    const fromEnv = secretSource({ value, source: 'env', envKey: 'HOOKONCE_SECRET_STRIPE' });
    const kept = secretSource(
      { value, source: 'kept', envKey: 'HOOKONCE_SECRET_STRIPE' },
      join(process.cwd(), '.hookonce', 'secrets.json'),
    );
    const inMemory = secretSource({ value, source: 'generated', envKey: 'HOOKONCE_SECRET_X' });

    // Assert
    expect(fromEnv).toBe('HOOKONCE_SECRET_STRIPE');
    expect(kept).toBe('generated, kept in .hookonce/secrets.json');
    expect(inMemory).toBe('generated, kept in memory only (no data folder)');
    expect([fromEnv, kept, inMemory].join(' ')).not.toContain(value);
  });
});

describe('Class: MemoryConsumerStats', () => {
  it('counts batches and duplicates per subscriber and minute, and answers for the window asked', async () => {
    // Arrange
    let now = T0;
    const stats = new MemoryConsumerStats({ now: () => now });
    stats.addBatch('billing', { size: 3, failed: 1 });
    stats.addLine('billing', JSON.stringify({ level: 'INFO', message: 'duplicate skipped' }));
    stats.addLine('billing', 'duplicate skipped, but not a log line');
    now = T0 + 61.5 * MINUTE;
    stats.addBatch('billing', { size: 2, failed: 0 });
    stats.addBatch('example', { size: 1, failed: 1 });

    // Act
    const lastHour = await stats.counts(now - 60 * MINUTE, now);
    const all = await stats.counts(T0, now + 1);

    // Assert
    expect(lastHour).toEqual({
      billing: { succeeded: 2, failed: 0, duplicates: 0 },
      example: { succeeded: 0, failed: 1, duplicates: 0 },
    });
    expect(all.billing).toEqual({ succeeded: 4, failed: 1, duplicates: 1 });
  });
});
