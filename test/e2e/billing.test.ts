import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerPk } from '../../functions/consumers/example/ledger.ts';
import { runCli } from '../../infra/cli/cli.ts';
import { declaration as defaultDeclaration } from '../../infra/hookonce.config.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../infra/local/emulators.ts';
import { type LocalRuntime, startLocal } from '../../infra/local/runtime.ts';
import { eventually } from '../support/eventually.ts';

const SECRETS = {
  HOOKONCE_SECRET_STRIPE: 'whsec_e2e0billing0stripe0secret',
  HOOKONCE_SECRET_GITHUB: 'e2e-billing-github-secret',
};

/** A Stripe invoice event, as Stripe sends it; created, finalized and paid in the same second. */
const invoiceEvent = (type: string, status: string, amountPaid: number) => ({
  object: 'event',
  type,
  created: 1_795_436_800,
  data: {
    object: {
      id: 'in_e2e_billing',
      object: 'invoice',
      customer: 'cus_e2e_billing',
      status,
      amount_paid: amountPaid,
      currency: 'usd',
    },
  },
});

describe('The default declaration’s billing subscriber, on the local runtime', () => {
  let runtime: LocalRuntime;
  let dataDir: string;
  let ddb: DynamoDBClient;
  let sqs: SQSClient;

  const hookonce = async (...argv: string[]) => {
    const out: string[] = [];
    const code = await runCli(argv, {
      env: { HOOKONCE_DATA_DIR: dataDir, ...SECRETS },
      cwd: dataDir,
      out: (t) => out.push(t),
      err: (t) => out.push(t),
      fetch,
      // The CLI signs for a runtime that checks timestamps against the wall clock.
      now: () => Date.now(),
    });
    return { code, out: out.join('\n') };
  };
  const item = async (pk: string) =>
    (
      await ddb.send(
        new GetItemCommand({
          TableName: runtime.resources.consumerTable,
          Key: { pk: { S: pk } },
          ConsistentRead: true,
        }),
      )
    ).Item;
  /** billing's claims, as `<event id> <status>`. */
  const billingClaims = async () =>
    (
      await ddb.send(
        new ScanCommand({
          TableName: runtime.resources.consumerTable,
          FilterExpression: 'begins_with(pk, :claims)',
          ExpressionAttributeValues: { ':claims': { S: 'CLAIM#billing#' } },
          ConsistentRead: true,
        }),
      )
    ).Items?.map((i) => `${i.eventId?.S} ${i.status?.S}`).sort() ?? [];
  /** Messages in billing's queue, waiting or in flight. */
  const billingPending = async () => {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: runtime.resources.subscribers.billing?.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookonce-e2e-billing-'));
    runtime = await startLocal({
      declaration: { ...defaultDeclaration, name: 'e2e-billing' },
      port: 0,
      dataDir,
      env: SECRETS,
      output: () => undefined,
      pollWaitSeconds: 1,
    });
    const config = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    ddb = new DynamoDBClient({ ...config, endpoint: runtime.endpoints.dynamodb });
    sqs = new SQSClient({ ...config, endpoint: runtime.endpoints.sqs });
  });

  afterAll(async () => {
    ddb?.destroy();
    sqs?.destroy();
    await runtime?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('receives only Stripe invoice and charge events, ends the invoice paid whatever the order, and counts its amount once', async () => {
    // Prepare: the invoice's three events, sent last-first, the paid one twice.
    const files = {
      paid: invoiceEvent('invoice.paid', 'paid', 4200),
      created: invoiceEvent('invoice.created', 'draft', 0),
      finalized: invoiceEvent('invoice.finalized', 'open', 0),
    };
    for (const [name, body] of Object.entries(files)) {
      writeFileSync(join(dataDir, `${name}.json`), JSON.stringify(body));
    }

    // Act
    const sent = [
      await hookonce('send', 'stripe', '--file', 'paid.json', '--id', 'evt_e2e_paid'),
      await hookonce('send', 'stripe', '--file', 'created.json', '--id', 'evt_e2e_created'),
      await hookonce('send', 'stripe', '--file', 'finalized.json', '--id', 'evt_e2e_finalized'),
      await hookonce('send', 'stripe', '--file', 'paid.json', '--id', 'evt_e2e_paid'),
      await hookonce('send', 'github', '--id', 'gh-e2e-billing'),
    ];
    // GitHub does not sign its delivery id: the body's digest keys the event.
    const githubId = /\{"id":"(github:[0-9a-f]{64})"/.exec(sent[4]?.out ?? '')?.[1] ?? 'none';
    const ids = [
      'stripe:evt_e2e_paid',
      'stripe:evt_e2e_created',
      'stripe:evt_e2e_finalized',
      githubId,
    ];
    const example = await eventually(
      () => Promise.all(ids.map(async (id) => Number((await item(ledgerPk(id)))?.applied?.N ?? 0))),
      (n) => n.every((c) => c === 1),
    );
    // SNS fanned every event out before its 202: once billing's queue is empty,
    // billing has claimed all it was sent.
    await eventually(billingPending, (n) => n === 0);
    const claims = await billingClaims();

    // Assess
    expect(sent.map((s) => s.code)).toEqual([0, 0, 0, 0, 0]);
    expect(sent[3]?.out).toContain('"duplicate":true');
    expect(example).toEqual([1, 1, 1, 1]);
    expect(claims).toEqual(
      ids
        .slice(0, 3)
        .map((id) => `${id} DONE`)
        .sort(),
    );
    const invoice = await item('INVOICE#in_e2e_billing');
    expect(invoice).toMatchObject({
      status: { S: 'paid' },
      amount: { N: '4200' },
      version: { N: '1795436800' },
    });
    const customer = await item('CUSTOMER#cus_e2e_billing');
    expect(customer).toMatchObject({ paidTotal: { N: '4200' }, paidInvoices: { N: '1' } });
  });

  it('applies a 200 KB Stripe event, whose payload travelled through S3, once: the guard hands billing its data', async () => {
    // Prepare: an invoice with 200 KB of line items, over the 96 KiB carried inline.
    const event = {
      object: 'event',
      type: 'invoice.paid',
      created: 1_795_436_900,
      data: {
        object: {
          id: 'in_e2e_large',
          object: 'invoice',
          customer: 'cus_e2e_large',
          status: 'paid',
          amount_paid: 9900,
          currency: 'usd',
          lines: Array.from({ length: 2_000 }, (_, n) => ({ id: `il_${n}`, note: 'x'.repeat(80) })),
        },
      },
    };
    const file = join(dataDir, 'large.json');
    writeFileSync(file, JSON.stringify(event));
    expect(Buffer.byteLength(JSON.stringify(event))).toBeGreaterThan(200_000);

    // Act
    const sent = await hookonce('send', 'stripe', '--file', 'large.json', '--id', 'evt_e2e_large');
    const again = await hookonce('send', 'stripe', '--file', 'large.json', '--id', 'evt_e2e_large');
    const invoice = await eventually(
      () => item('INVOICE#in_e2e_large'),
      (i) => i !== undefined,
    );
    await eventually(billingPending, (n) => n === 0);

    // Assess
    expect(sent.out).toContain('< 202 Accepted');
    expect(again.out).toContain('"duplicate":true');
    expect(invoice).toMatchObject({ status: { S: 'paid' }, amount: { N: '9900' } });
    expect(await item('CUSTOMER#cus_e2e_large')).toMatchObject({ paidTotal: { N: '9900' } });
    expect(await billingClaims()).toContain('stripe:evt_e2e_large DONE');
    const dlq = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: runtime.resources.subscribers.billing?.dlqUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    expect(Number(dlq.Attributes?.ApproximateNumberOfMessages)).toBe(0);
  });
});
