import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { ErrorState } from '../components/states.js';
import { useClient } from '../session.js';

/** A built-in algorithm on a dataset version: the common case, in one form. */
export function NewTrainingJobPage() {
  const client = useClient();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const datasets = useQuery({
    queryKey: ['datasets', 'all-names'],
    queryFn: () => client.call('listDatasets', { query: { limit: 100 } }),
  });
  const [name, setName] = useState(`job-${Date.now().toString(36)}`);
  const [dataset, setDataset] = useState(params.get('dataset') ?? '');
  const [algorithm, setAlgorithm] = useState('xgboost');
  const [objective, setObjective] = useState('binary:logistic');
  const [rounds, setRounds] = useState('20');
  const [validation, setValidation] = useState(true);
  const [output, setOutput] = useState(params.get('output') ?? 's3://models');
  const create = useMutation({
    mutationFn: () =>
      client.call('createTrainingJob', {
        body: {
          TrainingJobName: name,
          AlgorithmSpecification: { AlgorithmName: algorithm },
          HyperParameters:
            algorithm === 'xgboost'
              ? { objective, num_round: rounds }
              : { predictor_type: objective.startsWith('reg') ? 'regressor' : 'binary_classifier' },
          InputDataConfig: [
            { ChannelName: 'train', DataSource: { DatasetSource: { DatasetName: dataset } } },
            ...(validation
              ? [{ ChannelName: 'validation', DataSource: { DatasetSource: { DatasetName: dataset } } }]
              : []),
          ],
          OutputDataConfig: { S3OutputPath: output },
          ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
        },
      }),
    onSuccess: (job) => {
      void queries.invalidateQueries({ queryKey: ['training-jobs'] });
      navigate(`/training-jobs/${encodeURIComponent(job.TrainingJobName)}`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <>
      <h1>New training job</h1>
      <form className="card stack" onSubmit={submit}>
        <label>
          Job name
          <input name="jobName" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Dataset (its target column is the label)
          <select name="dataset" required value={dataset} onChange={(e) => setDataset(e.target.value)}>
            <option value="">Choose a dataset</option>
            {datasets.data?.items.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Algorithm
          <select name="algorithm" value={algorithm} onChange={(e) => setAlgorithm(e.target.value)}>
            <option value="xgboost">XGBoost</option>
            <option value="linear-learner">Linear learner</option>
          </select>
        </label>
        <label>
          Objective
          <select name="objective" value={objective} onChange={(e) => setObjective(e.target.value)}>
            <option value="binary:logistic">binary:logistic (two classes)</option>
            <option value="reg:squarederror">reg:squarederror (regression)</option>
          </select>
        </label>
        {algorithm === 'xgboost' ? (
          <label>
            Boosting rounds
            <input
              name="rounds"
              type="number"
              min={1}
              max={1000}
              value={rounds}
              onChange={(e) => setRounds(e.target.value)}
            />
          </label>
        ) : null}
        <label>
          Model output location (a bucket of yours, s3://bucket/prefix)
          <input name="output" required value={output} onChange={(e) => setOutput(e.target.value)} />
        </label>
        <label className="inline">
          <input type="checkbox" checked={validation} onChange={(e) => setValidation(e.target.checked)} />
          &nbsp;Evaluate on the dataset as a validation channel (evaluation report)
        </label>
        {create.isError ? <ErrorState error={create.error} /> : null}
        <div>
          <button type="submit" className="primary" disabled={create.isPending || !dataset}>
            {create.isPending ? 'Starting…' : 'Start training'}
          </button>
        </div>
      </form>
    </>
  );
}
