#!/usr/bin/env node
// Would computing the MD5 ETag on a worker thread take it off the upload's critical path?
// Streams 256 MiB of 64 KiB chunks (what an upload hands the store) through MD5 on this thread,
// against copying them into 1 MiB batches transferred to a worker that hashes them, alternating
// run by run. Prints wall and CPU (all threads) medians with the load average.
// node bench/s3/md5-offload.mjs [--mib 256] [--repeat 5]
import { createHash, randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const total = Number(arg('mib', '256')) * 1024 * 1024;
const repeat = Number(arg('repeat', '5'));
const chunkBytes = 64 * 1024;
const batchBytes = 1024 * 1024;
const pool = randomBytes(16 * chunkBytes);
function* chunks() {
  for (let at = 0; at < total; at += chunkBytes) {
    const from = at % pool.length;
    yield pool.subarray(from, from + chunkBytes);
  }
}

// The ring: a SharedArrayBuffer reused for the whole stream; the upload thread copies each chunk
// in (no allocation, the pages stay mapped) and tells the worker where it is; the worker hashes
// it there and hands the space back. No transfer, no fresh batches.
const ringBytes = 8 * 1024 * 1024;
const ring = new SharedArrayBuffer(ringBytes);
const ringWorker = new Worker(
  `const { parentPort, workerData } = require('node:worker_threads');
   const { createHash } = require('node:crypto');
   const ring = new Uint8Array(workerData);
   let md5 = createHash('md5');
   parentPort.on('message', (m) => {
     if (m.length !== undefined) { md5.update(ring.subarray(m.at, m.at + m.length)); parentPort.postMessage(m.length); }
     else { parentPort.postMessage(md5.digest('hex')); md5 = createHash('md5'); }
   });`,
  { eval: true, workerData: ring },
);
const worker = new Worker(
  `const { parentPort } = require('node:worker_threads');
   const { createHash } = require('node:crypto');
   let md5 = createHash('md5');
   parentPort.on('message', (m) => {
     if (m.buffer) md5.update(new Uint8Array(m.buffer, 0, m.length));
     else { parentPort.postMessage(md5.digest('hex')); md5 = createHash('md5'); }
   });`,
  { eval: true },
);

const ways = {
  'MD5 on the upload thread': async () => {
    const md5 = createHash('md5');
    for (const chunk of chunks()) md5.update(chunk);
    return md5.digest('hex');
  },
  'MD5 on a worker (copy into 1 MiB batches, transfer)': async () => {
    let buffer = new ArrayBuffer(batchBytes);
    let view = new Uint8Array(buffer);
    let length = 0;
    const flush = () => {
      worker.postMessage({ buffer, length }, [buffer]);
      buffer = new ArrayBuffer(batchBytes);
      view = new Uint8Array(buffer);
      length = 0;
    };
    for (const chunk of chunks()) {
      view.set(chunk, length);
      length += chunk.length;
      if (length === batchBytes) flush();
    }
    if (length > 0) flush();
    return new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage({});
    });
  },
  'MD5 on a worker (copy into a reused SharedArrayBuffer ring)': async () => {
    const view = new Uint8Array(ring);
    let head = 0;
    let free = ringBytes;
    let wake;
    const onFreed = (m) => {
      if (typeof m === 'number') {
        free += m;
        wake?.();
      }
    };
    ringWorker.on('message', onFreed);
    for (const chunk of chunks()) {
      while (free < chunk.length) await new Promise((resolve) => (wake = resolve));
      // Chunks never straddle the end: skip to the start when the tail is too short.
      let at = head;
      if (at + chunk.length > ringBytes) {
        const skipped = ringBytes - at;
        while (free < chunk.length + skipped) await new Promise((resolve) => (wake = resolve));
        free -= skipped;
        ringWorker.postMessage({ at, length: 0 });
        free += skipped; // the worker hands it back; counted here to keep the sketch simple
        at = 0;
      }
      view.set(chunk, at);
      free -= chunk.length;
      head = at + chunk.length;
      ringWorker.postMessage({ at, length: chunk.length });
    }
    return new Promise((resolve) => {
      const done = (m) => {
        if (typeof m === 'string') {
          ringWorker.off('message', done);
          ringWorker.off('message', onFreed);
          resolve(m);
        }
      };
      ringWorker.on('message', done);
      ringWorker.postMessage({});
    });
  },
};

const results = Object.fromEntries(
  Object.keys(ways).map((name) => [name, { wall: [], cpu: [], busy: [], load: [] }]),
);
let digest;
for (let round = 0; round < repeat; round++) {
  // Alternate which way goes first.
  const order = round % 2 ? Object.entries(ways).reverse() : Object.entries(ways);
  for (const [name, way] of order) {
    const eluBefore = performance.eventLoopUtilization();
    const cpuBefore = process.cpuUsage();
    const start = process.hrtime.bigint();
    const hex = await way();
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpuBefore);
    const busy = performance.eventLoopUtilization(eluBefore).active / 1000;
    if (digest !== undefined && hex !== digest) throw new Error('the two ways disagree on the MD5');
    digest = hex;
    results[name].wall.push(wall);
    results[name].cpu.push((used.user + used.system) / 1e6);
    results[name].busy.push(busy);
    results[name].load.push(loadavg()[0]);
  }
}
await worker.terminate();
await ringWorker.terminate();
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const range = (values) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
console.log(`${total / 1024 / 1024} MiB, ${repeat} runs each, alternating; ${cpus().length} CPUs`);
console.log(
  '| way | wall s median (range) | upload thread busy s median (range) | CPU s all threads median (range) | load average 1 min (range) |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const [name, r] of Object.entries(results)) {
  console.log(
    `| ${name} | ${median(r.wall).toFixed(2)} (${range(r.wall)}) | ${median(r.busy).toFixed(2)} (${range(r.busy)}) | ${median(r.cpu).toFixed(2)} (${range(r.cpu)}) | ${range(r.load)} |`,
  );
}
