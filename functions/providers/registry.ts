import type { ResolvedProvider } from '../shared/declaration.ts';
import { ConfigError } from '../shared/errors.ts';
import { standardWebhooks } from './standard-webhooks.ts';
import type { Provider } from './types.ts';

/** Turns each declared provider into its verifier. Adding a provider is a file here, never a change to the core. */
export function buildProviders(
  declared: Readonly<Record<string, ResolvedProvider>>,
): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const [name, p] of Object.entries(declared)) {
    switch (p.scheme) {
      case 'standard-webhooks':
        providers.set(
          name,
          standardWebhooks({
            name,
            maxBodyBytes: p.maxBodyBytes,
            toleranceSeconds: p.toleranceSeconds,
          }),
        );
        break;
      default:
        throw new ConfigError(
          `provider "${name}": unknown scheme "${(p as { scheme: string }).scheme}"`,
        );
    }
  }
  return providers;
}
