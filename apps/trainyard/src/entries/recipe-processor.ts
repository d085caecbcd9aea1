import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDbEngine } from '@trainyard/adapters/duckdb/duckdb-engine';
import { runRecipeOnFiles } from '@trainyard/runtime/data/run-recipe';
import {
  type RecipeProcessorInput,
  type RecipeProcessorResult,
  recipeInputFile,
  recipeResultFile,
  writeProcessorFailure,
} from '@trainyard/runtime/jobs/recipe-processor';

/**
 * The job process of the built-in recipe processor (`trainyard/recipe-processor`): DuckDB on the
 * job's staged local files only. It reads `config/recipe-input.json` (the input Parquet file, its
 * schema and the recipe, written by the worker), writes one Parquet file per split and
 * `output/recipe-result.json`; the worker registers them as dataset versions. No store is opened
 * here, so the process gets no store URIs or credentials.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'opt-ml': { type: 'string' },
      'memory-mib': { type: 'string', default: '1024' },
      threads: { type: 'string' },
    },
  });
  const optMl = values['opt-ml'];
  if (!optMl) throw new Error('--opt-ml <dir> is required');
  try {
    const input = JSON.parse(await readFile(recipeInputFile(optMl), 'utf8')) as RecipeProcessorInput;
    const engine = await DuckDbEngine.open({
      memoryLimit: `${Math.max(64, Math.floor(Number(values['memory-mib'])))}MB`,
      memoryLimitSetting: "the job's instance type memory (a larger instance type)",
      tempDirectory: join(optMl, 'tmp', 'duckdb'),
      ...(values.threads ? { threads: Number(values.threads) } : {}),
    });
    try {
      let lastPhase = '';
      const run = await runRecipeOnFiles(engine, input, input.recipe, input.outDir, (event) => {
        if (event.phase !== lastPhase || event.fraction === 1) {
          const pct = event.fraction !== undefined ? ` ${(event.fraction * 100).toFixed(0)}%` : '';
          process.stdout.write(`recipe: ${event.phase}${pct}\n`);
          lastPhase = event.phase;
        }
      });
      const result: RecipeProcessorResult = run;
      for (const out of run.outputs) {
        process.stdout.write(`recipe: wrote ${out.split ?? 'output'} (${out.rowCount} rows)\n`);
      }
      await writeFile(recipeResultFile(optMl), JSON.stringify(result));
    } finally {
      await engine.close();
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    await writeProcessorFailure(optMl, error);
    process.exitCode = 1;
  }
}

await main();
