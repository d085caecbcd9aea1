import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { afterAll } from 'vitest';
import { metadataStoreConformance } from './metadata-store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

// A file, not :memory:, so WAL and busy handling are what production runs.
metadataStoreConformance('sqlite', () => openSqliteMetadataStore(join(dir, `meta-${n++}.db`)));
