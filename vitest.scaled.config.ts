import { defineConfig } from 'vitest/config';

/**
 * The scaled shape's own suite (`npm run test:scaled`): several API and worker processes on one PostgreSQL, with
 * faults (killed nodes, terminated backends, PgBouncer). It needs DATABASE_URL; `.ci/run` runs it after the main
 * suite. Files run one at a time: each starts a handful of processes and loads the machine on its own.
 */
export default defineConfig({
  test: {
    include: ['test/scaled/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts', 'test/helpers/scaled-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
