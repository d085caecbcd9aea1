import type { ExecutorLogLine } from '@trainyard/core/ports/executor';
import { describe, expect, it } from 'vitest';
import { LocalProcessExecutor } from './local-process-executor.js';

const base = {
  env: { PATH: '/usr/bin:/bin' },
  cwd: '/tmp',
  limits: { vcpus: 1, memoryMiB: 256 },
  stopGraceMs: 1000,
};

describe('LocalProcessExecutor', () => {
  it('taps each complete output line, with its stream and time, while the process still runs', async () => {
    const lines: (ExecutorLogLine & { exitedYet: boolean })[] = [];
    let exited = false;
    const instance = new LocalProcessExecutor().spawn({
      ...base,
      command: 'node',
      args: [
        '-e',
        "process.stdout.write('loss=0.5\\nloss='); setTimeout(() => { process.stdout.write('0.25\\n'); console.error('warn'); }, 400);",
      ],
      onLine: (line) => lines.push({ ...line, exitedYet: exited }),
    });
    await instance.ready;
    expect(instance.pid).toBeGreaterThan(1);
    const exit = await instance.exited;
    exited = true;
    expect(exit.exitCode).toBe(0);
    expect(lines.map((l) => `${l.stream}:${l.text}`)).toEqual([
      'stdout:loss=0.5',
      'stdout:loss=0.25',
      'stderr:warn',
    ]);
    expect(lines.every((l) => !l.exitedYet && l.at instanceof Date)).toBe(true);
    // The first line arrived as written, not when the process ended 400 ms later.
    expect(lines[1]!.at.getTime() - lines[0]!.at.getTime()).toBeGreaterThanOrEqual(300);
  });

  it('stop() ends the instance with SIGTERM and reports it stopped', async () => {
    const instance = new LocalProcessExecutor().spawn({
      ...base,
      command: 'node',
      args: ['-e', "console.log('up'); setInterval(() => {}, 1000);"],
    });
    await instance.ready;
    const exit = await instance.stop();
    expect(exit.endedBy).toBe('stop');
    expect(exit.exitSignal).toBe('SIGTERM');
    expect(exit.killedAfterGrace).toBe(false);
  });

  it('reports a command that cannot start without hanging ready', async () => {
    const instance = new LocalProcessExecutor().spawn({ ...base, command: '/nonexistent/cmd', args: [] });
    await instance.ready;
    expect((await instance.exited).spawnError).toMatch(/ENOENT/);
  });
});
