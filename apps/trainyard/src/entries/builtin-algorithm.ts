import { runBuiltInAlgorithm } from '@trainyard/runtime/training/builtin-algorithm-entry';

/**
 * The job process of the built-in algorithms (`node builtin-algorithm.js <algorithm>`): SageMaker's
 * training contract under `TRAINYARD_OPT_ML`, trained with @trainyard/ml. It opens no store: the
 * worker staged the channels and uploads the model.
 */
const root = process.env.TRAINYARD_OPT_ML;
if (!root) {
  process.stderr.write('TRAINYARD_OPT_ML is not set: this entry point runs inside a training job\n');
  process.exitCode = 2;
} else {
  process.exitCode = await runBuiltInAlgorithm(process.argv[2] ?? '', root);
}
