import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, vi } from 'vitest';
import type {
  ClaimResult,
  DeliveryRecord,
  Lease,
  NewDelivery,
  StoredDelivery,
} from '../../functions/deliveries/store.ts';
import { type IngestDeps, type IngestRequest, ingest } from '../../functions/ingest/ingest.ts';
import type { HttpResponse } from '../../functions/ingest/responses.ts';
import { standardWebhooks } from '../../functions/providers/standard-webhooks.ts';
import { DependencyError } from '../../functions/shared/errors.ts';
import { createLogger } from '../../functions/shared/log.ts';
import { emfMetrics } from '../../functions/shared/metrics.ts';
import { OTHER_SECRET, signStandard, TEST_SECRET } from '../support/backends.ts';

const NOW = Date.UTC(2100, 0, 1);
const MAX_BODY_BYTES = 1024;
const BODY = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1' } });
const INVOCATION = 'invocation-1';

/** Text that must never reach a provider: internals of a failure. */
const INTERNALS = 'connect ECONNREFUSED 10.0.0.7:443 arn:aws:dynamodb:eu-west-1:123456789012';

function request(
  options: { body?: string; provider?: string; secret?: string } = {},
): IngestRequest {
  const body = options.body ?? BODY;
  return {
    provider: options.provider ?? 'standard',
    headers: signStandard({ id: 'msg_1', at: NOW, body, secret: options.secret }),
    method: 'POST',
    rawBody: Buffer.from(body),
    rawQueryString: '',
    rawPath: `/webhooks/${options.provider ?? 'standard'}`,
    domainName: 'hooks.example.com',
    invocationId: INVOCATION,
    remainingTimeMs: 10_000,
  };
}

/** The stored record a claim reads back, its body's SHA-256 worked out as fromItem does. */
const recordOf = (delivery: NewDelivery, lease: Lease, now: number): StoredDelivery => ({
  ...delivery,
  payloadSha256:
    delivery.payloadSha256 ??
    createHash('sha256')
      .update(delivery.payload ?? '')
      .digest('hex'),
  status: 'RECEIVED',
  receivedAt: now,
  leaseOwner: lease.owner,
  leaseUntil: lease.until,
  attempts: 1,
  expiresAt: Math.floor(now / 1000) + 3600,
});

/** A large body stored under another object than the request's. */
const ANOTHER_LARGE_BODY = { payloadSha256: 'f'.repeat(64), payloadRef: 's3://payloads/first' };

/** A claim refused by a published delivery: the request's own, changed by `stored`. */
const refusedFor =
  (stored: Partial<StoredDelivery>) =>
  async (delivery: NewDelivery, lease: Lease, now: number): Promise<ClaimResult> => ({
    claimed: false,
    existing: { ...recordOf(delivery, lease, now), status: 'PUBLISHED', ...stored },
  });

/** The core's ports, stubbed: every call succeeds unless a test says otherwise. */
function stubs() {
  const logLines: string[] = [];
  const deliveries = {
    claim: vi.fn(
      async (delivery: NewDelivery, lease: Lease, now: number): Promise<ClaimResult> => ({
        claimed: true,
        record: recordOf(delivery, lease, now),
      }),
    ),
    takeOver: vi.fn(async (): Promise<DeliveryRecord | undefined> => undefined),
    markPublished: vi.fn(async () => true),
    release: vi.fn(async () => true),
  };
  const publisher = { publish: vi.fn(async () => undefined) };
  const payloads = {
    put: vi.fn(async (): Promise<string> => 's3://payloads/key'),
    get: vi.fn(async (): Promise<Uint8Array> => new Uint8Array()),
    delete: vi.fn(async (): Promise<void> => undefined),
  };
  const secrets = { get: vi.fn(async (): Promise<readonly string[]> => [TEST_SECRET]) };
  const deps: IngestDeps = {
    providers: new Map([
      [
        'standard',
        standardWebhooks({ name: 'standard', maxBodyBytes: MAX_BODY_BYTES, toleranceSeconds: 300 }),
      ],
    ]),
    secrets,
    deliveries,
    publisher,
    payloads,
    clock: { now: () => NOW },
    log: createLogger({}, 'debug', (line) => logLines.push(line)),
  };
  return { deps, deliveries, publisher, payloads, secrets, logLines };
}

/** Every error answer is `{"error", "message"}` and says nothing of secrets, signatures or internals. */
function expectProblem(response: HttpResponse, status: number, code: string): void {
  expect(response.statusCode).toBe(status);
  expect(response.headers?.['content-type']).toBe('application/json');
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe('string');
  const expectedSignature = new Webhook(TEST_SECRET).sign('msg_1', new Date(NOW), BODY).slice(3);
  for (const secretText of [
    TEST_SECRET,
    TEST_SECRET.slice('whsec_'.length),
    OTHER_SECRET.slice('whsec_'.length),
    expectedSignature,
    INTERNALS,
    '    at ',
  ]) {
    expect(response.body).not.toContain(secretText);
  }
}

describe('Module: ingest', () => {
  describe('Function: ingest (error paths, stubbed ports)', () => {
    it('answers 404 unknown_provider for a provider that is not declared, touching nothing', async () => {
      // Prepare
      const { deps, deliveries, secrets } = stubs();

      // Act
      const response = await ingest(request({ provider: 'nope<script>' }), deps);

      // Assess: the answer says nothing of what the request put in its path.
      expectProblem(response, 404, 'unknown_provider');
      expect(response.body).not.toContain('nope');
      expect(secrets.get).not.toHaveBeenCalled();
      expect(deliveries.claim).not.toHaveBeenCalled();
    });

    it('answers 413 for a body over the provider’s maxBodyBytes, and accepts one of exactly that size', async () => {
      // Prepare
      const { deps, deliveries } = stubs();
      const skeleton = JSON.stringify({ type: 'invoice.paid', pad: '' });
      const exact = JSON.stringify({
        type: 'invoice.paid',
        pad: 'x'.repeat(MAX_BODY_BYTES - skeleton.length),
      });
      const over = JSON.stringify({
        type: 'invoice.paid',
        pad: 'x'.repeat(MAX_BODY_BYTES - skeleton.length + 1),
      });

      // Act
      const tooLarge = await ingest(request({ body: over }), deps);
      const justFits = await ingest(request({ body: exact }), deps);

      // Assess
      expect(Buffer.byteLength(exact)).toBe(MAX_BODY_BYTES);
      expectProblem(tooLarge, 413, 'payload_too_large');
      expect(justFits.statusCode).toBe(202);
      expect(deliveries.claim).toHaveBeenCalledTimes(1);
    });

    it('answers 503 with Retry-After when the secrets cannot be read, and verifies nothing', async () => {
      // Prepare
      const { deps, secrets, deliveries, logLines } = stubs();
      secrets.get.mockRejectedValue(
        new DependencyError('secretsmanager', 'reading the secret failed', {
          cause: new Error(INTERNALS),
        }),
      );

      // Act
      const response = await ingest(request(), deps);

      // Assess
      expectProblem(response, 503, 'dependency_unavailable');
      expect(response.headers?.['retry-after']).toBe('2');
      expect(deliveries.claim).not.toHaveBeenCalled();
      expect(logLines.join('\n')).not.toContain(TEST_SECRET);
    });

    it('answers 401 for a forged signature without the signature it expected', async () => {
      // Prepare
      const { deps, deliveries } = stubs();

      // Act
      const response = await ingest(request({ secret: OTHER_SECRET }), deps);

      // Assess
      expectProblem(response, 401, 'signature_mismatch');
      expect(deliveries.claim).not.toHaveBeenCalled();
    });

    it('answers 503 dependency_unavailable with retry-after when DynamoDB fails the claim, and publishes nothing', async () => {
      // Prepare
      const { deps, deliveries, publisher } = stubs();
      deliveries.claim.mockRejectedValue(
        new DependencyError('dynamodb', 'DynamoDB claim failed', { cause: new Error(INTERNALS) }),
      );

      // Act
      const response = await ingest(request(), deps);

      // Assess
      expectProblem(response, 503, 'dependency_unavailable');
      expect(response.headers?.['retry-after']).toBe('2');
      expect(publisher.publish).not.toHaveBeenCalled();
      expect(deliveries.release).not.toHaveBeenCalled();
    });

    it('answers 503 and gives the lease back when SNS fails after a successful claim', async () => {
      // Prepare
      const { deps, deliveries, publisher } = stubs();
      publisher.publish.mockRejectedValue(
        new DependencyError('sns', 'SNS publish failed', { cause: new Error(INTERNALS) }),
      );

      // Act
      const response = await ingest(request(), deps);

      // Assess
      expectProblem(response, 503, 'dependency_unavailable');
      expect(response.headers?.['retry-after']).toBe('2');
      expect(deliveries.release).toHaveBeenCalledTimes(1);
      expect(deliveries.release).toHaveBeenCalledWith(
        expect.objectContaining({ provider: 'standard', deliveryId: 'msg_1' }),
        INVOCATION,
      );
      expect(deliveries.markPublished).not.toHaveBeenCalled();
    });

    it('still answers 503 when giving the lease back fails too', async () => {
      // Prepare
      const { deps, deliveries } = stubs();
      deliveries.markPublished.mockRejectedValue(
        new DependencyError('dynamodb', 'DynamoDB mark published failed'),
      );
      deliveries.release.mockRejectedValue(
        new DependencyError('dynamodb', 'DynamoDB release failed'),
      );

      // Act
      const response = await ingest(request(), deps);

      // Assess
      expectProblem(response, 503, 'dependency_unavailable');
      expect(deliveries.release).toHaveBeenCalledWith(expect.anything(), INVOCATION);
    });

    it('answers 202 when markPublished finds its lease lost: the event was published', async () => {
      // Prepare
      const { deps, deliveries, publisher, logLines } = stubs();
      deliveries.markPublished.mockResolvedValue(false);

      // Act
      const response = await ingest(request(), deps);

      // Assess
      expect(response.statusCode).toBe(202);
      expect(JSON.parse(response.body)).toEqual({ id: 'standard:msg_1', duplicate: false });
      expect(publisher.publish).toHaveBeenCalledTimes(1);
      expect(logLines.some((l) => l.includes('lease lost before marking published'))).toBe(true);
    });

    it('answers 409 in_progress with retry-after when another invocation wins the take-over race', async () => {
      // Prepare
      const { deps, deliveries, publisher } = stubs();
      deliveries.claim.mockImplementation(async (delivery, _lease, now) => ({
        claimed: false,
        existing: recordOf(delivery, { owner: 'crashed', until: now - 1 }, now - 10_000),
      }));
      deliveries.takeOver.mockResolvedValue(undefined);

      // Act
      const response = await ingest(request(), deps);

      // Assess
      expectProblem(response, 409, 'in_progress');
      // The winner took it over a moment ago and is publishing: a short wait is enough.
      expect(response.headers?.['retry-after']).toBe('1');
      expect(publisher.publish).not.toHaveBeenCalled();
    });

    it.each([
      ['the claim', 'claim'],
      ['the publish', 'publish'],
    ] as const)(
      'lets an unexpected error in %s propagate, its counts written on their own',
      async (_, where) => {
        // Prepare
        const { deps, deliveries, publisher, logLines } = stubs();
        const emf: string[] = [];
        const bug = new TypeError('a bug, not an outage');
        if (where === 'claim') deliveries.claim.mockRejectedValue(bug);
        else publisher.publish.mockRejectedValue(bug);

        // Act
        const answering = ingest(request(), {
          ...deps,
          metrics: emfMetrics({ service: 'hookonce-ingest', write: (l) => emf.push(l) }),
        });

        // Assess
        await expect(answering).rejects.toBe(bug);
        // No line ends the request (the handler logs the bug), so its count is a line of its own.
        expect(logLines.filter((l) => l.includes('"_aws"'))).toEqual([]);
        expect(emf.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
          expect.objectContaining({ provider: 'standard', Received: 1 }),
        ]);
      },
    );

    it('hashes an inline body only when it must: a new delivery keyed by its signed id is stored without the hash, an offloaded one with it', async () => {
      // Prepare
      const { deps, deliveries, payloads } = stubs();
      const large = JSON.stringify({ type: 'invoice.paid', blob: 'x'.repeat(900) });

      // Act
      const inline = await ingest(request(), deps);
      const offloaded = await ingest(request({ body: large }), {
        ...deps,
        inlinePayloadBytes: 100,
      });

      // Assess
      expect([inline.statusCode, offloaded.statusCode]).toEqual([202, 202]);
      const [first, second] = deliveries.claim.mock.calls.map(([delivery]) => delivery);
      expect(first).not.toHaveProperty('payloadSha256');
      expect(first?.payload).toEqual(Buffer.from(BODY));
      const largeSha256 = createHash('sha256').update(large).digest('hex');
      expect(second).toMatchObject({ payloadSha256: largeSha256, payloadRef: 's3://payloads/key' });
      expect(payloads.put).toHaveBeenCalledWith(
        expect.anything(),
        largeSha256,
        Buffer.from(large),
        'application/json',
      );
    });

    it.each([
      {
        stored: 'the same body (its hash worked out from it, as fromItem does)',
        record: {},
        line: { level: 'INFO', message: 'duplicate', outcome: 'duplicate', Duplicate: 1 },
      },
      {
        stored: 'another body',
        record: { payloadSha256: 'e'.repeat(64) },
        line: {
          level: 'WARN',
          message: 'duplicate',
          outcome: 'duplicate',
          payloadChanged: true,
          PayloadChanged: 1,
          Duplicate: 1,
          Received: 1,
        },
      },
    ])(
      'ends a duplicate of a delivery holding $stored with one line that says whether the body changed',
      async ({ record, line }) => {
        // Prepare
        const { deps, deliveries, logLines } = stubs();
        deliveries.claim.mockImplementation(refusedFor(record));

        // Act
        const response = await ingest(request(), {
          ...deps,
          metrics: emfMetrics({ service: 'hookonce-ingest', disabled: false }),
        });

        // Assess
        expect(response.statusCode).toBe(200);
        const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
        const ended = lines.filter((l) => l.level !== 'DEBUG');
        expect(ended).toEqual([expect.objectContaining(line)]);
        if (!('payloadChanged' in line)) {
          expect(ended[0]).not.toHaveProperty('payloadChanged');
          expect(ended[0]).not.toHaveProperty('PayloadChanged');
        }
      },
    );

    it('answers 400 malformed_delivery_id for a signed id DynamoDB could not key, and stores nothing', async () => {
      // Prepare: correctly signed, but the id is longer than any provider sends.
      const { deps, deliveries, publisher } = stubs();
      const id = 'x'.repeat(1025);
      const req = { ...request(), headers: signStandard({ id, at: NOW, body: BODY }) };

      // Act
      const response = await ingest(req, deps);

      // Assess
      expectProblem(response, 400, 'malformed_delivery_id');
      expect(deliveries.claim).not.toHaveBeenCalled();
      expect(publisher.publish).not.toHaveBeenCalled();
    });

    it.each([
      ['a C1 control (U+0085)', 'msg\u0085x'],
      ['a right-to-left override (U+202E)', 'msg_\u202etxt.exe'],
      ['a left-to-right isolate (U+2066)', 'msg_\u2066x'],
      ['a noncharacter (U+FFFF)', 'msg_\uffff'],
      ['DEL', 'msg_\u007f'],
    ])(
      'answers 400 malformed_delivery_id for a signed id holding %s, and stores nothing',
      async (_, id) => {
        // Prepare
        const { deps, deliveries } = stubs();
        const req = { ...request(), headers: signStandard({ id, at: NOW, body: BODY }) };

        // Act
        const response = await ingest(req, deps);

        // Assess
        expectProblem(response, 400, 'malformed_delivery_id');
        expect(response.body).not.toContain(id);
        expect(deliveries.claim).not.toHaveBeenCalled();
      },
    );

    it.each([
      ['a C1 control (U+009B)', 'invoice.paid\u009b'],
      ['a right-to-left override (U+202E)', 'invoice.\u202epaid'],
      ['a noncharacter (U+FFFE)', 'invoice.\ufffe'],
    ])(
      'answers 400 malformed_event_type for a signed event type holding %s, and stores nothing',
      async (_, type) => {
        // Prepare: Standard Webhooks takes the type from the signed body.
        const { deps, deliveries } = stubs();
        const body = JSON.stringify({ type, data: {} });

        // Act
        const response = await ingest(request({ body }), deps);

        // Assess
        expectProblem(response, 400, 'malformed_event_type');
        expect(deliveries.claim).not.toHaveBeenCalled();
      },
    );

    it('deletes the payload it stored in S3 when the claim is refused for a delivery holding another body', async () => {
      // Prepare: the stored delivery has another body, so another object.
      const { deps, deliveries, payloads } = stubs();
      deliveries.claim.mockImplementationOnce(refusedFor(ANOTHER_LARGE_BODY));
      const large = JSON.stringify({ type: 'invoice.paid', blob: 'x'.repeat(900) });

      // Act
      const response = await ingest(request({ body: large }), { ...deps, inlinePayloadBytes: 100 });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(payloads.put).toHaveBeenCalledTimes(1);
      expect(payloads.delete).toHaveBeenCalledWith('s3://payloads/key');
    });

    it('keeps the payload object a refused claim shares with the stored delivery', async () => {
      // Prepare: the same body, so the same object.
      const { deps, deliveries, payloads } = stubs();
      deliveries.claim.mockImplementationOnce(refusedFor({}));
      const large = JSON.stringify({ type: 'invoice.paid', blob: 'x'.repeat(900) });

      // Act
      const response = await ingest(request({ body: large }), { ...deps, inlinePayloadBytes: 100 });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(payloads.delete).not.toHaveBeenCalled();
    });

    it('still answers 200 when deleting the unreferenced payload fails: the lifecycle rule removes it', async () => {
      // Prepare
      const { deps, deliveries, payloads } = stubs();
      deliveries.claim.mockImplementationOnce(refusedFor(ANOTHER_LARGE_BODY));
      payloads.delete.mockRejectedValueOnce(new DependencyError('s3', INTERNALS));
      const large = JSON.stringify({ type: 'invoice.paid', blob: 'x'.repeat(900) });

      // Act
      const response = await ingest(request({ body: large }), { ...deps, inlinePayloadBytes: 100 });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(response.body).not.toContain('ECONNREFUSED');
    });
  });
});
