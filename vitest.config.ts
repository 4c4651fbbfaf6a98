import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/{unit,integration,infra,e2e}/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The functions write EMF metric lines to stdout; tests that check metrics
    // give emfMetrics() a writer of their own, which this does not silence.
    env: { POWERTOOLS_METRICS_DISABLED: 'true' },
    reporters: ['default', './test/support/summary-reporter.ts'],
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts', 'infra/**/*.ts'],
      reporter: ['text-summary'],
    },
  },
});
