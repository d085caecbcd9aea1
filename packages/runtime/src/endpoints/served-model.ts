import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DenseMatrix } from '@trainyard/ml/data/matrix';
import { loadModel } from '@trainyard/ml/formats/model-json';
import { importXgboostModel } from '@trainyard/ml/formats/xgboost-json';

/** A request the model cannot serve because of what it sent: the server answers 400 with the message. */
export class BadInvocationError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'BadInvocationError';
  }
}

/** A loaded model, reduced to what serving needs. */
export interface ServedModel {
  /** Where it came from, e.g. `model.json (gbdt)`. */
  description: string;
  numFeatures: number;
  /** Predictions row-major, `rows × (length / rows)`; ONNX models answer asynchronously. */
  predict(x: DenseMatrix): ArrayLike<number> | Promise<ArrayLike<number>>;
}

interface Predictor {
  numFeatures: number;
  predict(x: DenseMatrix): ArrayLike<number>;
}

export interface LoadServedModelOptions {
  /** Threads ONNX Runtime may use within one prediction. Default 1. */
  threads?: number;
}

/**
 * Loads the model found in an extracted model.tar.gz: `model.json` (@trainyard/ml `saveModel`),
 * `xgboost-model` (what SageMaker's XGBoost container writes: JSON or UBJSON) or an ONNX model
 * (`model.onnx`, or the one `*.onnx` file), scored by onnxruntime-node.
 */
export async function loadServedModel(
  modelDir: string,
  options: LoadServedModelOptions = {},
): Promise<ServedModel> {
  const trainyard = join(modelDir, 'model.json');
  if (existsSync(trainyard)) {
    const model = loadModel(await readFile(trainyard, 'utf8')) as unknown as Predictor & {
      toJSON(): { kind: string };
    };
    if (typeof model.predict !== 'function' || !(model.numFeatures > 0))
      throw new Error('model.json: this model kind cannot predict rows');
    return {
      description: `model.json (${model.toJSON().kind})`,
      numFeatures: model.numFeatures,
      predict: (x) => model.predict(x),
    };
  }
  const xgboost = join(modelDir, 'xgboost-model');
  if (existsSync(xgboost)) {
    let model: ReturnType<typeof importXgboostModel>;
    try {
      model = importXgboostModel(await readFile(xgboost));
    } catch (error) {
      throw new Error(`xgboost-model: ${(error as Error).message}`);
    }
    return {
      description: 'xgboost-model (XGBoost JSON/UBJSON)',
      numFeatures: model.numFeatures,
      predict: (x) => model.predict(x),
    };
  }
  const onnx = (await readdir(modelDir)).filter((name) => name.endsWith('.onnx')).sort();
  if (onnx.length > 0) {
    const name = onnx.includes('model.onnx') ? 'model.onnx' : onnx.length === 1 ? onnx[0]! : undefined;
    if (!name)
      throw new Error(
        `the model archive holds several ONNX files (${onnx.join(', ')}); name the one to serve model.onnx`,
      );
    return loadOnnxModel(join(modelDir, name), name, options.threads ?? 1);
  }
  throw new Error(
    `no model.json, xgboost-model or *.onnx in the model archive (looked in ${modelDir}); a script handler needs SAGEMAKER_PROGRAM`,
  );
}

/**
 * An ONNX model with one tensor input `[N, features]` (float or double, `features` fixed). It
 * answers its `probabilities` output when it has one (a `[N, 2]` one as P(class 1), like the
 * built-in server's binary scores), else its first numeric tensor output.
 */
async function loadOnnxModel(path: string, name: string, threads: number): Promise<ServedModel> {
  // Loaded only when a model needs it: the native library costs startup time and memory.
  const ort = await import('onnxruntime-node');
  let session: import('onnxruntime-node').InferenceSession;
  try {
    session = await ort.InferenceSession.create(await readFile(path), {
      intraOpNumThreads: Math.max(1, threads),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new Error(`${name}: ONNX Runtime cannot load it: ${(error as Error).message}`);
  }
  const [input, ...otherInputs] = session.inputMetadata;
  if (!input || otherInputs.length > 0 || !input.isTensor)
    throw new Error(
      `${name}: the built-in server feeds one tensor input [N, features]; this model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')})`,
    );
  if (input.type !== 'float32' && input.type !== 'float64')
    throw new Error(`${name}: input "${input.name}" is ${input.type}; the server feeds float32 or float64`);
  const width = input.shape[1];
  if (input.shape.length !== 2 || typeof width !== 'number' || !(width > 0))
    throw new Error(
      `${name}: input "${input.name}" has shape [${input.shape.join(', ')}]; the server feeds [N, features] with a fixed feature count`,
    );
  const tensors = session.outputMetadata.filter(
    (o): o is import('onnxruntime-node').InferenceSession.TensorValueMetadata => o.isTensor,
  );
  const numeric = tensors.filter((o) => ['float32', 'float64', 'int64', 'int32'].includes(o.type));
  const output =
    numeric.find((o) => o.name === 'probabilities') ??
    numeric.find((o) => o.type === 'float32' || o.type === 'float64') ??
    numeric[0];
  if (!output) throw new Error(`${name}: the model has no numeric tensor output to answer`);
  const double = input.type === 'float64';
  const inputName = input.name;
  const outputName = output.name;
  const binaryProbabilities = output.name === 'probabilities' && output.shape[1] === 2;
  return {
    description: `${name} (ONNX, output "${outputName}")`,
    numFeatures: width,
    predict: async (x) => {
      const rowMajor = x.toRowMajor();
      const feed = new ort.Tensor(
        double ? 'float64' : 'float32',
        double ? Float64Array.from(rowMajor) : rowMajor,
        [x.rows, width],
      );
      const result = await session.run({ [inputName]: feed }, [outputName]);
      const data = result[outputName]!.data as ArrayLike<number | bigint>;
      if (binaryProbabilities) {
        const p = new Float64Array(x.rows);
        for (let i = 0; i < x.rows; i++) p[i] = Number(data[2 * i + 1]);
        return p;
      }
      return typeof data[0] === 'bigint'
        ? Float64Array.from(data as ArrayLike<bigint>, Number)
        : (data as ArrayLike<number>);
    },
  };
}

function parseCell(text: string, row: number, column: number): number {
  // Number() skips surrounding blanks itself; only its 0 (blank cell) and NaN need a second look.
  const value = Number(text);
  if (value !== 0 && !Number.isNaN(value)) return value;
  const cell = text.trim();
  // An empty cell is a missing value, as XGBoost reads CSV.
  if (cell === '') return Number.NaN;
  if (Number.isNaN(value) && cell.toLowerCase() !== 'nan')
    throw new BadInvocationError(
      `row ${row}, column ${column}: ${JSON.stringify(cell.slice(0, 40))} is not a number`,
    );
  return value;
}

function widthError(row: number, got: number, want: number): BadInvocationError {
  return new BadInvocationError(`row ${row} has ${got} values; the model expects ${want} features`);
}

/** Parses `text/csv` (one row per line, no header) into a column-major matrix. */
export function parseCsv(body: string, numFeatures: number): DenseMatrix {
  // A single row (most real-time requests) skips the line array.
  const newline = body.indexOf('\n');
  const single =
    newline < 0 || (body.indexOf('\n', newline + 1) < 0 && body.slice(newline + 1).trim() === '');
  const first = newline < 0 ? body : body.slice(0, newline);
  const lines = single
    ? first.trim() === ''
      ? []
      : [first]
    : body.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) throw new BadInvocationError('the body is empty; send at least one CSV row');
  const n = lines.length;
  const data = new Float32Array(n * numFeatures);
  for (let i = 0; i < n; i++) {
    const cells = (lines[i] as string).split(',');
    if (cells.length !== numFeatures) throw widthError(i + 1, cells.length, numFeatures);
    for (let j = 0; j < numFeatures; j++) data[j * n + i] = parseCell(cells[j] as string, i + 1, j + 1);
  }
  return DenseMatrix.fromColumnMajor(data, n, numFeatures);
}

function rowsOfJson(doc: unknown): unknown[] {
  if (Array.isArray(doc))
    return doc.length > 0 && !Array.isArray(doc[0]) && typeof doc[0] !== 'object' ? [doc] : doc;
  if (doc && typeof doc === 'object') {
    const d = doc as { instances?: unknown; features?: unknown };
    if (Array.isArray(d.instances)) return d.instances;
    if (Array.isArray(d.features)) return [d];
  }
  throw new BadInvocationError(
    'JSON body must be a row [..], rows [[..], ..], {"instances": [..]} or {"features": [..]}',
  );
}

function rowValues(row: unknown, index: number): unknown[] {
  if (Array.isArray(row)) return row;
  if (row && typeof row === 'object' && Array.isArray((row as { features?: unknown }).features))
    return (row as { features: unknown[] }).features;
  throw new BadInvocationError(`row ${index}: must be an array of numbers or {"features": [..]}`);
}

function toMatrix(rows: unknown[], numFeatures: number): DenseMatrix {
  if (rows.length === 0) throw new BadInvocationError('the body has no rows');
  const n = rows.length;
  const data = new Float32Array(n * numFeatures);
  for (let i = 0; i < n; i++) {
    const values = rowValues(rows[i], i + 1);
    if (values.length !== numFeatures) throw widthError(i + 1, values.length, numFeatures);
    for (let j = 0; j < numFeatures; j++) {
      const v = values[j];
      if (v === null) data[j * n + i] = Number.NaN;
      else if (typeof v === 'number') data[j * n + i] = v;
      else
        throw new BadInvocationError(`row ${i + 1}, column ${j + 1}: ${JSON.stringify(v)} is not a number`);
    }
  }
  return DenseMatrix.fromColumnMajor(data, n, numFeatures);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadInvocationError(`${what} is not valid JSON (${(error as Error).message})`);
  }
}

/** What the built-in runtime answers in (and reads). */
export type InvocationContentType = 'text/csv' | 'application/json' | 'application/jsonlines';
/** What it reads: the answer types and NumPy's `.npy` format. */
export type RequestContentType = InvocationContentType | 'application/x-npy';

/** The media type without parameters, if it is one the server answers in. */
export function invocationTypeOf(header: string | undefined): InvocationContentType | undefined {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'text/csv' || type === 'application/json' || type === 'application/jsonlines') return type;
  if (type === 'application/x-jsonlines' || type === 'application/jsonl') return 'application/jsonlines';
  return undefined;
}

/** The media type without parameters, if it is one the server reads. */
export function requestTypeOf(header: string | undefined): RequestContentType | undefined {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase();
  return type === 'application/x-npy' ? type : invocationTypeOf(type);
}

/** NPY element types the runtime reads: [bytes, DataView getter]. */
const npyTypes: Record<string, [number, (v: DataView, at: number, little: boolean) => number]> = {
  f4: [4, (v, at, le) => v.getFloat32(at, le)],
  f8: [8, (v, at, le) => v.getFloat64(at, le)],
  i1: [1, (v, at) => v.getInt8(at)],
  i2: [2, (v, at, le) => v.getInt16(at, le)],
  i4: [4, (v, at, le) => v.getInt32(at, le)],
  i8: [8, (v, at, le) => Number(v.getBigInt64(at, le))],
  u1: [1, (v, at) => v.getUint8(at)],
  u2: [2, (v, at, le) => v.getUint16(at, le)],
  u4: [4, (v, at, le) => v.getUint32(at, le)],
  u8: [8, (v, at, le) => Number(v.getBigUint64(at, le))],
  b1: [1, (v, at) => v.getUint8(at)],
};

function npyError(problem: string): BadInvocationError {
  return new BadInvocationError(`application/x-npy body: ${problem}`);
}

/**
 * Parses a NumPy `.npy` body (format versions 1 to 3: magic, version, header length, a Python
 * dict literal with `descr`, `fortran_order` and `shape`, then the raw array) into rows of
 * `numFeatures` columns: shape `(rows, features)`, or `(features,)` for a single row, of a numeric
 * little- or big-endian type. Object arrays (pickles) are refused, never unpickled.
 */
export function parseNpy(body: Buffer, numFeatures: number): DenseMatrix {
  const x = readNpy(body);
  if (x.cols !== numFeatures)
    throw new BadInvocationError(`row 1 has ${x.cols} values; the model expects ${numFeatures} features`);
  return x;
}

/** Reads a `.npy` body (see parseNpy) as a matrix of whatever width it has. */
export function readNpy(body: Buffer): DenseMatrix {
  if (body.length < 10 || body.readUInt8(0) !== 0x93 || body.toString('latin1', 1, 6) !== 'NUMPY')
    throw npyError('does not start with the NPY magic "\\x93NUMPY"');
  const major = body.readUInt8(6);
  if (major < 1 || major > 3) throw npyError(`format version ${major} is not one of 1, 2, 3`);
  const headerLength = major === 1 ? body.readUInt16LE(8) : body.length >= 12 ? body.readUInt32LE(8) : -1;
  const headerStart = major === 1 ? 10 : 12;
  if (headerLength < 0 || headerStart + headerLength > body.length)
    throw npyError(`the header says ${headerLength} bytes but the body ends before them`);
  const header = body.toString(major === 3 ? 'utf8' : 'latin1', headerStart, headerStart + headerLength);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined)
    throw npyError(
      `the header ${JSON.stringify(header.trim().slice(0, 120))} lacks descr, fortran_order or shape`,
    );
  const order = descr[0];
  const kind = descr.slice(1);
  const type = npyTypes[kind];
  if (!type || !['<', '>', '|', '='].includes(order ?? ''))
    throw npyError(`dtype ${JSON.stringify(descr)} is not a number type (use float32 or float64)`);
  const shape = shapeText
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map((d) => (/^\d+$/.test(d) ? Number(d) : Number.NaN));
  if (shape.some((d) => Number.isNaN(d)) || shape.length < 1 || shape.length > 2)
    throw npyError(`shape (${shapeText.trim()}) must be (rows, features) or (features,)`);
  const [rows, width] = shape.length === 2 ? (shape as [number, number]) : [1, shape[0] as number];
  if (rows === 0) throw npyError('the array has no rows');
  const [size, get] = type;
  const dataStart = headerStart + headerLength;
  const need = rows * width * size;
  if (body.length - dataStart !== need)
    throw npyError(
      `the data is ${body.length - dataStart} bytes; shape (${shape.join(', ')}) of ${descr} needs ${need}`,
    );
  const view = new DataView(body.buffer, body.byteOffset + dataStart, need);
  const little = order !== '>';
  const data = new Float32Array(rows * width);
  const columnMajor = fortran === 'True';
  for (let k = 0; k < rows * width; k++) {
    // Stored row-major (C) or column-major (Fortran); the matrix wants column-major.
    const i = columnMajor ? k % rows : Math.floor(k / width);
    const j = columnMajor ? Math.floor(k / rows) : k % width;
    data[j * rows + i] = get(view, k * size, little);
  }
  return DenseMatrix.fromColumnMajor(data, rows, width);
}

/** Reads a request body of `type` into rows of `numFeatures` columns. */
export function parseInvocation(
  raw: Buffer | string,
  type: RequestContentType,
  numFeatures: number,
): DenseMatrix {
  if (raw.length === 0) throw new BadInvocationError('the body is empty; send at least one row');
  if (type === 'application/x-npy')
    return parseNpy(Buffer.isBuffer(raw) ? raw : Buffer.from(raw), numFeatures);
  const body = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (body.trim() === '') throw new BadInvocationError('the body is empty; send at least one row');
  if (type === 'text/csv') return parseCsv(body, numFeatures);
  if (type === 'application/json') return toMatrix(rowsOfJson(parseJson(body, 'the body')), numFeatures);
  const rows = body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => parseJson(line, `line ${i + 1}`));
  return toMatrix(rows, numFeatures);
}

function scoreOf(predictions: ArrayLike<number>, row: number, width: number): number | number[] {
  if (width === 1) return predictions[row] as number;
  return Array.from({ length: width }, (_, k) => predictions[row * width + k] as number);
}

/** Writes predictions as `accept`: CSV lines, `{"predictions": [{"score": ..}]}` or JSON lines. */
export function formatPredictions(
  predictions: ArrayLike<number>,
  rows: number,
  accept: InvocationContentType,
): string {
  const width = rows > 0 ? predictions.length / rows : 1;
  if (accept === 'text/csv') {
    let out = '';
    for (let i = 0; i < rows; i++) {
      const score = scoreOf(predictions, i, width);
      out += `${Array.isArray(score) ? score.join(',') : score}\n`;
    }
    return out;
  }
  const scores = Array.from({ length: rows }, (_, i) => ({ score: scoreOf(predictions, i, width) }));
  if (accept === 'application/json') return JSON.stringify({ predictions: scores });
  return `${scores.map((s) => JSON.stringify(s)).join('\n')}\n`;
}
