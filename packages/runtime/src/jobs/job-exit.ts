import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceTypeRecord } from '@trainyard/contracts/instance-types';
import type { JobFailure } from '@trainyard/contracts/jobs';
import type { ExecutorExit } from '@trainyard/core/ports/executor';
import { readFailureFile } from './opt-ml-layout.js';

/**
 * Why a job process's end is a failure, as SageMaker words it, or undefined for a clean exit:
 * memory limit (watchdog or V8 heap), a command that could not start, or a non-zero exit with the
 * script's own `output/failure` as the reason when it wrote one.
 */
export async function classifyJobExit(
  exit: ExecutorExit,
  context: { command: string; instanceType: InstanceTypeRecord; workdir: string },
): Promise<JobFailure | undefined> {
  const fail = (code: JobFailure['code'], message: string): JobFailure => ({
    code,
    message,
    retryable: false,
  });
  const limits = `${context.instanceType.name}: ${context.instanceType.memoryMiB} MiB`;
  if (exit.endedBy === 'memory') {
    return fail(
      'RESOURCE_EXHAUSTED',
      `MemoryLimitExceeded: the job's processes used ${(exit.peakRssBytes / 1048576).toFixed(0)} MiB, over the memory of ${limits}; the job was killed. Use a larger instance type or process the data in chunks.`,
    );
  }
  if (exit.heapExhausted && exit.exitCode !== 0) {
    return fail(
      'RESOURCE_EXHAUSTED',
      `MemoryLimitExceeded: the node script ran out of JavaScript heap (capped at 75% of ${limits}). Use a larger instance type or stream the data.`,
    );
  }
  if (exit.spawnError) {
    return fail('INVALID_ARGUMENT', `ClientError: could not start "${context.command}": ${exit.spawnError}`);
  }
  if (exit.exitCode !== 0) {
    const reason = await readFailureFile(context.workdir);
    return fail(
      'FAILED_PRECONDITION',
      reason ??
        `AlgorithmError: "${context.command}" ${exit.exitSignal ? `was killed by ${exit.exitSignal}` : `exited with code ${exit.exitCode}`}; see the job log`,
    );
  }
  return undefined;
}

/** The first 1024 characters of `output/message`, SageMaker's ExitMessage, if the job wrote one. */
export async function readExitMessage(workdir: string): Promise<string | undefined> {
  return readFile(join(workdir, 'output', 'message'), 'utf8').then(
    (text) => text.trim().slice(0, 1024) || undefined,
    () => undefined,
  );
}
