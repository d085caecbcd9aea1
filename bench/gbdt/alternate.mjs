// Helpers shared by bench/gbdt and bench/ml: a long-lived peer process answering one JSON line per
// command (so ours and the peer can alternate run by run), the load average to print beside each figure,
// and medians / ranges.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';

/** A child process that reads one JSON command per line and answers one JSON line. */
export class PeerProcess {
  constructor(cmd, args) {
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  async ask(command) {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    const next = await Promise.race([this.lines.next(), this.exited.then((code) => ({ code }))]);
    if (next.code !== undefined || next.done)
      throw new Error(`peer exited (${next.code}) on ${JSON.stringify(command)}`);
    return JSON.parse(next.value);
  }

  close() {
    this.child.stdin.end();
  }
}

/** 1-minute load average, the figure printed beside every measurement. */
export const load1 = () => +loadavg()[0].toFixed(2);

export function median(a) {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** { median, min, max } rounded to `digits` significant digits. */
export function stats(a, digits = 4) {
  const r = (v) => +v.toPrecision(digits);
  return { median: r(median(a)), min: r(Math.min(...a)), max: r(Math.max(...a)) };
}

/** Runs `ours` and `peer` `runs` times each, alternating which goes first, and records the load before each. */
export async function alternate(runs, ours, peer) {
  const out = [];
  for (let r = 0; r < runs; r++) {
    const row = {};
    const order = r % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const side of order) {
      const load = load1();
      row[side] = { ...(await (side === 'ours' ? ours(r) : peer(r))), load };
    }
    out.push(row);
  }
  return out;
}
