import { existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServingContainer } from '@trainyard/core/endpoints/serving-container';
import {
  missingPythonPackages,
  readRequirements,
  ScriptModeError,
  scriptCommand,
} from '../training/script-mode.js';

/** The Python server of script handlers (standard library + numpy), shipped beside the runtime's sources. */
export const scriptHandlerServer = fileURLToPath(
  new URL('../../python/script_handler_server.py', import.meta.url),
);

/** Debian's python3, where apt puts scikit-learn, xgboost and flask. */
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface InstanceCommandOptions {
  container: ServingContainer;
  /** The extracted model archive (SM_MODEL_DIR; `/opt/ml/model` in commands). */
  modelDir: string;
  /** The built-in model server's command (this Node and its entry script). */
  modelServer: { command: string; args: string[] };
  /** Extracts an `s3://…/sourcedir.tar.gz` (SAGEMAKER_SUBMIT_DIRECTORY) and returns its folder. */
  extractSourceDir(uri: string): Promise<string>;
}

/**
 * The command an endpoint instance runs for a model's container. Problems the user can fix (a
 * program not in the code directory, packages Debian's python3 lacks) throw an Error saying so;
 * the instance then fails with that message in the endpoint's FailureReason.
 */
export async function instanceCommandOf(
  options: InstanceCommandOptions,
): Promise<{ command: string; args: string[] }> {
  const { container, modelDir, modelServer } = options;
  if (container.kind === 'built-in') return modelServer;
  if (container.kind === 'command') {
    const [command, ...args] = container.entrypoint.map((arg) => inModelDir(arg, modelDir));
    if (command === 'python3' || command === 'python') return { command: python, args };
    if (command === 'node') return { command: modelServer.command, args };
    return { command: command!, args };
  }
  const { submitDirectory, program } = container;
  const codeDir = submitDirectory.startsWith('s3://')
    ? await options.extractSourceDir(submitDirectory)
    : inModelDir(submitDirectory, modelDir);
  const where = submitDirectory.startsWith('s3://')
    ? submitDirectory
    : `${submitDirectory.replace(/\/$/, '')} (the model archive's ${submitDirectory.slice('/opt/ml/model/'.length) || 'top folder'})`;
  const path = join(codeDir, program);
  if (!existsSync(path) || !statSync(path).isFile())
    throw new Error(`SAGEMAKER_PROGRAM "${program}" is not in ${where}`);
  if (container.language === 'node') {
    // TypeScript is bundled to one ES module first (esbuild, as script-mode training does).
    const module = /\.m?ts$/.test(program)
      ? relative(codeDir, (await compiled(codeDir, program)).args[0]!)
      : program;
    return {
      command: modelServer.command,
      args: [...modelServer.args, '--code-dir', codeDir, '--program', module],
    };
  }
  const missing = await missingPythonPackages(await readRequirements(codeDir));
  if (missing.length > 0)
    throw new Error(
      `requirements.txt names packages Debian's python3 does not have: ${missing.join(', ')} (nothing is downloaded; install them with apt)`,
    );
  return { command: python, args: [scriptHandlerServer, '--code-dir', codeDir, '--program', program] };
}

async function compiled(codeDir: string, program: string) {
  try {
    return await scriptCommand(codeDir, program, 'node');
  } catch (error) {
    if (error instanceof ScriptModeError) throw new Error(`SAGEMAKER_PROGRAM: ${error.message}`);
    throw error;
  }
}

/** `/opt/ml/model[/…]` (alone or after `=`) → the extracted archive, as SageMaker mounts it there. */
function inModelDir(arg: string, modelDir: string): string {
  return arg.replace(/(^|=)\/opt\/ml\/model(?=\/|$)/, (_m, lead: string) => `${lead}${modelDir}`);
}
