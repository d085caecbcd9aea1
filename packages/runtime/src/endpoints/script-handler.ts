import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InvocationHandler } from './model-server.js';
import { BadInvocationError, readNpy } from './served-model.js';

/**
 * The hooks of a TS/JS script handler: SageMaker's inference-toolkit hooks under JavaScript names.
 * Only `modelFn` is required; each missing one falls back to the default described beside it.
 *
 * @example
 * // code/inference.mjs
 * export async function modelFn(modelDir) { return JSON.parse(await readFile(`${modelDir}/weights.json`, 'utf8')); }
 * export function predictFn(rows, model) { return rows.map((r) => r[0] * model.a + model.b); }
 */
export interface ScriptHooks {
  /** Loads the model from the extracted archive; called once before /ping answers 200. */
  modelFn(modelDir: string): unknown;
  /** Default: JSON parsed, CSV as rows of numbers, JSON lines as an array of parsed lines. */
  inputFn?(body: Buffer, contentType: string): unknown;
  /** Default: `model.predict(data)`. */
  predictFn?(data: unknown, model: unknown): unknown;
  /** Default: JSON text, CSV lines (one per row, cells joined by ","), or JSON lines. A string or bytes is sent as is. */
  outputFn?(prediction: unknown, accept: string): unknown;
}

const jsonTypes = new Set(['application/json']);
const jsonLinesTypes = new Set(['application/jsonlines', 'application/x-jsonlines', 'application/jsonl']);

function mediaType(header: string | undefined): string | undefined {
  const type = header?.split(';')[0]?.trim().toLowerCase();
  return type === '' ? undefined : type;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadInvocationError(`${what} is not valid JSON (${(error as Error).message})`);
  }
}

/** The default inputFn: the body decoded by its content type. */
export function defaultInput(body: Buffer, contentType: string): unknown {
  const text = body.toString('utf8');
  if (jsonTypes.has(contentType)) return parseJson(text, 'the body');
  if (jsonLinesTypes.has(contentType))
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, i) => parseJson(line, `line ${i + 1}`));
  if (contentType === 'text/csv')
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, i) =>
        line.split(',').map((cell, j) => {
          const value = Number(cell.trim());
          if (cell.trim() !== '' && Number.isNaN(value) && cell.trim().toLowerCase() !== 'nan')
            throw new BadInvocationError(
              `row ${i + 1}, column ${j + 1}: ${JSON.stringify(cell.trim().slice(0, 40))} is not a number`,
            );
          return cell.trim() === '' ? Number.NaN : value;
        }),
      );
  if (contentType === 'application/x-npy') {
    const x = readNpy(body);
    return Array.from({ length: x.rows }, (_, i) => Array.from(x.row(i)));
  }
  throw new BadInvocationError(
    `content type ${JSON.stringify(contentType)} is not supported by the default inputFn; use application/json, text/csv, application/jsonlines or application/x-npy, or export inputFn`,
    415,
  );
}

/** The default outputFn: the prediction encoded as `accept`. */
export function defaultOutput(prediction: unknown, accept: string): string {
  const values = ArrayBuffer.isView(prediction)
    ? Array.from(prediction as unknown as ArrayLike<number>)
    : prediction;
  if (jsonTypes.has(accept)) return JSON.stringify(values);
  if (jsonLinesTypes.has(accept))
    return Array.isArray(values)
      ? `${values.map((v) => JSON.stringify(v)).join('\n')}\n`
      : `${JSON.stringify(values)}\n`;
  if (accept === 'text/csv') {
    const rows = Array.isArray(values) ? values : [values];
    return `${rows.map((row) => (Array.isArray(row) ? row.join(',') : String(row))).join('\n')}\n`;
  }
  throw new BadInvocationError(
    `Accept ${JSON.stringify(accept)} is not supported by the default outputFn; use application/json, text/csv or application/jsonlines, or export outputFn`,
    406,
  );
}

/** A hook's error: its own status when it gives a 4xx (`error.status = 400`), else 500 with its message. */
function hookError(hook: string, error: unknown): Error {
  if (error instanceof BadInvocationError) return error;
  const status = (error as { status?: unknown }).status;
  const message = `${hook} failed: ${(error as Error)?.message ?? String(error)}`;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new BadInvocationError(message, status);
  return new Error(message);
}

const snakeNames = ['model_fn', 'input_fn', 'predict_fn', 'output_fn', 'transform_fn'];

/**
 * Loads a TS/JS script handler (`SAGEMAKER_PROGRAM` = a `.js`, `.mjs` or `.cjs` module in `codeDir`)
 * and calls its `modelFn(modelDir)`. Errors name the program and the hook, so an instance that fails
 * here says why in the endpoint's FailureReason.
 */
export async function loadScriptHandler(options: {
  modelDir: string;
  codeDir: string;
  program: string;
  /** SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT; the toolkit's default is application/json. */
  defaultAccept?: string;
}): Promise<InvocationHandler> {
  const { modelDir, codeDir, program } = options;
  const path = join(codeDir, program);
  if (!existsSync(path)) throw new Error(`SAGEMAKER_PROGRAM "${program}" is not in the code directory`);
  let hooks: Partial<ScriptHooks> & Record<string, unknown>;
  try {
    hooks = (await import(pathToFileURL(path).href)) as typeof hooks;
  } catch (error) {
    throw new Error(`${program} could not be loaded: ${(error as Error).message}`);
  }
  if (typeof hooks.modelFn !== 'function') {
    const snake = snakeNames.filter((name) => typeof hooks[name] === 'function');
    throw new Error(
      snake.length > 0
        ? `${program} exports ${snake.join(', ')}; TS/JS hooks are named modelFn, inputFn, predictFn, outputFn`
        : `${program} exports no modelFn(modelDir): a script handler must load its model`,
    );
  }
  let model: unknown;
  try {
    model = await hooks.modelFn(modelDir);
  } catch (error) {
    throw new Error(`modelFn failed: ${(error as Error)?.message ?? String(error)}`);
  }
  const inputFn = hooks.inputFn ?? defaultInput;
  const predictFn =
    hooks.predictFn ??
    ((data: unknown, loaded: unknown) => {
      const predict = (loaded as { predict?: unknown } | null)?.predict;
      if (typeof predict !== 'function')
        throw new Error('the model modelFn returned has no predict(data); export predictFn');
      return (predict as (d: unknown) => unknown).call(loaded, data);
    });
  const outputFn = hooks.outputFn ?? defaultOutput;
  const defaultAccept = options.defaultAccept ?? 'application/json';
  return {
    description: `${program} (TS/JS script handler)`,
    async invoke(body, contentTypeHeader, acceptHeader) {
      if (body.length === 0) throw new BadInvocationError('the body is empty');
      const contentType = mediaType(contentTypeHeader) ?? 'application/json';
      const wanted = mediaType(acceptHeader?.split(',')[0]);
      const accept = !wanted || wanted === '*/*' ? defaultAccept : wanted;
      let data: unknown;
      let prediction: unknown;
      let output: unknown;
      try {
        data = await inputFn(body, contentType);
      } catch (error) {
        throw hookError('inputFn', error);
      }
      try {
        prediction = await predictFn(data, model);
      } catch (error) {
        throw hookError('predictFn', error);
      }
      try {
        output = await outputFn(prediction, accept);
      } catch (error) {
        throw hookError('outputFn', error);
      }
      if (typeof output === 'string' || output instanceof Uint8Array)
        return { body: output, contentType: accept };
      throw new Error(`outputFn returned ${typeof output}; return a string or bytes`);
    },
  };
}
