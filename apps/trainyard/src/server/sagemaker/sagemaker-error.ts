import { TrainyardError } from '@trainyard/contracts/errors';
import { AwsAuthError } from '../aws/aws-auth.js';

/** An AWS JSON error: its `__type` name, HTTP status and message. */
export class SageMakerError extends Error {
  readonly type: string;
  readonly status: number;

  constructor(type: string, status: number, message: string) {
    super(message);
    this.name = 'SageMakerError';
    this.type = type;
    this.status = status;
  }
}

const bySigV4Failure: Record<string, [string, number]> = {
  mismatch: ['InvalidSignatureException', 403],
  expired: ['InvalidSignatureException', 403],
  skewed: ['InvalidSignatureException', 403],
  malformed: ['IncompleteSignatureException', 400],
  scope: ['InvalidSignatureException', 403],
};

/**
 * Names a platform error the way SageMaker would (beside the S3 door's map in s3-error.ts);
 * undefined for anything unexpected, which the door answers as InternalFailure.
 */
export function sageMakerErrorOf(error: unknown): SageMakerError | undefined {
  if (error instanceof SageMakerError) return error;
  if (error instanceof AwsAuthError) {
    switch (error.problem) {
      case 'anonymous':
        return new SageMakerError('MissingAuthenticationTokenException', 403, 'Missing Authentication Token');
      case 'unknown-key':
        return new SageMakerError(
          'UnrecognizedClientException',
          403,
          'The security token included in the request is invalid.',
        );
      case 'role':
        return new SageMakerError('AccessDeniedException', 400, error.message);
    }
  }
  if (!(error instanceof TrainyardError)) return undefined;
  switch (error.code) {
    case 'UNAUTHENTICATED': {
      const [type, status] = bySigV4Failure[String(error.details.sigv4)] ?? [
        'UnrecognizedClientException',
        403,
      ];
      const message =
        error.details.sigv4 === 'skewed'
          ? `Signature expired: ${String(error.details.requestTime)} is now earlier or later than ${String(error.details.serverTime)} allows (15 min.)`
          : error.message;
      return new SageMakerError(type, status, message);
    }
    case 'PERMISSION_DENIED':
      return new SageMakerError('AccessDeniedException', 400, error.message);
    // SageMaker answers a missing resource with a ValidationException ("Could not find …").
    case 'NOT_FOUND':
      return new SageMakerError('ValidationException', 400, error.message);
    case 'ALREADY_EXISTS':
      return new SageMakerError('ResourceInUse', 400, error.message);
    case 'INVALID_ARGUMENT':
    case 'FAILED_PRECONDITION':
    case 'CONFLICT':
      return new SageMakerError('ValidationException', 400, error.message);
    case 'RESOURCE_EXHAUSTED':
      return new SageMakerError('ResourceLimitExceeded', 400, error.message);
    case 'UNAVAILABLE':
      return new SageMakerError('ServiceUnavailable', 503, error.message);
    default:
      return undefined;
  }
}
