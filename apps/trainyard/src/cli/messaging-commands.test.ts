import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestServer, type TestServer } from '../testing/platform-fixture.js';
import { requireBuild, runCli } from '../testing/server-process.js';

let t: TestServer & { baseUrl: string };

const cli = (args: string[]) => runCli(args, { baseUrl: t.baseUrl, key: t.adminKey });

describe.skipIf(!requireBuild())(
  'trainyard topics / queues / streams CLI (needs the build: npx tsc -b)',
  () => {
    beforeAll(async () => {
      t = await openTestServer({}, { listen: true });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('subscribes a queue to a topic, test-publishes, then sees the delivery in the queue and the log', async () => {
      expect((await cli(['topics', 'create', 'alerts', '--description', 'drift alarms'])).code).toBe(0);
      const sub = await cli([
        'topics',
        'subscribe',
        'alerts',
        'queue:audit',
        '--max-attempts',
        '3',
        '--json',
      ]);
      expect(sub.code).toBe(0);
      const { id, secret } = JSON.parse(sub.stdout);
      expect(secret).toEqual(expect.any(String));
      const published = await cli([
        'topics',
        'publish',
        'alerts',
        '{"drift":0.4}',
        '--attribute',
        'model=churn',
      ]);
      expect(published.stdout).toMatch(/deliveries\s+1/);
      const [delivered] = await t.platform.messaging.queues.receive('audit', {
        waitMs: 5_000,
        visibilityTimeoutMs: 100,
      });
      expect(JSON.parse(delivered!.body)).toMatchObject({
        message: '{"drift":0.4}',
        attributes: { model: 'churn' },
      });
      const log = await cli(['topics', 'deliveries', id]);
      expect(log.stdout).toMatch(/STATUS/);
      expect(log.stdout).toContain('delivered');
      const queues = await cli(['queues', 'list']);
      expect(queues.stdout).toMatch(/^audit\s+/m);
      const bad = await cli(['topics', 'subscribe', 'alerts', 'ftp://x']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('endpoint');
    });

    it('creates a stream, puts records and reads them back from a position', async () => {
      expect((await cli(['streams', 'create', 'capture', '--shards', '1'])).code).toBe(0);
      const first = JSON.parse((await cli(['streams', 'put', 'capture', 'ep-a', 'one', '--json'])).stdout);
      await cli(['streams', 'put', 'capture', 'ep-a', 'two']);
      const all = await cli(['streams', 'read', 'capture']);
      expect(all.stdout).toMatch(/one[\s\S]*two/);
      const after = await cli([
        'streams',
        'read',
        'capture',
        '--from',
        'AFTER_SEQUENCE_NUMBER',
        '--sequence-number',
        first.sequenceNumber,
        '--json',
      ]);
      expect(
        after.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).data),
      ).toEqual(['two']);
      const described = await cli(['streams', 'describe', 'capture']);
      expect(described.stdout).toMatch(/^0\s+2\s+/m);
    });
  },
);
