import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';
import { checkMessagingName } from '@trainyard/core/messaging/messaging-names';
import type {
  QueueDescription,
  QueueOptions,
  ReceiveOptions,
  SendOptions,
} from '@trainyard/core/ports/job-queue';

/** SQS's ceiling for visibility and the longest delay we accept: 12 hours. */
const maxTimeoutMs = 12 * 3600_000;
const maxBodyBytes = 1024 * 1024;

function checkMs(field: string, value: number | undefined, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw invalidArgument(field, `must be an integer number of milliseconds in 0..${max}, got ${value}`);
  }
}

/**
 * Argument checks and defaults every JobQueue adapter shares, so they refuse the same inputs with
 * the same messages.
 */
export const queueArguments = {
  description(name: string, options: QueueOptions = {}): QueueDescription {
    checkMessagingName('queue', name);
    checkMs('visibilityTimeoutMs', options.visibilityTimeoutMs, maxTimeoutMs);
    const max = options.maxReceiveCount;
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 1000)) {
      throw invalidArgument('maxReceiveCount', `must be an integer in 1..1000, got ${max}`);
    }
    const dlq = options.deadLetterQueue ?? (max !== undefined ? `${name}-dlq` : undefined);
    if (dlq !== undefined) {
      checkMessagingName('queue', dlq, 'deadLetterQueue');
      if (dlq === name)
        throw invalidArgument('deadLetterQueue', 'a queue cannot be its own dead-letter queue');
    }
    return {
      name,
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? 30_000,
      maxReceiveCount: max,
      deadLetterQueue: max === undefined ? undefined : dlq,
      fifo: options.fifo ?? false,
    };
  },

  send(queue: QueueDescription, body: string, options: SendOptions = {}): void {
    if (typeof body !== 'string') throw invalidArgument('body', 'must be a string');
    if (Buffer.byteLength(body) > maxBodyBytes) throw invalidArgument('body', 'is larger than 1 MiB');
    checkMs('delayMs', options.delayMs, maxTimeoutMs);
    for (const [k, v] of Object.entries(options.attributes ?? {})) {
      if (typeof v !== 'string') throw invalidArgument(`attributes.${k}`, 'must be a string');
    }
    if (queue.fifo && !options.groupId) {
      throw invalidArgument('groupId', `queue "${queue.name}" is FIFO: every message needs a groupId`);
    }
    if (!queue.fifo && options.groupId !== undefined) {
      throw invalidArgument(
        'groupId',
        `queue "${queue.name}" is not FIFO; groupId applies to FIFO queues only`,
      );
    }
    if (options.groupId !== undefined && !/^[\w.:-]{1,128}$/.test(options.groupId)) {
      throw invalidArgument('groupId', 'must be 1..128 of A-Z a-z 0-9 _ . : -');
    }
  },

  receive(queue: QueueDescription, options: ReceiveOptions = {}) {
    const maxMessages = options.maxMessages ?? 1;
    if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > 100) {
      throw invalidArgument('maxMessages', `must be an integer in 1..100, got ${maxMessages}`);
    }
    checkMs('visibilityTimeoutMs', options.visibilityTimeoutMs, maxTimeoutMs);
    checkMs('waitMs', options.waitMs, 60_000);
    return {
      maxMessages,
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? queue.visibilityTimeoutMs,
      waitMs: options.waitMs ?? 0,
    };
  },

  visibility(visibilityTimeoutMs: number): void {
    checkMs('visibilityTimeoutMs', visibilityTimeoutMs, maxTimeoutMs);
  },

  /** Receipt handles are `<message id>.<receive nonce>`. */
  receipt(handle: string): { id: string; nonce: string } {
    const match = typeof handle === 'string' ? /^([0-9a-z]{24})\.([0-9a-f]{16,32})$/.exec(handle) : null;
    if (!match) throw invalidArgument('receiptHandle', 'is not a receipt handle this queue issued');
    return { id: match[1] as string, nonce: match[2] as string };
  },

  limit(limit: number | undefined, fallback: number, max: number): number {
    const value = limit ?? fallback;
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw invalidArgument('limit', `must be an integer in 1..${max}, got ${value}`);
    }
    return value;
  },

  staleReceipt(queue: string): TrainyardError {
    return new TrainyardError(
      'FAILED_PRECONDITION',
      `the receipt handle is stale: the message of queue "${queue}" was received again since`,
      { field: 'receiptHandle' },
    );
  },

  unknownQueue(name: string): TrainyardError {
    return new TrainyardError('NOT_FOUND', `queue "${name}" does not exist`, { field: 'queue' });
  },
};
