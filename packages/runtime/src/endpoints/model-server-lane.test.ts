import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeLaneFrame, type LaneFrame, LaneFrameDecoder, lanePreface } from './lane-frames.js';
import { startModelServer } from './model-server.js';

const fixtures = new URL('../../../ml/fixtures/', import.meta.url);
const data = JSON.parse(readFileSync(new URL('data-binary.json', fixtures), 'utf8')) as {
  features: number;
  test: { x: (number | null)[] };
};

/** A raw lane connection: sends bytes, collects answer frames, tells when the server closed it. */
function laneConnection(port: number) {
  const socket: Socket = connect({ host: '127.0.0.1', port });
  const decoder = new LaneFrameDecoder(1 << 26);
  const frames: LaneFrame[] = [];
  const waiters: Array<() => void> = [];
  let closed = false;
  socket.on('data', (chunk) => {
    frames.push(...decoder.push(chunk));
    for (const w of waiters.splice(0)) w();
  });
  socket.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => undefined);
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return {
    socket,
    frames,
    closed: () => closed,
    answers: async (n: number) => {
      await until(() => frames.length >= n || closed);
      return frames.slice(0, n);
    },
    gone: () => until(() => closed),
  };
}

const request = (id: number, body: string, extra: Partial<LaneFrame> = {}) =>
  encodeLaneFrame({
    id,
    status: 0,
    contentType: 'text/csv',
    accept: undefined,
    customAttributes: undefined,
    body: Buffer.from(body),
    ...extra,
  });

describe('the built-in model server on the lane', () => {
  let dir: string;
  let base: string;
  let lanePort: number;
  let close: () => void;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'model-server-lane-'));
    copyFileSync(new URL('xgb-binary.model.json', fixtures), join(dir, 'xgboost-model'));
    const { server, lane } = await startModelServer({ modelDir: dir, port: 0, lanePort: 0 });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    lanePort = (lane!.address() as AddressInfo).port;
    close = () => {
      server.close();
      lane?.close();
    };
  });
  afterAll(() => {
    close?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      data.test.x
        .slice(i * data.features, (i + 1) * data.features)
        .map((v) => (v === null ? '' : String(v)))
        .join(','),
    );

  it('answers each request frame with what the HTTP path answers, matched by id, many in one write', async () => {
    const lane = laneConnection(lanePort);
    const bodies = rows(10);
    lane.socket.write(
      Buffer.concat([
        lanePreface,
        ...bodies.map((b, i) => request(100 + i, b)),
        request(200, bodies.join('\n'), { accept: 'application/json' }),
        request(201, '1,2', { customAttributes: 'trace=1' }),
        request(202, '{}', { contentType: 'application/xml' }),
      ]),
    );
    const answers = await lane.answers(13);
    lane.socket.destroy();
    const byId = new Map(answers.map((a) => [a.id, a]));
    for (let i = 0; i < 10; i++) {
      const http = await fetch(`${base}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: bodies[i],
      });
      const a = byId.get(100 + i)!;
      expect({ status: a.status, type: a.contentType, body: a.body.toString() }).toEqual({
        status: 200,
        type: 'text/csv',
        body: await http.text(),
      });
    }
    expect(byId.get(200)?.contentType).toBe('application/json');
    expect(JSON.parse(byId.get(200)!.body.toString()).predictions).toHaveLength(10);
    expect(byId.get(201)?.status).toBe(400);
    expect(byId.get(201)?.body.toString()).toMatch(/features/);
    expect(byId.get(202)?.status).toBe(415);
  });

  it('closes a connection that does not start with the preface or sends a huge frame, and keeps serving others', async () => {
    const http = laneConnection(lanePort);
    http.socket.write('POST /invocations HTTP/1.1\r\n\r\n');
    await http.gone();
    expect(http.frames).toEqual([]);
    const huge = laneConnection(lanePort);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(0x7fffffff);
    huge.socket.write(Buffer.concat([lanePreface, head]));
    await huge.gone();
    const good = laneConnection(lanePort);
    good.socket.write(Buffer.concat([lanePreface, request(1, rows(1)[0]!)]));
    const [answer] = await good.answers(1);
    good.socket.destroy();
    expect(answer?.status).toBe(200);
  });

  it('is refused for a script handler', async () => {
    await expect(
      startModelServer({
        modelDir: dir,
        port: 0,
        lanePort: 0,
        handler: { description: 'x', invoke: async () => ({ body: '', contentType: 'text/plain' }) },
      }),
    ).rejects.toThrow(/built-in models only/);
  });
});
