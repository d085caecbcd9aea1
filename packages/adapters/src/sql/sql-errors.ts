import { TrainyardError } from '@trainyard/contracts/errors';

interface DriverError {
  code?: string;
  message?: string;
  constraint?: string;
}

/**
 * Translates better-sqlite3 and pg errors into TrainyardError at the adapter boundary.
 * `what` names the thing being written, for messages such as `access key "ci" already exists`.
 */
export function translateSqlError(error: unknown, what: string): unknown {
  if (error instanceof TrainyardError) return error;
  const e = error as DriverError;
  const code = e?.code ?? '';
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505') {
    return new TrainyardError('ALREADY_EXISTS', `${what} already exists`, {}, { cause: error });
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503') {
    return new TrainyardError(
      'FAILED_PRECONDITION',
      `${what} refers to something that does not exist`,
      {},
      { cause: error },
    );
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === '40001' || code === '40P01') {
    return new TrainyardError('UNAVAILABLE', 'the metadata database is busy; retry', {}, { cause: error });
  }
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === '57P01' || code === '53300') {
    return new TrainyardError(
      'UNAVAILABLE',
      `the metadata database is unreachable (${code})`,
      {},
      { cause: error },
    );
  }
  return error;
}

/** Runs `work`, translating driver errors. */
export async function sqlCall<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateSqlError(error, what);
  }
}
