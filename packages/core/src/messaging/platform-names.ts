import { TrainyardError } from '@trainyard/contracts/errors';

/**
 * Queues and streams named `trainyard-…` belong to the platform: its job queues (one per kind),
 * topic deliveries. Users may read them, but a message a user could put there would be taken for
 * the platform's own (a forged job), so nothing a user calls writes, moves, creates or deletes
 * them. (Topics `trainyard.…` have their own rule in MessagingService: subscribe yes, publish no.)
 */
export function isPlatformName(name: string): boolean {
  return name.startsWith('trainyard-');
}

/** @throws PERMISSION_DENIED naming `field` when `name` is the platform's */
export function refusePlatformName(kind: 'queue' | 'stream', name: string, field: string): void {
  if (!isPlatformName(name)) return;
  throw new TrainyardError(
    'PERMISSION_DENIED',
    `${field}: ${kind} "${name}" belongs to the platform (names starting with "trainyard-"); it may be read, not written, moved into or out of, created or deleted`,
    { field },
  );
}
