import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doorServicesOf } from './doors.js';
import { openTestServer, type TestServer } from './testing/platform-fixture.js';

describe('door services', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await openTestServer();
  });
  afterAll(async () => t.close());

  it('validates instance types in the service, so a door without its own schema cannot store a bad one', async () => {
    const { instanceTypes } = doorServicesOf(t.platform);
    await expect(
      instanceTypes.create({ name: 'ml.zero.cpu', vcpus: 0, memoryMiB: 1024, pricePerHour: 0 }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'body.vcpus' } });
    await expect(instanceTypes.update('ml.m5.large', { memoryMiB: 1 } as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { field: 'body.memoryMiB' },
    });
    await expect(instanceTypes.get('ml.zero.cpu')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await instanceTypes.get('ml.m5.large')).memoryMiB).toBe(8192);
  });
});
