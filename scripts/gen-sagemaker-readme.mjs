#!/usr/bin/env node
// Rewrites the list of supported SageMaker operations in README.md (between the
// `sagemaker-operations` markers) from the door's dispatcher table in the build output.
//   npx tsc -b && node scripts/gen-sagemaker-readme.mjs
// sagemaker-door.test.ts fails when the README and the table disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { sageMakerOperations } = await import(
  join(root, 'apps', 'trainyard', 'dist', 'server', 'sagemaker', 'sagemaker-operations.js')
);
const { sageMakerTuningOperations } = await import(
  join(root, 'apps', 'trainyard', 'dist', 'server', 'sagemaker', 'sagemaker-tuning-operations.js')
);
const { operationsMarkdown } = await import(
  join(root, 'apps', 'trainyard', 'dist', 'server', 'sagemaker', 'sagemaker-door.js')
);
const readme = join(root, 'README.md');
const text = readFileSync(readme, 'utf8');
const start = '<!-- sagemaker-operations:start -->';
const end = '<!-- sagemaker-operations:end -->';
const from = text.indexOf(start);
const to = text.indexOf(end);
if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} block`);
const table = operationsMarkdown({
  ...sageMakerOperations({ processingJobs: undefined, trainingJobs: undefined }),
  ...sageMakerTuningOperations({ tuningJobs: undefined }),
});
writeFileSync(readme, `${text.slice(0, from + start.length)}\n${table}${text.slice(to)}`);
console.log('README.md: supported SageMaker operations rewritten');
