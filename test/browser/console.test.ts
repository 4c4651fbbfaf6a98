import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ledgerPk } from '../../functions/consumers/example/ledger.ts';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import { type LocalRuntime, startLocal } from '../../infra/local/runtime.ts';
import { signStandard, standardSecret } from '../support/backends.ts';
import { CHROMIUM } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';

const SECRET = standardSecret('browser-console-secret-32-bytes!');
const FORGER = standardSecret('the-forgers-own-secret-32-bytes!');

/**
 * example takes every event; flaky takes only standard.poison.* events and fails
 * them while the item SWITCH#flaky says broken, so after two receives (three seconds
 * apart) they land in its DLQ.
 */
const declaration: HookonceDeclaration = {
  name: 'browser',
  providers: { standard: { scheme: 'standard-webhooks' } },
  subscribers: {
    example: { consumer: { entry: 'functions/consumers/example/handler.ts' } },
    flaky: {
      // Three seconds, not one: on a loaded machine a one-second consumer times out before
      // its error is recorded on the claim, which is what the DLQ peek shows.
      consumer: { entry: 'test/e2e/fixtures/counter.ts', timeoutSeconds: 3 },
      filter: { types: ['standard.poison.'] },
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 3,
    },
  },
};

describe('Console in a browser (Chromium)', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let ddb: DynamoDBClient;
  let browser: Browser;
  let context: BrowserContext;
  let base: string;
  const output: string[] = [];
  /** What the pages complained of: script errors, refused resources, CSP violations. */
  const problems: string[] = [];

  /** A webhook signed as a Standard Webhooks sender signs it (one read of the wall clock: the runtime checks it). */
  const webhook = async (id: string, type: string, secret = SECRET) => {
    const body = JSON.stringify({ type, data: { id: `obj_${id}` } });
    const res = await fetch(`${runtime.url}/webhooks/standard`, {
      method: 'POST',
      headers: signStandard({ id, at: Date.now(), body, secret }),
      body,
    });
    await res.arrayBuffer();
    return res.status;
  };
  const open = async (path = '/'): Promise<Page> => {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${base}${path}`);
    return page;
  };
  const badges = (page: Page) => page.locator('#timeline-rows tr .badge');
  const cell = (page: Page, subscriber: string, field: string) =>
    page.locator(`td[data-subscriber="${subscriber}"][data-field="${field}"]`);
  /** The element that has the keyboard focus. */
  const focused = (page: Page) => page.locator(':focus');
  const claim = (page: Page, subscriber: string) =>
    page.locator(`tr[data-subscriber="${subscriber}"] td[data-field="claim"]`);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookonce-browser-'));
    runtime = await startLocal({
      declaration,
      port: 0,
      consolePort: 0,
      dataDir,
      env: { HOOKONCE_SECRET_STANDARD: SECRET },
      output: (line) => output.push(line),
      pollWaitSeconds: 1,
    });
    base = runtime.consoleUrl ?? '';
    ddb = new DynamoDBClient({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: runtime.endpoints.dynamodb,
    });
    await ddb.send(
      new PutItemCommand({
        TableName: runtime.resources.consumerTable,
        Item: { pk: { S: 'SWITCH#flaky' }, broken: { BOOL: true } },
      }),
    );
    browser = await chromium.launch(CHROMIUM);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  });

  afterEach(() => {
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    ddb?.destroy();
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows each request live, without a reload: new, duplicate, and a forged one rejected with its reason', async () => {
    const page = await open('/');
    await page.locator('#stream-status[data-state="open"]').waitFor();
    await page.evaluate("document.body.dataset.marker = 'this very page'");

    expect(await webhook('msg_b_1', 'invoice.paid')).toBe(202);
    expect(await webhook('msg_b_1', 'invoice.paid')).toBe(200);
    expect(await webhook('msg_b_forged', 'invoice.paid', FORGER)).toBe(401);
    await badges(page).filter({ hasText: 'rejected' }).waitFor();

    expect(await badges(page).allTextContents()).toEqual([
      'rejected: signature_mismatch',
      'duplicate',
      'new',
    ]);
    const rows = await page.locator('#timeline-rows tr').allInnerTexts();
    expect(rows[0]).toMatch(
      /^\d\d:\d\d:\d\d\tstandard\t401\trejected: signature_mismatch\t—\t—\t\d+ ms$/,
    );
    expect(rows[2]).toMatch(/^\d\d:\d\d:\d\d\tstandard\t202\tnew\tmsg_b_1\tinvoice\.paid\t\d+ ms$/);
    expect(await page.evaluate('document.body.dataset.marker')).toBe('this very page');
    expect(await page.locator('#timeline-rows').getAttribute('aria-live')).toBe('polite');
    // The counts strip catches up on its own: three received this minute.
    await page
      .locator('#counts figcaption', {
        hasText: /^3 received, 1 published, 1 duplicates, 1 rejected/,
      })
      .waitFor();
    await page.close();
  });

  it('filters from the keyboard, and the live stream keeps to the filter', async () => {
    const page = await open('/');
    await page.keyboard.press('Tab');
    expect(await focused(page).textContent()).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await focused(page).getAttribute('id')).toBe('main');
    // Tab through the page to the outcome filter, as a keyboard user would.
    for (let i = 0; i < 20; i++) {
      if ((await focused(page).getAttribute('id')) === 'filter-outcome') break;
      await page.keyboard.press('Tab');
    }
    expect(await focused(page).getAttribute('id')).toBe('filter-outcome');
    await page.keyboard.type('rejected');
    expect(await page.locator('#filter-outcome').inputValue()).toBe('rejected');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await focused(page).textContent()).toBe('Apply filters');
    await page.keyboard.press('Enter');
    await page.waitForURL(/outcome=rejected/);
    await page.locator('#stream-status[data-state="open"]').waitFor();

    expect(await webhook('msg_b_2', 'invoice.paid')).toBe(202);
    expect(await webhook('msg_b_forged_2', 'invoice.paid', FORGER)).toBe(401);
    await badges(page).nth(1).waitFor();

    expect(await badges(page).allTextContents()).toEqual([
      'rejected: signature_mismatch',
      'rejected: signature_mismatch',
    ]);
    expect(await page.locator('#timeline-rows').textContent()).not.toContain('msg_b_2');
    await page.close();
  });

  it("opens a delivery and sees each subscriber's claim; replays it to one, whose guard skips the duplicate", async () => {
    const page = await open('/');
    const link = page.locator('#timeline-rows a', { hasText: 'msg_b_1' }).first();
    await link.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/deliveries/standard/msg_b_1`);
    // The claims refresh themselves until every subscriber the event goes to has applied it.
    await claim(page, 'example')
      .filter({ hasText: /^DONE$/ })
      .waitFor();

    expect(await claim(page, 'flaky').textContent()).toBe('no claim');
    expect(
      await page.locator('tr[data-subscriber="flaky"] td[data-field="matches"]').textContent(),
    ).toBe('no');
    expect(await page.locator('#send-command-0').inputValue()).toBe(
      'npx hookonce send standard --file standard-msg_b_1.json --id msg_b_1',
    );
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.locator('#copied-send-command-0', { hasText: 'Copied.' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(
      'npx hookonce send standard --file standard-msg_b_1.json --id msg_b_1',
    );

    const stats = await open('/subscribers');
    const before = Number(await cell(stats, 'example', 'duplicates').textContent());
    expect(await page.getByLabel('Subscriber', { exact: true }).inputValue()).toBe('example');
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.waitForURL(/notice=/);
    await page
      .getByRole('status')
      .filter({ hasText: "sent standard:msg_b_1 to example's queue" })
      .waitFor();
    await cell(stats, 'example', 'duplicates')
      .filter({ hasText: new RegExp(`^${before + 1}$`) })
      .waitFor();

    expect(await claim(page, 'example').textContent()).toBe('DONE');
    await page.reload();
    expect(await claim(page, 'example').textContent()).toBe('DONE');
    expect(
      output.some(
        (l) => /example\s+duplicate skipped /.test(l) && l.includes('eventId=standard:msg_b_1 '),
      ),
    ).toBe(true);
    const ledger = await ddb.send(
      new GetItemCommand({
        TableName: runtime.resources.consumerTable,
        Key: { pk: { S: ledgerPk('standard:msg_b_1') } },
        ConsistentRead: true,
      }),
    );
    expect(ledger.Item?.applied?.N).toBe('1');
    await Promise.all([page.close(), stats.close()]);
  });

  it('peeks at a DLQ message with its last error, and redrives it once the consumer is repaired', async () => {
    expect(await webhook('msg_b_poison', 'poison.pill')).toBe(202);
    const page = await open('/subscribers');
    await cell(page, 'flaky', 'dlq').filter({ hasText: /^1$/ }).waitFor();

    await page.getByRole('button', { name: "Peek at flaky's dead-letter queue" }).click();
    await page.waitForURL(/peek=flaky/);
    const peeked = page.locator('#peek-flaky');

    expect(await peeked.locator('tbody tr').count()).toBe(1);
    expect(await peeked.locator('tbody tr td').first().textContent()).toBe('standard:msg_b_poison');
    expect(await peeked.textContent()).toContain('Error: flaky is broken');
    expect(await cell(page, 'flaky', 'failed').textContent()).not.toBe('0');

    await ddb.send(
      new DeleteItemCommand({
        TableName: runtime.resources.consumerTable,
        Key: { pk: { S: 'SWITCH#flaky' } },
      }),
    );
    await page
      .getByRole('button', { name: "Redrive flaky's dead-letter queue to its queue" })
      .click();
    await page.waitForURL(/notice=/);
    await page
      .getByRole('status')
      .filter({ hasText: "moved 1 message from flaky's DLQ back to its queue" })
      .waitFor();
    await page.locator('#peek-flaky').waitFor({ state: 'detached' });

    const delivery = await open('/deliveries/standard/msg_b_poison');
    // The redriven message goes through the poller and the consumer: on a loaded machine
    // that can take longer than a page's default wait.
    await claim(delivery, 'flaky')
      .filter({ hasText: /^DONE$/ })
      .waitFor({ timeout: 120_000 });
    await cell(page, 'flaky', 'dlq').filter({ hasText: /^0$/ }).waitFor({ timeout: 120_000 });
    const count = await eventually(
      async () =>
        (
          await ddb.send(
            new GetItemCommand({
              TableName: runtime.resources.consumerTable,
              Key: { pk: { S: 'COUNT#flaky#standard:msg_b_poison' } },
              ConsistentRead: true,
            }),
          )
        ).Item?.applied?.N,
      (n) => n !== undefined,
    );
    expect(count).toBe('1');
    await Promise.all([page.close(), delivery.close()]);
  }, 300_000);

  it('sends a signed test webhook from the providers page and shows the answer', async () => {
    const page = await open('/providers');

    expect(await page.locator('tr[data-provider="standard"] td').nth(2).textContent()).toBe(
      'HOOKONCE_SECRET_STANDARD',
    );
    await page.getByRole('button', { name: 'Send a signed test webhook to standard' }).click();
    await page.waitForURL(/notice=/);
    const notice = page.getByRole('status').filter({ hasText: 'standard answered 202 Accepted' });
    await notice.waitFor();
    expect(await page.locator('#notice pre').textContent()).toMatch(
      /^\{"id":"standard:msg_\w+","duplicate":false\}$/,
    );
    await page.getByRole('link', { name: 'Open the delivery' }).click();
    await claim(page, 'example')
      .filter({ hasText: /^DONE$/ })
      .waitFor();
    await page.close();
  });
});
