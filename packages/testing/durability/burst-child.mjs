// Sends messages (or puts records) as fast as it can, printing one line per acknowledged write,
// until it is killed. Plain ESM on the built adapters (package `default` condition): no loader.
// Usage: node burst-child.mjs <sqlite|postgres|redis|nats>-<queue|stream> <target> <name>
import { argv, stdout } from 'node:process';

const [kind = '', target = '', name = ''] = argv.slice(2);
const [backend, port] = kind.split('-');

async function openPort() {
  if (backend === 'sqlite' || backend === 'postgres') {
    const store =
      backend === 'sqlite'
        ? await (await import('@trainyard/adapters/sql/sqlite-metadata-store')).openSqliteMetadataStore(
            target,
          )
        : await (await import('@trainyard/adapters/sql/postgres-metadata-store')).openPostgresMetadataStore(
            target,
          );
    await store.migrate();
    if (port === 'queue') {
      const { EmbeddedJobQueue } = await import('@trainyard/adapters/messaging/embedded-job-queue');
      return new EmbeddedJobQueue(store.db, backend);
    }
    const { EmbeddedStream } = await import('@trainyard/adapters/messaging/embedded-stream');
    return new EmbeddedStream(store.db, backend);
  }
  if (backend === 'redis' && port === 'queue') {
    return (await import('@trainyard/adapters/messaging/redis-job-queue')).openRedisJobQueue(target);
  }
  if (backend === 'redis')
    return (await import('@trainyard/adapters/messaging/redis-stream')).openRedisStream(target);
  if (backend === 'nats')
    return (await import('@trainyard/adapters/messaging/nats-stream')).openNatsStream(target);
  throw new Error(`unknown kind ${kind}`);
}

const adapter = await openPort();
if (port === 'queue') await adapter.createQueue(name);
else await adapter.createStream(name, { shardCount: 2 });
stdout.write('ready\n');
// Writes to a pipe are synchronous on Linux: a printed line means the write was acknowledged first.
for (let i = 0; ; i++) {
  if (port === 'queue') {
    const { id } = await adapter.send(name, `m${i}`);
    stdout.write(`ack ${id}\n`);
  } else {
    const r = await adapter.putRecord(name, `key-${i % 7}`, `r${i}`);
    stdout.write(`ack ${r.shardId}:${r.sequenceNumber}\n`);
  }
}
