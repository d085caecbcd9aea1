import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';

let t: TestServer;
const csv = 'id,price,region\n1,10.5,north\n2,4,south\n3,7.25,north\n';

beforeAll(async () => {
  t = await openTestServer();
});
afterAll(async () => {
  await t?.close();
});

const upload = (name: string, body: string, query = '') =>
  t.app.inject({
    method: 'POST',
    url: `/api/v1/datasets/${name}/upload?fileName=sales.csv${query}`,
    headers: { ...t.auth(), 'content-type': 'text/csv' },
    payload: body,
  });
const call = (method: 'GET' | 'DELETE', url: string) =>
  t.app.inject({ method, url: `/api/v1${url}`, headers: t.auth() });

describe('dataset housekeeping', () => {
  it('returns the existing version for the same file and options, and a new one when forced or read differently', async () => {
    const first = await upload('sales', csv);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({ version: 1, sourceHash: expect.any(String) });
    const again = await upload('sales', csv);
    expect(again.json()).toMatchObject({ version: 1 });
    expect((await upload('sales', csv, '&force=true')).json()).toMatchObject({ version: 2 });
    expect((await upload('sales', csv, '&target=region')).json()).toMatchObject({ version: 3 });
    expect((await upload('sales', `${csv}4,1,east\n`)).json()).toMatchObject({ version: 4 });
  });

  it('refuses to delete what other versions derive from, naming them; deletes versions and datasets', async () => {
    await t.platform.datasets.createVersionFromUri(
      'sales-copy',
      (await t.platform.datasets.getVersion('sales', 1)).uri,
      { lineage: { parentDataset: 'sales', parentVersion: 1 } },
    );
    const refused = await call('DELETE', '/datasets/sales/versions/1');
    expect(refused.statusCode).toBe(412);
    expect(refused.json().error).toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: 'version 1 of dataset "sales" is the parent of sales-copy v1; delete that version first',
    });
    const refusedDataset = await call('DELETE', '/datasets/sales');
    expect(refusedDataset.json().error.message).toBe(
      'dataset "sales" is the parent of sales-copy v1; delete that version first',
    );

    expect((await call('DELETE', '/datasets/sales-copy')).statusCode).toBe(200);
    expect((await call('GET', '/datasets/sales-copy')).statusCode).toBe(404);
    expect((await call('DELETE', '/datasets/sales/versions/4')).statusCode).toBe(200);
    const gone = await call('GET', '/datasets/sales/versions/4');
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.message).toBe('version 4 of dataset "sales" was deleted');
    expect((await call('GET', '/datasets/sales')).json()).toMatchObject({ latestVersion: 3 });
    const listed = (await call('GET', '/datasets/sales/versions')).json() as { items: { version: number }[] };
    expect(listed.items.map((v) => v.version)).toEqual([3, 2, 1]);
    // Numbers are not reused.
    expect((await upload('sales', `${csv}5,2,west\n`)).json()).toMatchObject({ version: 5 });

    expect((await call('DELETE', '/datasets/sales')).statusCode).toBe(200);
    expect((await call('GET', '/datasets/sales')).statusCode).toBe(404);
    const left = await t.platform.blobs.list('trainyard', { prefix: 'datasets/sales/' });
    expect(left.items).toEqual([]);
  });
});
