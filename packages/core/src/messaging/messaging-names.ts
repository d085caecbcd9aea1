import { invalidArgument } from '@trainyard/contracts/errors';
import { messagingNameRules } from '@trainyard/contracts/messaging-limits';

const patterns = messagingNameRules;

/** Refuses a queue, stream, topic or consumer name the backends cannot all carry, naming the rule. */
export function checkMessagingName(kind: keyof typeof patterns, name: string, field: string = kind): string {
  const { re, rule } = patterns[kind];
  if (typeof name !== 'string' || !re.test(name)) {
    throw invalidArgument(field, `${kind} name "${String(name)}" must be ${rule}`);
  }
  return name;
}
