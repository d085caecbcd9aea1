import { PassThrough, type Readable } from 'node:stream';
import { TrainyardError } from '@trainyard/contracts/errors';

/** The message of an upload the server's shutdown cut off. */
export const cutByShutdown =
  'the server is shutting down: this upload was cut off and nothing was stored; send it again once the server is back (or to another one)';

/**
 * The request body as a stream that fails with UNAVAILABLE (retryable) when `signal` aborts, so
 * an upload in progress at shutdown ends at once with a clear error, its consumer removes its
 * scratch file, and the response (503) still goes out on the open connection.
 */
export function cutOnShutdown(body: Readable, signal: AbortSignal): Readable {
  const out = new PassThrough();
  const cut = () => {
    body.unpipe(out);
    out.destroy(new TrainyardError('UNAVAILABLE', cutByShutdown));
  };
  if (signal.aborted) cut();
  else {
    signal.addEventListener('abort', cut, { once: true });
    out.once('close', () => signal.removeEventListener('abort', cut));
  }
  body.on('error', (error) => out.destroy(error));
  body.pipe(out);
  return out;
}
