import { startModelServer } from '@trainyard/runtime/endpoints/model-server';

/**
 * An endpoint instance of the built-in model server (`trainyard/model-server`): the model archive
 * is extracted to SM_MODEL_DIR, and the server listens on SAGEMAKER_BIND_TO_PORT, as SageMaker's
 * serving containers do. It opens no store and gets no credentials.
 */
async function main(): Promise<void> {
  const modelDir = process.env.SM_MODEL_DIR;
  const port = Number(process.env.SAGEMAKER_BIND_TO_PORT);
  if (!modelDir || !Number.isInteger(port) || port <= 0)
    throw new Error('SM_MODEL_DIR and SAGEMAKER_BIND_TO_PORT must be set');
  const { model } = await startModelServer({ modelDir, port });
  process.stdout.write(`model server: ${model.description}, ${model.numFeatures} features, port ${port}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`model server failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
