import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ConfigSources } from './config.js';
import { loadServerConfig, localUrlOf, type ServerFile, serverFileName } from './config.js';
import { doorServicesOf } from './doors.js';
import { openPlatform } from './platform.js';
import { buildHttpApp } from './server/http-app.js';

function printBootstrapKey(id: string, secret: string): void {
  const lines = [
    'Trainyard created the first admin access key. It is shown only this once:',
    '',
    `  access key id : ${id}`,
    `  secret        : ${secret}`,
    '',
    'Use it as "Authorization: Bearer <secret>", or export TRAINYARD_KEY=<secret> for the CLI.',
    'For the SageMaker and S3 doors it is the AWS access key id / secret access key pair.',
  ];
  process.stdout.write(`\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`);
}

/**
 * `trainyard server`: opens the stores, serves HTTP, and on SIGTERM/SIGINT drains in-flight
 * requests (up to the grace period) before closing the stores.
 */
export async function runServer(sources: ConfigSources): Promise<void> {
  const config = loadServerConfig(sources);
  const log = pino({ level: config.logLevel, base: { service: 'trainyard' } });
  const platform = await openPlatform(config, log);
  // A key set through TRAINYARD_ADMIN_KEY is known to whoever set it: print only generated ones.
  if (platform.bootstrapKey && !config.adminKey)
    printBootstrapKey(platform.bootstrapKey.id, platform.bootstrapKey.secret);
  const app = await buildHttpApp(doorServicesOf(platform));
  const address = await app.listen({ port: config.port, host: config.host });
  if (config.workerConcurrency > 0) await platform.jobs.startWorker();
  platform.endpoints.startReconciler();
  platform.jobs.startTuner();
  log.info(
    { address, dataDir: config.dataDir, metadata: platform.metadata.kind, blobs: platform.blobs.kind },
    'listening',
  );
  // The CLI on this machine reads it to find this server (any --port, any --host).
  const serverFile = join(config.dataDir, serverFileName);
  const bound = app.server.address();
  const url = typeof bound === 'object' && bound ? localUrlOf(config.host, bound.port) : address;
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(serverFile, `${JSON.stringify({ url, pid: process.pid } satisfies ServerFile)}\n`);
  const removeServerFile = () => {
    try {
      // Another server may have started on the same folder since: leave its file alone.
      if ((JSON.parse(readFileSync(serverFile, 'utf8')) as ServerFile).pid === process.pid)
        rmSync(serverFile);
    } catch {}
  };
  process.once('exit', removeServerFile);
  // Always printed, whatever the log level: people and scripts wait for this line.
  process.stdout.write(`Trainyard listening on ${address} (data: ${config.dataDir})\n`);
  const isolation = platform.jobs.isolation();
  process.stdout.write(
    `${isolation ? isolation.summary : 'job isolation: no worker in this process (workerConcurrency 0)'}\n`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => {
      log.warn('grace period over; closing with requests still in flight');
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000);
    force.unref();
    try {
      await app.close();
      await platform.close();
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'error while shutting down');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
