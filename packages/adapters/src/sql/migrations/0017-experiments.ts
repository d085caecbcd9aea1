import type { Kysely, Migration } from 'kysely';
import type { ExperimentTables } from '../experiment-tables.js';
import type { JobsTables } from '../jobs-tables.js';

/** SageMaker names the trial component of a training job `<job>-aws-training-job`. */
const trainingComponentSuffix = '-aws-training-job';

interface ExperimentConfigOfSpec {
  ExperimentConfig?: { ExperimentName?: string; RunName?: string; TrialName?: string };
}

/**
 * Experiments, trials and trial components as records (SageMaker's CreateExperiment, CreateTrial,
 * CreateTrialComponent), with the links between trials and components. Before, experiments were
 * only the ExperimentConfig of training jobs: those are copied in, so every experiment, trial (the
 * run) and link a job made stays.
 */
export const experimentsMigration: Migration = {
  async up(untyped: Kysely<unknown>) {
    const db = untyped as Kysely<ExperimentTables & JobsTables>;
    await db.schema
      .createTable('experiments')
      .addColumn('name_key', 'varchar(120)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(120)', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('trials')
      .addColumn('name_key', 'varchar(120)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(120)', (c) => c.notNull())
      .addColumn('experiment_key', 'varchar(120)', (c) =>
        c.notNull().references('experiments.name_key').onDelete('restrict'),
      )
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('trials_experiment').on('trials').column('experiment_key').execute();
    await db.schema
      .createTable('trial_components')
      .addColumn('name_key', 'varchar(120)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(120)', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('trial_links')
      .addColumn('trial_key', 'varchar(120)', (c) =>
        c.notNull().references('trials.name_key').onDelete('restrict'),
      )
      .addColumn('component_key', 'varchar(200)', (c) => c.notNull())
      .addColumn('component_name', 'varchar(200)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('trial_links_pk', ['trial_key', 'component_key'])
      .execute();
    await db.schema.createIndex('trial_links_component').on('trial_links').column('component_key').execute();

    // The experiments training jobs made until now, oldest job first (it created the experiment).
    const jobs = await db
      .selectFrom('jobs')
      .select(['name', 'spec', 'created_at'])
      .where('kind', '=', 'training')
      .orderBy('created_at')
      .execute();
    const seen = new Set<string>();
    for (const job of jobs) {
      const config = (JSON.parse(job.spec) as ExperimentConfigOfSpec).ExperimentConfig;
      if (!config?.ExperimentName) continue;
      const at = Number(job.created_at);
      const iso = new Date(at).toISOString();
      const experiment = config.ExperimentName;
      const trial = config.TrialName ?? config.RunName ?? job.name;
      if (!seen.has(`e/${experiment.toLowerCase()}`)) {
        seen.add(`e/${experiment.toLowerCase()}`);
        const document = {
          ExperimentName: experiment,
          DisplayName: experiment,
          CreationTime: iso,
          LastModifiedTime: iso,
        };
        await db
          .insertInto('experiments')
          .values({
            name_key: experiment.toLowerCase(),
            name: experiment,
            document: JSON.stringify(document),
            created_at: at,
          })
          .execute();
      }
      if (!seen.has(`t/${trial.toLowerCase()}`)) {
        seen.add(`t/${trial.toLowerCase()}`);
        const document = {
          TrialName: trial,
          DisplayName: trial,
          ExperimentName: experiment,
          CreationTime: iso,
          LastModifiedTime: iso,
        };
        await db
          .insertInto('trials')
          .values({
            name_key: trial.toLowerCase(),
            name: trial,
            experiment_key: experiment.toLowerCase(),
            document: JSON.stringify(document),
            created_at: at,
          })
          .execute();
      }
      const component = `${job.name}${trainingComponentSuffix}`;
      if (seen.has(`l/${trial.toLowerCase()}/${component.toLowerCase()}`)) continue;
      seen.add(`l/${trial.toLowerCase()}/${component.toLowerCase()}`);
      await db
        .insertInto('trial_links')
        .values({
          trial_key: trial.toLowerCase(),
          component_key: component.toLowerCase(),
          component_name: component,
          created_at: at,
        })
        .execute();
    }
  },
};
