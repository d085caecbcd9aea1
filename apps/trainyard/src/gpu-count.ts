import { readdirSync } from 'node:fs';

/**
 * NVIDIA GPUs this host exposes (`/dev/nvidia0`, `/dev/nvidia1`, …); 0 where there are none, so
 * GPU instance types are refused at create instead of queueing jobs no worker here can run.
 */
export function countGpus(devDir = '/dev'): number {
  try {
    return readdirSync(devDir).filter((name) => /^nvidia\d+$/.test(name)).length;
  } catch {
    return 0;
  }
}
