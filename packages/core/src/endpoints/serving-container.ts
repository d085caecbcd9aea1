import { builtInModelImage, type ContainerDefinition } from '@trainyard/contracts/endpoints';
import { invalidArgument } from '@trainyard/contracts/errors';

/**
 * How a model's primary container is served. There is no container runtime: the image names
 * which kind of local server runs, as a training job's image names what trains.
 *
 * - `built-in`: Trainyard's model server (Node) for `model.json`, `xgboost-model` and `*.onnx`;
 * - `script`: SageMaker's inference-toolkit hooks (`model_fn`, `input_fn`, `predict_fn`,
 *   `output_fn`) in a `.py` program on Debian's python3, or the same hooks in a `.ts`/`.js`/`.mjs`
 *   module on Node (`modelFn`, `inputFn`, `predictFn`, `outputFn`);
 * - `command`: any server command (`ContainerEntrypoint`) answering `GET /ping` and
 *   `POST /invocations` on `SAGEMAKER_BIND_TO_PORT`.
 */
export type ServingContainer =
  | { kind: 'built-in' }
  | {
      kind: 'script';
      language: 'python' | 'node';
      /** Relative path of the program inside the code directory. */
      program: string;
      /**
       * Where the code is: an `s3://…/sourcedir.tar.gz`, or a folder of the model archive given as
       * `/opt/ml/model/<folder>` (the default `/opt/ml/model/code`, as the SageMaker Python SDK packs it).
       */
      submitDirectory: string;
    }
  | { kind: 'command'; entrypoint: string[] };

/** The repository part of an image URI: after the last "/" and before ":" or "@". */
function repositoryOf(image: string): string {
  return image.toLowerCase().split('/').at(-1)!.split(/[:@]/)[0]!;
}

/** SageMaker's XGBoost image and Trainyard's ONNX name: served by the built-in server. */
const builtInRepository = /^(sagemaker-xgboost|xgboost|trainyard-onnx|onnx|onnxruntime)$/;
/** SageMaker's framework serving images, which run a script handler. */
const frameworkRepository =
  /(scikit-learn|sklearn|pytorch|torch|python|tensorflow|huggingface|mxnet|trainyard-script|node)/;

const programPattern = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

/**
 * Decides how a container is served, from its Image, ContainerEntrypoint and the SAGEMAKER_PROGRAM /
 * SAGEMAKER_SUBMIT_DIRECTORY variables of its Environment.
 * @throws INVALID_ARGUMENT naming the field (`<field>.Image`, `<field>.Environment.SAGEMAKER_PROGRAM`, …)
 */
export function servingContainerOf(
  container: Pick<ContainerDefinition, 'Image' | 'Environment' | 'ContainerEntrypoint'>,
  field = 'PrimaryContainer',
): ServingContainer {
  const env = container.Environment ?? {};
  if (container.ContainerEntrypoint) {
    const [command] = container.ContainerEntrypoint;
    if (!command || command.trim() === '')
      throw invalidArgument(`${field}.ContainerEntrypoint`, 'the first element is the command to run');
    return { kind: 'command', entrypoint: [...container.ContainerEntrypoint] };
  }
  const image = container.Image;
  const repository = repositoryOf(image);
  const named = env.SAGEMAKER_PROGRAM;
  const framework = frameworkRepository.test(repository);
  const builtIn = image === builtInModelImage || builtInRepository.test(repository);
  if (named === undefined && !framework) {
    if (builtIn) return { kind: 'built-in' };
    throw invalidArgument(
      `${field}.Image`,
      `"${image}" is not an image this server runs: use "${builtInModelImage}" (model.json, xgboost-model, *.onnx), a sagemaker-xgboost image, a framework image (scikit-learn, pytorch, python, …) with SAGEMAKER_PROGRAM, or give ContainerEntrypoint: the command of a server answering GET /ping and POST /invocations on SAGEMAKER_BIND_TO_PORT`,
    );
  }
  // SageMaker's inference toolkit looks for inference.py when no program is named.
  const program = (named ?? 'inference.py').trim();
  const programField = `${field}.Environment.SAGEMAKER_PROGRAM`;
  if (!programPattern.test(program) || program.split('/').includes('..'))
    throw invalidArgument(programField, `"${program}" must be a relative path inside the code directory`);
  const language = /\.py$/.test(program) ? 'python' : /\.(m?js|cjs|m?ts)$/.test(program) ? 'node' : undefined;
  if (!language)
    throw invalidArgument(
      programField,
      `"${program}" must be a .py file (Python hooks) or a .ts/.mts/.js/.mjs/.cjs module (TS/JS hooks)`,
    );
  const submitDirectory = (env.SAGEMAKER_SUBMIT_DIRECTORY ?? '/opt/ml/model/code').trim();
  const submitField = `${field}.Environment.SAGEMAKER_SUBMIT_DIRECTORY`;
  if (submitDirectory.startsWith('s3://')) {
    if (!/^s3:\/\/[^/]+\/.+\.tar\.gz$/.test(submitDirectory))
      throw invalidArgument(submitField, `"${submitDirectory}" must be an s3://bucket/key of a .tar.gz`);
  } else if (
    !/^\/opt\/ml\/model(\/[A-Za-z0-9_.-]+)*\/?$/.test(submitDirectory) ||
    submitDirectory.split('/').includes('..')
  ) {
    throw invalidArgument(
      submitField,
      `"${submitDirectory}" must be an s3://…/sourcedir.tar.gz or a folder of the model archive (/opt/ml/model/code)`,
    );
  }
  return { kind: 'script', language, program, submitDirectory };
}
