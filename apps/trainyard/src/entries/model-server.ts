import { parseArgs } from 'node:util';
import { startModelServer } from '@trainyard/runtime/endpoints/model-server';
import { loadScriptHandler } from '@trainyard/runtime/endpoints/script-handler';

/**
 * An endpoint instance of the built-in model server (`trainyard/model-server`): the model archive
 * is extracted to SM_MODEL_DIR, and the server listens on SAGEMAKER_BIND_TO_PORT, as SageMaker's
 * serving containers do (and on TRAINYARD_LANE_PORT, when set, for the router's framed lane). With `--code-dir <dir> --program <file.mjs>` it serves a TS/JS script
 * handler's hooks instead. It opens no store and gets no credentials.
 */
async function main(): Promise<void> {
  const modelDir = process.env.SM_MODEL_DIR;
  const port = Number(process.env.SAGEMAKER_BIND_TO_PORT);
  if (!modelDir || !Number.isInteger(port) || port <= 0)
    throw new Error('SM_MODEL_DIR and SAGEMAKER_BIND_TO_PORT must be set');
  const { values } = parseArgs({
    options: { 'code-dir': { type: 'string' }, program: { type: 'string' } },
  });
  const codeDir = values['code-dir'];
  const program = values.program;
  const threads = Math.max(1, Number(process.env.SAGEMAKER_MODEL_SERVER_WORKERS) || 1);
  const handler =
    codeDir && program
      ? await loadScriptHandler({
          modelDir,
          codeDir,
          program,
          ...(process.env.SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT
            ? { defaultAccept: process.env.SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT }
            : {}),
        })
      : undefined;
  // The reconciler gives built-in models a second port for the router's framed lane.
  const lanePort = Number(process.env.TRAINYARD_LANE_PORT);
  const lane = !handler && Number.isInteger(lanePort) && lanePort > 0 ? { lanePort } : {};
  const { model } = await startModelServer({
    modelDir,
    port,
    threads,
    ...(handler ? { handler } : {}),
    ...lane,
  });
  const features = 'numFeatures' in model ? `, ${model.numFeatures} features` : '';
  const lanePart = 'lanePort' in lane ? `, lane port ${lane.lanePort}` : '';
  process.stdout.write(`model server: ${model.description}${features}, port ${port}${lanePart}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`model server failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
