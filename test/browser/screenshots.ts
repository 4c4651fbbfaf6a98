/**
 * `npm run screenshots`: one PNG per console page in docs/console/ (timeline,
 * delivery, subscribers, providers), 1280×800, taken in Debian's Chromium of a
 * runtime started for the purpose in a temporary folder, after a few webhooks:
 * new ones, a duplicate, a forged one, and one that billing's consumer refuses
 * until it lands in billing's DLQ.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { HookonceDeclaration } from '../../functions/shared/declaration.ts';
import { CLI_ROOT } from '../../infra/cli/command.ts';
import { prepareDelivery, SAMPLES } from '../../infra/cli/deliveries.ts';
import { contentTypeOf } from '../../infra/cli/send.ts';
import { declaration as shipped } from '../../infra/hookonce.config.ts';
import { type LocalRuntime, PROJECT_ROOT, startLocal } from '../../infra/local/runtime.ts';
import { CHROMIUM } from '../support/browser.ts';

const OUT = join(PROJECT_ROOT, 'docs', 'console');

/** The shipped declaration, with billing's DLQ reached in seconds rather than minutes. */
const billing = shipped.subscribers.billing;
if (!billing) throw new Error('the shipped declaration has no billing subscriber');
const declaration: HookonceDeclaration = {
  ...shipped,
  subscribers: {
    ...shipped.subscribers,
    billing: {
      ...billing,
      consumer: { ...billing.consumer, timeoutSeconds: 2 },
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 2,
    },
  },
};

const folder = mkdtempSync(join(tmpdir(), 'hookonce-screenshots-'));
// The data folder as `npm start` names it, relative to where it runs.
process.chdir(folder);
const start = (port: number, consolePort: number) =>
  startLocal({
    declaration,
    port,
    consolePort,
    dataDir: '.hookonce',
    projectRoot: PROJECT_ROOT,
    env: { HOOKONCE_SECRET_STRIPE: 'whsec_screenshots0of0the0console' },
    output: () => undefined,
    pollWaitSeconds: 1,
  });
let runtime: LocalRuntime;
try {
  runtime = await start(3000, 3001);
} catch {
  runtime = await start(0, 0); // 3000 or 3001 is taken: any free ports will do
}

/** Signs a sample as the provider would, with the runtime's secret (or another), and sends it. */
async function send(
  provider: string,
  options: { id?: string; type?: string; body?: Buffer; secret?: string } = {},
): Promise<number> {
  const p = runtime.declaration.providers[provider];
  const secret = runtime.secrets[provider];
  if (!p || !secret) throw new Error(`no provider ${provider}`);
  const file = join(CLI_ROOT, 'samples', SAMPLES[p.scheme]);
  const delivery = prepareDelivery({
    name: provider,
    provider: p,
    body: options.body ?? readFileSync(file),
    contentType: contentTypeOf(file),
    url: `${runtime.url}/webhooks/${provider}`,
    secret: options.secret ?? secret.value,
    id: options.id,
    type: options.type,
    now: Date.now(),
  });
  const res = await fetch(delivery.url, {
    method: 'POST',
    headers: delivery.headers,
    body: delivery.body,
  });
  await res.arrayBuffer();
  return res.status;
}

const browser = await chromium.launch(CHROMIUM);
try {
  const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const base = runtime.consoleUrl ?? '';
  const shoot = async (name: string) => {
    await page.screenshot({ path: join(OUT, `${name}.png`) });
    process.stdout.write(`docs/console/${name}.png\n`);
  };
  mkdirSync(OUT, { recursive: true });

  await page.goto(base);
  await page.locator('#stream-status[data-state="open"]').waitFor();
  await send('stripe', { id: 'evt_1QhookonceDemo0001', type: 'invoice.paid' });
  await send('stripe', { id: 'evt_1QhookonceDemo0001', type: 'invoice.paid' });
  await send('github', { type: 'push' });
  await send('standard');
  await send('stripe', { id: 'evt_1QhookonceDemo0002', secret: 'whsec_not_the_one' });
  await send('stripe', {
    id: 'evt_1QhookonceBroken01',
    body: Buffer.from('{"object":"event","type":"invoice.paid","created":1795440120,"data":{}}'),
  });
  await send('slack');
  await page.locator('#timeline-rows tr').nth(6).waitFor();
  await page.locator('#counts figcaption', { hasText: /^7 received/ }).waitFor();
  await shoot('timeline');

  await page.goto(`${base}/deliveries/stripe/evt_1QhookonceDemo0001`);
  for (const subscriber of ['example', 'billing']) {
    await page
      .locator(`tr[data-subscriber="${subscriber}"] td[data-field="claim"]`, { hasText: /^DONE$/ })
      .waitFor();
  }
  await shoot('delivery');

  await page.goto(`${base}/subscribers`);
  await page
    .locator('td[data-subscriber="billing"][data-field="dlq"]', { hasText: /^1$/ })
    .waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: "Peek at billing's dead-letter queue" }).click();
  await page.locator('#peek-billing').waitFor();
  await page.locator('#subscriber-billing').scrollIntoViewIfNeeded();
  await shoot('subscribers');

  await page.goto(`${base}/providers`);
  await page.getByRole('button', { name: 'Send a signed test webhook to stripe' }).click();
  await page.locator('#notice').waitFor();
  await shoot('providers');
} finally {
  await browser.close();
  await runtime.stop();
  process.chdir(PROJECT_ROOT);
  rmSync(folder, { recursive: true, force: true });
}
