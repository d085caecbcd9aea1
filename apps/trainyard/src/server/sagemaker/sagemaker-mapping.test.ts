import { describe, expect, it } from 'vitest';
import { SageMakerError } from './sagemaker-error.js';
import { listPage } from './sagemaker-mapping.js';

const items = [
  { name: 'beta', at: '2026-01-02T00:00:00.000Z', status: 'InService' },
  { name: 'Alpha', at: '2026-01-01T00:00:00.000Z', status: 'Failed' },
  { name: 'gamma', at: '2026-01-03T00:00:00.000Z', status: 'InService' },
];
const view = (i: (typeof items)[number]) => ({ name: i.name, creationTime: i.at, status: i.status });
const names = (input: Record<string, unknown>) => listPage(items, input, view).page.map((i) => i.name);

describe('listPage: SageMaker List semantics over a native collection', () => {
  it('sorts newest first by default, by name or status on request, ascending when asked', () => {
    expect(names({})).toEqual(['gamma', 'beta', 'Alpha']);
    expect(names({ SortBy: 'Name', SortOrder: 'Ascending' })).toEqual(['Alpha', 'beta', 'gamma']);
    expect(names({ SortBy: 'Status', SortOrder: 'Ascending' })).toEqual(['Alpha', 'beta', 'gamma']);
  });

  it('filters by NameContains (any case), StatusEquals and creation-time bounds in epoch seconds', () => {
    expect(names({ NameContains: 'ALP' })).toEqual(['Alpha']);
    expect(names({ StatusEquals: 'InService' })).toEqual(['gamma', 'beta']);
    const jan2 = Date.parse('2026-01-02T00:00:00.000Z') / 1000;
    expect(names({ CreationTimeAfter: jan2 })).toEqual(['gamma']);
    expect(names({ CreationTimeBefore: jan2 })).toEqual(['Alpha']);
    expect(names({ CreationTimeBefore: '2026-01-02T12:00:00Z' })).toEqual(['beta', 'Alpha']);
  });

  it('pages with MaxResults and NextToken, every item once', () => {
    const first = listPage(items, { MaxResults: 2 }, view);
    expect(first.page.map((i) => i.name)).toEqual(['gamma', 'beta']);
    const second = listPage(items, { MaxResults: 2, NextToken: first.next }, view);
    expect(second.page.map((i) => i.name)).toEqual(['Alpha']);
    expect(second.next).toBeUndefined();
  });

  it('answers a forged NextToken with a ValidationException, not a crash', () => {
    for (const token of [
      'garbage',
      Buffer.from('{"o":-1}').toString('base64url'),
      Buffer.from('[]').toString('base64url'),
    ]) {
      expect(() => listPage(items, { NextToken: token }, view)).toThrow(SageMakerError);
    }
  });
});
