import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteMetadataStore } from '@trainyard/adapters/sql/sqlite-metadata-store';
import { afterAll } from 'vitest';
import { jobStoreConformance } from './job-store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-jobs-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

jobStoreConformance('sqlite', () => openSqliteMetadataStore(join(dir, `jobs-${n++}.db`)));
