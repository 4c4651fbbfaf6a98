import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { INGEST_ENV, ingestEnvironment } from '../../functions/ingest/config.ts';
import { createIngestHandler } from '../../functions/ingest/wiring.ts';
import { resolveDeclaration } from '../../functions/shared/declaration.ts';
import type { Env } from '../../functions/shared/env.ts';
import { ConfigError } from '../../functions/shared/errors.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { signStandard, TEST_SECRET } from '../support/backends.ts';
import { lambdaContext, webhookEvent } from '../support/events.ts';
import { ed25519Pair, naclSignHex } from '../support/keys.ts';

const NOW = Date.UTC(2100, 0, 1);
const INTERNALS = 'Cannot read properties of undefined (reading "Item") at store.ts:136';

const declaration = resolveDeclaration({
  providers: {
    standard: { scheme: 'standard-webhooks' },
    'my-shop': { scheme: 'standard-webhooks' },
  },
  subscribers: {},
});

const validEnv: Env = {
  ...ingestEnvironment({
    tableName: 'hookonce-deliveries',
    topicArn: 'arn:aws:sns:us-east-1:000000000000:hookonce-events',
    providers: { ...declaration.providers },
    retentionSeconds: 3600,
    pendingShards: 16,
    payloadBucket: 'hookonce-payloads',
  }),
  HOOKONCE_SECRET_STANDARD: TEST_SECRET,
  HOOKONCE_SECRET_MY_SHOP: TEST_SECRET,
};

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

const without = (key: string): Env => {
  const env = { ...validEnv };
  delete (env as Record<string, string | undefined>)[key];
  return env;
};

describe('Module: ingest wiring', () => {
  describe('Function: createIngestHandler', () => {
    it('builds a handler from a complete environment', () => {
      // Act
      const handler = createIngestHandler(validEnv);

      // Assess
      expect(typeof handler).toBe('function');
    });

    it.each([INGEST_ENV.table, INGEST_ENV.topicArn, INGEST_ENV.providers])(
      'fails at cold start with a ConfigError naming %s when it is missing',
      (key) => {
        // Act
        const error = thrownBy(() => createIngestHandler(without(key)));

        // Assess
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toContain(key);
      },
    );

    it.each([
      [INGEST_ENV.providers, '{"standard":'],
      [INGEST_ENV.providers, '{}'],
      [INGEST_ENV.retentionSeconds, 'a week'],
      [INGEST_ENV.pendingShards, '-1'],
    ])('fails at cold start with a ConfigError naming %s when it is "%s"', (key, value) => {
      // Act
      const error = thrownBy(() => createIngestHandler({ ...validEnv, [key]: value }));

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(key);
    });

    it.each(['HOOKONCE_SECRET_STANDARD', 'HOOKONCE_SECRET_MY_SHOP'])(
      'fails at cold start with a ConfigError naming %s when it is missing',
      (key) => {
        // Act
        const error = thrownBy(() => createIngestHandler(without(key)));

        // Assess
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toContain(key);
      },
    );

    it.each([
      ['not base64', 'whsec_sec*ret!value'],
      ['a broken JSON list', '[whsec_c2VjcmV0LXZhbHVl]'],
      ['an empty key', 'whsec_'],
    ])(
      'fails at cold start with a ConfigError naming HOOKONCE_SECRET_MY_SHOP, not its value, when it is %s',
      (_, value) => {
        // Act
        const error = thrownBy(() =>
          createIngestHandler({ ...validEnv, HOOKONCE_SECRET_MY_SHOP: value }),
        );

        // Assess
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toContain('HOOKONCE_SECRET_MY_SHOP');
        expect(String(error)).not.toMatch(/sec\*ret|c2VjcmV0LXZhbHVl/);
      },
    );

    it('needs no HOOKONCE_SECRET_* when the secrets come from Secrets Manager', () => {
      // Prepare
      const env: Env = {
        ...without('HOOKONCE_SECRET_STANDARD'),
        HOOKONCE_SECRET_MY_SHOP: undefined,
        [INGEST_ENV.secretIds]: JSON.stringify({ standard: 'hookonce/standard' }),
      };

      // Act
      const build = () => createIngestHandler(env);

      // Assess
      expect(build).not.toThrow();
    });

    describe('a provider whose public keys are in the declaration', () => {
      const pair = ed25519Pair(31);
      const discordEnv = (publicKey: string): Env => ({
        ...validEnv,
        [INGEST_ENV.providers]: JSON.stringify({
          ...declaration.providers,
          discord: {
            ...resolveDeclaration({
              providers: { discord: { preset: 'discord', publicKeys: [pair.publicHex] } },
              subscribers: {},
            }).providers.discord,
            publicKeys: [publicKey],
          },
        }),
      });

      it('needs no HOOKONCE_SECRET_* for it, and answers its verified PING through the whole handler', async () => {
        // Prepare
        const handler = createIngestHandler(discordEnv(pair.publicHex), {
          clock: { now: () => NOW },
          log: createLogger({}, 'error', () => undefined),
        });
        const ping = JSON.stringify({ version: 1, application_id: '1', type: 0 });
        const timestamp = String(NOW / 1000);
        const event = webhookEvent({
          provider: 'discord',
          headers: {
            'x-signature-ed25519': naclSignHex(`${timestamp}${ping}`, pair.secretKey),
            'x-signature-timestamp': timestamp,
          },
          body: ping,
        });

        // Act
        const response = (await handler(
          event,
          lambdaContext('invocation-ping'),
        )) as APIGatewayProxyStructuredResultV2;

        // Assess
        expect(response.statusCode).toBe(204);
        expect(response.body).toBe('');
      });

      it('fails the cold start with a ConfigError naming the provider when a public key is bad', () => {
        // Act
        const error = thrownBy(() => createIngestHandler(discordEnv('not-a-key')));

        // Assess
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toContain(
          'provider "discord": publicKeys[0] is not an Ed25519 public key',
        );
      });
    });

    it('answers a bare 500 internal_error for an unexpected error inside the core, and logs it', async () => {
      // Prepare
      const lines: string[] = [];
      const claim = vi.fn(async () => {
        throw new TypeError(INTERNALS);
      });
      const handler = createIngestHandler(validEnv, {
        clock: { now: () => NOW },
        log: createLogger({}, 'debug', (line) => lines.push(line)),
        deliveries: { claim, takeOver: vi.fn(), markPublished: vi.fn(), release: vi.fn() },
        publisher: { publish: vi.fn(async () => undefined) },
      });
      const body = JSON.stringify({ type: 'invoice.paid' });
      const event = webhookEvent({
        provider: 'standard',
        headers: signStandard({ id: 'msg_500', at: NOW, body }),
        body,
      });

      // Act
      const response = (await handler(
        event,
        lambdaContext('invocation-500'),
      )) as APIGatewayProxyStructuredResultV2;

      // Assess
      expect(claim).toHaveBeenCalledTimes(1);
      expect(response.statusCode).toBe(500);
      const answer = JSON.parse(response.body ?? '') as Record<string, unknown>;
      expect(Object.keys(answer).sort()).toEqual(['error', 'message']);
      expect(answer.error).toBe('internal_error');
      expect(response.body).not.toContain('Cannot read properties');
      expect(response.body).not.toContain('store.ts');
      expect(lines.some((l) => l.includes('unhandled error') && l.includes('TypeError'))).toBe(
        true,
      );
    });

    it('never logs the event (body, signature headers), even with POWERTOOLS_LOGGER_LOG_EVENT=true', async () => {
      // Prepare: Powertools would log the whole event when this variable is set, unless told not to.
      vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
      const written: string[] = [];
      const streams = [process.stdout, process.stderr].map((stream) =>
        vi.spyOn(stream, 'write').mockImplementation((chunk) => {
          written.push(String(chunk));
          return true;
        }),
      );
      const consoles = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
        vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
          written.push(args.map(String).join(' '));
        }),
      );
      const body = JSON.stringify({ type: 'invoice.paid', marker: 'BODY-MARKER-7f3a' });
      const headers = signStandard({ id: 'msg_log_event', at: NOW, body });
      try {
        const handler = createIngestHandler(validEnv, {
          clock: { now: () => NOW },
          deliveries: {
            claim: vi.fn(async () => {
              throw new TypeError('stop here');
            }),
            takeOver: vi.fn(),
            markPublished: vi.fn(),
            release: vi.fn(),
          },
          publisher: { publish: vi.fn(async () => undefined) },
        });

        // Act
        await handler(
          webhookEvent({ provider: 'standard', headers, body }),
          lambdaContext('invocation-log-event'),
        );
      } finally {
        for (const spy of [...streams, ...consoles]) spy.mockRestore();
        vi.unstubAllEnvs();
      }

      // Assess: something was logged (the unhandled error), but never the event.
      const all = written.join('\n');
      expect(all).toContain('unhandled error');
      expect(all).not.toContain('BODY-MARKER-7f3a');
      expect(all).not.toContain(headers['webhook-signature'] ?? '-');
    });
  });
});
