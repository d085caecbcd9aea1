import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostPathOf, prepareTrainingLayout, readFailureFile, rewriteOptMlArgs } from './opt-ml-layout.js';

const root = mkdtempSync(join(tmpdir(), 'trainyard-opt-ml-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('training /opt/ml layout', () => {
  it('writes the config files SageMaker writes and gives a script the SM_* env pointing into the folder', async () => {
    const layout = await prepareTrainingLayout(root, {
      jobName: 'xgb-1',
      jobArn: 'arn:aws:sagemaker:us-east-1:000000000000:training-job/xgb-1',
      hyperParameters: { 'learning-rate': '0.1', max_depth: '6' },
      channels: [{ name: 'train', contentType: 'text/csv' }, { name: 'validation' }],
      instanceType: 'ml.m5.large',
      vcpus: 2,
      gpus: 0,
    });
    const config = join(root, 'input', 'config');
    expect(JSON.parse(readFileSync(join(config, 'hyperparameters.json'), 'utf8'))).toEqual({
      'learning-rate': '0.1',
      max_depth: '6',
    });
    expect(JSON.parse(readFileSync(join(config, 'inputdataconfig.json'), 'utf8'))).toEqual({
      train: {
        ContentType: 'text/csv',
        TrainingInputMode: 'File',
        S3DistributionType: 'FullyReplicated',
        RecordWrapperType: 'None',
      },
      validation: {
        TrainingInputMode: 'File',
        S3DistributionType: 'FullyReplicated',
        RecordWrapperType: 'None',
      },
    });
    const resource = JSON.parse(readFileSync(join(config, 'resourceconfig.json'), 'utf8'));
    expect(resource).toMatchObject({
      current_host: 'algo-1',
      hosts: ['algo-1'],
      current_instance_type: 'ml.m5.large',
    });
    for (const dir of [
      'model',
      'output/data',
      'checkpoints',
      'input/data/train',
      'input/data/validation',
      'code',
    ]) {
      expect(statSync(join(root, dir)).isDirectory()).toBe(true);
    }

    // A real script reads the contract from its environment, the way framework scripts do.
    writeFileSync(join(layout.channelDirs.train!, 'rows.csv'), '1,2\n3,4\n');
    const probe = `
import json, os
rows = open(os.path.join(os.environ['SM_CHANNEL_TRAIN'], 'rows.csv')).read().splitlines()
hps = json.loads(os.environ['SM_HPS'])
open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write(f"{len(rows)} {hps['max_depth']} {os.environ['SM_NUM_CPUS']} {os.environ['TRAINING_JOB_NAME']} {json.loads(os.environ['SM_CHANNELS'])}")
`;
    const python = spawnSync('/usr/bin/python3', ['-c', probe], { env: layout.env, encoding: 'utf8' });
    expect(python.stderr).toBe('');
    expect(readFileSync(join(layout.modelDir, 'model.txt'), 'utf8')).toBe(
      "2 6 2 xgb-1 ['train', 'validation']",
    );
    expect(layout.env.SM_CHANNEL_VALIDATION).toBe(join(root, 'input', 'data', 'validation'));
    expect(layout.env['SM_HP_LEARNING-RATE']).toBe('0.1');
  });

  it('reads the first 1024 characters of output/failure as the failure reason', async () => {
    const dir = join(root, 'failing');
    mkdirSync(join(dir, 'output'), { recursive: true });
    expect(await readFailureFile(dir)).toBeUndefined();
    writeFileSync(join(dir, 'output', 'failure'), `${'x'.repeat(2000)}\n`);
    expect(await readFailureFile(dir)).toBe('x'.repeat(1024));
  });

  it('maps /opt/ml paths and arguments onto the working folder and refuses paths that escape it', () => {
    expect(hostPathOf('/w', '/opt/ml/processing/input/code')).toBe('/w/processing/input/code');
    expect(() => hostPathOf('/w', '/etc/passwd')).toThrow(/must be under \/opt\/ml/);
    expect(() => hostPathOf('/w', '/opt/ml/processing/../../etc')).toThrow(/\.\./);
    expect(
      rewriteOptMlArgs(
        ['/opt/ml/processing/input/code/a.py', '--out=/opt/ml/processing/output/x', '/opt/mlx'],
        '/w',
      ),
    ).toEqual(['/w/processing/input/code/a.py', '--out=/w/processing/output/x', '/opt/mlx']);
  });
});
