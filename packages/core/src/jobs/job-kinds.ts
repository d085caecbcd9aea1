import { TrainyardError } from '@trainyard/contracts/errors';
import type { JobKind, JobRecord } from '../ports/job-store.js';

/** The part of a zod schema a kind needs: parsing the stored spec back into its type. */
export interface SpecSchema<Spec> {
  parse(value: unknown): Spec;
}

/**
 * What the platform knows about one job kind (processing now; training, transform, tuning and
 * monitoring next): how its stored spec is read back, how a row is shown through the API, and the
 * two facts a worker needs before running it. Adding a kind means registering one of these (and a
 * runner on the workers that run it).
 */
export interface JobKindDefinition<Spec = unknown, View = unknown, Summary = unknown> {
  readonly kind: JobKind;
  /** The noun in messages: "processing job". */
  readonly label: string;
  /** The contract's schema of the create request; a stored spec is re-read through it. */
  readonly specSchema: SpecSchema<Spec>;
  /** The Describe view of a row. */
  view(job: JobRecord, spec: Spec): View;
  /** The List view of a row. */
  summary(job: JobRecord, spec: Spec): Summary;
  /** The instance type name the job runs on (its vCPUs and memory are admitted and enforced). */
  instanceTypeOf(spec: Spec): string;
  /** How many instances of that type the job runs at once (admitted together); default 1. */
  instanceCountOf?(spec: Spec): number;
  /** MaxRuntimeInSeconds, if the job has one. */
  maxRuntimeSeconds(spec: Spec): number | undefined;
}

/** A definition with its types erased, as a registry of several kinds holds it. */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds kinds of different spec types
export type AnyJobKindDefinition = JobKindDefinition<any, unknown, unknown>;

/** The job kinds this process knows, by kind. */
export class JobKindRegistry {
  readonly #kinds = new Map<JobKind, AnyJobKindDefinition>();

  constructor(definitions: readonly AnyJobKindDefinition[] = []) {
    for (const definition of definitions) this.register(definition);
  }

  /** @throws ALREADY_EXISTS when the kind is registered already */
  register(definition: AnyJobKindDefinition): this {
    if (this.#kinds.has(definition.kind)) {
      throw new TrainyardError('ALREADY_EXISTS', `job kind "${definition.kind}" is registered twice`, {
        kind: definition.kind,
      });
    }
    this.#kinds.set(definition.kind, definition);
    return this;
  }

  /** @throws FAILED_PRECONDITION when no such kind is registered here */
  get<Spec = unknown, View = unknown, Summary = unknown>(
    kind: JobKind,
  ): JobKindDefinition<Spec, View, Summary> {
    const definition = this.#kinds.get(kind);
    if (!definition) {
      throw new TrainyardError('FAILED_PRECONDITION', `job kind "${kind}" is not registered on this server`, {
        kind,
      });
    }
    return definition as JobKindDefinition<Spec, View, Summary>;
  }

  has(kind: JobKind): boolean {
    return this.#kinds.has(kind);
  }

  get kinds(): JobKind[] {
    return [...this.#kinds.keys()];
  }
}

/**
 * The job's spec read back through its kind's schema: a row written by an older version, or
 * edited by hand, fails here with the field named instead of deep inside a runner.
 */
export function specOf<Spec>(definition: JobKindDefinition<Spec, unknown, unknown>, job: JobRecord): Spec {
  try {
    return definition.specSchema.parse(job.spec);
  } catch (error) {
    throw new TrainyardError(
      'INTERNAL',
      `the stored spec of ${definition.label} "${job.name}" does not match its schema: ${(error as Error).message}`,
      { name: job.name, kind: job.kind },
    );
  }
}
