import type { Experiment, Trial, TrialComponent } from '@trainyard/contracts/experiments';

/** A trial component linked to a trial (the component may be a training job's, which is not stored). */
export interface TrialLink {
  trialName: string;
  experimentName: string;
  componentName: string;
  createdAt: string;
}

/**
 * Experiments, their trials and the trial components clients create, with the links between
 * trials and components. Names are unique ignoring case (their ARNs are lowercased); lists are
 * whole collections ordered by creation time (experiments are counted in hundreds, not millions).
 */
export interface ExperimentStore {
  /** @throws ALREADY_EXISTS */
  createExperiment(experiment: Experiment): Promise<Experiment>;
  /** Creates it unless an experiment of that name exists; returns the stored one either way. */
  ensureExperiment(experiment: Experiment): Promise<Experiment>;
  /** @throws NOT_FOUND */
  getExperiment(name: string): Promise<Experiment>;
  listExperiments(): Promise<Experiment[]>;
  /** @throws NOT_FOUND */
  replaceExperiment(experiment: Experiment): Promise<Experiment>;
  /** @throws NOT_FOUND, FAILED_PRECONDITION (it still has trials) */
  deleteExperiment(name: string): Promise<void>;

  /** @throws ALREADY_EXISTS, NOT_FOUND (no such experiment) */
  createTrial(trial: Trial): Promise<Trial>;
  /**
   * Creates it unless a trial of that name exists; returns the stored one either way.
   * @throws NOT_FOUND (no such experiment)
   */
  ensureTrial(trial: Trial): Promise<Trial>;
  /** @throws NOT_FOUND */
  getTrial(name: string): Promise<Trial>;
  /** Every trial, or those of one experiment. */
  listTrials(experiment?: string): Promise<Trial[]>;
  /** @throws NOT_FOUND */
  replaceTrial(trial: Trial): Promise<Trial>;
  /** Deletes the trial and its links. @throws NOT_FOUND */
  deleteTrial(name: string): Promise<void>;

  /** @throws ALREADY_EXISTS */
  createComponent(component: TrialComponent): Promise<TrialComponent>;
  /** @throws NOT_FOUND */
  getComponent(name: string): Promise<TrialComponent>;
  listComponents(): Promise<TrialComponent[]>;
  /** @throws NOT_FOUND */
  replaceComponent(component: TrialComponent): Promise<TrialComponent>;
  /** @throws NOT_FOUND, FAILED_PRECONDITION (still linked to a trial) */
  deleteComponent(name: string): Promise<void>;

  /**
   * Links a component to a trial; true when the link is new (linking twice is not an error).
   * @throws NOT_FOUND (no such trial)
   */
  link(trial: string, component: string, at: string): Promise<boolean>;
  /** @throws NOT_FOUND (the component is not linked to the trial) */
  unlink(trial: string, component: string): Promise<void>;
  /** Links of a trial, of a component, of an experiment's trials, or all; oldest first. */
  links(filter?: { trial?: string; component?: string; experiment?: string }): Promise<TrialLink[]>;
}
