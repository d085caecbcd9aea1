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
  },
});
