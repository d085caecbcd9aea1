import { randomBytes } from 'node:crypto';

let lastMs = 0;
let counter = 0;

/**
 * A 24-character id that sorts in creation order within this process (and by millisecond across
 * processes), so SQL and Redis can order messages by id: 9 base-36 digits of time, 4 of a
 * per-millisecond counter, 11 random.
 */
export function newMessageId(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else {
    counter++;
    if (counter >= 36 ** 4) {
      lastMs++;
      counter = 0;
    }
  }
  const random = randomBytes(8).readBigUInt64BE().toString(36).padStart(13, '0').slice(0, 11);
  return lastMs.toString(36).padStart(9, '0') + counter.toString(36).padStart(4, '0') + random;
}
