import { EmbeddedStream } from '@trainyard/adapters/messaging/embedded-stream';
import { twoMetadataConnections } from './messaging-fixtures.js';
import { streamConformance } from './stream-conformance.js';

// better-sqlite3 is synchronous: two connections of one process that interleave transactions
// block each other's thread, so a process uses one connection (other processes are the
// durability test's business) and both handles share it here.
streamConformance('embedded (SQLite file)', async () => {
  const { stores, close } = await twoMetadataConnections('sqlite');
  return {
    streams: [new EmbeddedStream(stores[0].db, 'sqlite'), new EmbeddedStream(stores[0].db, 'sqlite')],
    close,
  };
});
