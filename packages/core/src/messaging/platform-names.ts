import { TrainyardError } from '@trainyard/contracts/errors';

/**
 * Queues, streams (`trainyard-…`) and topics (`trainyard.…`) the platform owns: its job queue,
 * topic deliveries and state-change events. Users may read them and subscribe to the topics, but
 * a message a user could put there would be taken for the platform's own (a forged job, a forged
 * event), so nothing a user calls writes, moves, creates or deletes them.
 */
export function isPlatformName(name: string): boolean {
  return name.startsWith('trainyard-') || name.startsWith('trainyard.');
}

/** @throws PERMISSION_DENIED naming `field` when `name` is the platform's */
export function refusePlatformName(kind: 'queue' | 'stream' | 'topic', name: string, field: string): void {
  if (!isPlatformName(name)) return;
  throw new TrainyardError(
    'PERMISSION_DENIED',
    `${field}: ${kind} "${name}" belongs to the platform (names starting with "trainyard-" or "trainyard."); users may read it but not write, move or delete its messages`,
    { field },
  );
}
