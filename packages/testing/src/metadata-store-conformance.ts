import { TrainyardError } from '@trainyard/contracts/errors';
import type { MetadataStore } from '@trainyard/core/ports/metadata-store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** Opens a fresh, empty store for each test; the suite migrates and closes it. */
export type MetadataStoreFactory = () => Promise<MetadataStore>;

async function expectCode(promise: Promise<unknown>, code: TrainyardError['code']): Promise<TrainyardError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TrainyardError);
    expect((error as TrainyardError).code).toBe(code);
    return error as TrainyardError;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

const key = (n: number, name = `key-${n}`) => ({
  id: `TYTEST${String(n).padStart(14, '0')}`,
  name,
  role: 'developer' as const,
  secretHash: `hash-${n}`.padEnd(64, '0'),
  secretSealed: `sealed-${n}`,
});

const instanceType = (name: string) => ({ name, vcpus: 2, memoryMiB: 4096, pricePerHour: 0.1 });

/**
 * The behaviour every MetadataStore adapter must show. Run it once per adapter:
 * `metadataStoreConformance('sqlite', () => openSqliteMetadataStore(':memory:'))`.
 */
export function metadataStoreConformance(name: string, open: MetadataStoreFactory): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let store: MetadataStore;
    beforeEach(async () => {
      store = await open();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    it('migrates once: a second migrate applies nothing', async () => {
      expect(await store.migrate()).toEqual([]);
      expect(await store.ping()).toBe(true);
    });

    it('refuses a second active key with the same name with ALREADY_EXISTS, and reuses it once revoked', async () => {
      await store.accessKeys.create(key(1, 'ci'));
      const error = await expectCode(store.accessKeys.create(key(2, 'ci')), 'ALREADY_EXISTS');
      expect(error.message).toContain('ci');
      await store.accessKeys.revoke(key(1).id);
      const again = await store.accessKeys.create(key(3, 'ci'));
      expect(again.name).toBe('ci');
      expect(await store.accessKeys.countActive()).toBe(1);
    });

    it('finds keys by secret hash and keeps the first revocation time', async () => {
      const created = await store.accessKeys.create(key(1));
      expect((await store.accessKeys.findBySecretHash(created.secretHash))?.id).toBe(created.id);
      expect(await store.accessKeys.findBySecretHash('nope')).toBeUndefined();
      const revoked = await store.accessKeys.revoke(created.id);
      expect(revoked.revokedAt).not.toBeNull();
      await new Promise((r) => setTimeout(r, 5));
      expect((await store.accessKeys.revoke(created.id)).revokedAt).toBe(revoked.revokedAt);
    });

    it('keeps sessions by id hash, ends the sessions of a key and sweeps expired ones', async () => {
      const now = Date.now();
      const session = (n: number, keyId: string, expiresIn: number) => ({
        idHash: `session-${n}`.padEnd(64, '0'),
        keyId,
        createdAt: new Date(now),
        expiresAt: new Date(now + expiresIn),
      });
      await store.sessions.create(session(1, 'TYA', 60_000));
      await store.sessions.create(session(2, 'TYA', 60_000));
      await store.sessions.create(session(3, 'TYB', -1));
      const found = await store.sessions.find(session(1, 'TYA', 0).idHash);
      expect(found).toMatchObject({ keyId: 'TYA' });
      expect(found?.expiresAt.getTime()).toBe(now + 60_000);
      expect(await store.sessions.find('nope')).toBeUndefined();
      expect(await store.sessions.deleteExpired(new Date(now))).toBe(1);
      expect(await store.sessions.find(session(3, 'TYB', 0).idHash)).toBeUndefined();
      expect(await store.sessions.deleteForKey('TYA')).toBe(2);
      expect(await store.sessions.find(session(2, 'TYA', 0).idHash)).toBeUndefined();
      await store.sessions.delete('nope');
    });

    it('answers NOT_FOUND for missing rows', async () => {
      await expectCode(store.accessKeys.get('TYMISSING'), 'NOT_FOUND');
      await expectCode(store.accessKeys.revoke('TYMISSING'), 'NOT_FOUND');
      await expectCode(store.instanceTypes.get('ml.none.large'), 'NOT_FOUND');
      await expectCode(store.instanceTypes.update('ml.none.large', { vcpus: 1 }), 'NOT_FOUND');
      await expectCode(store.instanceTypes.delete('ml.none.large'), 'NOT_FOUND');
    });

    it('pages through every row exactly once, in a stable order, while rows are added', async () => {
      for (let i = 0; i < 25; i++)
        await store.instanceTypes.create(instanceType(`ml.t${String(i).padStart(2, '0')}.large`));
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await store.instanceTypes.list({ limit: 10, pageToken: token });
        seen.push(...page.items.map((t) => t.name));
        token = page.nextPageToken;
        // A row inserted before the cursor must not shift later pages.
        if (pages === 0) await store.instanceTypes.create(instanceType('ml.a0.large'));
        pages++;
      } while (token);
      expect(pages).toBe(3);
      expect(seen).toHaveLength(25);
      expect(new Set(seen).size).toBe(25);
      expect([...seen].sort()).toEqual(seen);
      await expectCode(store.instanceTypes.list({ pageToken: 'garbage!' }), 'INVALID_ARGUMENT');
      await expectCode(store.instanceTypes.list({ limit: 0 }), 'INVALID_ARGUMENT');
    });

    it('loses no update when concurrent writers read-modify-write with expectedVersion', async () => {
      await store.instanceTypes.create({ ...instanceType('ml.c5.large'), pricePerHour: 0 });
      const writers = 8;
      const incrementsEach = 5;
      let conflicts = 0;
      const writer = async () => {
        for (let done = 0; done < incrementsEach; ) {
          const current = await store.instanceTypes.get('ml.c5.large');
          await new Promise((r) => setImmediate(r)); // let other writers interleave
          try {
            await store.instanceTypes.update('ml.c5.large', {
              pricePerHour: current.pricePerHour + 1,
              expectedVersion: current.version,
            });
            done++;
          } catch (error) {
            if (!TrainyardError.is(error, 'CONFLICT')) throw error;
            conflicts++;
          }
        }
      };
      await Promise.all(Array.from({ length: writers }, writer));
      const final = await store.instanceTypes.get('ml.c5.large');
      expect(final.pricePerHour).toBe(writers * incrementsEach);
      expect(final.version).toBe(1 + writers * incrementsEach);
      expect(conflicts).toBeGreaterThan(0);
    });

    it('gives a lease to one holder at a time and hands it over after expiry', async () => {
      expect(await store.leases.acquire('scheduler', 'a', 60_000)).toBe(true);
      expect(await store.leases.acquire('scheduler', 'b', 60_000)).toBe(false);
      expect(await store.leases.acquire('scheduler', 'a', 60_000)).toBe(true);
      expect(await store.leases.holderOf('scheduler')).toBe('a');
      await store.leases.release('scheduler', 'a');
      expect(await store.leases.acquire('scheduler', 'b', 50)).toBe(true);
      await new Promise((r) => setTimeout(r, 80));
      expect(await store.leases.holderOf('scheduler')).toBeUndefined();
      const winners = await Promise.all(
        ['c', 'd', 'e'].map((h) => store.leases.acquire('scheduler', h, 60_000)),
      );
      expect(winners.filter(Boolean)).toHaveLength(1);
    });
  });
}
