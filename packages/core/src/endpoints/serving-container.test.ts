import { describe, expect, it } from 'vitest';
import { servingContainerOf } from './serving-container.js';

const sklearn = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3';

describe('servingContainerOf', () => {
  it('names the kind of each container as the SageMaker Python SDK would create it', () => {
    expect(servingContainerOf({ Image: 'trainyard/model-server', Environment: {} })).toEqual({
      kind: 'built-in',
    });
    expect(
      servingContainerOf({ Image: '246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1' }),
    ).toEqual({ kind: 'built-in' });
    // The SDK repacks inference.py into model.tar.gz under code/ and names it so.
    expect(
      servingContainerOf({
        Image: sklearn,
        Environment: { SAGEMAKER_PROGRAM: 'inference.py', SAGEMAKER_SUBMIT_DIRECTORY: '/opt/ml/model/code' },
      }),
    ).toEqual({
      kind: 'script',
      language: 'python',
      program: 'inference.py',
      submitDirectory: '/opt/ml/model/code',
    });
    expect(servingContainerOf({ Image: 'pytorch-inference:2.1-cpu-py310' })).toMatchObject({
      kind: 'script',
      program: 'inference.py',
      submitDirectory: '/opt/ml/model/code',
    });
    expect(
      servingContainerOf({
        Image: 'trainyard/model-server',
        Environment: {
          SAGEMAKER_PROGRAM: 'src/hooks.mjs',
          SAGEMAKER_SUBMIT_DIRECTORY: 's3://b/code/sourcedir.tar.gz',
        },
      }),
    ).toEqual({
      kind: 'script',
      language: 'node',
      program: 'src/hooks.mjs',
      submitDirectory: 's3://b/code/sourcedir.tar.gz',
    });
    expect(servingContainerOf({ Image: 'anything', ContainerEntrypoint: ['python3', 'app.py'] })).toEqual({
      kind: 'command',
      entrypoint: ['python3', 'app.py'],
    });
  });

  it('refuses what it cannot run, naming the field', () => {
    const field = (container: Parameters<typeof servingContainerOf>[0]) => {
      try {
        servingContainerOf(container, 'body.PrimaryContainer');
      } catch (error) {
        return (error as { details: { field?: string } }).details.field;
      }
      return undefined;
    };
    expect(field({ Image: 'my/own-server' })).toBe('body.PrimaryContainer.Image');
    expect(field({ Image: sklearn, Environment: { SAGEMAKER_PROGRAM: '/abs/inference.py' } })).toBe(
      'body.PrimaryContainer.Environment.SAGEMAKER_PROGRAM',
    );
    expect(field({ Image: sklearn, Environment: { SAGEMAKER_PROGRAM: 'a/../../x.py' } })).toBe(
      'body.PrimaryContainer.Environment.SAGEMAKER_PROGRAM',
    );
    expect(field({ Image: sklearn, Environment: { SAGEMAKER_PROGRAM: 'train.R' } })).toBe(
      'body.PrimaryContainer.Environment.SAGEMAKER_PROGRAM',
    );
    for (const dir of ['/etc', '/opt/ml/model/../../etc', 's3://bucket/dir/', 'file:///x.tar.gz'])
      expect(field({ Image: sklearn, Environment: { SAGEMAKER_SUBMIT_DIRECTORY: dir } }), dir).toBe(
        'body.PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY',
      );
    expect(field({ Image: 'x', ContainerEntrypoint: ['  '] })).toBe(
      'body.PrimaryContainer.ContainerEntrypoint',
    );
  });
});
