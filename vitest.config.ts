import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Suites of their own: the scaled shape's multi-process fault tests (npm run test:scaled) and the reference in a
    // real browser, which needs Debian's Chromium (npm run test:browser).
    exclude: ['test/scaled/**', 'test/browser/**', '**/node_modules/**'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Each file builds its own app on its own database (copied from a migrated template), so files run in parallel.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
