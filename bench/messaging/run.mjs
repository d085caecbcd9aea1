// Messages per second through each JobQueue adapter (send + receive + delete) and each Stream
// adapter (put + read back), each beside a raw baseline on the same backend measured in the same
// run. Runs on the built adapters: `npx tsc -b packages/adapters && node bench/messaging/run.mjs`.
// Options: --only sqlite,postgres,redis,nats   --n <messages per case>   --batch <receive batch>
//          --repeat <r>: each case and its baseline run r times (default 5), alternating and taking turns
//          to go first; reported: median and range of the per-run ratios, and the load average per run.
// Baselines do the same work with plain backend calls: a queue baseline writes, reads and deletes every
// message; a stream baseline writes every record and reads them all back.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { argv } from 'node:process';

const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const only = new Set(option('only', 'sqlite,postgres,redis,nats').split(','));
const scale = Number(option('n', '0'));
const batch = Number(option('batch', '10'));
const repeat = Number(option('repeat', '5'));
const postgresUrl = process.env.TRAINYARD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.TRAINYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const natsUrl = process.env.TRAINYARD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const body = JSON.stringify({ job: 'train-42', input: 's3://bucket/key', attempt: 1 }).padEnd(200, ' ');

const rows = [];
const rate = (n, ms) => (n * 1000) / ms;
async function time(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load1 = () => +loadavg()[0].toFixed(2);

/**
 * Alternates baseline and adapter runs (a busy shared machine drifts), who goes first alternating too;
 * each adapter run is paired with the baseline run beside it for its ratio.
 */
async function measure(port, adapter, n, oursRun, baselineName, baselineRun) {
  const runs = [];
  for (let i = 0; i < repeat; i++) {
    const run = {};
    for (const side of i % 2 === 0 ? ['baseline', 'ours'] : ['ours', 'baseline']) {
      const load = load1();
      const ms = await (side === 'ours' ? oursRun() : baselineRun());
      run[side] = { rate: rate(n, ms), load };
    }
    runs.push(run);
  }
  const ratios = runs.map((r) => r.ours.rate / r.baseline.rate);
  const row = {
    port,
    adapter,
    n,
    baselineName,
    ours: median(runs.map((r) => r.ours.rate)),
    baseline: median(runs.map((r) => r.baseline.rate)),
    ratio: median(ratios),
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    loads: runs.flatMap((r) => [r.baseline.load, r.ours.load]),
  };
  rows.push(row);
  console.error(
    JSON.stringify({
      ...row,
      runs: runs.map((r) => [Math.round(r.ours.rate), Math.round(r.baseline.rate), r.ours.load]),
    }),
  );
}

/** send n, then receive in batches and delete each: one message = send + receive + delete. */
async function queueWork(queue, n) {
  const name = `bench-${randomBytes(3).toString('hex')}`;
  await queue.createQueue(name, { visibilityTimeoutMs: 60_000 });
  return time(async () => {
    for (let i = 0; i < n; i++) await queue.send(name, body);
    let done = 0;
    while (done < n) {
      const got = await queue.receive(name, { maxMessages: batch });
      for (const m of got) await queue.delete(name, m.receiptHandle);
      done += got.length;
    }
  });
}

/** put n records on 4 partition keys, then read every shard back in pages of 1000. */
async function streamWork(stream, n) {
  const name = `bench${randomBytes(3).toString('hex')}`;
  await stream.createStream(name, { shardCount: 2 });
  const ms = await time(async () => {
    for (let i = 0; i < n; i++) await stream.putRecord(name, `key-${i % 4}`, body);
    let read = 0;
    for (const shard of [0, 1]) {
      let position = { type: 'TRIM_HORIZON' };
      for (;;) {
        const page = await stream.getRecords(name, shard, position, { limit: 1000 });
        read += page.records.length;
        position = page.nextPosition;
        if (page.records.length < 1000) break;
      }
    }
    if (read !== n) throw new Error(`read ${read} of ${n}`);
  });
  await stream.deleteStream(name);
  return ms;
}

async function sqliteCases() {
  const { openSqliteMetadataStore } = await import('@trainyard/adapters/sql/sqlite-metadata-store');
  const { EmbeddedJobQueue } = await import('@trainyard/adapters/messaging/embedded-job-queue');
  const { EmbeddedStream } = await import('@trainyard/adapters/messaging/embedded-stream');
  const { default: Database } = await import('better-sqlite3');
  const dir = mkdtempSync(join(tmpdir(), 'bench-mq-'));
  const file = join(dir, 'meta.db');
  const n = scale || 5000;
  try {
    const store = await openSqliteMetadataStore(file);
    await store.migrate();
    // Raw baseline: plain autocommit inserts of the same row into the same file, same pragmas.
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.exec(
      'create table if not exists raw_bench (seq integer primary key autoincrement, id text unique not null, body text not null)',
    );
    const insert = raw.prepare('insert into raw_bench (id, body) values (?, ?)');
    const head = raw.prepare('select seq, id, body from raw_bench order by seq limit ?');
    const remove = raw.prepare('delete from raw_bench where id = ?');
    const page = raw.prepare('select seq, id, body from raw_bench where seq > ? order by seq limit 1000');
    const write = () => {
      for (let i = 0; i < n; i++) insert.run(`${i}-${randomBytes(4).toString('hex')}`, body);
    };
    // Queue: write each, then read the oldest `batch` and delete each, autocommit statements.
    const queueBaseline = () =>
      time(async () => {
        write();
        let done = 0;
        while (done < n) {
          const got = head.all(batch);
          for (const m of got) remove.run(m.id);
          done += got.length;
        }
      });
    // Stream: write each, then read all back in pages of 1000 (the table is emptied untimed).
    const streamBaseline = async () => {
      const ms = await time(async () => {
        write();
        let read = 0;
        for (let last = 0; ; ) {
          const got = page.all(last);
          read += got.length;
          if (got.length < 1000) break;
          last = got.at(-1).seq;
        }
        if (read !== n) throw new Error(`read ${read} of ${n}`);
      });
      raw.exec('delete from raw_bench');
      return ms;
    };
    const queue = new EmbeddedJobQueue(store.db, 'sqlite');
    const stream = new EmbeddedStream(store.db, 'sqlite');
    await measure(
      'JobQueue',
      'embedded-sqlite',
      n,
      () => queueWork(queue, n),
      'raw insert + select + delete',
      queueBaseline,
    );
    await measure(
      'Stream',
      'embedded-sqlite',
      n,
      () => streamWork(stream, n),
      'raw insert + paged select',
      streamBaseline,
    );
    raw.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresCases() {
  const { openPostgresMetadataStore } = await import('@trainyard/adapters/sql/postgres-metadata-store');
  const { EmbeddedJobQueue } = await import('@trainyard/adapters/messaging/embedded-job-queue');
  const { EmbeddedStream } = await import('@trainyard/adapters/messaging/embedded-stream');
  const { default: pg } = await import('pg');
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const n = scale || 2000;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    const store = await openPostgresMetadataStore(`${postgresUrl}?schema=${schema}`);
    await store.migrate();
    const client = new pg.Client({ connectionString: postgresUrl, options: `-c search_path=${schema}` });
    await client.connect();
    await client.query(
      'create table raw_bench (seq bigserial primary key, id text unique not null, body text not null)',
    );
    const write = async () => {
      for (let i = 0; i < n; i++) {
        await client.query('insert into raw_bench (id, body) values ($1, $2)', [
          `${i}-${randomBytes(4).toString('hex')}`,
          body,
        ]);
      }
    };
    // Queue: write each, then read the oldest `batch` and delete each (one statement per round trip).
    const queueBaseline = () =>
      time(async () => {
        await write();
        let done = 0;
        while (done < n) {
          const got = await client.query('select seq, id, body from raw_bench order by seq limit $1', [
            batch,
          ]);
          for (const m of got.rows) await client.query('delete from raw_bench where id = $1', [m.id]);
          done += got.rows.length;
        }
      });
    // Stream: write each, then read all back in pages of 1000 (the table is emptied untimed).
    const streamBaseline = async () => {
      const ms = await time(async () => {
        await write();
        let read = 0;
        for (let last = 0; ; ) {
          const got = await client.query(
            'select seq, id, body from raw_bench where seq > $1 order by seq limit 1000',
            [last],
          );
          read += got.rows.length;
          if (got.rows.length < 1000) break;
          last = got.rows.at(-1).seq;
        }
        if (read !== n) throw new Error(`read ${read} of ${n}`);
      });
      await client.query('delete from raw_bench');
      return ms;
    };
    const queue = new EmbeddedJobQueue(store.db, 'postgres');
    const stream = new EmbeddedStream(store.db, 'postgres');
    await measure(
      'JobQueue',
      'embedded-postgres',
      n,
      () => queueWork(queue, n),
      'raw pg insert + select + delete',
      queueBaseline,
    );
    await measure(
      'Stream',
      'embedded-postgres',
      n,
      () => streamWork(stream, n),
      'raw pg insert + paged select',
      streamBaseline,
    );
    await client.end();
    await store.close();
  } finally {
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

async function redisCases() {
  const { openRedisJobQueue } = await import('@trainyard/adapters/messaging/redis-job-queue');
  const { openRedisStream } = await import('@trainyard/adapters/messaging/redis-stream');
  const { Redis } = await import('ioredis');
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const n = scale || 5000;
  const raw = new Redis(redisUrl);
  try {
    // Raw baselines: the same sequential round trips with plain commands, no Trainyard logic.
    const listKey = `${prefix}:raw:list`;
    const queueBaseline = () =>
      time(async () => {
        for (let i = 0; i < n; i++) await raw.lpush(listKey, body);
        for (let i = 0; i < n; i++) await raw.rpop(listKey);
      });
    const streamBaseline = () =>
      time(async () => {
        const streamKey = `${prefix}:raw:stream:${randomBytes(3).toString('hex')}`;
        for (let i = 0; i < n; i++) await raw.xadd(streamKey, '*', 'k', `key-${i % 4}`, 'd', body);
        let start = '-';
        for (;;) {
          const page = await raw.xrange(streamKey, start, '+', 'COUNT', 1000);
          if (page.length === 0) break;
          start = `(${page.at(-1)[0]}`;
        }
        await raw.del(streamKey);
      });
    const queue = await openRedisJobQueue(redisUrl, { prefix });
    await measure('JobQueue', 'redis', n, () => queueWork(queue, n), 'raw LPUSH+RPOP', queueBaseline);
    await queue.close();
    const stream = await openRedisStream(redisUrl, { prefix });
    await measure('Stream', 'redis', n, () => streamWork(stream, n), 'raw XADD+XRANGE', streamBaseline);
    await stream.close();
  } finally {
    const keys = await raw.keys(`${prefix}:*`);
    if (keys.length) await raw.del(...keys);
    await raw.quit();
  }
}

async function natsCases() {
  const { openNatsStream } = await import('@trainyard/adapters/messaging/nats-stream');
  const { AckPolicy, DeliverPolicy, connect } = await import('nats');
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const n = scale || 3000;
  const nc = await connect({ servers: new URL(natsUrl).host });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const rawName = `${prefix}_raw`;
  try {
    await jsm.streams.add({ name: rawName, subjects: [`${prefix}.raw.*`] });
    const data = new TextEncoder().encode(body);
    // Raw baseline: publish each (awaiting each ack), then consume everything back per subject through
    // one ephemeral pull consumer each, in fetches of up to 1000 (the stream is purged untimed).
    const baseline = async () => {
      const ms = await time(async () => {
        for (let i = 0; i < n; i++) await js.publish(`${prefix}.raw.${i % 2}`, data);
        let read = 0;
        for (const sub of [0, 1]) {
          const want = Math.ceil((n - sub) / 2);
          const info = await jsm.consumers.add(rawName, {
            filter_subject: `${prefix}.raw.${sub}`,
            ack_policy: AckPolicy.None,
            deliver_policy: DeliverPolicy.All,
            mem_storage: true,
          });
          const consumer = await js.consumers.get(rawName, info.name);
          let got = 0;
          while (got < want) {
            const messages = await consumer.fetch({
              max_messages: Math.min(1000, want - got),
              expires: 2_000,
            });
            for await (const m of messages) {
              got++;
              if (m.info.pending === 0) break;
            }
            messages.stop();
          }
          await jsm.consumers.delete(rawName, info.name);
          read += got;
        }
        if (read !== n) throw new Error(`read ${read} of ${n}`);
      });
      await jsm.streams.purge(rawName);
      return ms;
    };
    const stream = await openNatsStream(natsUrl, { prefix });
    await measure(
      'Stream',
      'nats',
      n,
      () => streamWork(stream, n),
      'raw JetStream publish + consume',
      baseline,
    );
    await stream.close();
  } finally {
    await jsm.streams.delete(rawName).catch(() => {});
    await nc.close();
  }
}

const cases = { sqlite: sqliteCases, postgres: postgresCases, redis: redisCases, nats: natsCases };
for (const [name, run] of Object.entries(cases)) if (only.has(name)) await run();

console.log(
  `| port | adapter | messages | Trainyard msg/s (median) | baseline | baseline /s (median) | ratio median (range) | load average |`,
);
console.log('| --- | --- | ---: | ---: | --- | ---: | ---: | --- |');
for (const r of rows) {
  console.log(
    `| ${r.port} | ${r.adapter} | ${r.n} | ${r.ours.toFixed(0)} | ${r.baselineName} | ${r.baseline.toFixed(0)} | ${r.ratio.toFixed(2)} (${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)}) | ${Math.min(...r.loads)}–${Math.max(...r.loads)} |`,
  );
}
