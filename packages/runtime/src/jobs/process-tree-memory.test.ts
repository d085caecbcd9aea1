import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessTreeWatch, processTreePids } from './process-tree-memory.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.pid) process.kill(-child.pid, 'SIGKILL');
});

/** A process group whose leader starts a `sleep` child for each line it reads on stdin. */
function spawner(): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const { spawn } = require('node:child_process');
       process.stdin.on('data', (d) => { for (const _ of d.toString().trim().split('\\n')) spawn('sleep', ['30'], { stdio: 'ignore' }); console.log('spawned'); });
       console.log('ready');`,
    ],
    { detached: true, stdio: ['pipe', 'pipe', 'ignore'] },
  );
  children.push(child);
  return child;
}

function said(child: ChildProcess, word: string): Promise<void> {
  return new Promise((resolve) => {
    const onData = (d: Buffer) => {
      if (d.toString().includes(word)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
  });
}

const sorted = (pids: number[]) => [...pids].sort((a, b) => a - b);

describe('ProcessTreeWatch', () => {
  it('finds the same tree between full scans, including children born since the last one', async () => {
    const root = spawner();
    await said(root, 'ready');
    root.stdin?.write('a\nb\n');
    await said(root, 'spawned');
    const pid = root.pid as number;
    const watch = new ProcessTreeWatch(pid, 100);
    const first = await watch.members(); // a full scan
    expect(sorted(first.map((s) => s.pid))).toEqual(sorted(await processTreePids(pid)));
    expect(first).toHaveLength(3);
    root.stdin?.write('c\n');
    await said(root, 'spawned');
    const second = await watch.members(); // known members and their children only
    expect(second).toHaveLength(4);
    expect(sorted(second.map((s) => s.pid))).toEqual(sorted(await processTreePids(pid)));
    expect(await watch.rssBytes()).toBeGreaterThan(0);
    const usage = await watch.usage();
    expect(usage.cpuSeconds).toBeGreaterThanOrEqual(0);
  });

  it('drops members that ended and keeps sampling the rest', async () => {
    const root = spawner();
    await said(root, 'ready');
    root.stdin?.write('a\n');
    await said(root, 'spawned');
    const pid = root.pid as number;
    const watch = new ProcessTreeWatch(pid, 100);
    const before = await watch.members();
    const sleeper = before.find((s) => s.pid !== pid)?.pid as number;
    process.kill(sleeper, 'SIGKILL');
    // Until its parent reaps it, the killed child is a zombie that still has a stat file.
    let after = await watch.members();
    for (let i = 0; i < 100 && after.length > 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await watch.members();
    }
    expect(after.map((s) => s.pid)).toEqual([pid]);
  });
});
