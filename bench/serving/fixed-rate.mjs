// A fixed-rate load generator (wrk has no fixed-rate mode and wrk2 is not in Debian): sends POSTs
// at `rate` per second for `seconds`, each at its scheduled time whatever the earlier ones did, and
// measures each latency from its scheduled time, so a stall counts for every request it delays
// (no coordinated omission). It writes prebuilt request bytes on raw keep-alive sockets and reads
// only the status line and Content-Length of each answer: node:http's client costs too much CPU
// per request to hold 1,000+ req/s on a loaded machine. Connections open as needed, up to
// `maxConnections`; a request finding none free waits, and its wait counts in its latency.
import { connect } from 'node:net';

/**
 * @param {{ url: string, body: string, headers: Record<string, string>, rate: number, seconds: number, maxConnections?: number }} o
 * @returns {Promise<{ sent: number, ok: number, failed: number, rps: number, p50: number, p90: number, p99: number, max: number }>}
 */
export async function fixedRate(o) {
  const url = new URL(o.url);
  const body = Buffer.from(o.body);
  const head = [
    `POST ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    ...Object.entries(o.headers).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${body.length}`,
    '',
    '',
  ].join('\r\n');
  const requestBytes = Buffer.concat([Buffer.from(head), body]);
  const total = Math.round(o.rate * o.seconds);
  const maxConnections = o.maxConnections ?? 64;
  const latencies = [];
  let ok = 0;
  let failed = 0;
  let finished = 0;
  const idle = [];
  const waiting = [];
  let open = 0;
  let allDone;
  const done = new Promise((resolve) => {
    allDone = resolve;
  });

  const settle = (status, scheduled) => {
    latencies.push(performance.now() - scheduled);
    if (status === 200) ok++;
    else failed++;
    if (++finished === total) allDone();
  };

  const newConnection = () => {
    open++;
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    let buffer = Buffer.alloc(0);
    socket.current = undefined;
    socket.on('data', (chunk) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0 || socket.current === undefined) return;
        const headers = buffer.subarray(0, end).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const status = Number(headers.slice(9, 12));
        buffer = buffer.subarray(end + 4 + length);
        const scheduled = socket.current;
        socket.current = undefined;
        settle(status, scheduled);
        release(socket);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      open--;
      const i = idle.indexOf(socket);
      if (i >= 0) idle.splice(i, 1);
      if (socket.current !== undefined) {
        const scheduled = socket.current;
        socket.current = undefined;
        settle(0, scheduled);
      }
    });
    return socket;
  };

  const send = (socket, scheduled) => {
    socket.current = scheduled;
    socket.write(requestBytes);
  };
  const release = (socket) => {
    const next = waiting.shift();
    if (next !== undefined) send(socket, next);
    else idle.push(socket);
  };
  const fire = (scheduled) => {
    const socket = idle.pop();
    if (socket) send(socket, scheduled);
    else if (open < maxConnections) send(newConnection(), scheduled);
    else waiting.push(scheduled);
  };

  const t0 = performance.now() + 50;
  let next = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + (next * 1000) / o.rate <= now) fire(t0 + (next++ * 1000) / o.rate);
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, Math.min(t0 + (next * 1000) / o.rate - performance.now(), 5)));
    };
    tick();
  });
  await done;
  const elapsed = (performance.now() - t0) / 1000;
  for (const socket of idle) socket.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? Number.NaN;
  return {
    sent: total,
    ok,
    failed,
    rps: total / elapsed,
    p50: q(50),
    p90: q(90),
    p99: q(99),
    max: latencies.at(-1) ?? Number.NaN,
  };
}
