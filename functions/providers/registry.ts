import type { ResolvedProvider, ResolvedProviderOf, SchemeName } from '../shared/declaration.ts';
import { ConfigError } from '../shared/errors.ts';
import { asymmetricProvider } from './asymmetric.ts';
import { basicProvider } from './basic.ts';
import { github } from './github.ts';
import { hmacProvider } from './hmac.ts';
import { jwtProvider } from './jwt.ts';
import { shopify } from './shopify.ts';
import { slack } from './slack.ts';
import { standardWebhooks } from './standard-webhooks.ts';
import { stripe } from './stripe.ts';
import { tokenProvider } from './token.ts';
import { twilio } from './twilio.ts';
import type { Provider } from './types.ts';

/** Builds one provider's verifier from its name and its resolved declaration. */
export type ProviderFactory<S extends SchemeName> = (
  options: { name: string } & Omit<ResolvedProviderOf<S>, 'scheme'>,
) => Provider;

/**
 * Scheme → factory. Adding a provider is a file in this folder, its options in the
 * declaration and one line here, never a change to the ingest core.
 */
export const FACTORIES: { readonly [S in SchemeName]: ProviderFactory<S> } = {
  'standard-webhooks': standardWebhooks,
  stripe,
  github,
  shopify,
  slack,
  twilio,
  hmac: hmacProvider,
  asymmetric: asymmetricProvider,
  token: tokenProvider,
  basic: basicProvider,
  jwt: jwtProvider,
};

/** Turns each declared provider into its verifier. */
export function buildProviders(
  declared: Readonly<Record<string, ResolvedProvider>>,
): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const [name, p] of Object.entries(declared)) {
    const factory = Object.hasOwn(FACTORIES, p.scheme)
      ? (FACTORIES[p.scheme] as ProviderFactory<SchemeName>)
      : undefined;
    if (!factory) {
      throw new ConfigError(
        `provider "${name}": unknown scheme "${(p as { scheme: string }).scheme}"; this build knows ${Object.keys(FACTORIES).join(', ')}`,
      );
    }
    const provider = factory({ ...(p as ResolvedProviderOf<SchemeName>), name });
    providers.set(name, { ...provider, retentionSeconds: p.retentionDays * 24 * 3600 });
  }
  return providers;
}
