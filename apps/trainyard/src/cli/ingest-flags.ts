import { checkOptionsText, type OptionHint, optionHintText } from '@trainyard/contracts/datasets';
import { TrainyardError } from '@trainyard/contracts/errors';

/** Ingest options of the API and the CLI flags that set them. */
const flagOf: Record<string, string> = {
  format: '--format',
  delimiter: '--delimiter',
  quote: '--quote',
  escape: '--escape',
  header: '--header',
  skipRows: '--skip-rows',
  columns: '--columns',
  onMalformed: '--on-malformed',
  types: '--type',
  target: '--target',
};

function hintFlag(hint: OptionHint): string {
  if (hint.option === 'header') return hint.value ? '--header' : '--no-header';
  const flag = flagOf[hint.option] ?? hint.option;
  return `${flag} ${String(hint.value)}`;
}

/**
 * An ingest error as the CLI user should read it: the field and the suggested fixes named by
 * their flags (`--on-malformed skip`), not by the API's option names (`onMalformed`).
 */
export function ingestErrorInCliTerms(error: unknown): unknown {
  if (!TrainyardError.is(error)) return error;
  let message = error.message;
  const hints = Array.isArray(error.details.hints) ? (error.details.hints as OptionHint[]) : [];
  for (const hint of hints) message = message.replace(optionHintText(hint), `use ${hintFlag(hint)}`);
  const check = Array.isArray(error.details.check) ? (error.details.check as string[]) : [];
  if (check.length > 0) {
    const flags = check.map((o) => (o === 'header' ? '--header/--no-header' : (flagOf[o] ?? o)));
    message = message.replace(checkOptionsText(check), checkOptionsText(flags));
  }
  const field = typeof error.details.field === 'string' ? error.details.field : undefined;
  const [option, ...rest] = field?.split('.') ?? [];
  const flag = option === undefined ? undefined : flagOf[option];
  if (field && flag && message.startsWith(`${field}: `)) {
    message = `${flag}${rest.length ? ` ${rest.join('.')}` : ''}: ${message.slice(field.length + 2)}`;
  }
  if (message === error.message) return error;
  return new TrainyardError(error.code, message, error.details, { cause: error });
}
