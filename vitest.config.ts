import { defineConfig } from 'vitest/config';

/**
 * Tests that put real load on the embedded emulators (the storm, outages, the
 * local runtime over HTTP with its 200-way race) run one file at a time, after
 * the rest: on a two-core machine, two of them at once starve each other's
 * emulators into timeouts that say nothing about hookonce.
 */
const LOAD = [
  'test/e2e/**/*.test.ts',
  'test/integration/storm.test.ts',
  'test/integration/outage.test.ts',
  'test/integration/large-payloads.test.ts',
  // The console in Chromium, on a runtime of its own.
  'test/browser/**/*.test.ts',
];

const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
  // The functions write EMF metric lines to stdout; tests that check metrics
  // give emfMetrics() a writer of their own, which this does not silence.
  env: { POWERTOOLS_METRICS_DISABLED: 'true' },
};

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts', 'infra/**/*.ts'],
      reporter: ['text-summary'],
    },
    projects: [
      {
        test: {
          ...shared,
          name: 'parallel',
          include: ['test/{unit,integration,infra,e2e,package}/**/*.test.ts'],
          exclude: LOAD,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'load',
          include: LOAD,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
