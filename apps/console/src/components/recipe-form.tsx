import { RecipeStep, stepOps } from '@trainyard/contracts/recipes';
import { useEffect, useId, useState } from 'react';

/**
 * The recipe editor's form view: the steps of the recipe as fieldsets, each field drawn from the
 * recipe contract (`RecipeStep` in @trainyard/contracts/recipes, read through zod's schema
 * definitions), so a step option added to the contract appears here without a change. It edits
 * the same JSON as the text view: every change is written back as the recipe's JSON.
 */

type Json = unknown;
type Step = Record<string, Json> & { op: string };
export interface RecipeDraft {
  name?: Json;
  steps: Step[];
  [key: string]: Json;
}

/** The parts of a zod schema definition the form reads. */
interface Def {
  type: string;
  innerType?: { _zod: { def: Def } };
  defaultValue?: Json;
  shape?: Record<string, { _zod: { def: Def } }>;
  entries?: Record<string, string>;
  element?: { _zod: { def: Def } };
  valueType?: { _zod: { def: Def } };
  options?: { _zod: { def: Def } }[];
  items?: { _zod: { def: Def } }[];
}

type Kind =
  | { kind: 'text' }
  | { kind: 'number' }
  | { kind: 'list' }
  | { kind: 'enum'; values: string[] }
  | { kind: 'map'; values?: string[] }
  | { kind: 'scalar' }
  | { kind: 'pair' }
  | { kind: 'object'; fields: Field[] };

interface Field {
  key: string;
  optional: boolean;
  fallback?: Json;
  type: Kind;
}

function fieldOf(key: string, schema: { _zod: { def: Def } }): Field {
  let def = schema._zod.def;
  let optional = false;
  let fallback: Json;
  while ((def.type === 'optional' || def.type === 'default') && def.innerType) {
    optional = true;
    if (def.type === 'default') fallback = def.defaultValue;
    def = def.innerType._zod.def;
  }
  const type = kindOf(def);
  return { key, optional, ...(fallback === undefined ? {} : { fallback }), type };
}

function kindOf(def: Def): Kind {
  switch (def.type) {
    case 'number':
      return { kind: 'number' };
    case 'enum':
      return { kind: 'enum', values: Object.values(def.entries ?? {}) };
    case 'array':
      return { kind: 'list' };
    case 'record': {
      const value = def.valueType?._zod.def;
      return value?.type === 'enum'
        ? { kind: 'map', values: Object.values(value.entries ?? {}) }
        : { kind: 'map' };
    }
    case 'union':
      return { kind: 'scalar' };
    case 'tuple':
      return { kind: 'pair' };
    case 'object':
      return { kind: 'object', fields: Object.entries(def.shape ?? {}).map(([k, s]) => fieldOf(k, s)) };
    default:
      return { kind: 'text' };
  }
}

/** Each step's fields, in the contract's order (`op` aside). */
const stepFields: Record<string, Field[]> = Object.fromEntries(
  (RecipeStep as unknown as { options: { _zod: { def: Def } }[] }).options.map((option) => {
    const shape = option._zod.def.shape ?? {};
    const op = (shape.op?._zod.def as { values?: string[] } | undefined)?.values?.[0] ?? '';
    return [op, Object.entries(shape).flatMap(([k, s]) => (k === 'op' ? [] : [fieldOf(k, s)]))];
  }),
);

/** A new step: the required fields present but empty, so the check names what is missing. */
function blankStep(op: string): Step {
  const step: Step = { op };
  for (const f of stepFields[op] ?? []) {
    if (f.optional) continue;
    if (f.type.kind === 'list') step[f.key] = [];
    else if (f.type.kind === 'map') step[f.key] = {};
    else if (f.type.kind === 'enum') step[f.key] = f.type.values[0];
    else if (f.type.kind === 'object')
      step[f.key] = Object.fromEntries(
        f.type.fields.filter((s) => !s.optional).map((s) => [s.key, s.type.kind === 'number' ? 0 : '']),
      );
    else step[f.key] = '';
  }
  if (op === 'split') step.fractions = { train: 0.8, validation: 0.2 };
  return step;
}

/** How a field's value reads and writes as the text of its input. */
function codec(type: Kind): { show(v: Json): string; read(text: string): Json } {
  switch (type.kind) {
    case 'number':
      return {
        show: (v) => (v === undefined || v === null ? '' : String(v)),
        read: (t) => (t.trim() === '' ? undefined : Number(t)),
      };
    case 'list':
      return {
        show: (v) => (Array.isArray(v) ? v.join(', ') : ''),
        read: (t) =>
          t
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
      };
    case 'map':
      return {
        show: (v) =>
          v && typeof v === 'object'
            ? Object.entries(v as Record<string, Json>)
                .map(([k, x]) => `${k}: ${String(x)}`)
                .join('\n')
            : '',
        read: (t) =>
          Object.fromEntries(
            t
              .split('\n')
              .map((line) => line.split(':'))
              .filter((parts) => parts.length >= 2 && parts[0]?.trim())
              .map(([k, ...rest]) => [k?.trim(), rest.join(':').trim()]),
          ),
      };
    case 'pair':
      return {
        show: (v) => (Array.isArray(v) ? v.join(', ') : ''),
        read: (t) =>
          t.trim() === ''
            ? undefined
            : t
                .split(',')
                .map((s) => s.trim())
                .map(Number),
      };
    case 'scalar':
      return {
        show: (v) => (v === undefined ? '' : String(v)),
        read: (t) => {
          if (t === '') return undefined;
          if (t === 'true' || t === 'false') return t === 'true';
          return t.trim() !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
        },
      };
    default:
      return { show: (v) => (v === undefined ? '' : String(v)), read: (t) => (t === '' ? undefined : t) };
  }
}

const hints: Partial<Record<Kind['kind'], string>> = {
  list: 'comma-separated column names',
  map: 'one "column: value" per line',
  pair: 'two numbers, comma-separated',
  scalar: 'a number, true/false or text',
};

/**
 * A text input that keeps what is typed (a trailing comma, "0.") while the recipe holds the parsed
 * value; it takes the recipe's value again when that changes from elsewhere (the JSON view).
 */
function DraftField({
  label,
  hint,
  value,
  type,
  onChange,
  multiline,
}: {
  label: string;
  hint: string | undefined;
  value: Json;
  type: Kind;
  onChange: (v: Json) => void;
  multiline?: boolean;
}) {
  const { show, read } = codec(type);
  const shown = show(value);
  const [draft, setDraft] = useState(shown);
  const valueKey = JSON.stringify(value);
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the recipe's value changes, not on each render's new codec
  useEffect(() => {
    setDraft((d) => (JSON.stringify(read(d)) === valueKey ? d : shown));
  }, [valueKey]);
  const id = useId();
  const hintId = `${id}-hint`;
  const props = {
    id,
    value: draft,
    'aria-describedby': hint ? hintId : undefined,
    onChange: (e: { target: { value: string } }) => {
      setDraft(e.target.value);
      onChange(read(e.target.value));
    },
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea rows={3} spellCheck={false} {...props} />
      ) : (
        <input type={type.kind === 'number' ? 'number' : 'text'} step="any" spellCheck={false} {...props} />
      )}
      {hint ? (
        <span id={hintId} className="muted hint">
          {hint}
        </span>
      ) : null}
    </div>
  );
}

function FieldInput({
  field,
  value,
  onChange,
  prefix,
  columnsHint,
}: {
  field: Field;
  value: Json;
  onChange: (v: Json) => void;
  prefix: string;
  columnsHint: string;
}) {
  const label = `${prefix}${field.key}${field.optional ? ' (optional)' : ''}`;
  const defaultNote = field.fallback === undefined ? '' : `default ${JSON.stringify(field.fallback)}`;
  const { type } = field;
  if (type.kind === 'enum')
    return (
      <label>
        {label}
        <select
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => onChange(e.target.value || undefined)}
        >
          {field.optional ? <option value="">{defaultNote ? `(${defaultNote})` : '(none)'}</option> : null}
          {type.values.map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      </label>
    );
  if (type.kind === 'object') {
    const current = (value && typeof value === 'object' ? value : {}) as Record<string, Json>;
    return (
      <fieldset className="recipe-fields">
        <legend>{label}</legend>
        {type.fields.map((sub) => (
          <FieldInput
            key={sub.key}
            field={sub}
            value={current[sub.key]}
            prefix={`${prefix}${field.key}.`}
            columnsHint={columnsHint}
            onChange={(v) => {
              const next = { ...current };
              if (v === undefined) delete next[sub.key];
              else next[sub.key] = v;
              onChange(next);
            }}
          />
        ))}
      </fieldset>
    );
  }
  const hint =
    [
      type.kind === 'list' ? `${hints.list}; the dataset's: ${columnsHint}` : hints[type.kind],
      type.kind === 'map' && type.values ? `values: ${type.values.join(', ')}` : undefined,
      defaultNote,
    ]
      .filter(Boolean)
      .join('; ') || undefined;
  return (
    <DraftField
      label={label}
      hint={hint}
      value={value}
      type={type}
      onChange={onChange}
      multiline={type.kind === 'map' || field.key === 'where' || field.key === 'expression'}
    />
  );
}

export function RecipeForm({
  recipe,
  columns,
  onChange,
}: {
  recipe: RecipeDraft;
  columns: string[];
  onChange: (next: RecipeDraft) => void;
}) {
  const [adding, setAdding] = useState<string>('select');
  const steps = recipe.steps;
  const setSteps = (next: Step[]) => onChange({ ...recipe, steps: next });
  const columnsHint = columns.join(', ');
  const move = (from: number, to: number) => {
    const next = [...steps];
    const [step] = next.splice(from, 1);
    if (step) next.splice(to, 0, step);
    setSteps(next);
  };
  const add = () => {
    const next = [...steps];
    // A split must stay last: other steps go in before it.
    const at = next.at(-1)?.op === 'split' && adding !== 'split' ? next.length - 1 : next.length;
    next.splice(at, 0, blankStep(adding));
    setSteps(next);
  };
  return (
    <div className="stack recipe-form">
      <label>
        Recipe name
        <input
          type="text"
          value={typeof recipe.name === 'string' ? recipe.name : ''}
          onChange={(e) => onChange({ ...recipe, name: e.target.value })}
        />
      </label>
      <ol className="stack recipe-steps" aria-label="Recipe steps">
        {steps.map((step, i) => {
          const n = i + 1;
          const fields = stepFields[step.op];
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: a step's identity is its place in the recipe
            <li key={i}>
              <fieldset className="recipe-fields">
                <legend>
                  Step {n}: {step.op}
                </legend>
                {fields ? (
                  fields.map((f) => (
                    <FieldInput
                      key={f.key}
                      field={f}
                      value={step[f.key]}
                      prefix={`Step ${n} `}
                      columnsHint={columnsHint}
                      onChange={(v) => {
                        const next = { ...step };
                        if (v === undefined) delete next[f.key];
                        else next[f.key] = v;
                        setSteps(steps.map((s, j) => (j === i ? next : s)));
                      }}
                    />
                  ))
                ) : (
                  <p className="muted">Unknown step "{String(step.op)}": edit it in the JSON.</p>
                )}
                <div className="row">
                  <button type="button" disabled={i === 0} onClick={() => move(i, i - 1)}>
                    Move step {n} up
                  </button>
                  <button type="button" disabled={i === steps.length - 1} onClick={() => move(i, i + 1)}>
                    Move step {n} down
                  </button>
                  <button type="button" onClick={() => setSteps(steps.filter((_, j) => j !== i))}>
                    Remove step {n}
                  </button>
                </div>
              </fieldset>
            </li>
          );
        })}
      </ol>
      <div className="row">
        <label className="inline">
          New step&nbsp;
          <select value={adding} onChange={(e) => setAdding(e.target.value)}>
            {stepOps.map((op) => (
              <option key={op} value={op}>
                {op}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={add}>
          Add step
        </button>
      </div>
    </div>
  );
}
