import { createHmac } from 'node:crypto';
import { LinearWebhookClient } from '@linear/sdk/webhooks';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HookonceEvent } from '../../functions/fanout/envelope.ts';
import { createIngestHandler, type IngestHandler } from '../../functions/ingest/wiring.ts';
import type { Clock } from '../../functions/shared/clock.ts';
import { createLogger } from '../../functions/shared/log.ts';
import {
  backends,
  drainEvents,
  testDeclaration,
  useDynamo,
  useMessaging,
} from '../support/backends.ts';
import { lambdaContext, webhookEvent } from '../support/events.ts';
import { emulatorIngestEnvironment } from '../support/ingest-env.ts';

/**
 * The `linear` preset through the whole ingest on the emulators: Linear signs the
 * body, which carries its own `webhookTimestamp`, and a retry carries a fresh one.
 * Each request is also checked by @linear/sdk's LinearWebhookClient.verify, its
 * clock (Date) set to the handler's.
 */

const T0 = Date.UTC(2100, 0, 1);
const RETENTION_SECONDS = 7 * 24 * 3600;
const SECRET = 'lin_wh_hookonce0linear0ingest0secret';
let current = T0;
const clock: Clock = { now: () => current };
const silent = createLogger({}, 'error', () => undefined);

const declaration = testDeclaration('it-linear', { providers: { linear: { preset: 'linear' } } });

let sequence = 0;
/** An Issue event as Linear sends it, for issue `issue`, its webhookTimestamp `at`. */
const issueEvent = (issue: string, at: number, title = 'Hook once') =>
  JSON.stringify({
    action: 'create',
    type: 'Issue',
    data: { id: issue, title },
    url: `https://linear.app/acme/issue/${issue}`,
    webhookTimestamp: at,
  });
let invocation = 0;
const nextContext = () => {
  invocation += 1;
  return lambdaContext(`linear-${invocation}`, 10_000);
};
const answer = (response: APIGatewayProxyStructuredResultV2): unknown =>
  JSON.parse(response.body ?? '');

/** Linear's headers for a body: the hex HMAC-SHA256 of it, and a delivery id of its own. */
const linearHeaders = (body: string, delivery: string): Record<string, string> => ({
  'content-type': 'application/json',
  'linear-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
  'linear-delivery': delivery,
});

/** @linear/sdk's verdict on a request at the handler's clock: true, or what it throws. */
function sdkVerdict(body: string, headers: Record<string, string>): true | string {
  vi.useFakeTimers({ toFake: ['Date'], now: current });
  try {
    return new LinearWebhookClient(SECRET).verify(
      Buffer.from(body),
      headers['linear-signature'] ?? '',
    ) as true;
  } catch (error) {
    return (error as Error).message;
  } finally {
    vi.useRealTimers();
  }
}

const messaging = useMessaging(declaration);

describe.each(backends)('Preset: linear, through ingest (on %s and fauxqs)', (kind) => {
  const db = useDynamo(kind, declaration);
  let restoreEnvironment = (): void => undefined;
  let handler: IngestHandler;

  /** Posts `body` at `at` on the handler's clock; answers the response and the SDK's verdict. */
  const post = async (body: string, at: number) => {
    current = at;
    sequence += 1;
    const headers = linearHeaders(body, `dlv-${sequence}`);
    const response = (await handler(
      webhookEvent({ provider: 'linear', headers, body }),
      nextContext(),
    )) as APIGatewayProxyStructuredResultV2;
    return { response, sdk: sdkVerdict(body, headers) };
  };

  const published = (): Promise<HookonceEvent[]> => drainEvents(messaging);

  beforeAll(() => {
    const { env, restore } = emulatorIngestEnvironment({
      db,
      messaging,
      declaration,
      retentionSeconds: RETENTION_SECONDS,
      secrets: { HOOKONCE_SECRET_LINEAR: SECRET },
    });
    restoreEnvironment = restore;
    handler = createIngestHandler(env, { clock, log: silent });
  });

  afterAll(() => {
    restoreEnvironment();
  });

  afterEach(async () => {
    await published();
  });

  it("answers Linear's retry, which carries a fresh webhookTimestamp and another Linear-Delivery, 200 duplicate, publishing the first attempt once", async () => {
    // Prepare
    const issue = `issue-${kind}-retry`;
    const firstBody = issueEvent(issue, T0);

    // Act: the first attempt, then the retry 45 s later, each signed when sent.
    const first = await post(firstBody, T0);
    const events = await published();
    const retry = await post(issueEvent(issue, T0 + 45_000), T0 + 45_000);

    // Assess
    expect([first.sdk, retry.sdk]).toEqual([true, true]);
    expect(first.response.statusCode).toBe(202);
    const { id } = answer(first.response) as { id: string };
    expect(id).toMatch(/^linear:[0-9a-f]{64}$/);
    expect(retry.response.statusCode).toBe(200);
    expect(answer(retry.response)).toEqual({ id, duplicate: true });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id, type: 'linear.Issue', data: JSON.parse(firstBody) });
    expect(await published()).toEqual([]);
  });

  it('answers a body that differs in anything but webhookTimestamp 202, as another delivery', async () => {
    // Prepare
    const issue = `issue-${kind}-other`;
    const first = await post(issueEvent(issue, T0), T0);
    await published();

    // Act
    const other = await post(issueEvent(issue, T0 + 1_000, 'Hook twice'), T0 + 1_000);

    // Assess
    expect(other.sdk).toBe(true);
    expect(other.response.statusCode).toBe(202);
    expect(answer(other.response)).not.toEqual(answer(first.response));
    expect(await published()).toHaveLength(1);
  });

  it('refuses a signed body whose webhookTimestamp is 61 s behind the clock with 401 timestamp_too_old, as the SDK does, publishing nothing', async () => {
    // Act
    const stale = await post(issueEvent(`issue-${kind}-stale`, T0), T0 + 61_000);

    // Assess
    expect(stale.sdk).toBe('Invalid webhook timestamp');
    expect(stale.response.statusCode).toBe(401);
    expect(answer(stale.response)).toMatchObject({ error: 'timestamp_too_old' });
    expect(await published()).toEqual([]);
  });
});
