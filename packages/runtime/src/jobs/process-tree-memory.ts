import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Linux pages are 4 KiB on the x86-64 and arm64 kernels Trainyard runs on. */
const pageBytes = 4096;

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  rssBytes: number;
  /** User + system CPU time, in clock ticks (USER_HZ, 100 on Linux). */
  cpuTicks: number;
}

/** USER_HZ: /proc/<pid>/stat counts CPU time in these (100 per second on every Linux ABI). */
const ticksPerSecond = 100;

function parseStat(text: string): ProcStat | undefined {
  // The command name (field 2) may hold spaces and parentheses: parse after the last ")".
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, pgrp field 5, rss field 24.
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  const rssPages = Number(rest[21]);
  // utime field 14, stime field 15.
  const cpuTicks = Number(rest[11]) + Number(rest[12]);
  if (!Number.isFinite(pid) || !Number.isFinite(rssPages)) return undefined;
  return {
    pid,
    ppid,
    pgrp,
    rssBytes: rssPages * pageBytes,
    cpuTicks: Number.isFinite(cpuTicks) ? cpuTicks : 0,
  };
}

/**
 * Every process's stat, read synchronously: about 10 µs a file on the calling thread, where the
 * promise API's open, fstat, read and close cost over 100 µs of main-thread work a file and
 * landed together as one 10-15 ms stall of the event loop (the router's p99) on a machine of a
 * hundred processes.
 */
async function treeMembers(rootPid: number): Promise<ProcStat[]> {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const stats: ProcStat[] = [];
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const stat = readStatNow(Number(entry));
    if (stat) stats.push(stat);
  }
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  const members = new Map<number, ProcStat>();
  for (const s of stats) if (s.pid === rootPid || s.pgrp === rootPid) members.set(s.pid, s);
  const queue = [...members.values()];
  while (queue.length > 0) {
    const next = queue.pop()!;
    for (const child of children.get(next.pid) ?? []) {
      if (!members.has(child.pid)) {
        members.set(child.pid, child);
        queue.push(child);
      }
    }
  }
  return [...members.values()];
}

/**
 * Process ids of a process tree from /proc: the root, its descendants, and anything left in its
 * process group (children re-parented after their parent died). Linux only; empty when /proc is
 * unavailable or the tree is gone.
 */
export async function processTreePids(rootPid: number): Promise<number[]> {
  return (await treeMembers(rootPid)).map((s) => s.pid);
}

function readStatNow(pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // ended
  }
}

/** Whether this kernel lists children per thread (CONFIG_PROC_CHILDREN); decided on first use. */
let childrenFiles: boolean | undefined;

/** Children the kernel lists for a process's main thread (none once it has ended). */
function childrenNow(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((t) => t !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * One process tree sampled again and again (a memory watchdog, an instance's CPU): every
 * `fullScanEvery`-th sample reads every process's stat under /proc to find the tree (the root, its
 * descendants and anything left in its process group, as {@link processTreePids}); in between
 * it reads only the members it knows and the children the kernel lists for them, a few small reads
 * instead of one per process on the machine, on the calling thread. A process that leaves the
 * group and is re-parented away is found again at the next full scan.
 */
export class ProcessTreeWatch {
  #members: number[] = [];
  #samples = 0;

  constructor(
    readonly rootPid: number,
    readonly fullScanEvery = 25,
  ) {}

  async members(): Promise<ProcStat[]> {
    childrenFiles ??= existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
    const full = !childrenFiles || this.#members.length === 0 || this.#samples % this.fullScanEvery === 0;
    this.#samples++;
    if (full) {
      const all = await treeMembers(this.rootPid);
      this.#members = all.map((s) => s.pid);
      return all;
    }
    const found = new Map<number, ProcStat>();
    const queue = [...this.#members];
    while (queue.length > 0) {
      const pid = queue.pop() as number;
      if (found.has(pid)) continue;
      const stat = readStatNow(pid);
      if (!stat) continue;
      found.set(pid, stat);
      for (const child of childrenNow(pid)) if (!found.has(child)) queue.push(child);
    }
    // A remembered pid that ended and was reused by another process belongs to neither the group
    // nor a member: keep the root, the group and the descendants of what is kept.
    const kept = new Map<number, ProcStat>();
    for (const [pid, stat] of found)
      if (pid === this.rootPid || stat.pgrp === this.rootPid) kept.set(pid, stat);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, stat] of found)
        if (!kept.has(pid) && kept.has(stat.ppid)) {
          kept.set(pid, stat);
          grew = true;
        }
    }
    this.#members = [...kept.keys()];
    return [...kept.values()];
  }

  async rssBytes(): Promise<number> {
    let total = 0;
    for (const s of await this.members()) total += s.rssBytes;
    return total;
  }

  async usage(): Promise<{ cpuSeconds: number; rssBytes: number }> {
    let ticks = 0;
    let rssBytes = 0;
    for (const s of await this.members()) {
      ticks += s.cpuTicks;
      rssBytes += s.rssBytes;
    }
    return { cpuSeconds: ticks / ticksPerSecond, rssBytes };
  }
}
