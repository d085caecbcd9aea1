/**
 * Wakes long-polling receivers of this process as soon as a send lands, so a `waitMs` receive on
 * an embedded queue answers without waiting for its next poll. Other processes' sends are seen
 * at the next poll.
 */
export class SendSignal {
  private readonly waiters = new Map<string, Set<() => void>>();

  notify(queue: string): void {
    const set = this.waiters.get(queue);
    if (!set) return;
    this.waiters.delete(queue);
    for (const wake of set) wake();
  }

  /** Resolves on the next send to `queue` or after `ms`, whichever comes first. */
  wait(queue: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(queue);
      if (!set) this.waiters.set(queue, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  /** Releases every waiter (on close). */
  wakeAll(): void {
    for (const queue of [...this.waiters.keys()]) this.notify(queue);
  }
}
