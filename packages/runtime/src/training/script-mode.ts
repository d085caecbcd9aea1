import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A hyperparameter as the training toolkit hands it to a script: values are JSON-decoded when they
 * can be (the SageMaker Python SDK JSON-encodes them, so `"\"adam\""` arrives as `adam`).
 */
export function decodeHyperParameter(value: string): string {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === 'string') return parsed;
    if (typeof parsed === 'number' || typeof parsed === 'boolean') return String(parsed);
    return value;
  } catch {
    return value;
  }
}

/** The user's hyperparameters (SageMaker's own `sagemaker_*` keys removed), decoded. */
export function userHyperParameters(hps: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(hps)
      .filter(([k]) => !k.startsWith('sagemaker_') && k !== '_tuning_objective_metric')
      .map(([k, v]) => [k, decodeHyperParameter(v)]),
  );
}

/** `--name value` for each hyperparameter, as the training toolkit passes them to the entry script. */
export function hyperParameterArgs(hps: Record<string, string>): string[] {
  return Object.keys(hps)
    .sort()
    .flatMap((k) => [`--${k}`, hps[k]!]);
}

/** Distribution names of a requirements.txt (version specifiers, extras, markers and options dropped). */
export function requirementNames(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '' || line.startsWith('-')) continue;
    const name = /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line)?.[1];
    if (name) names.push(name);
  }
  return names;
}

/**
 * Names in requirements.txt that Debian's python3 does not have installed. Nothing is downloaded:
 * a job needing them fails naming them.
 */
export async function missingPythonPackages(names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const script = `
import importlib.metadata as m, json, sys
missing = []
for name in json.loads(sys.argv[1]):
    try:
        m.distribution(name)
    except m.PackageNotFoundError:
        missing.append(name)
print(json.dumps(missing))
`;
  const { stdout } = await run('/usr/bin/python3', ['-c', script, JSON.stringify(names)]);
  return JSON.parse(stdout) as string[];
}

/** The command that runs a script-mode program: Debian's python3 for .py, Node for .js/.mjs/.ts. */
export async function scriptCommand(
  codeDir: string,
  program: string,
  language: 'python' | 'node',
): Promise<{ command: string; args: string[] }> {
  const path = join(codeDir, program);
  if (!existsSync(path)) {
    throw new ScriptModeError(`sagemaker_program "${program}" is not in the source directory`);
  }
  if (language === 'python') return { command: 'python3', args: [path] };
  if (!/\.(ts|mts)$/.test(program)) return { command: 'node', args: [path] };
  // Node 20 runs no TypeScript: bundle the entry (and what it imports) to one ES module first.
  const out = join(codeDir, '.trainyard', program.replace(/\.(m?ts)$/, '.mjs'));
  await mkdir(dirname(out), { recursive: true });
  const esbuild = await import('esbuild');
  try {
    await esbuild.build({
      entryPoints: [path],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
    });
  } catch (error) {
    throw new ScriptModeError(`could not compile ${program}: ${(error as Error).message.slice(0, 800)}`);
  }
  return { command: 'node', args: [out] };
}

/** A script-mode problem the user can fix (becomes a ClientError FailureReason). */
export class ScriptModeError extends Error {}

/** Reads `requirements.txt` of the source directory, if there is one. */
export async function readRequirements(codeDir: string): Promise<string[]> {
  const text = await readFile(join(codeDir, 'requirements.txt'), 'utf8').catch(() => undefined);
  return text === undefined ? [] : requirementNames(text);
}
