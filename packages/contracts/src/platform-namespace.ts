import { TrainyardError } from './errors.js';

/**
 * The blob store bucket that holds what the platform itself wrote and registered: dataset
 * versions (`datasets/`), fitted recipes (`recipes/`) and job outputs (`jobs/`). Users read it
 * (through S3, job inputs, downloads) but never write it: not through the S3 door, not as a job's
 * output location. Only the platform's own services put objects there.
 */
export const platformBucket = 'trainyard';

/** Whether an `s3://bucket/key` address points into {@link platformBucket}. */
export function isPlatformUri(uri: string): boolean {
  return /^s3:\/\/([^/]+)(\/|$)/.exec(uri)?.[1] === platformBucket;
}

/**
 * Refuses a user-chosen write location inside {@link platformBucket} (a job's output, model or
 * checkpoint prefix).
 * @throws PERMISSION_DENIED naming `field`
 */
export function refusePlatformUri(uri: string | undefined, field: string): void {
  if (uri === undefined || !isPlatformUri(uri)) return;
  throw new TrainyardError(
    'PERMISSION_DENIED',
    `${field}: bucket "${platformBucket}" is the platform's own (dataset versions, fitted recipes, job outputs); choose a bucket of your own`,
    { field },
  );
}
