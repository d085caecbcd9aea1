import { TrainyardError } from '@trainyard/contracts/errors';

/** Runs a Redis call, translating connection failures into UNAVAILABLE at the adapter boundary. */
export async function redisCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TrainyardError) throw error;
    const e = error as { code?: string; message?: string; name?: string };
    if (
      ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '') ||
      e.name === 'MaxRetriesPerRequestError' ||
      /Connection is closed|connect ECONNREFUSED/.test(e.message ?? '')
    ) {
      throw new TrainyardError('UNAVAILABLE', `Redis is unreachable: ${e.message}`, {}, { cause: error });
    }
    throw error;
  }
}
