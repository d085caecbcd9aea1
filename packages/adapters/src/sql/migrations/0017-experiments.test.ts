import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { ExperimentTables } from '../experiment-tables.js';
import type { JobsTables } from '../jobs-tables.js';
import { migrationList } from '../migration-list.js';
import { openSqliteMetadataStore } from '../sqlite-metadata-store.js';

describe('migration 0017-experiments', () => {
  it("copies in the experiments, trials and links of the training jobs' ExperimentConfig", async () => {
    const metadata = await openSqliteMetadataStore(':memory:');
    try {
      const { '0017-experiments': _, ...before } = migrationList;
      const migrator = new Migrator({
        db: metadata.db,
        provider: { getMigrations: async () => before },
        allowUnorderedMigrations: true,
        migrationTableName: 'trainyard_migrations',
        migrationLockTableName: 'trainyard_migrations_lock',
      });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const db = metadata.db.withTables<JobsTables & ExperimentTables>();
      const jobs: [string, number, object | undefined][] = [
        ['d1', 1000, { ExperimentName: 'Churn', RunName: 'depth-1' }],
        ['d3', 2000, { ExperimentName: 'churn', TrialName: 'grid' }],
        ['d5', 3000, { ExperimentName: 'Churn', TrialName: 'grid' }],
        ['plain', 4000, { ExperimentName: 'other' }],
        ['loose', 5000, undefined],
      ];
      for (const [name, at, config] of jobs)
        await db
          .insertInto('jobs')
          .values({
            id: `id-${name}`,
            kind: 'training',
            name,
            arn: `arn:aws:sagemaker:us-east-1:000000000000:training-job/${name}`,
            status: 'Completed',
            secondary_status: 'Completed',
            transitions: '[]',
            spec: JSON.stringify({ TrainingJobName: name, ...(config ? { ExperimentConfig: config } : {}) }),
            created_at: at,
            updated_at: at,
            attempts: 1,
            version: 1,
          })
          .execute();
      expect(await metadata.migrate()).toEqual(['0017-experiments']);
      const experiments = await metadata.experiments.listExperiments();
      expect(experiments.map((e) => [e.ExperimentName, e.CreationTime])).toEqual([
        ['Churn', new Date(1000).toISOString()],
        ['other', new Date(4000).toISOString()],
      ]);
      expect((await metadata.experiments.listTrials('churn')).map((t) => t.TrialName)).toEqual([
        'depth-1',
        'grid',
      ]);
      expect((await metadata.experiments.listTrials('other')).map((t) => t.TrialName)).toEqual(['plain']);
      expect((await metadata.experiments.links({ trial: 'grid' })).map((l) => l.componentName)).toEqual([
        'd3-aws-training-job',
        'd5-aws-training-job',
      ]);
    } finally {
      await metadata.close();
    }
  });
});
