import { parseOrRefuse } from '@trainyard/contracts/errors';
import {
  InstanceType,
  type InstanceTypeInput,
  type InstanceTypeRecord,
  UpdateInstanceTypeBody,
} from '@trainyard/contracts/instance-types';
import type { Page } from '@trainyard/contracts/pagination';
import type { InstanceTypeStore, PageRequest } from '../ports/metadata-store.js';

/**
 * The instance-type catalog every door uses (REST today, the SageMaker door next): input is
 * checked against the contract here, so a door that skips its own schema still cannot store
 * a type with zero vCPUs.
 */
export class InstanceTypeService {
  readonly #store: InstanceTypeStore;

  constructor(store: InstanceTypeStore) {
    this.#store = store;
  }

  list(page?: PageRequest): Promise<Page<InstanceTypeRecord>> {
    return this.#store.list(page);
  }

  get(name: string): Promise<InstanceTypeRecord> {
    return this.#store.get(name);
  }

  async create(input: InstanceTypeInput): Promise<InstanceTypeRecord> {
    return this.#store.create(parseOrRefuse(InstanceType, input, 'body'));
  }

  async update(name: string, patch: UpdateInstanceTypeBody): Promise<InstanceTypeRecord> {
    return this.#store.update(name, parseOrRefuse(UpdateInstanceTypeBody, patch, 'body'));
  }

  delete(name: string): Promise<void> {
    return this.#store.delete(name);
  }
}
