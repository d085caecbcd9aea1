import { TrainyardError } from '@trainyard/contracts/errors';
import { jobArn, newJobId } from '@trainyard/core/jobs/job-dispatch';
import { JobLifecycle } from '@trainyard/core/jobs/job-lifecycle';
import type { JobStore } from '@trainyard/core/ports/job-store';
import type { MetadataStore } from '@trainyard/core/ports/metadata-store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * The JobStore port's behaviour, run against every MetadataStore adapter: row-level claims that
 * never let two workers hold one job, guarded updates, logs and listing.
 */
export function jobStoreConformance(name: string, open: () => Promise<MetadataStore>): void {
  describe(`JobStore conformance: ${name}`, () => {
    let store: MetadataStore;
    let jobs: JobStore;
    beforeEach(async () => {
      store = await open();
      await store.migrate();
      jobs = store.jobs;
    });
    afterEach(async () => {
      await store.close();
    });

    let clock = Date.now();
    const create = (jobName: string) => {
      const at = new Date(clock++);
      return jobs.create({
        id: newJobId(at),
        kind: 'processing',
        name: jobName,
        arn: jobArn('processing', jobName),
        spec: { ProcessingJobName: jobName, nested: { a: [1, 2] } },
        transitions: JobLifecycle.queued(at),
        createdAt: at,
      });
    };

    it('creates queued jobs, refuses a second job of the same kind and name, and reads them back', async () => {
      const job = await create('prep-1');
      expect(job).toMatchObject({
        status: 'InProgress',
        secondaryStatus: 'Pending',
        attempts: 0,
        version: 1,
      });
      await expect(create('prep-1')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      expect((await jobs.get('processing', 'prep-1')).spec).toEqual({
        ProcessingJobName: 'prep-1',
        nested: { a: [1, 2] },
      });
      await expect(jobs.get('training', 'prep-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('gives a job to exactly one of many racing claimers, and to another only after the claim expires', async () => {
      const job = await create('race');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => jobs.claim(job.id, `w${i}`, 10_000)),
      );
      const winners = results.filter((r) => r !== undefined);
      expect(winners).toHaveLength(1);
      const holder = winners[0]!.claimHolder!;
      expect(winners[0]!.attempts).toBe(1);
      expect(await jobs.renewClaim(job.id, 'someone-else', 10_000)).toBe(false);
      expect(await jobs.renewClaim(job.id, holder, 10_000)).toBe(true);
      expect(await jobs.claim(job.id, 'intruder', 10_000)).toBeUndefined();
      // A short claim that lapses: its holder can no longer renew it, and another worker takes over.
      await jobs.releaseClaim(job.id, holder);
      expect(await jobs.claim(job.id, 'slow', 100)).toMatchObject({ claimHolder: 'slow', attempts: 2 });
      await new Promise((r) => setTimeout(r, 250));
      expect(await jobs.renewClaim(job.id, 'slow', 100)).toBe(false);
      expect(await jobs.claim(job.id, 'late', 10_000)).toMatchObject({ claimHolder: 'late', attempts: 3 });
      // The lapsed holder's writes are refused now: a lost worker cannot overwrite the new run.
      await expect(
        jobs.update(job.id, { secondaryStatus: 'Starting' }, { holder: 'slow' }),
      ).rejects.toMatchObject({
        code: 'CONFLICT',
      });
      expect(await jobs.update(job.id, { secondaryStatus: 'Starting' }, { holder: 'late' })).toMatchObject({
        secondaryStatus: 'Starting',
      });
    });

    it('does not claim ended jobs and refuses stale versions', async () => {
      const job = await create('ended');
      const done = await jobs.update(job.id, JobLifecycle.advance(job, 'Completed', new Date()), {
        version: 1,
      });
      expect(done).toMatchObject({ status: 'Completed', secondaryStatus: 'Completed', version: 2 });
      expect(done.endedAt).toBeInstanceOf(Date);
      await expect(jobs.update(job.id, { status: 'Failed' }, { version: 1 })).rejects.toSatisfy(
        (e: unknown) => TrainyardError.is(e, 'CONFLICT'),
      );
      expect(await jobs.claim(job.id, 'w', 1000)).toBeUndefined();
    });

    it('deletes an ended job with its log, and refuses to delete one that has not ended', async () => {
      const running = await create('del-running');
      await expect(jobs.delete(running.id)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
      const ended = await create('del-ended');
      await jobs.appendLogs(ended.id, [{ seq: 1, at: new Date(), stream: 'stdout', message: 'x' }]);
      await jobs.update(ended.id, JobLifecycle.advance(ended, 'Stopped', new Date()));
      await jobs.delete(ended.id);
      await expect(jobs.getById(ended.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await jobs.readLogs(ended.id, 0, 10)).toEqual([]);
      await expect(jobs.delete(ended.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // The name is free again.
      expect((await create('del-ended')).name).toBe('del-ended');
      expect((await jobs.get('processing', 'del-running')).status).toBe('InProgress');
    });

    it('appends logs in order, ignores replayed seqs, and pages them by cursor', async () => {
      const job = await create('logs');
      expect(await jobs.lastLogSeq(job.id)).toBe(0);
      const at = new Date();
      await jobs.appendLogs(
        job.id,
        Array.from({ length: 1200 }, (_, i) => ({
          seq: i + 1,
          at,
          stream: 'stdout' as const,
          message: `line ${i + 1} ✓`,
        })),
      );
      await jobs.appendLogs(job.id, [{ seq: 2, at, stream: 'stderr', message: 'replayed' }]);
      expect(await jobs.lastLogSeq(job.id)).toBe(1200);
      const page = await jobs.readLogs(job.id, 1, 2);
      expect(page.map((e) => [e.seq, e.stream, e.message])).toEqual([
        [2, 'stdout', 'line 2 ✓'],
        [3, 'stdout', 'line 3 ✓'],
      ]);
      expect(await jobs.readLogs(job.id, 1200, 10)).toEqual([]);
    });

    it('lists newest first, filtered by status and by name, in stable pages', async () => {
      for (const n of ['alpha-1', 'beta-1', 'alpha-2', 'gamma-1']) await create(n);
      const beta = await jobs.get('processing', 'beta-1');
      await jobs.update(beta.id, JobLifecycle.advance(beta, 'Stopped', new Date()));
      const first = await jobs.list('processing', { limit: 3 });
      expect(first.items.map((j) => j.name)).toEqual(['gamma-1', 'alpha-2', 'beta-1']);
      const second = await jobs.list('processing', { limit: 3, pageToken: first.nextPageToken });
      expect(second.items.map((j) => j.name)).toEqual(['alpha-1']);
      expect(second.nextPageToken).toBeUndefined();
      expect((await jobs.list('processing', { nameContains: 'ALPHA' })).items.map((j) => j.name)).toEqual([
        'alpha-2',
        'alpha-1',
      ]);
      expect((await jobs.list('processing', { status: 'Stopped' })).items.map((j) => j.name)).toEqual([
        'beta-1',
      ]);
    });

    it('sorts by name, status or creation time either way, pages each order stably, and bounds by time', async () => {
      const names = ['delta', 'alpha', 'echo', 'charlie', 'bravo'];
      const created: Date[] = [];
      for (const n of names) created.push((await create(n)).createdAt);
      for (const n of ['alpha', 'echo']) {
        const job = await jobs.get('processing', n);
        await jobs.update(job.id, JobLifecycle.advance(job, 'Failed', new Date()));
      }
      const all = async (filter: Parameters<JobStore['list']>[1]) => {
        const out: string[] = [];
        let pageToken: string | undefined;
        do {
          const page = await jobs.list('processing', { ...filter, limit: 2, pageToken });
          out.push(...page.items.map((j) => j.name));
          pageToken = page.nextPageToken;
        } while (pageToken);
        return out;
      };
      expect(await all({ sortBy: 'Name', sortOrder: 'Ascending' })).toEqual([
        'alpha',
        'bravo',
        'charlie',
        'delta',
        'echo',
      ]);
      expect(await all({ sortBy: 'Name' })).toEqual(['echo', 'delta', 'charlie', 'bravo', 'alpha']);
      expect(await all({ sortBy: 'CreationTime', sortOrder: 'Ascending' })).toEqual(names);
      // Failed < InProgress; within a status, creation order.
      expect(await all({ sortBy: 'Status', sortOrder: 'Ascending' })).toEqual([
        'alpha',
        'echo',
        'delta',
        'charlie',
        'bravo',
      ]);
      const between = await all({
        createdAfter: created[0]!.toISOString(),
        createdBefore: created[4]!.toISOString(),
        sortOrder: 'Ascending',
      });
      expect(between).toEqual(['alpha', 'echo', 'charlie']);
      expect(await all({ modifiedAfter: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
      await expect(
        jobs.list('processing', {
          sortBy: 'Name',
          pageToken: (await jobs.list('processing', { limit: 1 })).nextPageToken,
        }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/pageToken/) });
    });
  });
}
