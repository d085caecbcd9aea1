/**
 * The import rules of docs/architecture.md ("Tiers and the rules between them"), checked by
 * `npm run lint:deps` inside `npm test`. Tiers: contracts <- core <- adapters | runtime <- apps;
 * ml and sdk stand apart. A rule's comment is what a violation prints.
 */
const pkg = (name) => `^packages/${name}/`;
const platform = '^(packages/(contracts|core|adapters|runtime|sdk|testing)|apps)/';
const npm = ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'contracts-stand-alone',
      comment: 'contracts are the wire: they import zod and nothing of the platform',
      severity: 'error',
      from: { path: pkg('contracts') },
      to: { path: platform, pathNot: pkg('contracts') },
    },
    {
      name: 'core-only-contracts',
      comment: 'core imports contracts only, never adapters, runtime, sdk, testing or apps',
      severity: 'error',
      from: { path: pkg('core') },
      to: { path: `${platform}|${pkg('ml')}`, pathNot: `${pkg('core')}|${pkg('contracts')}` },
    },
    {
      name: 'core-no-io-library',
      comment:
        'core is domain logic without I/O libraries (drivers, DuckDB, HTTP, loggers): ports describe the I/O, adapters do it',
      severity: 'error',
      from: { path: pkg('core') },
      to: { dependencyTypes: npm, pathNot: '^node_modules/(zod|vitest|@vitest)/' },
    },
    {
      name: 'core-no-io-builtin',
      comment:
        'core may use node:crypto (hashes, ids, sealing: computation, no I/O) and node:stream (ports speak Readable); not fs, net, http, child_process, worker_threads',
      severity: 'error',
      from: { path: pkg('core') },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?(crypto|stream)$' },
    },
    {
      name: 'adapters-implement-core',
      comment:
        'adapters import contracts and core (the ports they implement), never runtime, sdk, testing or apps',
      severity: 'error',
      from: { path: pkg('adapters') },
      to: {
        path: `${platform}|${pkg('ml')}`,
        pathNot: `${pkg('adapters')}|${pkg('core')}|${pkg('contracts')}`,
      },
    },
    {
      name: 'runtime-on-ports',
      comment: 'runtime works on ports (core) and contracts; the composition root hands it adapters',
      severity: 'error',
      from: { path: pkg('runtime') },
      to: { path: platform, pathNot: `${pkg('runtime')}|${pkg('core')}|${pkg('contracts')}` },
    },
    {
      name: 'sdk-only-contracts',
      comment: 'the SDK is a client: it imports contracts only',
      severity: 'error',
      from: { path: pkg('sdk') },
      to: { path: `${platform}|${pkg('ml')}`, pathNot: `${pkg('sdk')}|${pkg('contracts')}` },
    },
    {
      name: 'ml-imports-nothing-of-the-platform',
      comment: 'ml is a library of algorithms: it imports nothing of the platform',
      severity: 'error',
      from: { path: pkg('ml') },
      to: { path: platform },
    },
    {
      name: 'apps-use-adapter-entry-points',
      comment:
        'apps open adapters through their entry points (open-*, the DuckDB engine and dataset store they construct), never adapter internals',
      severity: 'error',
      from: { path: '^apps/' },
      to: {
        path: pkg('adapters'),
        pathNot: `${pkg('adapters')}src/(blob/open-blob-store|messaging/open-messaging|sql/open-metadata-store|duckdb/duckdb-engine|sql/dataset-sql-store|sql/endpoint-sql-store|sql/endpoint-metric-sql-store|sql/model-package-sql-store)\\.ts$`,
      },
    },
    {
      name: 'console-speaks-through-the-sdk',
      comment:
        'the web console is a client in the browser: of the platform it imports only the SDK and contracts',
      severity: 'error',
      from: { path: '^apps/console/src/' },
      to: {
        path: `${platform}|${pkg('ml')}`,
        pathNot: `^apps/console/|${pkg('sdk')}|${pkg('contracts')}`,
      },
    },
    {
      name: 'nothing-imports-apps',
      comment: 'apps are the top tier: no package imports them',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'no-unresolvable',
      comment: 'an import that does not resolve: a module its package does not export, or a typo',
      severity: 'error',
      from: { path: '^(packages|apps)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      // Workspace packages resolve through their `exports` as vitest resolves them: `source` first.
      conditionNames: ['source', 'import', 'node', 'default'],
      exportsFields: ['exports'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    moduleSystems: ['es6', 'cjs'],
  },
};
