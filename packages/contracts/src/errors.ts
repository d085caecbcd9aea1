import { z } from 'zod';

/**
 * The closed set of error codes every Trainyard component speaks. Adapters translate driver
 * errors into these at their boundary; the HTTP tier maps them to statuses with {@link httpStatusOf}
 * and the SageMaker door maps them to AWS error names.
 */
export const errorCodes = [
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'INVALID_ARGUMENT',
  'FAILED_PRECONDITION',
  'CONFLICT',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

const httpStatusByCode: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 412,
  CONFLICT: 409,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** Whether a caller may retry the same request unchanged and hope for another outcome. */
const retryableCodes: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'CONFLICT']);

export function httpStatusOf(code: ErrorCode): number {
  return httpStatusByCode[code];
}

export function codeOfHttpStatus(status: number): ErrorCode {
  for (const code of errorCodes) if (httpStatusByCode[code] === status) return code;
  return status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT';
}

export interface ErrorDetails {
  /** Dotted path of the offending input field, e.g. `body.role` or `hyperparameters.eta`. */
  field?: string;
  /** Anything else a client can act on (an existing resource's name, a limit). */
  [key: string]: unknown;
}

/**
 * The one error type of Trainyard. `retryable` says whether repeating the same call can succeed.
 *
 * @example
 * throw new TrainyardError('NOT_FOUND', `access key "${id}" does not exist`);
 */
export class TrainyardError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainyardError';
    this.code = code;
    this.details = details;
    this.retryable = retryableCodes.has(code);
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, retryable: this.retryable, ...this.details } };
  }

  static is(value: unknown, code?: ErrorCode): value is TrainyardError {
    return value instanceof TrainyardError && (code === undefined || value.code === code);
  }
}

/** Shorthand for the most common client error: one field with one problem. */
export function invalidArgument(field: string, problem: string): TrainyardError {
  return new TrainyardError('INVALID_ARGUMENT', `${field}: ${problem}`, { field });
}

/** The JSON body of every error response of the REST API. */
export const ErrorBody = z.object({
  error: z
    .object({
      code: z.enum(errorCodes),
      message: z.string(),
      retryable: z.boolean(),
      field: z.string().optional(),
      requestId: z.string().optional(),
    })
    .catchall(z.unknown()),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Validates `value` against a contract schema, refusing with the first problem's field path (e.g. `body.vcpus`). */
export function parseOrRefuse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = [where, ...(issue?.path ?? []).map(String)].join('.');
  throw invalidArgument(field, issue?.message ?? 'is invalid');
}
