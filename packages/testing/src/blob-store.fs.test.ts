import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '@trainyard/adapters/blob/fs-blob-store';
import { afterAll } from 'vitest';
import { blobStoreConformance } from './blob-store-conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-blobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

blobStoreConformance('filesystem', () => new FsBlobStore(join(dir, `store-${n++}`)).init());
