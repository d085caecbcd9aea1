import { MlInputError } from './errors.js';

/** A hyperparameter as SageMaker passes it (always a string) or as TypeScript callers pass it. */
export type HyperValue = string | number | boolean | undefined;

/**
 * Reads hyperparameters given in SageMaker's string-or-number form into strict numbers, once, so that
 * the algorithms never see a string or a NaN. Every failure names the field.
 */
export class ParamReader {
  private readonly raw: Readonly<Record<string, HyperValue>>;
  constructor(raw: Readonly<Record<string, HyperValue>> | undefined) {
    this.raw = raw ?? {};
  }

  private value(name: string): HyperValue {
    const v = this.raw[name];
    return typeof v === 'string' && v.trim() === '' ? undefined : v;
  }

  number(
    name: string,
    def: number,
    opts: { min?: number; max?: number; minExclusive?: boolean } = {},
  ): number {
    const v = this.value(name);
    if (v === undefined) return def;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : Number.NaN;
    if (!Number.isFinite(n))
      throw new MlInputError(name, `must be a finite number, got ${JSON.stringify(v)}`);
    if (opts.min !== undefined && (opts.minExclusive ? n <= opts.min : n < opts.min)) {
      throw new MlInputError(name, `must be ${opts.minExclusive ? '>' : '>='} ${opts.min}, got ${n}`);
    }
    if (opts.max !== undefined && n > opts.max)
      throw new MlInputError(name, `must be <= ${opts.max}, got ${n}`);
    return n;
  }

  int(name: string, def: number, opts: { min?: number; max?: number } = {}): number {
    const n = this.number(name, def, opts);
    if (!Number.isInteger(n)) throw new MlInputError(name, `must be an integer, got ${n}`);
    return n;
  }

  optionalInt(name: string, opts: { min?: number; max?: number } = {}): number | undefined {
    return this.value(name) === undefined ? undefined : this.int(name, 0, opts);
  }

  bool(name: string, def: boolean): boolean {
    const v = this.value(name);
    if (v === undefined) return def;
    if (typeof v === 'boolean') return v;
    const s = String(v).trim().toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
    throw new MlInputError(name, `must be true or false, got ${JSON.stringify(v)}`);
  }

  choice<T extends string>(name: string, def: T, allowed: readonly T[]): T {
    const v = this.value(name);
    if (v === undefined) return def;
    const s = String(v).trim();
    if (!(allowed as readonly string[]).includes(s)) {
      throw new MlInputError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    }
    return s as T;
  }

  string(name: string): string | undefined {
    const v = this.value(name);
    return v === undefined ? undefined : String(v).trim();
  }
}
