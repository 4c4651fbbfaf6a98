import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import { describe, expect, it, vi } from 'vitest';
import { contentDeliveryId } from '../../functions/providers/hmac.ts';
import { PRESETS, type PresetName } from '../../functions/providers/presets.ts';
import { buildProviders } from '../../functions/providers/registry.ts';
import {
  type ProviderDeclaration,
  resolveDeclaration,
  signsDeliveryId,
  signsTimestamp,
  usesSecrets,
} from '../../functions/shared/declaration.ts';
import { CLI_ROOT } from '../../infra/cli/command.ts';
import { prepareDelivery, sampleFile } from '../../infra/cli/deliveries.ts';
import { contentTypeOf } from '../../infra/cli/send.ts';
import { withDevelopmentKeys } from '../../infra/local/dev-keys.ts';
import { generateSecret } from '../../infra/local/dev-secrets.ts';
import { inspectWith, NOW } from '../support/providers.ts';

/**
 * `hookonce send` for every preset: what it signs, from the preset's own sample,
 * with a development secret of the preset's format or a development key pair
 * (keyed presets), is what the preset's verifier accepts, on one injected clock.
 */

const URL_ = 'https://hooks.example.com/webhooks/p';
const names = Object.keys(PRESETS) as PresetName[];

/** The preset declared as an app would for local use: keyed presets with no keys, then given dev keys. */
function declared(preset: PresetName) {
  const { declaration, keys } = withDevelopmentKeys(
    { providers: { p: { preset } as ProviderDeclaration }, subscribers: {} },
    undefined,
    { generate: true },
  );
  const provider = resolveDeclaration(declaration).providers.p;
  if (!provider) throw new Error('not resolved');
  const secret = usesSecrets(provider) ? generateSecret(provider) : keys.p?.privateKey;
  if (!secret) throw new Error('no development key');
  return { provider, secret };
}

describe('Function: prepareDelivery, every preset', () => {
  it.each(names)('signs %s’s sample as its verifier accepts', (preset) => {
    // Prepare
    const { provider, secret } = declared(preset);
    const verifier = buildProviders({ p: provider }).get('p');
    if (!verifier) throw new Error('not built');
    const secrets = usesSecrets(provider) ? [secret] : [];
    verifier.checkSecrets(secrets);
    const file = join(CLI_ROOT, 'samples', sampleFile(provider));

    // Act
    const delivery = prepareDelivery({
      name: 'p',
      provider,
      body: readFileSync(file),
      contentType: contentTypeOf(file),
      url: URL_,
      secret,
      now: NOW,
      ...(signsDeliveryId(provider) ? { id: 'dlv_catalog_1' } : {}),
    });
    const url = new URL(delivery.url);
    const verdict = inspectWith(verifier, {
      headers: { ...delivery.headers, host: url.host, 'x-forwarded-proto': 'https' },
      body: delivery.body,
      secrets,
      now: NOW,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
    });

    // Assess: accepted, keyed by the signed id where there is one, typed as send said.
    expect(verdict).toMatchObject({ kind: 'accept', eventType: delivery.eventType });
    if (signsDeliveryId(provider)) expect(verdict).toMatchObject({ deliveryId: 'dlv_catalog_1' });
  });

  it.each(names)(
    'checks %s’s delivery 601 s after send signed it: refused where a time is signed, else accepted',
    (preset) => {
      // Prepare
      const { provider, secret } = declared(preset);
      const verifier = buildProviders({ p: provider }).get('p');
      if (!verifier) throw new Error('not built');
      const secrets = usesSecrets(provider) ? [secret] : [];
      const file = join(CLI_ROOT, 'samples', sampleFile(provider));
      const delivery = prepareDelivery({
        name: 'p',
        provider,
        body: readFileSync(file),
        contentType: contentTypeOf(file),
        url: URL_,
        secret,
        now: NOW,
      });

      // Act: checked 601 s after it was signed.
      const verdict = inspectWith(verifier, {
        headers: { ...delivery.headers, host: 'hooks.example.com', 'x-forwarded-proto': 'https' },
        body: delivery.body,
        secrets,
        now: NOW + 601_000,
        rawPath: '/webhooks/p',
      });

      // Assess: the clock the signer was given is the one the verifier compares with.
      if (signsTimestamp(provider)) {
        expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_old' });
      } else {
        expect(verdict).toMatchObject({ kind: 'accept' });
      }
    },
  );

  it('writes the signing time into linear’s webhookTimestamp, as @linear/sdk accepts: a send 50 s later is the same delivery', () => {
    // Prepare
    const { provider, secret } = declared('linear');
    const verifier = buildProviders({ p: provider }).get('p');
    if (!verifier) throw new Error('not built');
    const send = (now: number) =>
      prepareDelivery({
        name: 'p',
        provider,
        body: readFileSync(join(CLI_ROOT, 'samples', sampleFile(provider))),
        contentType: 'application/json',
        url: URL_,
        secret,
        now,
      });

    // Act: sent, then sent again 50 s later, as Linear retries with a fresh timestamp.
    const first = send(NOW - 50_000);
    const again = send(NOW);
    const verdicts = [
      inspectWith(verifier, {
        headers: first.headers,
        body: first.body,
        secrets: [secret],
        now: NOW - 50_000,
      }),
      inspectWith(verifier, {
        headers: again.headers,
        body: again.body,
        secrets: [secret],
        now: NOW,
      }),
    ];
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    let oracle: boolean;
    try {
      oracle = new LinearWebhookClient(secret).verify(
        again.body,
        again.headers['linear-signature'] ?? '',
      );
    } finally {
      vi.useRealTimers();
    }

    // Assess: each accepted under the id send made, both the one delivery the key names.
    expect(JSON.parse(first.body.toString()).webhookTimestamp).toBe(NOW - 50_000);
    expect(JSON.parse(again.body.toString()).webhookTimestamp).toBe(NOW);
    expect(oracle).toBe(true);
    expect(verdicts[0]).toMatchObject({ kind: 'accept', providerDeliveryId: first.deliveryId });
    expect(verdicts[1]).toMatchObject({ kind: 'accept', providerDeliveryId: again.deliveryId });
    const key = contentDeliveryId(again.body, 'webhookTimestamp');
    expect(verdicts.map((v) => (v.kind === 'accept' ? v.deliveryId : v.kind))).toEqual([key, key]);
  });

  it('keeps a numeric id a number (telegram’s update_id), and types adyen in its first item, still signed', () => {
    // Prepare
    const telegram = declared('telegram');
    const adyen = declared('adyen');
    const verifier = buildProviders({ p: adyen.provider }).get('p');
    if (!verifier) throw new Error('not built');
    const send = (d: ReturnType<typeof declared>, more: { id?: string; type?: string }) =>
      prepareDelivery({
        name: 'p',
        provider: d.provider,
        body: readFileSync(join(CLI_ROOT, 'samples', sampleFile(d.provider))),
        contentType: 'application/json',
        url: URL_,
        secret: d.secret,
        now: NOW,
        ...more,
      });

    // Act
    const update = send(telegram, { id: '10042' });
    const capture = send(adyen, { type: 'CAPTURE' });

    // Assess
    expect(JSON.parse(update.body.toString()).update_id).toBe(10042);
    expect(capture.eventType).toBe('CAPTURE');
    const verdict = inspectWith(verifier, {
      headers: capture.headers,
      body: capture.body,
      secrets: [adyen.secret],
      now: NOW,
    });
    expect(verdict).toMatchObject({ kind: 'accept', eventType: 'CAPTURE' });
  });
});
