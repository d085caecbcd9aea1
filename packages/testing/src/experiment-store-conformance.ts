import { TrainyardError } from '@trainyard/contracts/errors';
import type { Experiment, Trial, TrialComponent } from '@trainyard/contracts/experiments';
import type { ExperimentStore } from '@trainyard/core/ports/experiment-store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** A fresh, migrated store and how to close it. */
export type ExperimentStoreFactory = () => Promise<{ store: ExperimentStore; close(): Promise<void> }>;

async function expectCode(promise: Promise<unknown>, code: TrainyardError['code']): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TrainyardError);
  expect((error as TrainyardError).code).toBe(code);
}

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

function experiment(name: string, second = 0): Experiment {
  return { ExperimentName: name, DisplayName: name, CreationTime: at(second), LastModifiedTime: at(second) };
}

function trial(name: string, experimentName: string, second = 0): Trial {
  return {
    TrialName: name,
    DisplayName: name,
    ExperimentName: experimentName,
    CreationTime: at(second),
    LastModifiedTime: at(second),
  };
}

function component(name: string, second = 0): TrialComponent {
  return {
    TrialComponentName: name,
    DisplayName: name,
    Parameters: { lr: { NumberValue: 0.1 } },
    InputArtifacts: {},
    OutputArtifacts: { model: { Value: 's3://b/model.tar.gz' } },
    CreationTime: at(second),
    LastModifiedTime: at(second),
  };
}

/** The behaviour every ExperimentStore adapter shares (SQLite and PostgreSQL run it). */
export function experimentStoreConformance(name: string, open: ExperimentStoreFactory): void {
  describe(`ExperimentStore conformance: ${name}`, () => {
    let store: ExperimentStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(async () => {
      await close();
    });

    it('keeps experiments unique ignoring case; ensure keeps the first; lists by creation time', async () => {
      await store.createExperiment(experiment('Churn', 2));
      await expectCode(store.createExperiment(experiment('churn', 3)), 'ALREADY_EXISTS');
      const ensured = await store.ensureExperiment({ ...experiment('CHURN', 4), Description: 'later' });
      expect(ensured).toEqual(experiment('Churn', 2));
      await store.ensureExperiment(experiment('alpha', 1));
      expect((await store.listExperiments()).map((e) => e.ExperimentName)).toEqual(['alpha', 'Churn']);
      expect(await store.getExperiment('cHuRn')).toEqual(experiment('Churn', 2));
      await store.replaceExperiment({ ...experiment('Churn', 2), Description: 'retention' });
      expect((await store.getExperiment('churn')).Description).toBe('retention');
      await expectCode(store.getExperiment('nope'), 'NOT_FOUND');
      await expectCode(store.replaceExperiment(experiment('nope')), 'NOT_FOUND');
      await expectCode(store.deleteExperiment('nope'), 'NOT_FOUND');
    });

    it('puts trials in an existing experiment and refuses deleting an experiment that has trials', async () => {
      await store.createExperiment(experiment('churn'));
      await expectCode(store.createTrial(trial('t1', 'missing')), 'NOT_FOUND');
      const created = await store.createTrial(trial('t1', 'CHURN', 1));
      expect(created.ExperimentName).toBe('churn');
      await expectCode(store.createTrial(trial('T1', 'churn')), 'ALREADY_EXISTS');
      expect((await store.ensureTrial(trial('T1', 'churn', 5))).CreationTime).toBe(at(1));
      await store.createExperiment(experiment('other'));
      await store.createTrial(trial('t2', 'other', 2));
      expect((await store.listTrials('churn')).map((t) => t.TrialName)).toEqual(['t1']);
      expect((await store.listTrials()).map((t) => t.TrialName)).toEqual(['t1', 't2']);
      await expectCode(store.deleteExperiment('churn'), 'FAILED_PRECONDITION');
      await store.deleteTrial('T1');
      await expectCode(store.getTrial('t1'), 'NOT_FOUND');
      await store.deleteExperiment('churn');
      await expectCode(store.getExperiment('churn'), 'NOT_FOUND');
    });

    it('links components to trials (also not stored ones), once; refuses deleting a linked component', async () => {
      await store.createExperiment(experiment('churn'));
      await store.createTrial(trial('t1', 'churn'));
      await store.createTrial(trial('t2', 'churn'));
      await store.createComponent(component('Prep', 1));
      await expectCode(store.createComponent(component('prep')), 'ALREADY_EXISTS');
      expect(await store.link('t1', 'Prep', at(3))).toBe(true);
      expect(await store.link('T1', 'prep', at(4))).toBe(false);
      expect(await store.link('t2', 'Prep', at(5))).toBe(true);
      expect(await store.link('t1', 'job-aws-training-job', at(6))).toBe(true);
      await expectCode(store.link('missing', 'Prep', at(7)), 'NOT_FOUND');
      expect(await store.links({ trial: 't1' })).toEqual([
        { trialName: 't1', experimentName: 'churn', componentName: 'Prep', createdAt: at(3) },
        {
          trialName: 't1',
          experimentName: 'churn',
          componentName: 'job-aws-training-job',
          createdAt: at(6),
        },
      ]);
      expect((await store.links({ component: 'PREP' })).map((l) => l.trialName)).toEqual(['t1', 't2']);
      expect(await store.links({ experiment: 'churn' })).toHaveLength(3);
      await expectCode(store.deleteComponent('prep'), 'FAILED_PRECONDITION');
      await store.unlink('t1', 'prep');
      await expectCode(store.unlink('t1', 'prep'), 'NOT_FOUND');
      await store.replaceComponent({ ...component('Prep', 1), Status: { PrimaryStatus: 'Completed' } });
      expect((await store.getComponent('prep')).Status).toEqual({ PrimaryStatus: 'Completed' });
      // Deleting a trial drops its links, so the component is free again.
      await store.deleteTrial('t2');
      await store.deleteComponent('Prep');
      expect(await store.listComponents()).toEqual([]);
      await expectCode(store.getComponent('prep'), 'NOT_FOUND');
      await expectCode(store.deleteComponent('prep'), 'NOT_FOUND');
    });
  });
}
