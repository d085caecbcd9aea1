import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyDigestPool } from './body-digest-pool.js';

const pools: BodyDigestPool[] = [];
const newPool = (size?: number) => {
  const pool = new BodyDigestPool(size);
  pools.push(pool);
  return pool;
};
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

/** Feeds `data` in chunks of the given sizes (cycling), waiting whenever the job asks to. */
async function feed(
  job: { update(c: Uint8Array): Promise<void> | undefined },
  data: Buffer,
  sizes: number[],
): Promise<void> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    // A fresh copy, as a socket read is: the job must not keep a reference to it.
    const chunk = Buffer.from(data.subarray(at, at + size));
    await job.update(chunk);
    chunk.fill(0);
    at += size;
  }
}

describe('BodyDigestPool', () => {
  it('computes MD5, SHA-1 and SHA-256 as createHash does, across ring wrap-arounds and chunks larger than the ring', async () => {
    const pool = newPool();
    // 11 MiB in uneven chunks, one of 5 MiB (more than a ring): the ring wraps several times.
    const data = randomBytes(11 * 1024 * 1024 + 17);
    const job = pool.start(['md5', 'sha1', 'sha256']);
    if (!job) throw new Error('an idle pool must take the job');
    await feed(job, data, [65_536, 1, 5 * 1024 * 1024, 333_333, 7]);
    const digests = await job.digests();
    for (const algorithm of ['md5', 'sha1', 'sha256']) {
      expect(digests.get(algorithm)?.toString('hex')).toBe(createHash(algorithm).update(data).digest('hex'));
    }
    expect(pool.activeJobs).toBe(0);
  });

  it('gives a busy pool no second job, and takes one again once the first is cancelled', async () => {
    const pool = newPool(1);
    const first = pool.start(['md5']);
    expect(first).toBeDefined();
    expect(pool.start(['md5'])).toBeUndefined();
    first?.update(randomBytes(100_000));
    first?.cancel();
    first?.cancel();
    expect(pool.activeJobs).toBe(0);
    await expect(first?.digests()).rejects.toThrow(/cancelled/);
    const second = pool.start(['md5']);
    if (!second) throw new Error('a cancelled job must free its worker');
    await second.update(Buffer.from('abc'));
    expect((await second.digests()).get('md5')?.toString('hex')).toBe(
      createHash('md5').update('abc').digest('hex'),
    );
    expect(pool.workerCount).toBe(1);
  });

  it('fails jobs still running when it closes, and starts none after', async () => {
    const pool = newPool(1);
    const job = pool.start(['sha256']);
    if (!job) throw new Error('an idle pool must take the job');
    await job.update(randomBytes(1024));
    const pending = job.digests();
    const closing = pool.close();
    await expect(pending).rejects.toThrow();
    await closing;
    expect(pool.start(['md5'])).toBeUndefined();
    expect(pool.workerCount).toBe(0);
  });
});
