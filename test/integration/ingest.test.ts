import { createHash } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStore, type NewDelivery } from '../../functions/deliveries/store.ts';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import { createIngestHandler, type IngestHandler } from '../../functions/ingest/wiring.ts';
import { signSlack } from '../../functions/providers/slack.ts';
import type { Clock } from '../../functions/shared/clock.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { MemoryActivity } from '../../infra/console/activity.ts';
import {
  backends,
  drainEvents,
  OTHER_SECRET,
  signStandard,
  TEST_SECRET,
  testDeclaration,
  useDynamo,
  useMessaging,
} from '../support/backends.ts';
import { lambdaContext, webhookEvent } from '../support/events.ts';
import { emulatorIngestEnvironment } from '../support/ingest-env.ts';

const T0 = Date.UTC(2100, 0, 1);
const RETENTION_SECONDS = 7 * 24 * 3600;
const clock: Clock = { now: () => T0 };
const silent = createLogger({}, 'error', () => undefined);
/** What the handler printed, line by line, and what the console's timeline makes of it. */
const lines: string[] = [];
const recording = createLogger({}, 'info', (line) => lines.push(line));

const declaration = testDeclaration('it-ingest', {
  providers: { standard: { scheme: 'standard-webhooks' }, slack: { scheme: 'slack' } },
});
/** Slack's Signing Secret for the `slack` provider. */
const SLACK_SECRET = 'hookonce-slack-signing-secret-0001';

let sequence = 0;
const newDeliveryId = (): string => {
  sequence += 1;
  return `msg_ingest_${sequence}`;
};
let invocation = 0;
const nextContext = () => {
  invocation += 1;
  return lambdaContext(`invocation-${invocation}`, 10_000);
};

const sha256 = (body: string): string => createHash('sha256').update(body).digest('hex');
const bodyOf = (eventType: string, id: string): string =>
  JSON.stringify({ type: eventType, data: { id, amount: 4200 } });
const answer = (response: APIGatewayProxyStructuredResultV2): unknown =>
  JSON.parse(response.body ?? '');

const messaging = useMessaging(declaration);

describe.each(backends)('Function: createIngestHandler (on %s and fauxqs)', (kind) => {
  const db = useDynamo(kind, declaration);
  let restoreEnvironment = (): void => undefined;
  let handler: IngestHandler;
  let recorded: IngestHandler;
  let store: DeliveryStore;

  const post = (options: {
    id: string;
    body: string;
    secret?: string;
    at?: number;
    base64?: boolean;
  }) =>
    handler(
      webhookEvent({
        provider: 'standard',
        headers: signStandard({
          id: options.id,
          at: options.at ?? T0,
          body: options.body,
          secret: options.secret,
        }),
        body: options.body,
        base64: options.base64,
      }),
      nextContext(),
    ) as Promise<APIGatewayProxyStructuredResultV2>;

  const published = (): Promise<HookonceEvent[]> => drainEvents(messaging);

  const stored = (deliveryId: string) => store.get({ provider: 'standard', deliveryId });

  /** A body posted to the `slack` provider, signed as Slack signs it, `seconds` after T0. */
  const postSlack = (body: string, contentType: string, seconds = 0) =>
    handler(
      webhookEvent({
        provider: 'slack',
        headers: {
          ...signSlack({ secret: SLACK_SECRET, timestamp: T0 / 1000 + seconds, body }),
          'content-type': contentType,
        },
        body,
      }),
      nextContext(),
    ) as Promise<APIGatewayProxyStructuredResultV2>;
  const FORM = 'application/x-www-form-urlencoded';

  beforeAll(() => {
    const { env, restore } = emulatorIngestEnvironment({
      db,
      messaging,
      declaration,
      retentionSeconds: RETENTION_SECONDS,
      secrets: {
        HOOKONCE_SECRET_STANDARD: TEST_SECRET,
        HOOKONCE_SECRET_SLACK: SLACK_SECRET,
      },
    });
    restoreEnvironment = restore;
    handler = createIngestHandler(env, { clock, log: silent });
    recorded = createIngestHandler(env, { clock, log: recording });
    store = new DeliveryStore({
      client: db.client,
      tableName: db.deliveriesTable,
      pendingShards: declaration.pendingShards,
      retentionSeconds: RETENTION_SECONDS,
    });
  });

  afterAll(() => {
    restoreEnvironment();
  });

  afterEach(async () => {
    await published();
  });

  it('ends every request with one line that says its outcome, status and time: what the console reads', async () => {
    // Prepare
    lines.length = 0;
    const id = newDeliveryId();
    const body = bodyOf('invoice.paid', id);
    const send = (provider: string, secret?: string) =>
      recorded(
        webhookEvent({
          provider,
          headers: signStandard({ id, at: T0, body, secret }),
          body,
        }),
        nextContext(),
      ) as Promise<APIGatewayProxyStructuredResultV2>;

    // Act
    const statuses = [
      (await send('standard')).statusCode,
      (await send('standard')).statusCode,
      (await send('standard', OTHER_SECRET)).statusCode,
      (await send('nobody')).statusCode,
    ];

    // Assess
    expect(statuses).toEqual([202, 200, 401, 404]);
    const ends = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => 'outcome' in l);
    expect(ends).toHaveLength(4);
    const activity = new MemoryActivity();
    for (const line of lines) activity.addLine(line);
    // Powertools stamps each line with the time it was written: the console shows that time.
    const seen = (await activity.recent()).reverse().map(({ time, ...rest }) => rest);
    expect(seen).toEqual([
      {
        provider: 'standard',
        status: 202,
        outcome: 'published',
        deliveryId: id,
        eventType: 'invoice.paid',
        ms: 0,
      },
      {
        provider: 'standard',
        status: 200,
        outcome: 'duplicate',
        deliveryId: id,
        eventType: 'invoice.paid',
        ms: 0,
      },
      {
        provider: 'standard',
        status: 401,
        outcome: 'rejected',
        reason: 'signature_mismatch',
        ms: 0,
      },
      { status: 404, outcome: 'rejected', reason: 'unknown_provider', ms: 0 },
    ]);
    // Never the secret, the signature or the body.
    const text = lines.join('\n');
    expect(text).not.toContain(TEST_SECRET.slice(6, 20));
    expect(text).not.toContain('amount');
    expect(text).not.toMatch(/v1,[A-Za-z0-9+/=]{20,}/);
  });

  it('answers a new delivery 202, stores it PUBLISHED and publishes its envelope once', async () => {
    // Prepare
    const id = newDeliveryId();
    const body = bodyOf('invoice.paid', id);

    // Act
    const response = await post({ id, body });

    // Assess
    expect(response.statusCode).toBe(202);
    expect(answer(response)).toEqual({ id: `standard:${id}`, duplicate: false });
    expect(await published()).toEqual([
      {
        specversion: '1.0',
        id: `standard:${id}`,
        source: 'hookonce/standard',
        type: 'standard.invoice.paid',
        time: new Date(T0).toISOString(),
        datacontenttype: 'application/json',
        data: JSON.parse(body),
        provider: 'standard',
        deliveryid: id,
      },
    ]);
    expect(await stored(id)).toMatchObject({
      status: 'PUBLISHED',
      payloadSha256: sha256(body),
      publishedAt: T0,
      attempts: 1,
    });
  });

  it('answers the same delivery again 200 duplicate, and publishes nothing new', async () => {
    // Prepare
    const id = newDeliveryId();
    const body = bodyOf('invoice.paid', id);
    await post({ id, body });
    await published();

    // Act: the provider's retry signs again, with a later timestamp.
    const again = await post({ id, body, at: T0 + 60_000 });

    // Assess
    expect(again.statusCode).toBe(200);
    expect(answer(again)).toEqual({ id: `standard:${id}`, duplicate: true });
    expect(await published()).toEqual([]);
  });

  it('answers a signed id seen again with another body (a re-rendered retry) 200 duplicate, and keeps the first body', async () => {
    // Prepare
    const id = newDeliveryId();
    const first = bodyOf('invoice.paid', id);
    await post({ id, body: first });
    await published();

    // Act: the provider rendered the event again for its retry.
    const response = await post({ id, body: bodyOf('invoice.voided', id), at: T0 + 60_000 });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(answer(response)).toEqual({ id: `standard:${id}`, duplicate: true });
    expect(await published()).toEqual([]);
    expect((await stored(id))?.payloadSha256).toBe(sha256(first));
  });

  it('answers a forged signature 401, and stores and publishes nothing', async () => {
    // Prepare
    const id = newDeliveryId();

    // Act
    const response = await post({ id, body: bodyOf('invoice.paid', id), secret: OTHER_SECRET });

    // Assess
    expect(response.statusCode).toBe(401);
    expect(answer(response)).toMatchObject({ error: 'signature_mismatch' });
    expect(await stored(id)).toBeUndefined();
    expect(await published()).toEqual([]);
  });

  it('verifies a base64-encoded body on its decoded bytes', async () => {
    // Prepare
    const id = newDeliveryId();
    const body = bodyOf('invoice.paid', id);

    // Act
    const response = await post({ id, body, base64: true });

    // Assess
    expect(response.statusCode).toBe(202);
    const events = await published();
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toEqual(JSON.parse(body));
    expect((await stored(id))?.payloadSha256).toBe(sha256(body));
  });

  it('takes over a RECEIVED delivery whose lease has lapsed, publishes it and answers 202', async () => {
    // Prepare: an earlier invocation claimed it, then died before publishing.
    const id = newDeliveryId();
    const body = bodyOf('invoice.paid', id);
    const delivery: NewDelivery = {
      provider: 'standard',
      deliveryId: id,
      eventType: 'invoice.paid',
      payload: Buffer.from(body),
      payloadSha256: sha256(body),
      contentType: 'application/json',
      headers: {},
    };
    await store.claim(delivery, { owner: 'crashed', until: T0 - 1_000 }, T0 - 5_000);

    // Act
    const context = nextContext();
    const response = (await handler(
      webhookEvent({
        provider: 'standard',
        headers: signStandard({ id, at: T0, body }),
        body,
      }),
      context,
    )) as APIGatewayProxyStructuredResultV2;

    // Assess
    expect(response.statusCode).toBe(202);
    expect(answer(response)).toEqual({ id: `standard:${id}`, duplicate: false });
    const events = await published();
    expect(events).toHaveLength(1);
    // The envelope is the one the first attempt would have sent: it keeps the first receivedAt.
    expect(events[0]).toMatchObject({
      id: `standard:${id}`,
      time: new Date(T0 - 5_000).toISOString(),
    });
    expect(await stored(id)).toMatchObject({
      status: 'PUBLISHED',
      attempts: 2,
      leaseOwner: context.awsRequestId,
    });
  });

  it('answers 409 in_progress with Retry-After while another invocation holds a live lease', async () => {
    // Prepare
    const id = newDeliveryId();
    const body = bodyOf('invoice.paid', id);
    await store.claim(
      {
        provider: 'standard',
        deliveryId: id,
        eventType: 'invoice.paid',
        payload: Buffer.from(body),
        payloadSha256: sha256(body),
        headers: {},
      },
      { owner: 'elsewhere', until: T0 + 4_500 },
      T0 - 500,
    );

    // Act
    const response = await post({ id, body });

    // Assess
    expect(response.statusCode).toBe(409);
    expect(answer(response)).toMatchObject({ error: 'in_progress' });
    expect(response.headers?.['retry-after']).toBe('5');
    expect(await published()).toEqual([]);
    expect((await stored(id))?.leaseOwner).toBe('elsewhere');
  });

  it('turns 50 concurrent copies of one delivery into one 202 and one published message', async () => {
    // Prepare
    const id = newDeliveryId();
    const body = bodyOf('customer.created', id);

    // Act
    const responses = await Promise.all(Array.from({ length: 50 }, () => post({ id, body })));

    // Assess
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 202 && s !== 200 && s !== 409)).toEqual([]);
    const events = await published();
    expect(events.map((e) => e.id)).toEqual([`standard:${id}`]);
    expect((await stored(id))?.status).toBe('PUBLISHED');
  });

  it('acknowledges a Slack slash command with an empty 200 once it is stored and published, and a copy of it likewise, publishing it once', async () => {
    // Prepare
    sequence += 1;
    const body = new URLSearchParams({
      team_id: 'T0001',
      channel_id: 'C0001',
      user_id: 'U0001',
      command: '/deploy',
      text: 'production',
      response_url: 'https://hooks.slack.com/commands/1234/5678',
      trigger_id: `trigger-${sequence}`,
    }).toString();

    // Act
    const first = await postSlack(body, FORM);
    const events = await published();
    const copy = await postSlack(body, FORM, 30);

    // Assess
    for (const response of [first, copy]) {
      expect(response).toMatchObject({ statusCode: 200, body: '' });
      expect(response.headers?.['content-type']).toBe('text/plain');
    }
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: `slack:${sha256(body)}`,
      type: 'slack.slash_command./deploy',
      deliveryid: sha256(body),
    });
    expect(await published()).toEqual([]);
    expect(await store.get({ provider: 'slack', deliveryId: sha256(body) })).toMatchObject({
      status: 'PUBLISHED',
      eventType: 'slash_command./deploy',
    });
  });

  it('acknowledges a Slack slash command with an empty 200 when it finishes one whose lease lapsed', async () => {
    // Prepare: an earlier invocation claimed it, then died before publishing.
    sequence += 1;
    const body = new URLSearchParams({
      command: '/deploy',
      text: 'staging',
      trigger_id: `trigger-${sequence}`,
    }).toString();
    await store.claim(
      {
        provider: 'slack',
        deliveryId: sha256(body),
        eventType: 'slash_command./deploy',
        payload: Buffer.from(body),
        payloadSha256: sha256(body),
        contentType: FORM,
        headers: {},
      },
      { owner: 'crashed', until: T0 - 1_000 },
      T0 - 5_000,
    );

    // Act
    const response = await postSlack(body, FORM);

    // Assess
    expect(response).toMatchObject({ statusCode: 200, body: '' });
    expect(await published()).toMatchObject([{ deliveryid: sha256(body) }]);
    expect(await store.get({ provider: 'slack', deliveryId: sha256(body) })).toMatchObject({
      status: 'PUBLISHED',
      attempts: 2,
    });
  });

  it('acknowledges a Slack interaction (payload=) with an empty 200, stored and published', async () => {
    // Prepare
    sequence += 1;
    const body = new URLSearchParams({
      payload: JSON.stringify({
        type: 'block_actions',
        user: { id: 'U0001' },
        trigger_id: `trigger-${sequence}`,
        actions: [{ action_id: 'approve', type: 'button' }],
      }),
    }).toString();

    // Act
    const response = await postSlack(body, FORM);

    // Assess
    expect(response).toMatchObject({ statusCode: 200, body: '' });
    expect(await published()).toMatchObject([
      { type: 'slack.block_actions', deliveryid: sha256(body) },
    ]);
  });

  it('answers a Slack Events API request as any delivery (202, then 200 duplicate, in JSON), and its url_verification with the challenge, stored nowhere', async () => {
    // Prepare
    const id = `Ev${newDeliveryId()}`;
    const event = JSON.stringify({
      type: 'event_callback',
      event_id: id,
      event: { type: 'app_mention', text: 'hi' },
    });
    const verification = JSON.stringify({ type: 'url_verification', challenge: 'ch4llenge' });

    // Act
    const first = await postSlack(event, 'application/json');
    const again = await postSlack(event, 'application/json', 60);
    const verified = await postSlack(verification, 'application/json');

    // Assess
    expect(first.statusCode).toBe(202);
    expect(answer(first)).toEqual({ id: `slack:${id}`, duplicate: false });
    expect(again.statusCode).toBe(200);
    expect(answer(again)).toEqual({ id: `slack:${id}`, duplicate: true });
    expect(verified.statusCode).toBe(200);
    expect(answer(verified)).toEqual({ challenge: 'ch4llenge' });
    expect(await published()).toMatchObject([{ id: `slack:${id}`, type: 'slack.app_mention' }]);
  });
});
