/**
 * The one price table `hookonce cost` and docs/operations.md (Cost) use: AWS list
 * prices for us-east-1 (US East, N. Virginia), on-demand, first pricing tier,
 * no free tier, in US dollars. Prices change: check each against its page
 * before relying on the estimate, and update `asOf` with the table.
 */
export const PRICE_TABLE = {
  region: 'us-east-1',
  /** When these figures were read from the pages named in each `source`. */
  asOf: '2025-06',
  prices: {
    apiGatewayHttpRequest: {
      usd: 1.0 / 1e6,
      unit: 'HTTP API request (up to 512 KB; first 300 million a month)',
      source: 'Amazon API Gateway pricing, HTTP APIs',
    },
    lambdaRequest: {
      usd: 0.2 / 1e6,
      unit: 'Lambda invocation',
      source: 'AWS Lambda pricing, requests',
    },
    lambdaArmGbSecond: {
      usd: 0.0000133334,
      unit: 'GB-second of Lambda on arm64 (first 7.5 billion a month)',
      source: 'AWS Lambda pricing, duration, Arm',
    },
    dynamoWriteRequestUnit: {
      usd: 0.625 / 1e6,
      unit: 'DynamoDB on-demand write request unit (1 KB; failed conditional writes included)',
      source: 'Amazon DynamoDB pricing, on-demand, Standard table class',
    },
    dynamoReadRequestUnit: {
      usd: 0.125 / 1e6,
      unit: 'DynamoDB on-demand read request unit (4 KB strongly consistent)',
      source: 'Amazon DynamoDB pricing, on-demand, Standard table class',
    },
    snsPublish: {
      usd: 0.5 / 1e6,
      unit: 'SNS standard topic publish (per 64 KB chunk); deliveries to SQS are not charged by SNS',
      source: 'Amazon SNS pricing, standard topics',
    },
    sqsRequest: {
      usd: 0.4 / 1e6,
      unit: 'SQS standard queue request (per 64 KB chunk): send, receive, delete',
      source: 'Amazon SQS pricing, standard queues',
    },
    s3Put: {
      usd: 0.005 / 1e3,
      unit: 'S3 Standard PUT request',
      source: 'Amazon S3 pricing, requests',
    },
    s3Get: {
      usd: 0.0004 / 1e3,
      unit: 'S3 Standard GET request',
      source: 'Amazon S3 pricing, requests',
    },
    s3StorageGbMonth: {
      usd: 0.023,
      unit: 'GB-month of S3 Standard storage',
      source: 'Amazon S3 pricing, storage',
    },
    logsIngestedGb: {
      usd: 0.5,
      unit: 'GB of CloudWatch Logs ingested (standard class)',
      source: 'Amazon CloudWatch pricing, logs',
    },
    xrayTrace: {
      usd: 5.0 / 1e6,
      unit: 'X-Ray trace recorded',
      source: 'AWS X-Ray pricing',
    },
    customMetricMonth: {
      usd: 0.3,
      unit: 'CloudWatch custom metric a month (first 10,000), EMF included',
      source: 'Amazon CloudWatch pricing, metrics',
    },
    alarmMetricMonth: {
      usd: 0.1,
      unit: 'CloudWatch standard-resolution alarm metric a month',
      source: 'Amazon CloudWatch pricing, alarms',
    },
    dashboardMonth: {
      usd: 3.0,
      unit: 'CloudWatch dashboard a month (beyond the first 3)',
      source: 'Amazon CloudWatch pricing, dashboards',
    },
    kmsKeyMonth: {
      usd: 1.0,
      unit: 'KMS customer managed key a month',
      source: 'AWS Key Management Service pricing',
    },
    secretMonth: {
      usd: 0.4,
      unit: 'Secrets Manager secret a month',
      source: 'AWS Secrets Manager pricing',
    },
  },
} as const;

export type PriceName = keyof typeof PRICE_TABLE.prices;

/** The price of one unit of `name`, in US dollars. */
export const price = (name: PriceName): number => PRICE_TABLE.prices[name].usd;
