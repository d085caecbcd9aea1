import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedJobQueue } from '@trainyard/adapters/messaging/embedded-job-queue';
import { EmbeddedStream } from '@trainyard/adapters/messaging/embedded-stream';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { afterEach, describe, expect, it } from 'vitest';
import { storedMessageIds, storedRecordIds } from './durability-checks.js';
import { burstAndKill, requireBuiltAdapters } from './durability-harness.js';

describe.skipIf(!requireBuiltAdapters())(
  'durability: embedded messaging on SQLite survives SIGKILL of the process holding it',
  () => {
    let dir: string;
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps every acknowledged send of the JobQueue', async () => {
      dir = mkdtempSync(join(tmpdir(), 'trainyard-durable-'));
      const file = join(dir, 'meta.db');
      const acked = await burstAndKill({ kind: 'sqlite-queue', target: file, name: 'burst', killAfter: 300 });
      const store = await openSqliteMetadataStore(file);
      try {
        const stored = await storedMessageIds(new EmbeddedJobQueue(store.db, 'sqlite'), 'burst');
        expect(acked.length).toBeGreaterThanOrEqual(300);
        expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      } finally {
        await store.close();
      }
    });

    it('keeps every acknowledged put of the Stream', async () => {
      dir = mkdtempSync(join(tmpdir(), 'trainyard-durable-'));
      const file = join(dir, 'meta.db');
      const acked = await burstAndKill({
        kind: 'sqlite-stream',
        target: file,
        name: 'burst',
        killAfter: 300,
      });
      const store = await openSqliteMetadataStore(file);
      try {
        const stored = await storedRecordIds(new EmbeddedStream(store.db, 'sqlite'), 'burst');
        expect(acked.length).toBeGreaterThanOrEqual(300);
        expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      } finally {
        await store.close();
      }
    });
  },
);
