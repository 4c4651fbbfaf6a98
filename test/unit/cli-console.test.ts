import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveDeclaration } from '../../functions/shared/declaration.ts';
import { UsageError } from '../../infra/cli/command.ts';
import {
  cloudWatchSources,
  costLines,
  parseConsoleArgs,
  signingKey,
  stackConsoleOptions,
  stackSendTest,
} from '../../infra/cli/console.ts';
import {
  activityNamesFromOutputs,
  providersFromOutputs,
  secretIdsFromOutputs,
} from '../../infra/cli/console-target.ts';
import { outputMap, type Target } from '../../infra/cli/target.ts';
import { MemoryActivity } from '../../infra/console/activity.ts';
import type { CloudWatchPort } from '../../infra/console/cloudwatch.ts';

const oracle = new Stripe('sk_test_oracle_never_calls_the_api').webhooks;

const declaration = resolveDeclaration({
  name: 'payments',
  providers: {
    stripe: { scheme: 'stripe' },
    'gh-app': { scheme: 'github', secretName: 'prod/github-webhooks' },
    standard: {
      scheme: 'standard-webhooks',
      secretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:std-AbCdEf',
    },
  },
  subscribers: { ledger: { consumer: { entry: 'functions/consumers/example/handler.ts' } } },
});

/** What DescribeStacks answers for infra/stack.ts, by key. */
const outputs = outputMap([
  { OutputKey: 'ApiUrl', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/' },
  {
    OutputKey: 'StripeEndpointUrl',
    OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/stripe',
  },
  {
    OutputKey: 'StripeSecretArn',
    OutputValue: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:stripe-XyZ',
  },
  { OutputKey: 'IngestLogGroupName', OutputValue: 'Payments-IntakeIngestLogs1234-abcd' },
  { OutputKey: 'MetricsNamespace', OutputValue: 'hookonce' },
  { OutputKey: 'DeploymentName', OutputValue: 'payments' },
  { OutputKey: 'NoValue' },
]);

describe('Module: hookonce console', () => {
  describe('Function: parseConsoleArgs', () => {
    it('reads a stack, its region, a port and --allow-writes; read-only on a free port by default', () => {
      expect(parseConsoleArgs([])).toEqual({
        stack: undefined,
        region: undefined,
        port: 0,
        allowWrites: false,
      });
      expect(
        parseConsoleArgs([
          '--stack',
          'Hookonce',
          '--region',
          'eu-west-1',
          '--port',
          '4000',
          '--allow-writes',
        ]),
      ).toEqual({ stack: 'Hookonce', region: 'eu-west-1', port: 4000, allowWrites: true });
    });

    it.each([
      [['--allow-writes'], '--region, --port and --allow-writes go with --stack'],
      [['--stack', 'H', '--port', '70000'], '--port is a port number'],
      [['--stack', 'H', 'extra'], 'unexpected argument "extra"'],
      [['--writable'], "Unknown option '--writable'"],
    ])('refuses %j', (args, message) => {
      expect(() => parseConsoleArgs(args)).toThrow(message);
    });
  });

  describe('Function: outputMap', () => {
    it('keys a stack’s outputs by name, leaving out those without a value', () => {
      expect(outputs.DeploymentName).toBe('payments');
      expect(Object.hasOwn(outputs, 'NoValue')).toBe(false);
    });
  });

  describe('Function: activityNamesFromOutputs', () => {
    it('finds the ingest log group and the metric services of the deployment', () => {
      expect(activityNamesFromOutputs(outputs, 'Payments')).toEqual({
        logGroup: 'Payments-IntakeIngestLogs1234-abcd',
        metrics: {
          namespace: 'hookonce',
          ingestService: 'payments-ingest',
          consumerService: 'payments-consumer',
        },
      });
    });

    it('says to deploy again when the stack predates the console', () => {
      const { IngestLogGroupName: _, ...older } = outputs;
      const error = (() => {
        try {
          activityNamesFromOutputs(older, 'Payments');
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toBe(
        'stack Payments has no output IngestLogGroupName: it was deployed by a hookonce without the console; deploy it again (npx cdk deploy) and retry',
      );
    });
  });

  describe('Function: providersFromOutputs and secretIdsFromOutputs', () => {
    it('gives each provider its endpoint and where its secret is, never the secret', () => {
      expect(providersFromOutputs(outputs, declaration, 'Payments')).toEqual([
        {
          name: 'stripe',
          scheme: 'stripe',
          endpointUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/stripe',
          secretSource:
            'Secrets Manager: arn:aws:secretsmanager:eu-west-1:111111111111:secret:stripe-XyZ',
        },
        {
          name: 'gh-app',
          scheme: 'github',
          endpointUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/gh-app',
          secretSource: 'Secrets Manager: prod/github-webhooks',
        },
        {
          name: 'standard',
          scheme: 'standard-webhooks',
          endpointUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/standard',
          secretSource:
            'Secrets Manager: arn:aws:secretsmanager:eu-west-1:111111111111:secret:std-AbCdEf',
        },
      ]);
      expect(secretIdsFromOutputs(outputs, declaration)).toEqual({
        stripe: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:stripe-XyZ',
        'gh-app': 'prod/github-webhooks',
        standard: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:std-AbCdEf',
      });
    });

    it('needs an endpoint output or the API URL', () => {
      const { ApiUrl: _, ...noApi } = outputs;
      expect(() => providersFromOutputs(noApi, declaration, 'Payments')).toThrow(
        'stack Payments has no output GhAppEndpointUrl',
      );
    });
  });

  describe('Function: cloudWatchSources and stackConsoleOptions', () => {
    // Built without a call: nothing here reaches AWS.
    const target = {
      description: 'stack Payments (eu-west-1)',
      subscribers: {},
      outputs,
      close() {},
    } as unknown as Target;
    const port = {} as CloudWatchPort;

    it('reads the requests from the ingest log group the stack names', () => {
      const { activity } = cloudWatchSources(target, 'Payments', port);
      expect(activity.description).toBe(
        'log group Payments-IntakeIngestLogs1234-abcd (CloudWatch Logs Insights, the last hour)',
      );
      expect(() =>
        cloudWatchSources({ ...target, outputs: {} } as Target, 'Payments', port),
      ).toThrow('stack Payments has no output DeploymentName');
    });

    it('is read-only, without test webhooks, unless writes are allowed', () => {
      const sendTest = async () => ({ status: 202, body: '', deliveryId: 'x' });
      const parts = {
        target,
        declaration,
        stack: 'Payments',
        activity: new MemoryActivity(),
        consumers: { counts: async () => ({}) },
        port: 0,
        sendTest,
      };
      const readOnly = stackConsoleOptions({ ...parts, writable: false });
      const writable = stackConsoleOptions({ ...parts, writable: true });
      expect(readOnly.writable).toBe(false);
      expect(readOnly.sendTest).toBe(undefined);
      expect(writable.sendTest).toBe(sendTest);
      expect(readOnly.providers.map((p) => p.secretSource)).toEqual([
        'Secrets Manager: arn:aws:secretsmanager:eu-west-1:111111111111:secret:stripe-XyZ',
        'Secrets Manager: prod/github-webhooks',
        'Secrets Manager: arn:aws:secretsmanager:eu-west-1:111111111111:secret:std-AbCdEf',
      ]);
    });
  });

  describe('Function: signingKey', () => {
    it('skips Standard Webhooks public keys, which verify but cannot sign', () => {
      expect(signingKey(['whpk_abc', 'whsec_def'], 'standard-webhooks')).toBe('whsec_def');
      expect(signingKey(['whpk_abc'], 'standard-webhooks')).toBe(undefined);
      expect(signingKey(['whpk_is_a_secret_here'], 'hmac')).toBe('whpk_is_a_secret_here');
    });
  });

  describe('Function: stackSendTest', () => {
    let server: Server;
    afterAll(() => server?.close());

    it('signs the sample with the secret Secrets Manager holds now, and posts it to the endpoint', async () => {
      // Prepare: an endpoint that records what it receives.
      const received: Array<{ headers: IncomingHttpHeaders; body: string; path: string }> = [];
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          received.push({
            headers: req.headers,
            body: Buffer.concat(chunks).toString(),
            path: req.url ?? '',
          });
          res.writeHead(202, { 'content-type': 'application/json' });
          res.end('{"id":"stripe:evt_x","duplicate":false}');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const secret = 'whsec_console_test_secret';
      const read: string[] = [];
      const send = stackSendTest({
        declaration,
        providers: [
          {
            name: 'stripe',
            scheme: 'stripe',
            endpointUrl: `${url}/webhooks/stripe`,
            secretSource: '',
          },
        ],
        secretIds: { stripe: 'arn:stripe' },
        readSecret: async (id) => {
          read.push(id);
          return JSON.stringify([secret, 'whsec_older']);
        },
        fetch,
        now: () => Date.now(),
      });

      // Act
      const sent = await send('stripe');

      // Assess
      expect(read).toEqual(['arn:stripe']);
      expect(sent.status).toBe(202);
      expect(sent.deliveryId).toMatch(/^evt_/);
      expect(received).toHaveLength(1);
      const [request] = received;
      expect(request?.path).toBe('/webhooks/stripe');
      const event = oracle.constructEvent(
        request?.body ?? '',
        String(request?.headers['stripe-signature']),
        secret,
      );
      expect(event.id).toBe(sent.deliveryId);
    });

    it('says so when the secret is empty, or the provider unknown', async () => {
      const base = {
        declaration,
        providers: [
          { name: 'stripe', scheme: 'stripe', endpointUrl: 'http://x', secretSource: '' },
        ],
        secretIds: { stripe: 'arn:stripe' },
        fetch,
        now: () => 0,
      };
      await expect(
        stackSendTest({ ...base, readSecret: async () => '[]' })('stripe'),
      ).rejects.toThrow(
        "the secret arn:stripe holds no signing secret yet: put the provider's in it first",
      );
      await expect(
        stackSendTest({ ...base, readSecret: async () => '[]' })('github'),
      ).rejects.toThrow('no provider "github"');
    });
  });

  describe('Function: costLines', () => {
    it('says what the views cost, and whether writes are on', () => {
      expect(costLines(false).join('\n')).toContain('$0.005 per GB scanned');
      expect(costLines(false).at(-1)).toContain('read-only');
      expect(costLines(true).at(-1)).toContain('writes allowed (--allow-writes)');
    });
  });
});
