import { EmbeddedStream } from '@trainyard/adapters/messaging/embedded-stream';
import { twoMetadataConnections } from './messaging-fixtures.js';
import { streamConformance } from './stream-conformance.js';

streamConformance('embedded on PostgreSQL (two pools)', async () => {
  const { stores, close } = await twoMetadataConnections('postgres');
  return {
    streams: [new EmbeddedStream(stores[0].db, 'postgres'), new EmbeddedStream(stores[1].db, 'postgres')],
    close,
  };
});
