import { TrainyardError } from '@trainyard/contracts/errors';
import { xmlDocument } from './s3-xml.js';

/** An S3 error response: S3's code, HTTP status and message. */
export class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra elements of the `<Error>` body (S3 adds e.g. `StringToSign` to SignatureDoesNotMatch). */
  readonly extra: Record<string, string>;

  constructor(code: string, status: number, message: string, extra: Record<string, string> = {}) {
    super(message);
    this.name = 'S3Error';
    this.code = code;
    this.status = status;
    this.extra = extra;
  }

  toXml(resource: string, requestId: string): string {
    return xmlDocument('Error', [
      ['Code', this.code],
      ['Message', this.message],
      ...Object.entries(this.extra),
      ['Resource', resource],
      ['RequestId', requestId],
    ]);
  }
}

const bySigV4Failure: Record<string, [string, number]> = {
  mismatch: ['SignatureDoesNotMatch', 403],
  expired: ['AccessDenied', 403],
  skewed: ['RequestTimeTooSkewed', 403],
  malformed: ['AuthorizationHeaderMalformed', 400],
  scope: ['AuthorizationHeaderMalformed', 400],
};

const byCompletionProblem: Record<string, [string, number]> = {
  'invalid-part': ['InvalidPart', 400],
  'part-order': ['InvalidPartOrder', 400],
  'entity-too-small': ['EntityTooSmall', 400],
  'no-parts': ['MalformedXML', 400],
};

/** Names a platform error the way S3 would; anything unexpected is an InternalError. */
export function s3ErrorOf(error: unknown): S3Error | undefined {
  if (error instanceof S3Error) return error;
  if (!(error instanceof TrainyardError)) return undefined;
  const d = error.details;
  switch (error.code) {
    case 'UNAUTHENTICATED': {
      const [code, status] = bySigV4Failure[String(d.sigv4)] ?? ['InvalidAccessKeyId', 403];
      const extra: Record<string, string> = {};
      if (typeof d.stringToSign === 'string') extra.StringToSign = d.stringToSign;
      if (typeof d.canonicalRequest === 'string') extra.CanonicalRequest = d.canonicalRequest;
      if (typeof d.expires === 'string') extra.Expires = d.expires;
      if (typeof d.serverTime === 'string') extra.ServerTime = d.serverTime;
      return new S3Error(code, status, error.message, extra);
    }
    case 'PERMISSION_DENIED':
      return new S3Error('AccessDenied', 403, error.message);
    case 'NOT_FOUND':
      if (d.uploadId !== undefined) return new S3Error('NoSuchUpload', 404, error.message);
      if (d.key !== undefined) return new S3Error('NoSuchKey', 404, 'The specified key does not exist.');
      return new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist');
    case 'ALREADY_EXISTS':
      return new S3Error(
        'BucketAlreadyOwnedByYou',
        409,
        'Your previous request to create the named bucket succeeded and you already own it.',
      );
    case 'INVALID_ARGUMENT': {
      const problem = byCompletionProblem[String(d.problem)];
      if (problem) return new S3Error(problem[0], problem[1], error.message);
      if (d.field === 'bucket') return new S3Error('InvalidBucketName', 400, error.message);
      if (d.field === 'key' && error.message.includes('1024'))
        return new S3Error('KeyTooLongError', 400, 'Your key is too long');
      if (d.field === 'range')
        return new S3Error('InvalidRange', 416, 'The requested range is not satisfiable');
      return new S3Error('InvalidArgument', 400, error.message);
    }
    case 'FAILED_PRECONDITION':
      if (error.message.includes('not empty')) {
        return new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty');
      }
      return new S3Error('InvalidRequest', 400, error.message);
    case 'UNAVAILABLE':
      return new S3Error('ServiceUnavailable', 503, error.message);
    case 'RESOURCE_EXHAUSTED':
      return new S3Error('SlowDown', 503, error.message);
    default:
      return undefined;
  }
}
