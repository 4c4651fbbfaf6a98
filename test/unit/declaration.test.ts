import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_RECEIVE_COUNT,
  DEFAULT_PENDING_SHARDS,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_TOLERANCE_SECONDS,
  type HookonceDeclaration,
  longestRetentionDays,
  NO_TIMESTAMP_RETENTION_DAYS,
  type ProviderDeclaration,
  type ResolvedProvider,
  resolveDeclaration,
  signsDeliveryId,
  signsTimestamp,
  toFilterPolicy,
  usesSecrets,
} from '../../functions/shared/declaration.ts';
import { declaration as defaultDeclaration } from '../../infra/hookonce.config.ts';

const consumer = { entry: 'functions/consumers/example/handler.ts' };

const minimal: HookonceDeclaration = {
  providers: { standard: { scheme: 'standard-webhooks' } },
  subscribers: { billing: { consumer } },
};

function problemsOf(declaration: HookonceDeclaration): string {
  try {
    resolveDeclaration(declaration);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the declaration was accepted');
}

describe('Module: declaration', () => {
  describe('Function: resolveDeclaration', () => {
    it('fills every default', () => {
      // Act
      const resolved = resolveDeclaration(minimal);

      // Assess
      expect(resolved).toEqual({
        name: 'hookonce',
        providers: {
          standard: {
            scheme: 'standard-webhooks',
            maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
            toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
            retentionDays: DEFAULT_RETENTION_DAYS,
          },
        },
        subscribers: {
          billing: {
            filter: {},
            consumer: {
              entry: consumer.entry,
              handler: 'handler',
              timeoutSeconds: 30,
              memorySize: 256,
            },
            batchSize: DEFAULT_BATCH_SIZE,
            batchingWindowSeconds: 0,
            maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
            visibilityTimeoutSeconds: 180,
          },
        },
        retentionDays: DEFAULT_RETENTION_DAYS,
        pendingShards: DEFAULT_PENDING_SHARDS,
        throttle: { rateLimit: 1000, burstLimit: 2000 },
        existingSecrets: {},
        warnings: [],
      });
      expect(DEFAULT_TOLERANCE_SECONDS).toBe(300);
    });

    it('keeps what is declared, and derives the visibility timeout from the consumer timeout', () => {
      // Act
      const resolved = resolveDeclaration({
        name: 'shop',
        providers: {
          standard: { scheme: 'standard-webhooks', maxBodyBytes: 1024, toleranceSeconds: 60 },
        },
        subscribers: {
          billing: {
            consumer: { ...consumer, handler: 'main', timeoutSeconds: 10, memorySize: 512 },
            filter: { types: ['standard.invoice.'] },
            batchSize: 1,
            maxReceiveCount: 3,
          },
        },
        retentionDays: 3,
        pendingShards: 4,
      });

      // Assess
      expect(resolved.name).toBe('shop');
      expect(resolved.providers.standard).toMatchObject({
        maxBodyBytes: 1024,
        toleranceSeconds: 60,
      });
      expect(resolved.subscribers.billing).toEqual({
        filter: { types: ['standard.invoice.'] },
        consumer: { entry: consumer.entry, handler: 'main', timeoutSeconds: 10, memorySize: 512 },
        batchSize: 1,
        batchingWindowSeconds: 0,
        maxReceiveCount: 3,
        visibilityTimeoutSeconds: 60,
      });
      expect(resolved.retentionDays).toBe(3);
      expect(resolved.pendingShards).toBe(4);
    });

    it('lists every problem it finds in one error', () => {
      // Act
      const message = problemsOf({
        providers: {
          Stripe: { scheme: 'standard-webhooks' },
          big: { scheme: 'standard-webhooks', maxBodyBytes: DEFAULT_MAX_BODY_BYTES + 1 },
        },
        subscribers: {
          team_a: { consumer },
          ledger: { consumer, filter: { providers: ['github'] }, batchSize: 11 },
        },
      });

      // Assess
      expect(message).toContain('invalid hookonce declaration');
      expect(message).toContain(
        'provider "Stripe": names are lower-case letters, digits and dashes',
      );
      expect(message).toContain(
        `provider "big": maxBodyBytes must be a whole number between 1 and ${DEFAULT_MAX_BODY_BYTES}`,
      );
      expect(message).toContain(
        'subscriber "team_a": names are lower-case letters, digits and dashes',
      );
      expect(message).toContain('subscriber "ledger": filter names unknown provider "github"');
      expect(message).toContain(
        'subscriber "ledger": batchSize must be a whole number between 1 and 10',
      );
      expect(message.split('\n  - ')).toHaveLength(6);
    });

    it.each([
      ['a name that starts with a digit', '1stripe'],
      ['a name longer than 32 characters', `p${'x'.repeat(32)}`],
      ['an empty name', ''],
      ['a name with a dot', 'stripe.com'],
    ])('rejects a provider with %s', (_, name) => {
      // Act
      const message = problemsOf({
        providers: { [name]: { scheme: 'standard-webhooks' } },
        subscribers: {},
      });

      // Assess
      expect(message).toContain(`provider "${name}": names are lower-case letters`);
    });

    it.each([0, -1, 1.5, DEFAULT_MAX_BODY_BYTES + 1])('rejects maxBodyBytes %s', (maxBodyBytes) => {
      // Act
      const message = problemsOf({
        providers: { standard: { scheme: 'standard-webhooks', maxBodyBytes } },
        subscribers: {},
      });

      // Assess
      expect(message).toContain(
        'provider "standard": maxBodyBytes must be a whole number between 1 and',
      );
    });

    it.each([1, DEFAULT_MAX_BODY_BYTES])('accepts maxBodyBytes %s', (maxBodyBytes) => {
      // Act
      const resolved = resolveDeclaration({
        providers: { standard: { scheme: 'standard-webhooks', maxBodyBytes } },
        subscribers: {},
      });

      // Assess
      expect(resolved.providers.standard?.maxBodyBytes).toBe(maxBodyBytes);
    });

    it.each([0, 11])('rejects batchSize %s', (batchSize) => {
      // Act
      const message = problemsOf({ ...minimal, subscribers: { billing: { consumer, batchSize } } });

      // Assess
      expect(message).toContain(
        'subscriber "billing": batchSize must be a whole number between 1 and 10',
      );
    });

    it('rejects an unknown scheme and a declaration without providers', () => {
      // Act
      const unknown = problemsOf({
        providers: { standard: { scheme: 'svix' } as unknown as { scheme: 'standard-webhooks' } },
        subscribers: {},
      });
      const none = problemsOf({ providers: {}, subscribers: {} });

      // Assess
      expect(unknown).toContain('provider "standard": unknown scheme "svix"; use one of');
      expect(none).toContain('declare at least one provider');
    });
  });

  describe('Function: resolveDeclaration, per scheme', () => {
    const resolveOne = (p: ProviderDeclaration) =>
      resolveDeclaration({ providers: { p }, subscribers: {} }).providers.p;

    it('fills the defaults of every scheme', () => {
      // Act
      const resolved = resolveDeclaration({
        providers: {
          standard: { scheme: 'standard-webhooks' },
          stripe: { scheme: 'stripe' },
          github: { scheme: 'github' },
          shopify: { scheme: 'shopify' },
          slack: { scheme: 'slack' },
          twilio: { scheme: 'twilio' },
          hmac: { scheme: 'hmac', header: 'X-Signature', algorithm: 'sha256', encoding: 'hex' },
        },
        subscribers: {},
      }).providers;

      // Assess
      const maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
      const toleranceSeconds = DEFAULT_TOLERANCE_SECONDS;
      // Schemes that sign a timestamp keep keys 7 days; those that sign none, 30.
      const timed = { maxBodyBytes, toleranceSeconds, retentionDays: 7 };
      const untimed = { maxBodyBytes, retentionDays: 30 };
      expect(resolved).toEqual({
        standard: { scheme: 'standard-webhooks', ...timed },
        stripe: { scheme: 'stripe', ...timed },
        github: { scheme: 'github', ...untimed },
        shopify: { scheme: 'shopify', ...untimed },
        slack: { scheme: 'slack', ...timed },
        twilio: { scheme: 'twilio', ...untimed, eventType: 'twilio' },
        hmac: {
          scheme: 'hmac',
          ...untimed,
          header: 'x-signature',
          prefix: '',
          algorithm: 'sha256',
          encoding: 'hex',
          signedContent: '{body}',
        },
      });
    });

    it('resolves a generic HMAC signer with a timestamp: lower-cased headers, the {timestamp}.{body} template', () => {
      // Act
      const resolved = resolveOne({
        scheme: 'hmac',
        header: 'X-Acme-Signature',
        prefix: 'sha512=',
        algorithm: 'sha512',
        encoding: 'base64',
        timestampHeader: 'X-Acme-Timestamp',
        deliveryId: { header: 'X-Acme-Delivery' },
        eventTypeField: 'event.type',
      });

      // Assess
      expect(resolved).toEqual({
        scheme: 'hmac',
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
        retentionDays: DEFAULT_RETENTION_DAYS,
        header: 'x-acme-signature',
        prefix: 'sha512=',
        algorithm: 'sha512',
        encoding: 'base64',
        timestampHeader: 'x-acme-timestamp',
        toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
        signedContent: '{timestamp}.{body}',
        deliveryId: { header: 'x-acme-delivery' },
        eventTypeField: 'event.type',
      });
    });

    it('keeps a Twilio publicUrl and eventType', () => {
      // Act
      const resolved = resolveOne({
        scheme: 'twilio',
        publicUrl: 'https://hooks.example.com/webhooks/twilio',
        eventType: 'sms.status',
      });

      // Assess
      expect(resolved).toEqual({
        scheme: 'twilio',
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
        retentionDays: NO_TIMESTAMP_RETENTION_DAYS,
        publicUrl: 'https://hooks.example.com/webhooks/twilio',
        eventType: 'sms.status',
      });
    });

    it('keeps a declared retentionDays per provider, and never less than 30 days by default for a scheme that signs no timestamp', () => {
      // Act
      const resolved = resolveDeclaration({
        retentionDays: 45,
        providers: {
          stripe: { scheme: 'stripe' },
          github: { scheme: 'github' },
          shopify: { scheme: 'shopify', retentionDays: 90 },
          slack: { scheme: 'slack', retentionDays: 2 },
        },
        subscribers: {},
      });
      const short = resolveDeclaration({
        retentionDays: 3,
        providers: { stripe: { scheme: 'stripe' }, github: { scheme: 'github' } },
        subscribers: {},
      });

      // Assess
      expect(resolved.providers.stripe?.retentionDays).toBe(45);
      expect(resolved.providers.github?.retentionDays).toBe(45);
      expect(resolved.providers.shopify?.retentionDays).toBe(90);
      expect(resolved.providers.slack?.retentionDays).toBe(2);
      expect(longestRetentionDays(resolved)).toBe(90);
      expect(short.providers.stripe?.retentionDays).toBe(3);
      expect(short.providers.github?.retentionDays).toBe(30);
    });

    it('refuses a provider retentionDays outside 1 to 365', () => {
      // Act
      const resolving = () => resolveOne({ scheme: 'github', retentionDays: 0 });

      // Assess
      expect(resolving).toThrow(/retentionDays must be a whole number between 1 and 365/);
    });

    it('says which providers sign their delivery id, and so are keyed by it', () => {
      // Prepare
      const hmac = {
        scheme: 'hmac',
        header: 'x-sig',
        algorithm: 'sha256',
        encoding: 'hex',
      } as const;
      const resolved = resolveDeclaration({
        providers: {
          stripe: { scheme: 'stripe' },
          github: { scheme: 'github' },
          shopify: { scheme: 'shopify' },
          twilio: { scheme: 'twilio' },
          signed: { ...hmac, signedContent: '{id}.{body}', deliveryId: { header: 'x-id' } },
          unsigned: { ...hmac, deliveryId: { header: 'x-id' } },
          field: { ...hmac, deliveryId: { jsonField: 'id' } },
          none: { ...hmac },
        },
        subscribers: {},
      }).providers;

      // Act
      const signs = Object.fromEntries(
        Object.entries(resolved).map(([name, p]) => [name, signsDeliveryId(p)]),
      );

      // Assess
      expect(signs).toEqual({
        stripe: true,
        github: false,
        shopify: false,
        twilio: false,
        signed: true,
        unsigned: false,
        field: true,
        none: false,
      });
    });

    it('signs the delivery id of the default hmac provider, so the default declaration warns of nothing', () => {
      // Act
      const resolved = resolveDeclaration(defaultDeclaration);

      // Assess
      expect(resolved.providers.hmac).toMatchObject({ signedContent: '{id}.{timestamp}.{body}' });
      expect(resolved.warnings).toEqual([]);
    });

    it('warns where an hmac delivery id header is not in signedContent, and not where it is', () => {
      // Prepare
      const hmac = (signedContent: string) =>
        resolveDeclaration({
          providers: {
            acme: {
              scheme: 'hmac',
              header: 'x-sig',
              algorithm: 'sha256',
              encoding: 'hex',
              signedContent,
              deliveryId: { header: 'x-acme-id' },
            },
          },
          subscribers: {},
        });

      // Act
      const unsigned = hmac('{body}');
      const signed = hmac('{id}.{body}');

      // Assess
      expect(unsigned.warnings).toEqual([
        expect.stringMatching(
          /provider "acme": the delivery id header "x-acme-id" is not in signedContent/,
        ),
      ]);
      expect(signed.warnings).toEqual([]);
    });

    it('survives the trip through JSON that takes it to the ingest function', () => {
      // Prepare
      const resolved = resolveDeclaration({
        providers: {
          twilio: { scheme: 'twilio', publicUrl: 'https://h.example.com/t' },
          hmac: {
            scheme: 'hmac',
            header: 'x-sig',
            algorithm: 'sha1',
            encoding: 'hex',
            deliveryId: { jsonField: 'meta.id' },
          },
        },
        subscribers: {},
      }).providers;

      // Act
      const travelled = JSON.parse(JSON.stringify(resolved));

      // Assess
      expect(travelled).toEqual(resolved);
    });

    it.each<[string, ProviderDeclaration, string]>([
      [
        'an option of another scheme',
        { scheme: 'github', toleranceSeconds: 60 } as unknown as ProviderDeclaration,
        'scheme "github" has no option "toleranceSeconds"',
      ],
      [
        'a misspelt option',
        { scheme: 'stripe', tolerance: 60 } as unknown as ProviderDeclaration,
        'scheme "stripe" has no option "tolerance" (it takes toleranceSeconds)',
      ],
      [
        'a tolerance of 0',
        { scheme: 'slack', toleranceSeconds: 0 },
        'toleranceSeconds must be a whole number between 1 and 3600, got 0',
      ],
      [
        'a publicUrl that is no URL',
        { scheme: 'twilio', publicUrl: 'hooks.example.com/twilio' },
        'publicUrl must be an http(s) URL',
      ],
      [
        'a publicUrl with a query string',
        { scheme: 'twilio', publicUrl: 'https://hooks.example.com/twilio?x=1' },
        'publicUrl must not hold a query string',
      ],
      [
        'an event type with a space',
        { scheme: 'twilio', eventType: 'sms status' },
        'eventType must be 1 to 128 letters',
      ],
      [
        'a header name with a space',
        { scheme: 'hmac', header: 'x signature', algorithm: 'sha256', encoding: 'hex' },
        'header must be an HTTP header name, got "x signature"',
      ],
      [
        'an unknown algorithm',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'md5',
          encoding: 'hex',
        } as unknown as ProviderDeclaration,
        'algorithm must be "sha1", "sha256" or "sha512", got "md5"',
      ],
      [
        'an unknown encoding',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'base32',
        } as unknown as ProviderDeclaration,
        'encoding must be "hex" or "base64", got "base32"',
      ],
      [
        'a tolerance without a timestamp header',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          toleranceSeconds: 60,
        },
        'toleranceSeconds needs a timestampHeader',
      ],
      [
        'a template without {body}',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          signedContent: 'x',
        },
        'signedContent must hold {body} exactly once',
      ],
      [
        'a template with an unknown placeholder',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          signedContent: '{uri}{body}',
        },
        'signedContent knows {body}, {timestamp}, {id}, {method}, {url}, {path} and {header:<name>}, not {uri}',
      ],
      [
        'a template with {timestamp} and no timestamp header',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          signedContent: '{timestamp}.{body}',
        },
        'signedContent uses {timestamp}, so set timestampHeader',
      ],
      [
        'a timestamp header that the template does not sign',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          timestampHeader: 'x-ts',
          signedContent: '{body}',
        },
        'signedContent must hold {timestamp} when timestampHeader is set',
      ],
      [
        'a template with {id} and no delivery id header',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          signedContent: '{id}.{body}',
        },
        'signedContent uses {id}, so set deliveryId: { header }',
      ],
      [
        'a delivery id with both a header and a field',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          deliveryId: { header: 'x-id', jsonField: 'id' } as unknown as { header: string },
        },
        'deliveryId is either { header } or { jsonField }',
      ],
      [
        'an event type field that is no path',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          eventTypeField: 'event..type',
        },
        'eventTypeField must be a JSON field or a dotted path',
      ],
      [
        'the same header for the signature and the timestamp',
        {
          scheme: 'hmac',
          header: 'x-sig',
          algorithm: 'sha256',
          encoding: 'hex',
          timestampHeader: 'X-Sig',
        },
        'timestampHeader and header must be different headers',
      ],
    ])('rejects %s, saying what is wrong', (_, provider, expected) => {
      // Act
      const message = problemsOf({ providers: { p: provider }, subscribers: {} });

      // Assess
      expect(message).toContain(`provider "p": ${expected}`);
    });

    it('never repeats the password of a publicUrl it refuses', () => {
      // Act
      const message = problemsOf({
        providers: { p: { scheme: 'twilio', publicUrl: 'ftp://twilio:hunter2secret@h.example/x' } },
        subscribers: {},
      });

      // Assess
      expect(message).toContain('publicUrl must be an http(s) URL, got "ftp://…@h.example/x"');
      expect(message).not.toContain('hunter2secret');
    });

    it('reports every problem of a generic HMAC declaration at once', () => {
      // Act
      const message = problemsOf({
        providers: {
          p: {
            scheme: 'hmac',
            header: '',
            algorithm: 'md5',
            encoding: 'base32',
            signedContent: '{uri}',
          } as unknown as ProviderDeclaration,
        },
        subscribers: {},
      });

      // Assess
      expect(message.split('\n  - ')).toHaveLength(6);
    });
  });

  describe('Function: resolveDeclaration, scheme families', () => {
    const ED25519_KEY = '0123456789abcdef'.repeat(4);
    const P256_KEY =
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQlqGutv60v+4w1ozlLumZxJbNIw7hQKigppx6YU8TCJmssjheYgtwKcUknyXFgC8s4MC1GIhSKZv2RbdVSPN2w==';
    const resolveAll = (providers: Record<string, ProviderDeclaration>) =>
      resolveDeclaration({ providers, subscribers: {} });

    it('fills the defaults of every family, leaving options not declared absent', () => {
      // Act
      const resolved = resolveAll({
        signer: {
          scheme: 'asymmetric',
          algorithm: 'ed25519',
          encoding: 'hex',
          header: 'X-Signature-Ed25519',
          timestampHeader: 'X-Signature-Timestamp',
          signedContent: '{timestamp}{body}',
          publicKeys: [ED25519_KEY],
        },
        token: { scheme: 'token', header: 'X-Gitlab-Token' },
        basic: { scheme: 'basic' },
        jwt: { scheme: 'jwt', algorithms: ['ES256'], publicKeys: [P256_KEY] },
      }).providers;

      // Assess
      const maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
      expect(resolved).toEqual({
        signer: {
          scheme: 'asymmetric',
          maxBodyBytes,
          retentionDays: DEFAULT_RETENTION_DAYS,
          algorithm: 'ed25519',
          encoding: 'hex',
          header: 'x-signature-ed25519',
          prefix: '',
          timestampHeader: 'x-signature-timestamp',
          toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
          signedContent: '{timestamp}{body}',
          publicKeys: [ED25519_KEY],
        },
        token: {
          scheme: 'token',
          maxBodyBytes,
          retentionDays: NO_TIMESTAMP_RETENTION_DAYS,
          header: 'x-gitlab-token',
          prefix: '',
        },
        basic: { scheme: 'basic', maxBodyBytes, retentionDays: NO_TIMESTAMP_RETENTION_DAYS },
        jwt: {
          scheme: 'jwt',
          maxBodyBytes,
          retentionDays: NO_TIMESTAMP_RETENTION_DAYS,
          header: 'authorization',
          prefix: 'Bearer ',
          algorithms: ['ES256'],
          publicKeys: [P256_KEY],
          toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
        },
      });
    });

    it('resolves a structured header with its separators, and writes {header:…} of the timestamp and id headers as {timestamp} and {id}', () => {
      // Act
      const resolved = resolveAll({
        stripeish: {
          scheme: 'hmac',
          header: 'Stripe-Signature',
          structured: { signatureKey: 'v1', timestampKey: 't' },
          algorithm: 'sha256',
          encoding: 'hex',
        },
        twitchish: {
          scheme: 'hmac',
          header: 'X-Sig',
          prefix: 'sha256=',
          timestampHeader: 'X-TS',
          timestampFormat: 'iso8601',
          deliveryId: { header: 'X-ID' },
          signedContent: '{header:X-ID}{header:x-ts}{header:X-Other}{body}',
          algorithm: 'sha256',
          encoding: 'hex',
        },
      }).providers;

      // Assess
      expect(resolved.stripeish).toMatchObject({
        structured: { separator: ',', assignment: '=', signatureKey: 'v1', timestampKey: 't' },
        toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
        signedContent: '{timestamp}.{body}',
        retentionDays: DEFAULT_RETENTION_DAYS,
      });
      expect(resolved.twitchish).toMatchObject({
        timestampFormat: 'iso8601',
        signedContent: '{id}{timestamp}{header:x-other}{body}',
      });
      expect(signsDeliveryId(resolved.twitchish as ResolvedProvider)).toBe(true);
    });

    it('says which families sign their delivery id and a timestamp, and which take a secret', () => {
      // Prepare
      const resolved = resolveAll({
        'asym-id': {
          scheme: 'asymmetric',
          algorithm: 'ed25519',
          encoding: 'hex',
          header: 'x-sig',
          deliveryId: { jsonField: 'id' },
          publicKeys: [ED25519_KEY],
        },
        'hmac-key': {
          scheme: 'hmac',
          header: 'x-sig',
          structured: { signatureKey: 'v1', timestampKey: 't' },
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'hmac-body-time': {
          scheme: 'hmac',
          header: 'x-sig',
          timestampField: 'sentAt',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        token: { scheme: 'token', header: 'x-token', deliveryId: { jsonField: 'id' } },
        basic: { scheme: 'basic' },
        'jwt-claim': {
          scheme: 'jwt',
          algorithms: ['ES256'],
          publicKeys: [P256_KEY],
          deliveryId: { claim: 'jti' },
          maxAgeSeconds: 300,
        },
        'jwt-field': {
          scheme: 'jwt',
          algorithms: ['ES256'],
          publicKeys: [P256_KEY],
          deliveryId: { jsonField: 'id' },
          bodyHashClaim: 'request_body_sha256',
        },
      });

      // Act
      const traits = Object.fromEntries(
        Object.entries(resolved.providers).map(([name, p]) => [
          name,
          [signsDeliveryId(p), signsTimestamp(p), usesSecrets(p), p.retentionDays],
        ]),
      );

      // Assess
      expect(traits).toEqual({
        'asym-id': [true, false, false, 30],
        'hmac-key': [false, true, true, 7],
        'hmac-body-time': [false, true, true, 7],
        token: [false, false, true, 30],
        basic: [false, false, true, 30],
        'jwt-claim': [true, true, false, 7],
        'jwt-field': [true, false, false, 30],
      });
      expect(resolved.warnings).toEqual([
        expect.stringContaining('provider "token": scheme "token" signs nothing'),
      ]);
    });

    it('resolves a timestamp in the body: the {body} template, the window and the format as declared', () => {
      // Act
      const resolved = resolveAll({
        acme: {
          scheme: 'hmac',
          header: 'X-Sig',
          algorithm: 'sha256',
          encoding: 'hex',
          timestampField: 'meta.sentAt',
          timestampFormat: 'milliseconds',
          toleranceSeconds: 60,
        },
      }).providers;

      // Assess
      expect(resolved.acme).toEqual({
        scheme: 'hmac',
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
        retentionDays: DEFAULT_RETENTION_DAYS,
        header: 'x-sig',
        prefix: '',
        timestampField: 'meta.sentAt',
        timestampFormat: 'milliseconds',
        toleranceSeconds: 60,
        signedContent: '{body}',
        algorithm: 'sha256',
        encoding: 'hex',
      });
      expect(JSON.parse(JSON.stringify(resolved))).toEqual(resolved);
    });

    it('survives the trip through JSON that takes it to the ingest function', () => {
      // Prepare
      const resolved = resolveAll({
        discord: { preset: 'discord', publicKeys: [ED25519_KEY] },
        jwt: {
          scheme: 'jwt',
          algorithms: ['ES256'],
          jwks: {
            keys: [
              {
                kty: 'EC',
                crv: 'P-256',
                x: 'QlqGutv60v-4w1ozlLumZxJbNIw7hQKigppx6YU8TCI',
                y: 'ZrLI4XmILcCnFJJ8lxYAvLODAtRiIUimb9kW3VUjzds',
                kid: 'k1',
              },
            ],
          },
          issuer: 'https://issuer.example.com',
        },
      }).providers;

      // Act
      const travelled = JSON.parse(JSON.stringify(resolved));

      // Assess
      expect(travelled).toEqual(resolved);
      expect(travelled.jwt.issuer).toEqual(['https://issuer.example.com']);
    });

    it.each<[string, Record<string, unknown>, string]>([
      [
        'a structured header with a prefix',
        {
          scheme: 'hmac',
          header: 'x-sig',
          prefix: 'v1=',
          structured: { signatureKey: 'v1' },
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'prefix and structured exclude each other',
      ],
      [
        'a timestamp both in a header and in the signature header',
        {
          scheme: 'hmac',
          header: 'x-sig',
          structured: { signatureKey: 'v1', timestampKey: 't' },
          timestampHeader: 'x-ts',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'the timestamp is in timestampHeader or in the signature header (structured.timestampKey), not both',
      ],
      [
        'a timestamp both in the body and in a header',
        {
          scheme: 'hmac',
          header: 'x-sig',
          timestampField: 'webhookTimestamp',
          timestampHeader: 'x-ts',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'the timestamp is in the body (timestampField) or in a header (timestampHeader), not both',
      ],
      [
        'a timestamp both in the body and in the signature header',
        {
          scheme: 'hmac',
          header: 'x-sig',
          structured: { signatureKey: 'v1', timestampKey: 't' },
          timestampField: 'webhookTimestamp',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'the timestamp is in the body (timestampField) or in a header (structured.timestampKey), not both',
      ],
      [
        'a timestamp in the body under a template that signs {timestamp}',
        {
          scheme: 'hmac',
          header: 'x-sig',
          timestampField: 'webhookTimestamp',
          signedContent: '{timestamp}.{body}',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'signedContent cannot hold {timestamp} with timestampField',
      ],
      [
        'a timestamp in a body that is signed field by field',
        {
          scheme: 'hmac',
          signatureField: 'sig',
          signedContent: '{json:id}',
          timestampField: 'sentAt',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'timestampField is signed with the body, and a signature in the body (signatureField) signs only fields of it',
      ],
      [
        'a timestamp field that is no path',
        {
          scheme: 'hmac',
          header: 'x-sig',
          timestampField: 'a..b',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'timestampField must be a JSON field or a dotted path',
      ],
      [
        'a timestamp field for an asymmetric signer',
        {
          scheme: 'asymmetric',
          algorithm: 'ed25519',
          encoding: 'hex',
          header: 'x-sig',
          timestampField: 'sentAt',
          publicKeys: [ED25519_KEY],
        },
        'scheme "asymmetric" has no option "timestampField"',
      ],
      [
        'a tolerance without any timestamp',
        {
          scheme: 'hmac',
          header: 'x-sig',
          toleranceSeconds: 60,
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'toleranceSeconds needs a timestampHeader (or structured.timestampKey, or timestampField) to measure',
      ],
      [
        'the same separator and assignment',
        {
          scheme: 'hmac',
          header: 'x-sig',
          structured: { signatureKey: 'v1', separator: '=' },
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'structured.separator and structured.assignment must differ',
      ],
      [
        'a timestamp format without a timestamp',
        {
          scheme: 'hmac',
          header: 'x-sig',
          timestampFormat: 'iso8601',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'timestampFormat needs a timestampHeader',
      ],
      [
        'an unknown timestamp format',
        {
          scheme: 'hmac',
          header: 'x-sig',
          timestampHeader: 'x-ts',
          timestampFormat: 'rfc2822',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'timestampFormat must be "seconds", "milliseconds" or "iso8601", got "rfc2822"',
      ],
      [
        'a template that signs the signature header',
        {
          scheme: 'hmac',
          header: 'x-sig',
          signedContent: '{header:X-Sig}{body}',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'signedContent cannot hold the signature header itself',
      ],
      [
        'a publicUrl without {url}',
        {
          scheme: 'hmac',
          header: 'x-sig',
          publicUrl: 'https://h.example.com/x',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'publicUrl is only used by {url} in signedContent',
      ],
      [
        'an unknown secret encoding',
        {
          scheme: 'hmac',
          header: 'x-sig',
          secretEncoding: 'base32',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'secretEncoding must be "raw", "hex", "base64" or "whsec", got "base32"',
      ],
      [
        'two event type sources',
        {
          scheme: 'hmac',
          header: 'x-sig',
          eventTypeField: 'type',
          eventType: 'x',
          algorithm: 'sha256',
          encoding: 'hex',
        },
        'name the event type by one of eventTypeField, eventTypeHeader and eventType',
      ],
      [
        'a handshake without a value',
        { scheme: 'token', header: 'x-token', handshake: { jsonField: 'type' } },
        'handshake.equals must be a string, a number or a boolean',
      ],
      [
        'an ECDSA signature format for Ed25519',
        {
          scheme: 'asymmetric',
          algorithm: 'ed25519',
          encoding: 'hex',
          header: 'x-sig',
          signatureFormat: 'raw',
          publicKeys: [ED25519_KEY],
        },
        'signatureFormat is for ECDSA only',
      ],
      [
        'an Ed25519 key for ECDSA',
        {
          scheme: 'asymmetric',
          algorithm: 'ecdsa-p256-sha256',
          encoding: 'base64',
          header: 'x-sig',
          publicKeys: [ED25519_KEY],
        },
        'publicKeys[0] is not a P-256 (prime256v1) public key',
      ],
      [
        'a secret for a scheme whose keys are declared',
        {
          scheme: 'asymmetric',
          algorithm: 'ed25519',
          encoding: 'hex',
          header: 'x-sig',
          publicKeys: [ED25519_KEY],
          secretName: 'prod/discord',
        },
        'scheme "asymmetric" takes no secret (its public keys are in the declaration): remove secretName',
      ],
      [
        'a token whose id is its own header',
        { scheme: 'token', header: 'x-token', deliveryId: { header: 'X-Token' } },
        'deliveryId.header cannot be the header that carries the token',
      ],
      [
        'a claim as the id of a token',
        { scheme: 'token', header: 'x-token', deliveryId: { claim: 'jti' } },
        'deliveryId is either { header } or { jsonField }',
      ],
      [
        'an HS algorithm for a JWT',
        { scheme: 'jwt', algorithms: ['HS256'], publicKeys: [P256_KEY] },
        'algorithms cannot hold "HS256"',
      ],
      [
        'alg none for a JWT',
        { scheme: 'jwt', algorithms: ['none'], publicKeys: [P256_KEY] },
        'algorithms cannot hold "none"',
      ],
      [
        'a JWT without keys',
        { scheme: 'jwt', algorithms: ['ES256'] },
        'give the public keys that verify the tokens: publicKeys, jwks, or both',
      ],
      [
        'a JWT key of an algorithm not allowed',
        { scheme: 'jwt', algorithms: ['RS256'], publicKeys: [P256_KEY] },
        'publicKeys[0] is a key for ES256, which algorithms does not allow',
      ],
      [
        'a JWT max age over a day',
        { scheme: 'jwt', algorithms: ['ES256'], publicKeys: [P256_KEY], maxAgeSeconds: 86401 },
        'maxAgeSeconds must be a whole number between 1 and 86400',
      ],
      [
        'an empty audience',
        { scheme: 'jwt', algorithms: ['ES256'], publicKeys: [P256_KEY], audience: [] },
        'audience must be a non-empty string or a list of them',
      ],
      [
        'an option of another family',
        { scheme: 'basic', header: 'authorization' },
        'scheme "basic" has no option "header"',
      ],
    ])('rejects %s, saying what is wrong', (_, provider, expected) => {
      // Act
      const message = problemsOf({
        providers: { p: provider as ProviderDeclaration },
        subscribers: {},
      });

      // Assess
      expect(message).toContain(`provider "p": ${expected}`);
    });

    it.each<[string, Record<string, unknown>, number]>([
      [
        'asymmetric',
        {
          scheme: 'asymmetric',
          algorithm: 'rsa',
          encoding: 'hex',
          header: 'x sig',
          structured: { signatureKey: '' },
          publicKeys: [],
          toleranceSeconds: 5,
        },
        5,
      ],
      ['token', { scheme: 'token', header: '', prefix: 'x'.repeat(65), eventTypeHeader: 'a b' }, 3],
      ['basic', { scheme: 'basic', deliveryId: {}, eventTypeField: 'a..b', handshake: {} }, 4],
      [
        'jwt',
        {
          scheme: 'jwt',
          algorithms: ['HS256', 'PS256'],
          jwks: { keys: [] },
          issuer: 3,
          bodyHashClaim: 'a b',
        },
        5,
      ],
    ])('lists every problem of a %s declaration at once', (_, provider, count) => {
      // Act
      const message = problemsOf({
        providers: { p: provider as ProviderDeclaration },
        subscribers: {},
      });

      // Assess: the first line is the heading, then one line per problem.
      expect(message.split('\n  - ')).toHaveLength(count + 1);
    });
  });

  describe('Function: toFilterPolicy', () => {
    it('answers undefined for an empty filter, so every event is delivered', () => {
      // Act
      const policies = [toFilterPolicy({}), toFilterPolicy({ providers: [], types: [] })];

      // Assess
      expect(policies).toEqual([undefined, undefined]);
    });

    it('matches types ending in "." or "*" as prefixes and other types exactly', () => {
      // Act
      const policy = toFilterPolicy({
        types: ['standard.invoice.', 'github.issues.*', 'standard.customer.created'],
      });

      // Assess
      expect(policy).toEqual({
        type: [
          { prefix: 'standard.invoice.' },
          { prefix: 'github.issues.' },
          'standard.customer.created',
        ],
      });
    });

    it('matches providers exactly, beside types', () => {
      // Act
      const policy = toFilterPolicy({ providers: ['github', 'standard'], types: ['github.push'] });

      // Assess
      expect(policy).toEqual({ provider: ['github', 'standard'], type: ['github.push'] });
    });
  });
});
