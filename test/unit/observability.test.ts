import { describe, expect, it } from 'vitest';
import {
  createLogger,
  createPowertoolsLogger,
  fromPowertools,
  levelFromEnv,
} from '../../functions/shared/log.ts';
import { emfMetrics, METRIC, METRICS_NAMESPACE, Tally } from '../../functions/shared/metrics.ts';
import { formatFunctionLine } from '../../infra/local/format.ts';
import { lambdaContext } from '../support/events.ts';

const parse = (line: string) => JSON.parse(line) as Record<string, unknown>;

describe('Module: log', () => {
  describe('Function: createLogger', () => {
    it('prints one JSON line per call, with level, message, service and the fields', () => {
      // Prepare
      const lines: string[] = [];
      const log = createLogger({ service: 'hookonce-test', region: 'eu' }, 'info', (l) =>
        lines.push(l),
      );

      // Act
      log.child({ provider: 'stripe' }).warn('rejected', { reason: 'signature_mismatch' });

      // Assess
      expect(lines).toHaveLength(1);
      expect(parse(lines[0] ?? '')).toMatchObject({
        level: 'WARN',
        message: 'rejected',
        service: 'hookonce-test',
        region: 'eu',
        provider: 'stripe',
        reason: 'signature_mismatch',
        timestamp: expect.any(String),
      });
    });

    it('drops lines under its level, and a child does not change its parent', () => {
      // Prepare
      const lines: string[] = [];
      const log = createLogger({}, 'info', (l) => lines.push(l));

      // Act
      log.child({ deliveryId: 'd1' }).debug('hidden');
      log.info('shown');

      // Assess
      expect(lines.map(parse)).toEqual([expect.objectContaining({ message: 'shown' })]);
      expect(lines[0]).not.toContain('d1');
    });
  });

  describe('Function: createPowertoolsLogger', () => {
    it('logs debug lines at level info when the debug sample rate draws this invocation', () => {
      // Prepare
      const lines: string[] = [];
      const at = (debugSampleRate: number) =>
        fromPowertools(
          createPowertoolsLogger({ level: 'info', debugSampleRate, write: (l) => lines.push(l) }),
        );

      // Act
      at(1).debug('sampled');
      at(0).debug('not sampled');

      // Assess
      expect(lines.map(parse)).toEqual([
        expect.objectContaining({ level: 'DEBUG', message: 'sampled' }),
      ]);
    });

    it('prints a line that carries metrics whatever the level, and no other line under it', () => {
      // Prepare
      const lines: string[] = [];
      const log = fromPowertools(
        createPowertoolsLogger({ level: 'error', write: (l) => lines.push(l) }),
      );

      // Act
      log.info('accepted', { outcome: 'published', _aws: { Timestamp: 0, CloudWatchMetrics: [] } });
      log.info('recovered');
      log.warn('lease lost');

      // Assess
      expect(lines.map(parse)).toEqual([
        expect.objectContaining({ level: 'INFO', message: 'accepted', outcome: 'published' }),
      ]);
    });

    it('writes what an operator reads: no function ARN, name, memory or sampling rate, and a trace id only when X-Ray sampled the invocation', async () => {
      // Prepare
      const lines: string[] = [];
      const logger = createPowertoolsLogger({ service: 's', write: (l) => lines.push(l) });
      const log = fromPowertools(logger);
      const saved = process.env._X_AMZN_TRACE_ID;
      const root = '1-677f2a10-0123456789abcdef01234567';

      // Act
      try {
        logger.addContext(lambdaContext('req-1'));
        process.env._X_AMZN_TRACE_ID = `Root=${root};Parent=0123456789abcdef;Sampled=0`;
        log.info('untraced');
        process.env._X_AMZN_TRACE_ID = `Root=${root};Parent=0123456789abcdef;Sampled=1`;
        log.info('traced');
      } finally {
        if (saved === undefined) delete process.env._X_AMZN_TRACE_ID;
        else process.env._X_AMZN_TRACE_ID = saved;
      }

      // Assess
      const [untraced, traced] = lines.map(parse);
      expect(Object.keys(untraced ?? {})).toEqual([
        'level',
        'message',
        'timestamp',
        'service',
        'cold_start',
        'function_request_id',
      ]);
      expect(untraced).toMatchObject({ function_request_id: 'req-1', service: 's' });
      expect(traced).toMatchObject({ message: 'traced', xray_trace_id: root });
    });
  });

  describe('Function: levelFromEnv', () => {
    it.each([
      [{ POWERTOOLS_LOG_LEVEL: 'DEBUG' }, 'debug'],
      [{ LOG_LEVEL: 'warn' }, 'warn'],
      [{ HOOKONCE_LOG_LEVEL: 'error' }, 'error'],
      [{ POWERTOOLS_LOG_LEVEL: 'loud' }, undefined],
      [{}, undefined],
    ])('reads %j as %s', (env, level) => {
      expect(levelFromEnv(env)).toBe(level);
    });
  });
});

describe('Module: metrics', () => {
  describe('Function: emfMetrics', () => {
    it('writes one EMF object per count, in the hookonce namespace, with service and its own dimensions', () => {
      // Prepare
      const lines: string[] = [];
      const metrics = emfMetrics({ service: 'hookonce-ingest', write: (l) => lines.push(l) });

      // Act
      metrics.count(METRIC.rejected, { provider: 'stripe', reason: 'timestamp_too_old' });
      metrics.count(METRIC.received, { provider: 'stripe' }, 3);
      metrics.count(METRIC.published, { provider: 'stripe' }, 0);

      // Assess
      const [rejected, received, ...rest] = lines.map(parse);
      expect(rest).toEqual([]);
      expect(rejected).toMatchObject({
        _aws: {
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [['service', 'provider', 'reason']],
              Metrics: [{ Name: 'Rejected', Unit: 'Count' }],
            },
          ],
        },
        service: 'hookonce-ingest',
        provider: 'stripe',
        reason: 'timestamp_too_old',
        Rejected: 1,
      });
      // The reason of the first count does not stick to the next one.
      expect(received).toMatchObject({
        _aws: { CloudWatchMetrics: [{ Dimensions: [['service', 'provider']] }] },
        Received: 3,
      });
      expect(received).not.toHaveProperty('reason');
    });

    it('renders a request’s counts as the fields of one line: one directive per dimension set, `service` left to the line', () => {
      // Prepare
      const metrics = emfMetrics({ service: 'hookonce-ingest', disabled: false });
      const counts = [
        { name: METRIC.received, dimensions: { provider: 'stripe' }, value: 1 },
        { name: METRIC.rejected, dimensions: { provider: 'stripe', reason: 'bad' }, value: 1 },
        { name: METRIC.signatureRejected, dimensions: { provider: 'stripe' }, value: 1 },
      ] as const;

      // Act
      const fields = metrics.emf?.(counts, 4102444800000);

      // Assess
      expect(fields).toEqual({
        _aws: {
          Timestamp: 4102444800000,
          CloudWatchMetrics: [
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [['service', 'provider']],
              Metrics: [
                { Name: 'Received', Unit: 'Count' },
                { Name: 'SignatureRejected', Unit: 'Count' },
              ],
            },
            {
              Namespace: METRICS_NAMESPACE,
              Dimensions: [['service', 'provider', 'reason']],
              Metrics: [{ Name: 'Rejected', Unit: 'Count' }],
            },
          ],
        },
        provider: 'stripe',
        reason: 'bad',
        Received: 1,
        Rejected: 1,
        SignatureRejected: 1,
      });
      expect(fields).not.toHaveProperty('service');
    });

    it('folds nothing when metrics are off, and refuses counts that cannot share one document', () => {
      // Prepare
      const on = emfMetrics({ service: 's', disabled: false });
      const off = emfMetrics({ service: 's', disabled: true });
      const stripe = { name: METRIC.received, dimensions: { provider: 'stripe' }, value: 1 };

      // Act
      const twoProviders = on.emf?.(
        [stripe, { name: METRIC.published, dimensions: { provider: 'github' }, value: 1 }],
        0,
      );
      const twoSets = on.emf?.([stripe, { name: METRIC.received, dimensions: {}, value: 1 }], 0);

      // Assess
      expect(off.emf?.([stripe], 0)).toEqual({});
      expect(twoProviders).toBeUndefined();
      expect(twoSets).toBeUndefined();
      expect(on.emf?.([stripe, stripe], 0)).toMatchObject({ Received: 2 });
    });
  });

  describe('Class: Tally', () => {
    it('folds its counts into the fields of one line, or has a port without emf() write them', () => {
      // Prepare
      const written: string[] = [];
      const folding = emfMetrics({ service: 's', disabled: false });
      const apart = {
        count: (name: string, _d?: unknown, value = 1) => written.push(`${name}=${value}`),
      };
      const tally = new Tally();

      // Act
      tally.count(METRIC.received, { provider: 'p' });
      tally.count(METRIC.published, { provider: 'p' }, 0);
      const folded = tally.fields(folding, 0);
      const empty = tally.fields(folding, 0);
      tally.count(METRIC.duplicate, { provider: 'p' });
      const none = tally.fields(apart, 0);

      // Assess
      expect(folded).toMatchObject({ provider: 'p', Received: 1 });
      expect(folded).not.toHaveProperty('Published');
      expect(empty).toEqual({});
      expect(none).toEqual({});
      expect(written).toEqual(['Duplicate=1']);
    });
  });
});

describe('Function: formatFunctionLine', () => {
  it('shows a Powertools line as its message and the fields the code logged', () => {
    // Prepare
    const line = JSON.stringify({
      level: 'INFO',
      message: 'accepted',
      timestamp: '2100-01-01T00:00:00.000Z',
      service: 'hookonce-ingest',
      sampling_rate: 0,
      cold_start: true,
      function_name: 'hookonce-ingest',
      function_request_id: 'r-1',
      provider: 'standard',
      deliveryId: 'msg_1',
    });

    // Act
    const shown = formatFunctionLine('ingest', line, false);

    // Assess
    expect(shown).toMatch(/^\d\d:\d\d:\d\d ingest {5}accepted provider=standard deliveryId=msg_1$/);
  });

  it('leaves out the metrics a line carries', () => {
    // Prepare
    const line = JSON.stringify({
      level: 'INFO',
      message: 'accepted',
      provider: 'standard',
      _aws: { Timestamp: 0, CloudWatchMetrics: [{ Metrics: [{ Name: 'Received' }] }] },
      Received: 1,
    });

    // Act
    const shown = formatFunctionLine('ingest', line, false);

    // Assess
    expect(shown).toMatch(/ accepted provider=standard$/);
  });
});
