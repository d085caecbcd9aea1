/** Tables of migration 0017-experiments. Keys are lowercased names; times epoch ms, documents JSON text. */
export interface ExperimentsTable {
  name_key: string;
  name: string;
  document: string;
  created_at: number;
}

export interface TrialsTable {
  name_key: string;
  name: string;
  experiment_key: string;
  document: string;
  created_at: number;
}

export interface TrialComponentsTable {
  name_key: string;
  name: string;
  document: string;
  created_at: number;
}

/** A trial component linked to a trial; the component may be a training job's (not stored). */
export interface TrialLinksTable {
  trial_key: string;
  component_key: string;
  component_name: string;
  created_at: number;
}

export type ExperimentTables = {
  experiments: ExperimentsTable;
  trials: TrialsTable;
  trial_components: TrialComponentsTable;
  trial_links: TrialLinksTable;
};
