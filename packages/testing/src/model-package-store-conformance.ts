import { TrainyardError } from '@trainyard/contracts/errors';
import type { ModelPackage, ModelPackageGroup } from '@trainyard/contracts/model-packages';
import type { ModelPackageStore } from '@trainyard/core/ports/model-package-store';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** A fresh, migrated store and how to close it. */
export type ModelPackageStoreFactory = () => Promise<{ store: ModelPackageStore; close(): Promise<void> }>;

async function expectCode(promise: Promise<unknown>, code: TrainyardError['code']): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TrainyardError);
  expect((error as TrainyardError).code).toBe(code);
}

const actor = { KeyId: 'k1', KeyName: 'ci' };

function group(name: string, time = new Date()): ModelPackageGroup {
  return {
    ModelPackageGroupName: name,
    ModelPackageGroupArn: `arn:aws:sagemaker:us-east-1:000000000000:model-package-group/${name.toLowerCase()}`,
    ModelPackageGroupStatus: 'Completed',
    CreationTime: time.toISOString(),
    CreatedBy: actor,
    LatestVersion: 0,
  };
}

function pkg(
  version: number,
  groupName: string,
  status: ModelPackage['ModelApprovalStatus'] = 'PendingManualApproval',
): ModelPackage {
  const now = new Date().toISOString();
  return {
    ModelPackageName: groupName,
    ModelPackageGroupName: groupName,
    ModelPackageVersion: version,
    ModelPackageArn: `arn:aws:sagemaker:us-east-1:000000000000:model-package/${groupName.toLowerCase()}/${version}`,
    ModelPackageStatus: 'Completed',
    InferenceSpecification: {
      Containers: [{ Image: 'trainyard/model-server', ModelDataUrl: 's3://m/model.tar.gz' }],
    },
    ModelApprovalStatus: status,
    ApprovalHistory: [{ ModelApprovalStatus: status, By: actor, Time: now }],
    CreationTime: now,
    CreatedBy: actor,
    LastModifiedTime: now,
    LastModifiedBy: actor,
  };
}

/** The behaviour every ModelPackageStore adapter must show. */
export function modelPackageStoreConformance(name: string, open: ModelPackageStoreFactory): void {
  describe(`ModelPackageStore conformance: ${name}`, () => {
    let store: ModelPackageStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(() => close());

    it('numbers versions 1..n per group under concurrent writers, never reusing one', async () => {
      await store.createGroup(group('Churn'));
      await store.createGroup(group('fraud'));
      const made = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          store.createPackage(i % 4 === 0 ? 'fraud' : 'CHURN', (v, g) => pkg(v, g)),
        ),
      );
      const churn = made.filter((p) => p.ModelPackageGroupName === 'Churn').map((p) => p.ModelPackageVersion);
      expect(churn.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(made.filter((p) => p.ModelPackageGroupName === 'fraud')).toHaveLength(4);
      expect((await store.getGroup('churn')).LatestVersion).toBe(12);
      await store.deletePackage('churn', 12);
      expect((await store.createPackage('churn', (v, g) => pkg(v, g))).ModelPackageVersion).toBe(13);
      await expectCode(
        store.createPackage('nope', (v, g) => pkg(v, g)),
        'NOT_FOUND',
      );
    });

    it('keeps group names unique ignoring case and refuses deleting a group with packages', async () => {
      await store.createGroup(group('Churn'));
      await expectCode(store.createGroup(group('CHURN')), 'ALREADY_EXISTS');
      await store.createPackage('churn', (v, g) => pkg(v, g));
      await expectCode(store.deleteGroup('churn'), 'FAILED_PRECONDITION');
      await store.deletePackage('Churn', 1);
      await store.deleteGroup('churn');
      await expectCode(store.getGroup('Churn'), 'NOT_FOUND');
      await expectCode(store.deleteGroup('Churn'), 'NOT_FOUND');
      await expectCode(store.deletePackage('Churn', 1), 'NOT_FOUND');
    });

    it('pages packages by group and version both ways, filtering by approval status', async () => {
      await store.createGroup(group('a'));
      await store.createGroup(group('b'));
      for (let i = 0; i < 5; i++)
        await store.createPackage('a', (v, g) => pkg(v, g, i % 2 ? 'Approved' : 'Rejected'));
      await store.createPackage('b', (v, g) => pkg(v, g, 'Approved'));
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await store.listPackages({ limit: 2, pageToken: token });
        seen.push(...page.items.map((p) => `${p.ModelPackageGroupName}/${p.ModelPackageVersion}`));
        token = page.nextPageToken;
      } while (token);
      expect(seen).toEqual(['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'b/1']);
      const newest: number[] = [];
      token = undefined;
      do {
        const page = await store.listPackages({ group: 'A', limit: 2, pageToken: token, descending: true });
        newest.push(...page.items.map((p) => p.ModelPackageVersion));
        token = page.nextPageToken;
      } while (token);
      expect(newest).toEqual([5, 4, 3, 2, 1]);
      // A token of another listing (or forged) is a clear refusal, never a database error.
      const forged = Buffer.from(JSON.stringify({ k: 'a/x' })).toString('base64url');
      await expectCode(store.listPackages({ pageToken: forged }), 'INVALID_ARGUMENT');
      await expectCode(store.listGroups({ pageToken: forged, sortBy: 'CreationTime' }), 'INVALID_ARGUMENT');
      const approved = await store.listPackages({ approvalStatus: 'Approved' });
      expect(approved.items.map((p) => `${p.ModelPackageGroupName}/${p.ModelPackageVersion}`)).toEqual([
        'a/2',
        'a/4',
        'b/1',
      ]);
    });

    it('lists groups by name or creation time, filtered by a part of the name', async () => {
      const t0 = Date.now();
      await store.createGroup(group('zeta', new Date(t0)));
      await store.createGroup(group('Alpha', new Date(t0 + 1000)));
      await store.createGroup(group('mid-alpha', new Date(t0 + 2000)));
      const names = async (filter: Parameters<ModelPackageStore['listGroups']>[0]) => {
        const out: string[] = [];
        let token: string | undefined;
        do {
          const page = await store.listGroups({ ...filter, limit: 1, pageToken: token });
          out.push(...page.items.map((g) => g.ModelPackageGroupName));
          token = page.nextPageToken;
        } while (token);
        return out;
      };
      expect(await names({})).toEqual(['Alpha', 'mid-alpha', 'zeta']);
      expect(await names({ sortBy: 'CreationTime', descending: true })).toEqual([
        'mid-alpha',
        'Alpha',
        'zeta',
      ]);
      expect(await names({ nameContains: 'ALPHA', sortBy: 'CreationTime' })).toEqual(['Alpha', 'mid-alpha']);
      await expectCode(store.listGroups({ nameContains: "a%' or 1=1 --" }), 'INVALID_ARGUMENT');
    });

    it('replaces a package only when nobody changed it meanwhile', async () => {
      await store.createGroup(group('cas'));
      const first = await store.createPackage('cas', (v, g) => pkg(v, g));
      const approved = {
        ...first,
        ModelApprovalStatus: 'Approved' as const,
        LastModifiedTime: new Date().toISOString(),
      };
      await store.replacePackage(first, approved);
      await expectCode(
        store.replacePackage(first, { ...first, ModelApprovalStatus: 'Rejected' }),
        'CONFLICT',
      );
      expect((await store.getPackage('CAS', 1)).ModelApprovalStatus).toBe('Approved');
      expect((await store.listPackages({ approvalStatus: 'Approved' })).items).toHaveLength(1);
      await expectCode(store.replacePackage({ ...first, ModelPackageVersion: 9 }, approved), 'NOT_FOUND');
    });
  });
}
