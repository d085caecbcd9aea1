/** A key-value tag on a resource, as SageMaker's `Tag`. */
export interface ResourceTag {
  Key: string;
  Value: string;
}

/** Tags by resource ARN. Keys are unique per resource. */
export interface TagStore {
  /** The resource's tags, by key. */
  list(resource: string): Promise<ResourceTag[]>;
  /** Adds the tags, replacing the value of a key the resource already has. */
  put(resource: string, tags: readonly ResourceTag[]): Promise<void>;
  /** Removes the keys the resource has; others are ignored. */
  remove(resource: string, keys: readonly string[]): Promise<void>;
  /** Removes every tag of the resource. */
  clear(resource: string): Promise<void>;
}
