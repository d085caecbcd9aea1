import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { ErrorState } from '../components/states.js';
import { useClient } from '../session.js';

/** Training job → model → endpoint config → endpoint, in one form. */
export function DeployPage() {
  const client = useClient();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const trainingJob = params.get('trainingJob') ?? '';
  const [name, setName] = useState(trainingJob.slice(0, 50) || 'endpoint');
  const [instanceType, setInstanceType] = useState('ml.m5.large');
  const [step, setStep] = useState('');
  const deploy = useMutation({
    mutationFn: async () => {
      setStep('Reading the training job');
      const job = await client.call('describeTrainingJob', { params: { name: trainingJob } });
      setStep('Creating the model');
      await client.call('createModel', {
        body: {
          ModelName: name,
          PrimaryContainer: {
            Image: 'trainyard/model-server',
            ModelDataUrl: job.ModelArtifacts.S3ModelArtifacts,
          },
        },
      });
      setStep('Creating the endpoint configuration');
      await client.call('createEndpointConfig', {
        body: {
          EndpointConfigName: name,
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: name,
              InstanceType: instanceType,
              InitialInstanceCount: 1,
            },
          ],
        },
      });
      setStep('Creating the endpoint');
      return client.call('createEndpoint', { body: { EndpointName: name, EndpointConfigName: name } });
    },
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ['endpoints'] });
      navigate(`/inference/${encodeURIComponent(name)}`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    deploy.mutate();
  };
  return (
    <>
      <h1>Deploy a model</h1>
      <form className="card stack" onSubmit={submit}>
        <p>
          From training job <strong>{trainingJob || '(none chosen)'}</strong>: creates a model, an endpoint
          configuration and an endpoint of the same name.
        </p>
        <label>
          Endpoint name
          <input name="endpointName" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Instance type
          <input
            name="instanceType"
            required
            value={instanceType}
            onChange={(e) => setInstanceType(e.target.value)}
          />
        </label>
        {deploy.isPending ? <p role="status">{step}…</p> : null}
        {deploy.isError ? <ErrorState error={deploy.error} /> : null}
        <div>
          <button type="submit" className="primary" disabled={!trainingJob || deploy.isPending}>
            Deploy
          </button>
        </div>
      </form>
    </>
  );
}
