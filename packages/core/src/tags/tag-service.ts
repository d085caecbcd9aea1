import { TrainyardError } from '@trainyard/contracts/errors';
import type { ResourceTag, TagStore } from '../ports/tag-store.js';

/** SageMaker's limit of tags on one resource. */
export const maxTagsPerResource = 50;

/**
 * Tags on resources named by ARN (models, endpoints, jobs…), with SageMaker's rules: at most 50
 * per resource, keys starting with `aws:` are reserved. Resources exist elsewhere: callers check
 * the ARN names one before tagging it.
 */
export class TagService {
  readonly #store: TagStore;

  constructor(store: TagStore) {
    this.#store = store;
  }

  list(resource: string): Promise<ResourceTag[]> {
    return this.#store.list(resource);
  }

  /** @throws INVALID_ARGUMENT for a reserved key or more than 50 tags in all */
  async add(resource: string, tags: readonly ResourceTag[]): Promise<ResourceTag[]> {
    for (const [i, tag] of tags.entries()) {
      if (tag.Key.toLowerCase().startsWith('aws:'))
        throw new TrainyardError(
          'INVALID_ARGUMENT',
          `Tags.${i}.Key: keys starting with "aws:" are reserved`,
          {
            field: `Tags.${i}.Key`,
          },
        );
    }
    const keys = new Set((await this.#store.list(resource)).map((t) => t.Key));
    for (const tag of tags) keys.add(tag.Key);
    if (keys.size > maxTagsPerResource)
      throw new TrainyardError(
        'INVALID_ARGUMENT',
        `Tags: a resource has at most ${maxTagsPerResource} tags; this would give it ${keys.size}`,
        { field: 'Tags' },
      );
    // The last value of a key given twice wins, as SageMaker does.
    await this.#store.put(resource, [...new Map(tags.map((t) => [t.Key, t])).values()]);
    return [...tags];
  }

  remove(resource: string, keys: readonly string[]): Promise<void> {
    return this.#store.remove(resource, keys);
  }

  /** Sets exactly `tags` (none when undefined): a resource created again starts with its own tags. */
  async replace(resource: string, tags: readonly ResourceTag[] | undefined): Promise<void> {
    await this.#store.clear(resource);
    if (tags && tags.length > 0) await this.add(resource, tags);
  }
}
