import { describe, expect, it } from 'vitest';
import { createLogger, createPowertoolsLogger, levelFromEnv } from '../../functions/shared/log.ts';
import { emfMetrics, METRIC, METRICS_NAMESPACE } from '../../functions/shared/metrics.ts';
import { formatFunctionLine } from '../../infra/local/format.ts';

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

      // Act
      const logger = createPowertoolsLogger({
        level: 'info',
        debugSampleRate: 1,
        write: (l) => lines.push(l),
      });
      logger.debug('sampled');

      // Assess
      expect(lines.map(parse)).toContainEqual(
        expect.objectContaining({ level: 'DEBUG', message: 'sampled', sampling_rate: 1 }),
      );
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
});
