import type { InstanceTypeInput } from '@trainyard/contracts/instance-types';
import type { InstanceTypeStore } from '../ports/metadata-store.js';

/**
 * The catalog a new installation starts with: SageMaker's common CPU instance names with their
 * vCPU and memory sizes, priced at SageMaker's us-east-1 on-demand rates (USD per hour) so cost
 * estimates read familiar. On one machine they are limits for local processes, not real VMs.
 */
export const defaultInstanceTypes: InstanceTypeInput[] = [
  {
    name: 'ml.t3.medium',
    vcpus: 2,
    memoryMiB: 4096,
    pricePerHour: 0.05,
    description: 'Burstable, for small jobs',
  },
  { name: 'ml.m5.large', vcpus: 2, memoryMiB: 8192, pricePerHour: 0.115, description: 'General purpose' },
  { name: 'ml.m5.xlarge', vcpus: 4, memoryMiB: 16384, pricePerHour: 0.23, description: 'General purpose' },
  { name: 'ml.m5.2xlarge', vcpus: 8, memoryMiB: 32768, pricePerHour: 0.461, description: 'General purpose' },
  { name: 'ml.c5.xlarge', vcpus: 4, memoryMiB: 8192, pricePerHour: 0.204, description: 'Compute optimized' },
  {
    name: 'ml.c5.2xlarge',
    vcpus: 8,
    memoryMiB: 16384,
    pricePerHour: 0.408,
    description: 'Compute optimized',
  },
  { name: 'ml.r5.large', vcpus: 2, memoryMiB: 16384, pricePerHour: 0.151, description: 'Memory optimized' },
];

/** Fills an empty catalog with the defaults; a catalog an admin has edited is left alone. */
export async function seedInstanceTypes(store: InstanceTypeStore): Promise<number> {
  const existing = await store.list({ limit: 1 });
  if (existing.items.length > 0) return 0;
  let added = 0;
  for (const type of defaultInstanceTypes) {
    try {
      await store.create(type);
      added++;
    } catch (error) {
      // Another server seeding at the same moment: its row is as good as ours.
      if ((error as { code?: string }).code !== 'ALREADY_EXISTS') throw error;
    }
  }
  return added;
}
