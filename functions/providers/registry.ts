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
import { splitSecrets } from './subscription.ts';
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
    const { subscriptionCheck, ...options } = p as ResolvedProviderOf<SchemeName>;
    const built = factory({ ...options, name });
    const provider = subscriptionCheck ? withSubscriptionCheck(built) : built;
    providers.set(name, { ...provider, retentionSeconds: p.retentionDays * 24 * 3600 });
  }
  return providers;
}

/**
 * A provider that answers the GET subscription check: its secret list also holds
 * `verify:<token>` entries, which its scheme never sees (neither as a key to check
 * nor as one to sign with); ingest reads them for the GET.
 */
function withSubscriptionCheck(provider: Provider): Provider {
  return {
    ...provider,
    subscriptionCheck: true,
    checkSecrets(secrets) {
      const { signing } = splitSecrets(secrets);
      if (signing.length === 0 && secrets.length > 0) {
        throw new ConfigError(
          'the secret list holds only verify tokens ("verify:…"): add the signing secret',
        );
      }
      provider.checkSecrets(signing);
    },
    inspect(request, context) {
      return provider.inspect(request, {
        ...context,
        secrets: splitSecrets(context.secrets).signing,
      });
    },
  };
}
