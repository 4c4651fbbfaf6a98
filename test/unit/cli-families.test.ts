import { describe, expect, it } from 'vitest';
import { buildProviders } from '../../functions/providers/registry.ts';
import {
  type ProviderDeclaration,
  resolveDeclaration,
} from '../../functions/shared/declaration.ts';
import { UsageError } from '../../infra/cli/command.ts';
import { prepareDelivery } from '../../infra/cli/deliveries.ts';
import { generateSecret } from '../../infra/local/dev-secrets.ts';
import { inspectWith, NOW } from '../support/providers.ts';

/**
 * `hookonce send` for the families that take a secret: what the CLI signs with a
 * development secret of the provider's own format is what the verifier accepts.
 */

const BODY = Buffer.from(JSON.stringify({ id: 'evt_1', type: 'order.paid', data: { n: 1 } }));
const URL_ = 'https://hooks.example.com/webhooks/p?tenant=7';

function roundTrip(declared: ProviderDeclaration, options: { id?: string; type?: string } = {}) {
  const provider = resolveDeclaration({ providers: { p: declared }, subscribers: {} }).providers.p;
  if (!provider) throw new Error('not resolved');
  const secret = generateSecret(provider);
  const verifier = buildProviders({ p: provider }).get('p');
  if (!verifier) throw new Error('not built');
  verifier.checkSecrets([secret]);
  const delivery = prepareDelivery({
    name: 'p',
    provider,
    body: BODY,
    contentType: 'application/json',
    url: URL_,
    secret,
    now: NOW,
    ...options,
  });
  const url = new URL(delivery.url);
  return {
    delivery,
    verdict: inspectWith(verifier, {
      headers: { ...delivery.headers, host: url.host, 'x-forwarded-proto': 'https' },
      body: delivery.body,
      secrets: [secret],
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
    }),
  };
}

describe('Function: prepareDelivery, scheme families', () => {
  it.each<[string, ProviderDeclaration]>([
    [
      'a structured hmac header over the URL, with a whsec_ secret and a millisecond timestamp',
      {
        scheme: 'hmac',
        header: 'x-sig',
        structured: { signatureKey: 'v1', timestampKey: 't' },
        timestampFormat: 'milliseconds',
        signedContent: '{method} {url} {timestamp}.{body}',
        algorithm: 'sha256',
        encoding: 'base64',
        secretEncoding: 'whsec',
        deliveryId: { jsonField: 'id' },
        eventTypeField: 'type',
      },
    ],
    [
      'an hmac with an ISO 8601 timestamp header and a signed id header',
      {
        scheme: 'hmac',
        header: 'x-sig',
        timestampHeader: 'x-ts',
        timestampFormat: 'iso8601',
        deliveryId: { header: 'x-id' },
        signedContent: '{id}{timestamp}{body}',
        algorithm: 'sha512',
        encoding: 'hex',
        secretEncoding: 'base64',
        eventTypeHeader: 'x-type',
      },
    ],
    [
      'a token',
      { scheme: 'token', header: 'authorization', prefix: 'Bearer ', eventTypeField: 'type' },
    ],
    ['HTTP Basic', { scheme: 'basic', eventTypeField: 'type' }],
  ])('signs %s as its verifier accepts', (_, declared) => {
    // Act
    const { delivery, verdict } = roundTrip(declared, {
      ...('deliveryId' in declared && declared.deliveryId ? { id: 'evt_cli' } : {}),
      type: 'order.shipped',
    });

    // Assess
    expect(verdict).toMatchObject({ kind: 'accept', eventType: 'order.shipped' });
    expect(delivery.eventType).toBe('order.shipped');
  });

  it('refuses to sign for a provider verified with public keys with anything but a private key, saying why', () => {
    // Prepare
    const provider = resolveDeclaration({
      providers: { p: { preset: 'discord', publicKeys: ['0123456789abcdef'.repeat(4)] } },
      subscribers: {},
    }).providers.p;
    if (!provider) throw new Error('not resolved');

    // Act
    const signing = () =>
      prepareDelivery({
        name: 'p',
        provider,
        body: BODY,
        contentType: 'application/json',
        url: URL_,
        secret: 'no-private-key-here',
        now: NOW,
      });

    // Assess
    expect(signing).toThrow(UsageError);
    expect(signing).toThrow(/sign with the matching private key \(PKCS #8 PEM\), not a secret/);
  });
});
