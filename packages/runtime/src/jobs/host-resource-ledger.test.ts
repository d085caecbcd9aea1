import { describe, expect, it } from 'vitest';
import { HostResourceLedger } from './host-resource-ledger.js';

describe('HostResourceLedger', () => {
  it('admits jobs while their vCPUs and memory fit, and pins each to cores no other job has', () => {
    const ledger = new HostResourceLedger({ vcpus: 4, memoryMiB: 8192 }, 4);
    const a = ledger.tryAllocate({ vcpus: 2, memoryMiB: 4096 });
    const b = ledger.tryAllocate({ vcpus: 1.5, memoryMiB: 2048 });
    expect(a?.cpus).toEqual([0, 1]);
    expect(b?.cpus).toEqual([2, 3]);
    expect(ledger.tryAllocate({ vcpus: 1, memoryMiB: 1 })).toBeUndefined();
    expect(ledger.hasRoom).toBe(false);
    a!.release();
    a!.release(); // twice is once
    expect(ledger.used).toEqual({ vcpus: 2, memoryMiB: 2048 });
    expect(ledger.tryAllocate({ vcpus: 1, memoryMiB: 1024 })?.cpus).toEqual([0]);
  });

  it('refuses a job whose memory does not fit even when vCPUs are free', () => {
    const ledger = new HostResourceLedger({ vcpus: 8, memoryMiB: 4096 }, 8);
    expect(ledger.tryAllocate({ vcpus: 1, memoryMiB: 3000 })).toBeDefined();
    expect(ledger.tryAllocate({ vcpus: 1, memoryMiB: 2000 })).toBeUndefined();
  });

  it('admits a job larger than the whole host alone, unpinned, rather than never', () => {
    const ledger = new HostResourceLedger({ vcpus: 2, memoryMiB: 4096 }, 2);
    const big = ledger.tryAllocate({ vcpus: 8, memoryMiB: 32768 });
    expect(big).toMatchObject({ vcpus: 2, memoryMiB: 4096, cpus: undefined });
    expect(ledger.tryAllocate({ vcpus: 1, memoryMiB: 1 })).toBeUndefined();
    big!.release();
    expect(ledger.tryAllocate({ vcpus: 1, memoryMiB: 1 })?.cpus).toEqual([0]);
  });

  it('wakes a waiter when capacity is released', async () => {
    const ledger = new HostResourceLedger({ vcpus: 1, memoryMiB: 1024 }, 2);
    const held = ledger.tryAllocate({ vcpus: 1, memoryMiB: 512 })!;
    const started = Date.now();
    const woken = ledger.waitForRelease(10_000);
    setTimeout(() => held.release(), 50);
    await woken;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(ledger.hasRoom).toBe(true);
  });
});
