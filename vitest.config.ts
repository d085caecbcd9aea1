import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages export `source` (TypeScript) beside `default` (built JS), so tests run
// against the sources without a build step.
const conditions = ['source', ...defaultServerConditions];
// Vitest hands the SSR conditions to Node (--conditions) for dependencies it leaves to Node; "module"
// there makes packages such as the AWS SDK load a bundler-only build Node cannot run.
const nodeConditions = conditions.filter((c) => c !== 'module');

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: nodeConditions, externalConditions: nodeConditions } },
  test: {
    include: ['{apps,packages}/*/src/**/*.test.ts', 'apps/*/e2e/**/*.test.ts', 'e2e/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default on a 2-core machine is one worker; most tests wait on child processes
    // (servers, jobs, the aws CLI, Chromium), so two files at a time use the cores better.
    maxWorkers: 2,
  },
});
