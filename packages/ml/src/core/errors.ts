/**
 * Error thrown for invalid input to any `@trainyard/ml` entry point: bad shapes, labels out of range,
 * non-finite hyperparameters, empty data. `field` names the offending argument or hyperparameter so
 * that callers (e.g. a training job) can report it to the user verbatim.
 *
 * @example
 * try { trainGbdt(data, { eta: 'abc' }); } catch (e) { if (e instanceof MlInputError) console.log(e.field); }
 */
export class MlInputError extends Error {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'MlInputError';
    this.field = field;
  }
}
