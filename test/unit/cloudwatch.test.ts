import type { MetricDataResult } from '@aws-sdk/client-cloudwatch';
import type { FilteredLogEvent, ResultField } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../infra/console/activity.ts';
import {
  backoff,
  type CloudWatchPort,
  CloudWatchReadError,
  consumerCountsFromResults,
  consumerPeriodSeconds,
  consumerQueries,
  insightsPrefixRegex,
  insightsQueryString,
  insightsRequest,
  insightsString,
  isThrottled,
  LogsActivity,
  MetricsConsumerStats,
  metricDataRequest,
  minuteCountsFromResults,
  parseLogMessage,
  perMinuteQueries,
  recordFromEvent,
  recordsFromRows,
  runInsightsQuery,
  type Sleep,
  spanKey,
  TAIL_FILTER_PATTERN,
  TailCursor,
  TtlCache,
  tailRequest,
} from '../../infra/console/cloudwatch.ts';

const T0 = Date.parse('2100-01-01T00:00:00.000Z');
const NAMES = {
  namespace: 'hookonce',
  ingestService: 'hookonce-ingest',
  consumerService: 'hookonce-consumer',
};

/** An Insights row as GetQueryResults gives it: every value a string, @ptr included. */
const row = (fields: Record<string, string>): ResultField[] =>
  Object.entries({ '@ptr': 'CmAKJwoj', ...fields }).map(([field, value]) => ({ field, value }));

/** Insights' @timestamp of `T0 + ms`. */
const insightsTime = (ms: number) =>
  new Date(T0 + ms).toISOString().replace('T', ' ').replace('Z', '');

/** A log event as FilterLogEvents gives it: the line the ingest function printed. */
const event = (id: string, ms: number, fields: Record<string, unknown>): FilteredLogEvent => ({
  eventId: id,
  timestamp: T0 + ms,
  ingestionTime: T0 + ms + 500,
  logStreamName: '2100/01/01/[$LATEST]abc',
  message: `${JSON.stringify({
    level: 'INFO',
    message: 'accepted',
    timestamp: new Date(T0 + ms).toISOString(),
    service: 'hookonce-ingest',
    ...fields,
  })}\n`,
});

/** A throttling error as the SDK throws it. */
const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });

/** Records each wait and returns at once. */
function recordingSleep(): { sleep: Sleep; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

type Script<T> = Array<T | Error>;

/** A port that answers each call from a script, in order, and records the calls. */
function scriptedPort(scripts: {
  startQuery?: Script<{ queryId?: string }>;
  getQueryResults?: Script<{ status?: string; results?: ResultField[][] }>;
  filterLogEvents?: Script<{ events?: FilteredLogEvent[]; nextToken?: string }>;
  getMetricData?: Script<{ MetricDataResults?: MetricDataResult[]; NextToken?: string }>;
}) {
  const calls: Array<{ call: string; input: unknown }> = [];
  const next = <T>(call: string, script: Script<T> | undefined, input: unknown): Promise<T> => {
    calls.push({ call, input });
    const answer = script?.shift();
    if (answer === undefined) return Promise.reject(new Error(`no scripted answer to ${call}`));
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  const port = {
    startQuery: (input) => next('startQuery', scripts.startQuery, input),
    getQueryResults: (input) => next('getQueryResults', scripts.getQueryResults, input),
    stopQuery: async (input) => void calls.push({ call: 'stopQuery', input }),
    filterLogEvents: (input) => next('filterLogEvents', scripts.filterLogEvents, input),
    getMetricData: (input) => next('getMetricData', scripts.getMetricData, input),
  } as CloudWatchPort;
  return { port, calls };
}

describe('Module: infra/console/cloudwatch', () => {
  describe('Function: insightsString and insightsPrefixRegex', () => {
    it('quotes a value for Logs Insights, escaping backslashes and double quotes', () => {
      expect(insightsString('stripe')).toBe('"stripe"');
      expect(insightsString('a"b\\c')).toBe('"a\\"b\\\\c"');
      expect(insightsString(`x" or outcome = "published`)).toBe('"x\\" or outcome = \\"published"');
    });

    it('matches a type prefix literally: punctuation and the closing slash escaped, letters kept', () => {
      expect(insightsPrefixRegex('invoice.')).toBe('/^invoice\\./');
      expect(insightsPrefixRegex('orders/create')).toBe('/^orders\\/create/');
      expect(insightsPrefixRegex('a.*+?()[]{}|^$\\')).toBe(
        '/^a\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\/',
      );
      expect(insightsPrefixRegex('Événement_1-x')).toBe('/^Événement_1\\-x/');
    });

    it('refuses control characters, which could end a line of the query', () => {
      expect(() => insightsString('stripe\n| limit 1')).toThrow(CloudWatchReadError);
      expect(() => insightsPrefixRegex('a\u0000')).toThrow('the type filter holds a control');
    });
  });

  describe('Function: insightsQueryString', () => {
    it('asks for the lines that end a request, newest first, 200 by default', () => {
      expect(insightsQueryString()).toBe(
        [
          'fields @timestamp, outcome, status, ms, provider, deliveryId, providerDeliveryId, eventType, reason, dependency',
          '| filter ispresent(outcome) and ispresent(status)',
          '| sort @timestamp desc',
          '| limit 200',
        ].join('\n'),
      );
    });

    it('puts every filter in the query, quoted, and bounds the limit', () => {
      const query = insightsQueryString({
        provider: 'stripe',
        outcome: 'rejected',
        type: 'invoice.',
        limit: 50_000,
      });
      expect(query.split('\n').slice(2)).toEqual([
        '| filter provider = "stripe"',
        '| filter outcome = "rejected"',
        '| filter eventType like /^invoice\\./',
        '| sort @timestamp desc',
        '| limit 10000',
      ]);
      expect(insightsQueryString({ limit: 0 })).toContain('| limit 1');
    });

    it('refuses an outcome that does not exist rather than asking for it', () => {
      expect(() =>
        insightsQueryString({ outcome: 'gone' as RequestRecord['outcome'] }),
      ).toThrowError(/no outcome "gone"/);
    });
  });

  describe('Function: insightsRequest', () => {
    it('scans the last hour by default, up to now, in whole seconds that hold it', () => {
      const request = insightsRequest('/aws/lambda/ingest', {}, T0 + 1_500);
      expect(request).toMatchObject({
        logGroupName: '/aws/lambda/ingest',
        startTime: (T0 + 1_500 - 3_600_000 - 500) / 1000,
        endTime: (T0 + 2_000) / 1000,
      });
    });

    it('starts at since when the query names it, or at a window of its own', () => {
      expect(insightsRequest('g', { since: T0 + 10_999 }, T0 + 60_000).startTime).toBe(
        (T0 + 10_000) / 1000,
      );
      expect(insightsRequest('g', {}, T0 + 600_000, 300_000).startTime).toBe((T0 + 300_000) / 1000);
    });
  });

  describe('Function: recordsFromRows', () => {
    it('reads each row into a request record, newest first', () => {
      const records = recordsFromRows([
        row({
          '@timestamp': insightsTime(1_000),
          outcome: 'duplicate',
          status: '200',
          ms: '9',
          provider: 'stripe',
          deliveryId: 'evt_1',
          eventType: 'invoice.paid',
        }),
        row({
          '@timestamp': insightsTime(2_000),
          outcome: 'rejected',
          status: '401',
          ms: '2',
          provider: 'stripe',
          reason: 'signature_mismatch',
        }),
        row({
          '@timestamp': insightsTime(0),
          outcome: 'unavailable',
          status: '503',
          provider: 'github',
          deliveryId: 'k',
          providerDeliveryId: 'gh-1',
          eventType: 'push',
          dependency: 'dynamodb',
        }),
      ]);
      expect(records).toEqual([
        {
          time: T0 + 2_000,
          provider: 'stripe',
          status: 401,
          outcome: 'rejected',
          reason: 'signature_mismatch',
          ms: 2,
        },
        {
          time: T0 + 1_000,
          provider: 'stripe',
          status: 200,
          outcome: 'duplicate',
          deliveryId: 'evt_1',
          eventType: 'invoice.paid',
          ms: 9,
        },
        {
          time: T0,
          provider: 'github',
          status: 503,
          outcome: 'unavailable',
          reason: 'dynamodb',
          deliveryId: 'k',
          providerDeliveryId: 'gh-1',
          eventType: 'push',
        },
      ]);
    });

    it('drops rows that end no request, and applies the filters again, to the millisecond', () => {
      const records = recordsFromRows(
        [
          row({ '@timestamp': insightsTime(0), outcome: 'published' }),
          row({ '@timestamp': insightsTime(0), outcome: 'weird', status: '200' }),
          row({ '@timestamp': insightsTime(400), outcome: 'published', status: '202' }),
          row({ '@timestamp': insightsTime(600), outcome: 'published', status: '202' }),
          row({ '@timestamp': insightsTime(700), outcome: 'published', status: '202' }),
        ],
        { since: T0 + 500, limit: 1 },
      );
      expect(records.map((r) => r.time)).toEqual([T0 + 700]);
    });
  });

  describe('Function: runInsightsQuery', () => {
    const request = insightsRequest('ingest-logs', {}, T0);

    it('polls a running query with growing waits until it is complete', async () => {
      // Prepare
      const { port, calls } = scriptedPort({
        startQuery: [{ queryId: 'q1' }],
        getQueryResults: [
          { status: 'Scheduled' },
          { status: 'Running' },
          { status: 'Running' },
          { status: 'Running' },
          { status: 'Running' },
          { status: 'Complete', results: [row({ outcome: 'published' })] },
        ],
      });
      const { sleep, waits } = recordingSleep();

      // Act
      const rows = await runInsightsQuery(port, request, { sleep });

      // Assess
      expect(rows).toHaveLength(1);
      expect(waits).toEqual([250, 500, 1_000, 2_000, 2_000]);
      expect(calls.filter((c) => c.call === 'getQueryResults')[0]?.input).toEqual({
        queryId: 'q1',
      });
    });

    it('waits out throttling of StartQuery and GetQueryResults, doubling each wait', async () => {
      // Prepare
      const { port } = scriptedPort({
        startQuery: [throttled(), throttled(), { queryId: 'q1' }],
        getQueryResults: [throttled(), { status: 'Complete', results: [] }],
      });
      const { sleep, waits } = recordingSleep();

      // Act
      const rows = await runInsightsQuery(port, request, { sleep });

      // Assess
      expect(rows).toEqual([]);
      expect(waits).toEqual([500, 1_000, 500]);
    });

    it('gives up, plainly, when throttled too many times in a row', async () => {
      const { port } = scriptedPort({
        startQuery: [throttled(), throttled(), throttled()],
      });
      const { sleep, waits } = recordingSleep();
      await expect(runInsightsQuery(port, request, { sleep, maxThrottled: 3 })).rejects.toThrow(
        /StartQuery on ingest-logs was throttled 3 times in a row \(ThrottlingException: Rate exceeded\)/,
      );
      expect(waits).toEqual([500, 1_000]);
    });

    it('says which call failed, and why, on any other error', async () => {
      const denied = Object.assign(new Error('not authorized to perform logs:StartQuery'), {
        name: 'AccessDeniedException',
      });
      const { port } = scriptedPort({ startQuery: [denied] });
      const error = await runInsightsQuery(port, request, recordingSleep()).catch((e) => e);
      expect(error).toBeInstanceOf(CloudWatchReadError);
      expect(error.message).toBe(
        'Logs Insights StartQuery on ingest-logs failed: AccessDeniedException: not authorized to perform logs:StartQuery',
      );
      expect(error.cause).toBe(denied);
    });

    it.each([
      ['Failed', 'the Logs Insights query on ingest-logs ended Failed'],
      ['Cancelled', 'the Logs Insights query on ingest-logs ended Cancelled'],
      ['Unknown', 'the Logs Insights query on ingest-logs ended Unknown'],
      [undefined, 'the Logs Insights query on ingest-logs ended with no status'],
      [
        'Timeout',
        "the Logs Insights query on ingest-logs timed out on CloudWatch's side: narrow the window or the filters",
      ],
    ])('ends a query that ends %s in a clear error', async (status, message) => {
      const { port } = scriptedPort({
        startQuery: [{ queryId: 'q1' }],
        getQueryResults: [{ status: 'Running' }, { status }],
      });
      await expect(runInsightsQuery(port, request, recordingSleep())).rejects.toThrow(message);
    });

    it('stops a query that outlasts its time, and says so', async () => {
      // Prepare
      const { port, calls } = scriptedPort({
        startQuery: [{ queryId: 'q9' }],
        getQueryResults: Array.from({ length: 10 }, () => ({ status: 'Running' })),
      });
      const { sleep, waits } = recordingSleep();

      // Act
      const error = await runInsightsQuery(port, request, { sleep, timeoutMs: 3_000 }).catch(
        (e) => e,
      );

      // Assess
      expect(error.message).toBe(
        'the Logs Insights query on ingest-logs was still Running after 4 s; it was stopped',
      );
      expect(waits).toEqual([250, 500, 1_000, 2_000]);
      expect(calls.at(-1)).toEqual({ call: 'stopQuery', input: { queryId: 'q9' } });
    });

    it('refuses an answer without a query id', async () => {
      const { port } = scriptedPort({ startQuery: [{}] });
      await expect(runInsightsQuery(port, request, recordingSleep())).rejects.toThrow(
        'answered no query id',
      );
    });
  });

  describe('Function: isThrottled and backoff', () => {
    it('knows throttling by name, by status 429 or by the SDK flag', () => {
      expect(isThrottled(throttled())).toBe(true);
      expect(isThrottled({ name: 'LimitExceededException' })).toBe(true);
      expect(isThrottled({ name: 'Throttling' })).toBe(true);
      expect(isThrottled({ name: 'X', $metadata: { httpStatusCode: 429 } })).toBe(true);
      expect(isThrottled({ name: 'X', $retryable: { throttling: true } })).toBe(true);
      expect(isThrottled({ name: 'AccessDeniedException' })).toBe(false);
      expect(isThrottled(undefined)).toBe(false);
    });

    it('doubles from its base up to its ceiling', () => {
      expect([0, 1, 2, 3, 4, 5].map((n) => backoff(n))).toEqual([
        500, 1_000, 2_000, 4_000, 8_000, 8_000,
      ]);
      expect(backoff(3, 2_000, 30_000)).toBe(16_000);
    });
  });

  describe('Function: parseLogMessage and recordFromEvent', () => {
    it('reads the JSON Powertools prints, alone or after Lambda’s text prefix', () => {
      expect(parseLogMessage('{"outcome":"published"}\n')).toEqual({ outcome: 'published' });
      expect(
        parseLogMessage('2100-01-01T00:00:00.000Z\tabc-123\tINFO\t{"outcome":"duplicate"}'),
      ).toEqual({ outcome: 'duplicate' });
      expect(parseLogMessage('START RequestId: abc Version: $LATEST')).toBe(undefined);
      expect(parseLogMessage('{not json')).toBe(undefined);
      expect(parseLogMessage('[1,2]')).toBe(undefined);
      expect(parseLogMessage(undefined)).toBe(undefined);
    });

    it('reads the record of an event, timed by the event when the line has no time', () => {
      expect(
        recordFromEvent(event('e1', 5, { provider: 'stripe', outcome: 'published', status: 202 })),
      ).toMatchObject({ time: T0 + 5, provider: 'stripe', outcome: 'published', status: 202 });
      expect(
        recordFromEvent({
          eventId: 'e2',
          timestamp: T0 + 7,
          message: '{"outcome":"duplicate","status":200}',
        }),
      ).toEqual({ time: T0 + 7, outcome: 'duplicate', status: 200 });
      expect(recordFromEvent(event('e3', 0, { message: 'claimed' }))).toBe(undefined);
    });
  });

  describe('Class: TailCursor', () => {
    const published = (id: string, ms: number) =>
      event(id, ms, { provider: 'stripe', outcome: 'published', status: 202, deliveryId: id });
    const ids = (records: RequestRecord[]) => records.map((r) => r.deliveryId);

    it('asks from the start, then from a little before each poll', () => {
      const cursor = new TailCursor(T0, 15_000);
      expect(cursor.from).toBe(T0);
      cursor.take([], T0 + 2_000);
      expect(cursor.from).toBe(T0);
      cursor.take([], T0 + 20_000);
      expect(cursor.from).toBe(T0 + 5_000);
      expect(tailRequest('ingest-logs', cursor.from, 'tok')).toEqual({
        logGroupName: 'ingest-logs',
        startTime: T0 + 5_000,
        filterPattern: TAIL_FILTER_PATTERN,
        nextToken: 'tok',
      });
      expect(TAIL_FILTER_PATTERN).toBe('{ $.outcome = * }');
      expect(tailRequest('g', T0)).not.toHaveProperty('nextToken');
    });

    it('shows each event once, oldest first, though every poll asks for the overlap again', () => {
      const cursor = new TailCursor(T0, 15_000);
      expect(ids(cursor.take([published('b', 1_500), published('a', 1_000)], T0 + 2_000))).toEqual([
        'a',
        'b',
      ]);
      expect(
        ids(
          cursor.take(
            [published('a', 1_000), published('b', 1_500), published('c', 3_000)],
            T0 + 4_000,
          ),
        ),
      ).toEqual(['c']);
    });

    it('shows a line that arrived late, within the overlap, when it arrives', () => {
      const cursor = new TailCursor(T0, 15_000);
      cursor.take([published('a', 30_000)], T0 + 31_000);
      // An invocation on another stream wrote at +25 s; CloudWatch had not made it searchable.
      expect(
        ids(cursor.take([published('late', 25_000), published('a', 30_000)], T0 + 33_000)),
      ).toEqual(['late']);
    });

    it('forgets the ids it will not be asked about again', () => {
      const cursor = new TailCursor(T0, 10_000);
      cursor.take([published('a', 1_000), published('b', 2_000)], T0 + 3_000);
      expect(cursor.remembered).toBe(2);
      cursor.take([published('c', 40_000)], T0 + 41_000);
      expect(cursor.from).toBe(T0 + 31_000);
      expect(cursor.remembered).toBe(1);
    });

    it('skips events without an id, before its start, or that end no request', () => {
      const cursor = new TailCursor(T0 + 10_000, 15_000);
      const records = cursor.take(
        [
          { ...published('x', 11_000), eventId: undefined },
          published('old', 9_000),
          event('m', 12_000, { message: 'claimed' }),
          published('ok', 13_000),
        ],
        T0 + 14_000,
      );
      expect(ids(records)).toEqual(['ok']);
    });
  });

  describe('Function: perMinuteQueries and minuteCountsFromResults', () => {
    it('sums each metric over every provider SEARCH finds, per minute, in one request', () => {
      const queries = perMinuteQueries(NAMES);
      expect(queries.map((q) => [q.Id, q.Expression])).toEqual([
        [
          'received',
          `SUM(SEARCH('{hookonce,service,provider} service="hookonce-ingest" MetricName="Received"', 'Sum', 60))`,
        ],
        [
          'duplicates',
          `SUM(SEARCH('{hookonce,service,provider} service="hookonce-ingest" MetricName="Duplicate"', 'Sum', 60))`,
        ],
        [
          'published',
          `SUM(SEARCH('{hookonce,service,provider} service="hookonce-ingest" MetricName="Published"', 'Sum', 60))`,
        ],
        [
          'rejected',
          `SUM(SEARCH('{hookonce,service,provider,reason} service="hookonce-ingest" MetricName="Rejected"', 'Sum', 60))`,
        ],
        [
          'unknown',
          `SUM(SEARCH('{hookonce,service,reason} service="hookonce-ingest" MetricName="Rejected"', 'Sum', 60))`,
        ],
      ]);
      expect(queries.every((q) => q.Period === 60 && q.ReturnData === true)).toBe(true);
      expect(metricDataRequest(queries, T0 + 30_000, T0 + 150_000)).toEqual({
        MetricDataQueries: queries,
        StartTime: new Date(T0),
        EndTime: new Date(T0 + 180_000),
        ScanBy: 'TimestampAscending',
      });
      expect(metricDataRequest(queries, T0, T0, 'tok').NextToken).toBe('tok');
    });

    it('refuses a name that would break out of the search expression', () => {
      expect(() => perMinuteQueries({ ...NAMES, ingestService: `x" MetricName="y` })).toThrow(
        /cannot be searched for/,
      );
    });

    it('maps the series onto every minute, counting requests to no declared provider as received and rejected', () => {
      const at = (...minutes: number[]) => minutes.map((m) => new Date(T0 + m * 60_000));
      const results: MetricDataResult[] = [
        { Id: 'received', Timestamps: at(0, 2), Values: [5, 1], StatusCode: 'Complete' },
        { Id: 'duplicates', Timestamps: at(0), Values: [1], StatusCode: 'Complete' },
        { Id: 'published', Timestamps: at(0, 2), Values: [3, 1], StatusCode: 'Complete' },
        { Id: 'rejected', Timestamps: at(0), Values: [1], StatusCode: 'Complete' },
        { Id: 'unknown', Timestamps: at(1), Values: [2], StatusCode: 'Complete' },
        // A second page of the same series adds to it.
        { Id: 'received', Timestamps: at(3), Values: [4], StatusCode: 'Complete' },
      ];
      expect(minuteCountsFromResults(results, T0, T0 + 4 * 60_000)).toEqual([
        { minute: T0, received: 5, duplicates: 1, rejected: 1, published: 3 },
        { minute: T0 + 60_000, received: 2, duplicates: 0, rejected: 2, published: 0 },
        { minute: T0 + 120_000, received: 1, duplicates: 0, rejected: 0, published: 1 },
        { minute: T0 + 180_000, received: 4, duplicates: 0, rejected: 0, published: 0 },
      ]);
      expect(minuteCountsFromResults([], T0, T0 + 60_000)).toEqual([
        { minute: T0, received: 0, duplicates: 0, rejected: 0, published: 0 },
      ]);
    });

    it('refuses a series CloudWatch would not give', () => {
      expect(() =>
        minuteCountsFromResults(
          [{ Id: 'received', StatusCode: 'Forbidden', Messages: [{ Value: 'no access' }] }],
          T0,
          T0,
        ),
      ).toThrow('GetMetricData answered Forbidden for received: no access');
    });
  });

  describe('Function: consumerQueries and consumerCountsFromResults', () => {
    it('asks for three sums per subscriber over the whole span, by subscriber dimension', () => {
      expect(consumerPeriodSeconds(T0 + 1_000, T0 + 3_599_000)).toBe(3_600);
      expect(consumerPeriodSeconds(T0, T0)).toBe(60);
      const queries = consumerQueries(NAMES, ['billing', 'payments-team'], 3_600);
      expect(queries.map((q) => q.Id)).toEqual([
        's0_effects',
        's0_duplicates',
        's0_failures',
        's1_effects',
        's1_duplicates',
        's1_failures',
      ]);
      expect(queries[4]).toEqual({
        Id: 's1_duplicates',
        MetricStat: {
          Metric: {
            Namespace: 'hookonce',
            MetricName: 'ConsumerDuplicatesSkipped',
            Dimensions: [
              { Name: 'service', Value: 'hookonce-consumer' },
              { Name: 'subscriber', Value: 'payments-team' },
            ],
          },
          Period: 3_600,
          Stat: 'Sum',
        },
        ReturnData: true,
      });
    });

    it('counts effects and duplicates skipped as succeeded (and the duplicates apart), failures as failed', () => {
      const t = [new Date(T0), new Date(T0 + 60_000)];
      expect(
        consumerCountsFromResults(
          [
            { Id: 's0_effects', Timestamps: t, Values: [3, 4] },
            { Id: 's0_duplicates', Timestamps: t.slice(0, 1), Values: [2] },
            { Id: 's0_failures', Timestamps: [], Values: [] },
            { Id: 's1_failures', Timestamps: t.slice(1), Values: [5] },
          ],
          ['billing', 'example'],
        ),
      ).toEqual({
        billing: { succeeded: 9, failed: 0, duplicates: 2 },
        example: { succeeded: 0, failed: 5, duplicates: 0 },
      });
    });

    it('gives up plainly when GetMetricData keeps being throttled', async () => {
      const { port, calls } = scriptedPort({
        getMetricData: [throttled(), throttled(), throttled(), throttled(), throttled()],
      });
      const { sleep, waits } = recordingSleep();
      const stats = new MetricsConsumerStats({
        port,
        metrics: NAMES,
        subscribers: ['billing'],
        sleep,
      });
      await expect(stats.counts(T0, T0 + 60_000)).rejects.toThrow(
        /CloudWatch GetMetricData was throttled 5 times in a row/,
      );
      expect(waits).toEqual([500, 1_000, 2_000, 4_000]);
      expect(calls).toHaveLength(5);
    });

    it('asks nothing when there is no subscriber', async () => {
      const { port, calls } = scriptedPort({});
      const stats = new MetricsConsumerStats({ port, metrics: NAMES, subscribers: [] });
      expect(await stats.counts(T0, T0 + 60_000)).toEqual({});
      expect(calls).toEqual([]);
    });
  });

  describe('Class: TtlCache', () => {
    it('serves an answer for the same minutes until it is ttl old, and shares one that is on its way', async () => {
      // Prepare
      let now = T0;
      let loads = 0;
      const cache = new TtlCache<number>(30_000, () => now);
      const load = async () => ++loads;

      // Act
      const first = await Promise.all([
        cache.get(spanKey(T0 + 1_000, T0 + 61_000), load),
        cache.get(spanKey(T0 + 2_000, T0 + 62_000), load),
      ]);
      now += 29_999;
      const kept = await cache.get(spanKey(T0, T0 + 120_000), load);
      now += 1;
      const fresh = await cache.get(spanKey(T0, T0 + 120_000), load);
      const other = await cache.get(spanKey(T0 + 60_000, T0 + 120_000), load);

      // Assess
      expect(spanKey(T0 + 1_000, T0 + 61_000)).toBe(`${T0}-${T0 + 120_000}`);
      expect(first).toEqual([1, 1]);
      expect(kept).toBe(1);
      expect(fresh).toBe(2);
      expect(other).toBe(3);
    });

    it('keeps no failure: the next ask tries again', async () => {
      const cache = new TtlCache<string>(30_000, () => T0);
      await expect(cache.get('k', () => Promise.reject(new Error('throttled')))).rejects.toThrow(
        'throttled',
      );
      expect(await cache.get('k', async () => 'ok')).toBe('ok');
    });
  });

  describe('Class: LogsActivity', () => {
    it('describes where its records come from', () => {
      const { port } = scriptedPort({});
      expect(new LogsActivity({ port, logGroup: 'g', metrics: NAMES }).description).toBe(
        'log group g (CloudWatch Logs Insights, the last hour)',
      );
      expect(
        new LogsActivity({ port, logGroup: 'g', metrics: NAMES, windowMs: 900_000 }).description,
      ).toBe('log group g (CloudWatch Logs Insights, the last 15 minutes)');
    });

    it('turns a failed timeline query into a clear error', async () => {
      const { port, calls } = scriptedPort({
        startQuery: [{ queryId: 'q1' }],
        getQueryResults: [{ status: 'Failed' }],
      });
      const activity = new LogsActivity({
        port,
        logGroup: 'ingest-logs',
        metrics: NAMES,
        now: () => T0,
        sleep: recordingSleep().sleep,
      });
      await expect(activity.recent({ provider: 'stripe' })).rejects.toThrow(
        'the Logs Insights query on ingest-logs ended Failed',
      );
      expect(calls[0]?.input).toMatchObject({
        logGroupName: 'ingest-logs',
        queryString: expect.stringContaining('| filter provider = "stripe"'),
      });
    });

    it('turns a refused metric series into a clear error', async () => {
      const { port } = scriptedPort({
        getMetricData: [{ MetricDataResults: [{ Id: 'received', StatusCode: 'Forbidden' }] }],
      });
      const activity = new LogsActivity({ port, logGroup: 'g', metrics: NAMES });
      await expect(activity.perMinute(T0, T0 + 60_000)).rejects.toThrow(
        'GetMetricData answered Forbidden for received',
      );
    });

    it('keeps the live view going through throttling: waits longer, says so, then shows each line once', async () => {
      // Prepare: each wait is held until the test lets it go.
      const waits: number[] = [];
      let release: (() => void) | undefined;
      let waiting: (() => void) | undefined;
      const sleep: Sleep = (ms) =>
        new Promise<void>((resolve) => {
          waits.push(ms);
          release = resolve;
          waiting?.();
        });
      const nextWait = () =>
        new Promise<void>((resolve) => {
          waiting = resolve;
        });
      const line = (id: string, ms: number) =>
        event(id, ms, { provider: 'stripe', outcome: 'published', status: 202, deliveryId: id });
      const { port, calls } = scriptedPort({
        filterLogEvents: [
          throttled(),
          { events: [line('a', 1_000)], nextToken: 'p2' },
          { events: [line('b', 1_500)] },
          { events: [line('a', 1_000), line('b', 1_500), line('c', 2_500)] },
        ],
      });
      const errors: string[] = [];
      let now = T0;
      const activity = new LogsActivity({
        port,
        logGroup: 'ingest-logs',
        metrics: NAMES,
        now: () => now,
        sleep,
        tailIntervalMs: 2_000,
        onWatchError: (e) => errors.push(e.message),
      });
      const seen: string[] = [];
      const seenToo: string[] = [];

      // Act
      let waited = nextWait();
      const stop = activity.watch((r) => seen.push(r.deliveryId ?? '?'));
      const stopToo = activity.watch((r) => seenToo.push(r.deliveryId ?? '?'));
      await waited; // throttled: backs off
      now += 2_000;
      waited = nextWait();
      release?.();
      await waited; // two pages read
      now += 2_000;
      waited = nextWait();
      release?.();
      await waited; // the overlap again, and one new
      stop();
      stopToo();
      release?.();

      // Assess
      expect(errors).toEqual([
        'FilterLogEvents on ingest-logs was throttled (ThrottlingException: Rate exceeded); trying again in 2 s',
      ]);
      expect(waits).toEqual([2_000, 2_000, 2_000]);
      expect(seen).toEqual(['a', 'b', 'c']);
      expect(seenToo).toEqual(['a', 'b', 'c']);
      expect(calls.map((c) => c.input)).toEqual([
        tailRequest('ingest-logs', T0),
        tailRequest('ingest-logs', T0),
        tailRequest('ingest-logs', T0, 'p2'),
        tailRequest('ingest-logs', T0),
      ]);
    });
  });
});
