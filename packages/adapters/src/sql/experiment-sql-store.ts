import { TrainyardError } from '@trainyard/contracts/errors';
import type { Experiment, Trial, TrialComponent } from '@trainyard/contracts/experiments';
import type { ExperimentStore, TrialLink } from '@trainyard/core/ports/experiment-store';
import type { Kysely } from 'kysely';
import type { Database } from './database.js';
import type { ExperimentTables } from './experiment-tables.js';
import { sqlCall } from './sql-errors.js';

type Db = Kysely<Database & ExperimentTables>;
type DocumentTable = 'experiments' | 'trials' | 'trial_components';
const what: Record<DocumentTable, string> = {
  experiments: 'experiment',
  trials: 'trial',
  trial_components: 'trial component',
};

function notFound(what: string, name: string): TrainyardError {
  return new TrainyardError('NOT_FOUND', `${what} "${name}" does not exist`, { name });
}

/** ExperimentStore over Kysely (SQLite and PostgreSQL). */
export class ExperimentSqlStore implements ExperimentStore {
  private readonly db: Db;

  constructor(db: Kysely<Database>) {
    this.db = db.withTables<ExperimentTables>();
  }

  // The three record tables share their shape (name_key, name, document, created_at), so one set
  // of queries serves them; `table as 'experiments'` only names that shared shape to Kysely.

  async #insertDocument(
    table: DocumentTable,
    name: string,
    document: object,
    createdAt: string,
    ensure: boolean,
  ) {
    await sqlCall(`${what[table]} "${name}"`, () => {
      const insert = this.db.insertInto(table as 'experiments').values({
        name_key: name.toLowerCase(),
        name,
        document: JSON.stringify(document),
        created_at: Date.parse(createdAt),
      });
      return (ensure ? insert.onConflict((oc) => oc.column('name_key').doNothing()) : insert).execute();
    });
  }

  async #getDocument<T>(table: DocumentTable, name: string): Promise<T> {
    const row = await sqlCall(what[table], () =>
      this.db
        .selectFrom(table as 'experiments')
        .select('document')
        .where('name_key', '=', name.toLowerCase())
        .executeTakeFirst(),
    );
    if (!row) throw notFound(what[table], name);
    return JSON.parse(row.document) as T;
  }

  async #listDocuments<T>(table: DocumentTable, experimentKey?: string): Promise<T[]> {
    let query = this.db.selectFrom(table as 'trials').select('document');
    if (experimentKey !== undefined) query = query.where('experiment_key', '=', experimentKey);
    const rows = await sqlCall(`${what[table]}s`, () =>
      query.orderBy('created_at').orderBy('name_key').execute(),
    );
    return rows.map((r) => JSON.parse(r.document) as T);
  }

  async #replaceDocument<T extends object>(table: DocumentTable, name: string, document: T): Promise<T> {
    const result = await sqlCall(`${what[table]} "${name}"`, () =>
      this.db
        .updateTable(table as 'experiments')
        .set({ document: JSON.stringify(document) })
        .where('name_key', '=', name.toLowerCase())
        .executeTakeFirst(),
    );
    if (Number(result.numUpdatedRows) === 0) throw notFound(what[table], name);
    return document;
  }

  async createExperiment(experiment: Experiment): Promise<Experiment> {
    await this.#insertDocument(
      'experiments',
      experiment.ExperimentName,
      experiment,
      experiment.CreationTime,
      false,
    );
    return experiment;
  }

  async ensureExperiment(experiment: Experiment): Promise<Experiment> {
    await this.#insertDocument(
      'experiments',
      experiment.ExperimentName,
      experiment,
      experiment.CreationTime,
      true,
    );
    return this.getExperiment(experiment.ExperimentName);
  }

  getExperiment(name: string): Promise<Experiment> {
    return this.#getDocument('experiments', name);
  }

  listExperiments(): Promise<Experiment[]> {
    return this.#listDocuments('experiments');
  }

  replaceExperiment(experiment: Experiment): Promise<Experiment> {
    return this.#replaceDocument('experiments', experiment.ExperimentName, experiment);
  }

  async deleteExperiment(name: string): Promise<void> {
    const key = name.toLowerCase();
    await sqlCall(`experiment "${name}"`, () =>
      this.db.transaction().execute(async (trx) => {
        const held = await trx
          .selectFrom('trials')
          .select('name')
          .where('experiment_key', '=', key)
          .limit(1)
          .executeTakeFirst();
        if (held)
          throw new TrainyardError(
            'FAILED_PRECONDITION',
            `experiment "${name}" still has trials (such as "${held.name}"); delete them first`,
          );
        const result = await trx.deleteFrom('experiments').where('name_key', '=', key).executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) throw notFound('experiment', name);
      }),
    );
  }

  async #insertTrial(trial: Trial, ensure: boolean): Promise<void> {
    await sqlCall(`trial "${trial.TrialName}"`, () =>
      this.db.transaction().execute(async (trx) => {
        const experiment = await trx
          .selectFrom('experiments')
          .select('name')
          .where('name_key', '=', trial.ExperimentName.toLowerCase())
          .executeTakeFirst();
        if (!experiment) throw notFound('experiment', trial.ExperimentName);
        let insert = trx.insertInto('trials').values({
          name_key: trial.TrialName.toLowerCase(),
          name: trial.TrialName,
          experiment_key: trial.ExperimentName.toLowerCase(),
          document: JSON.stringify({ ...trial, ExperimentName: experiment.name }),
          created_at: Date.parse(trial.CreationTime),
        });
        if (ensure) insert = insert.onConflict((oc) => oc.column('name_key').doNothing());
        await insert.execute();
      }),
    );
  }

  async createTrial(trial: Trial): Promise<Trial> {
    await this.#insertTrial(trial, false);
    return this.getTrial(trial.TrialName);
  }

  async ensureTrial(trial: Trial): Promise<Trial> {
    await this.#insertTrial(trial, true);
    return this.getTrial(trial.TrialName);
  }

  getTrial(name: string): Promise<Trial> {
    return this.#getDocument('trials', name);
  }

  listTrials(experiment?: string): Promise<Trial[]> {
    return this.#listDocuments('trials', experiment?.toLowerCase());
  }

  replaceTrial(trial: Trial): Promise<Trial> {
    return this.#replaceDocument('trials', trial.TrialName, trial);
  }

  async deleteTrial(name: string): Promise<void> {
    const key = name.toLowerCase();
    await sqlCall(`trial "${name}"`, () =>
      this.db.transaction().execute(async (trx) => {
        await trx.deleteFrom('trial_links').where('trial_key', '=', key).execute();
        const result = await trx.deleteFrom('trials').where('name_key', '=', key).executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) throw notFound('trial', name);
      }),
    );
  }

  async createComponent(component: TrialComponent): Promise<TrialComponent> {
    const name = component.TrialComponentName;
    await this.#insertDocument('trial_components', name, component, component.CreationTime, false);
    return component;
  }

  getComponent(name: string): Promise<TrialComponent> {
    return this.#getDocument('trial_components', name);
  }

  listComponents(): Promise<TrialComponent[]> {
    return this.#listDocuments('trial_components');
  }

  replaceComponent(component: TrialComponent): Promise<TrialComponent> {
    return this.#replaceDocument('trial_components', component.TrialComponentName, component);
  }

  async deleteComponent(name: string): Promise<void> {
    const key = name.toLowerCase();
    await sqlCall(`trial component "${name}"`, () =>
      this.db.transaction().execute(async (trx) => {
        const linked = await trx
          .selectFrom('trial_links')
          .innerJoin('trials', 'trials.name_key', 'trial_links.trial_key')
          .select('trials.name')
          .where('trial_links.component_key', '=', key)
          .limit(1)
          .executeTakeFirst();
        if (linked)
          throw new TrainyardError(
            'FAILED_PRECONDITION',
            `trial component "${name}" is associated with trial "${linked.name}"; disassociate it first`,
          );
        const result = await trx
          .deleteFrom('trial_components')
          .where('name_key', '=', key)
          .executeTakeFirst();
        if (Number(result.numDeletedRows) === 0) throw notFound('trial component', name);
      }),
    );
  }

  async link(trial: string, component: string, at: string): Promise<boolean> {
    return sqlCall(`trial "${trial}"`, () =>
      this.db.transaction().execute(async (trx) => {
        const found = await trx
          .selectFrom('trials')
          .select('name_key')
          .where('name_key', '=', trial.toLowerCase())
          .executeTakeFirst();
        if (!found) throw notFound('trial', trial);
        const result = await trx
          .insertInto('trial_links')
          .values({
            trial_key: trial.toLowerCase(),
            component_key: component.toLowerCase(),
            component_name: component,
            created_at: Date.parse(at),
          })
          .onConflict((oc) => oc.columns(['trial_key', 'component_key']).doNothing())
          .executeTakeFirst();
        return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
      }),
    );
  }

  async unlink(trial: string, component: string): Promise<void> {
    const result = await sqlCall(`trial "${trial}"`, () =>
      this.db
        .deleteFrom('trial_links')
        .where('trial_key', '=', trial.toLowerCase())
        .where('component_key', '=', component.toLowerCase())
        .executeTakeFirst(),
    );
    if (Number(result.numDeletedRows) === 0)
      throw new TrainyardError(
        'NOT_FOUND',
        `trial component "${component}" is not associated with trial "${trial}"`,
        { name: component },
      );
  }

  async links(
    filter: { trial?: string; component?: string; experiment?: string } = {},
  ): Promise<TrialLink[]> {
    let query = this.db
      .selectFrom('trial_links')
      .innerJoin('trials', 'trials.name_key', 'trial_links.trial_key')
      .innerJoin('experiments', 'experiments.name_key', 'trials.experiment_key')
      .select([
        'trials.name as trial',
        'experiments.name as experiment',
        'trial_links.component_name as component',
        'trial_links.created_at as created_at',
      ]);
    if (filter.trial !== undefined)
      query = query.where('trial_links.trial_key', '=', filter.trial.toLowerCase());
    if (filter.component !== undefined)
      query = query.where('trial_links.component_key', '=', filter.component.toLowerCase());
    if (filter.experiment !== undefined)
      query = query.where('trials.experiment_key', '=', filter.experiment.toLowerCase());
    const rows = await sqlCall('trial links', () =>
      query.orderBy('trial_links.created_at').orderBy('trial_links.component_key').execute(),
    );
    return rows.map((r) => ({
      trialName: r.trial,
      experimentName: r.experiment,
      componentName: r.component,
      createdAt: new Date(Number(r.created_at)).toISOString(),
    }));
  }
}
