import { availableParallelism, totalmem } from 'node:os';

/** What a host lends to jobs. */
export interface HostCapacity {
  vcpus: number;
  memoryMiB: number;
}

/** One admitted job's share of the host; give it back with release(). */
export interface ResourceAllocation {
  /** Whole vCPUs counted against the capacity. */
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** Cores to pin to (taskset); undefined when the job may use every core. */
  readonly cpus: readonly number[] | undefined;
  release(): void;
}

/**
 * The host's vCPUs and memory as a ledger: a worker admits a job only when the vCPUs and memory of
 * its instance type fit beside the jobs already running, and pins it to the least-used cores. A
 * job asking for more than the whole capacity is admitted alone (counted as the whole host), so it
 * is never stuck forever.
 */
export class HostResourceLedger {
  readonly capacity: HostCapacity;
  readonly #cores: number;
  /** Jobs pinned to each core. */
  readonly #pins: number[];
  #usedVcpus = 0;
  #usedMemoryMiB = 0;
  #waiters: (() => void)[] = [];

  /**
   * @param capacity defaults to this machine's cores and memory
   * @param cores cores pinning chooses from; default this machine's
   */
  constructor(capacity: Partial<HostCapacity> = {}, cores = availableParallelism()) {
    this.#cores = Math.max(1, cores);
    this.capacity = {
      vcpus: Math.max(1, Math.floor(capacity.vcpus ?? this.#cores)),
      memoryMiB: Math.max(1, Math.floor(capacity.memoryMiB ?? totalmem() / 1048576)),
    };
    this.#pins = new Array<number>(this.#cores).fill(0);
  }

  get used(): HostCapacity {
    return { vcpus: this.#usedVcpus, memoryMiB: this.#usedMemoryMiB };
  }

  /** True while at least one more vCPU and some memory are free: worth receiving a job for. */
  get hasRoom(): boolean {
    return this.#usedVcpus < this.capacity.vcpus && this.#usedMemoryMiB < this.capacity.memoryMiB;
  }

  /** What `need` is counted as: whole vCPUs, both clamped to the capacity. */
  sizeOf(need: HostCapacity): HostCapacity {
    return {
      vcpus: Math.min(this.capacity.vcpus, Math.max(0, Math.ceil(need.vcpus))),
      memoryMiB: Math.min(this.capacity.memoryMiB, Math.max(0, Math.ceil(need.memoryMiB))),
    };
  }

  /** An allocation when `need` fits beside what runs now, else undefined (leave the job queued). */
  tryAllocate(need: HostCapacity): ResourceAllocation | undefined {
    const size = this.sizeOf(need);
    if (
      this.#usedVcpus + size.vcpus > this.capacity.vcpus ||
      this.#usedMemoryMiB + size.memoryMiB > this.capacity.memoryMiB
    ) {
      return undefined;
    }
    this.#usedVcpus += size.vcpus;
    this.#usedMemoryMiB += size.memoryMiB;
    const cpus = size.vcpus > 0 && size.vcpus < this.#cores ? this.#pickCores(size.vcpus) : undefined;
    for (const cpu of cpus ?? []) this.#pins[cpu]!++;
    let released = false;
    return {
      ...size,
      cpus,
      release: () => {
        if (released) return;
        released = true;
        this.#usedVcpus -= size.vcpus;
        this.#usedMemoryMiB -= size.memoryMiB;
        for (const cpu of cpus ?? []) this.#pins[cpu]!--;
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const wake of waiters) wake();
      },
    };
  }

  /** Resolves at the next release, or after `timeoutMs` at the latest. */
  waitForRelease(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#waiters.push(done);
    });
  }

  #pickCores(count: number): number[] {
    const byLoad = this.#pins
      .map((load, cpu) => ({ load, cpu }))
      .sort((a, b) => a.load - b.load || a.cpu - b.cpu);
    return byLoad
      .slice(0, count)
      .map((c) => c.cpu)
      .sort((a, b) => a - b);
  }
}
