import { TrainyardError } from '@trainyard/contracts/errors';
import { Command, Option } from 'commander';
import { addClientCommands } from './cli/client-commands.js';
import { addDatasetCommands } from './cli/dataset-commands.js';
import { addEndpointCommands } from './cli/endpoint-commands.js';
import { addJobCommands } from './cli/job-commands.js';
import { addMessagingCommands } from './cli/messaging-commands.js';
import { addQuickstartCommands } from './cli/quickstart-commands.js';
import { addRegistryCommands } from './cli/registry-commands.js';
import { addTrainingCommands } from './cli/training-commands.js';
import { addTuningCommands } from './cli/tuning-commands.js';
import { loadServerConfig } from './config.js';
import { runServer } from './run-server.js';

// A reader that stops early (`trainyard … | head`) closes the pipe: that ends the command, quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

const program = new Command('trainyard')
  .description('Trainyard: build, train and deploy machine-learning models on your own machines')
  .version('0.1.0')
  .showHelpAfterError();

program
  .command('server')
  .description('Run the platform: REST API, workers and serving on one machine')
  .option('--port <port>', 'port to listen on (env TRAINYARD_PORT, default 7070)')
  .option('--host <address>', 'address to bind (env TRAINYARD_HOST, default 127.0.0.1)')
  .option('--data-dir <dir>', 'folder for embedded stores (env TRAINYARD_DATA_DIR, default ./trainyard-data)')
  .option('--metadata <uri>', 'metadata store: sqlite:<file> or postgres://… (env TRAINYARD_METADATA)')
  .option(
    '--blobs <uri>',
    'blob store: file:<folder> or s3://<bucket>/<prefix>/?endpoint=<url> (env TRAINYARD_BLOBS)',
  )
  .option(
    '--messaging <uri>',
    'queues, topics, streams: embedded:, postgres://…, redis://…, nats://… (env TRAINYARD_MESSAGING, default embedded:)',
  )
  .option('--no-auth', 'serve without access keys (loopback binds only)')
  .option('--config <file>', 'config file (default ./trainyard.config.json)')
  .addOption(
    new Option('--log-level <level>', 'log level').choices([
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
  )
  .action(async (flags: Record<string, unknown>) => {
    await runServer({
      flags: {
        port: flags.port,
        host: flags.host,
        dataDir: flags.dataDir,
        metadata: flags.metadata,
        blobs: flags.blobs,
        messaging: flags.messaging,
        auth: flags.auth === false ? false : undefined,
        logLevel: flags.logLevel,
      },
      configFile: flags.config as string | undefined,
    });
  });

program
  .command('migrate')
  .description('Apply pending metadata migrations and exit (the server also applies them at start)')
  .option('--data-dir <dir>', 'folder for embedded stores')
  .option('--metadata <uri>', 'metadata store: sqlite:<file> or postgres://…')
  .action(async (flags: { dataDir?: string; metadata?: string }) => {
    const config = loadServerConfig({ flags: { dataDir: flags.dataDir, metadata: flags.metadata } });
    const { openMetadataStore } = await import('@trainyard/adapters/sql/open-metadata-store');
    const store = await openMetadataStore(config.metadata);
    try {
      const applied = await store.migrate();
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
    } finally {
      await store.close();
    }
  });

addClientCommands(program);
addDatasetCommands(program);
addJobCommands(program);
addTrainingCommands(program);
addTuningCommands(program);
addMessagingCommands(program);
addEndpointCommands(program);
addRegistryCommands(program);
addQuickstartCommands(program);

program.parseAsync().catch((error: unknown) => {
  if (error instanceof TrainyardError) {
    process.stderr.write(`error: ${error.message} (${error.code})\n`);
  } else {
    process.stderr.write(`error: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
