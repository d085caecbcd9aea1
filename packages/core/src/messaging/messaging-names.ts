import { invalidArgument } from '@trainyard/contracts/errors';

const patterns = {
  // Queue and stream names become Redis keys, NATS subjects and stream names: no dots or spaces there.
  queue: { re: /^[A-Za-z0-9_.-]{1,80}$/, rule: '1..80 of A-Z a-z 0-9 _ . -' },
  stream: { re: /^[A-Za-z0-9_-]{1,80}$/, rule: '1..80 of A-Z a-z 0-9 _ -' },
  topic: { re: /^[A-Za-z0-9_.-]{1,256}$/, rule: '1..256 of A-Z a-z 0-9 _ . -' },
  consumer: { re: /^[A-Za-z0-9_-]{1,80}$/, rule: '1..80 of A-Z a-z 0-9 _ -' },
} as const;

/** Refuses a queue, stream, topic or consumer name the backends cannot all carry, naming the rule. */
export function checkMessagingName(kind: keyof typeof patterns, name: string, field: string = kind): string {
  const { re, rule } = patterns[kind];
  if (typeof name !== 'string' || !re.test(name)) {
    throw invalidArgument(field, `${kind} name "${String(name)}" must be ${rule}`);
  }
  return name;
}
