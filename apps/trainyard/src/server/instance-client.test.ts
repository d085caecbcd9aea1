import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { InstanceClient, MalformedAnswer, UnreachableInstance } from './instance-client.js';

const servers: Array<Server | HttpServer> = [];
const clients: InstanceClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) {
    (server as HttpServer).closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(server: Server | HttpServer): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A raw TCP "instance" that answers each request (read up to its blank line) with `answer`. */
async function rawInstance(
  answer: (request: string, socket: Socket, count: number) => void,
): Promise<string> {
  let count = 0;
  return listen(
    createServer((socket) => {
      let pending = '';
      socket.on('data', (chunk) => {
        pending += chunk.toString('latin1');
        const match = /Content-Length: (\d+)\r\n/i.exec(pending);
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0 || !match || pending.length < end + 4 + Number(match[1])) return;
        const request = pending.slice(0, end + 4 + Number(match[1]));
        pending = pending.slice(request.length);
        answer(request, socket, ++count);
      });
      socket.on('error', () => undefined);
    }),
  );
}

function client(): InstanceClient {
  const made = new InstanceClient();
  clients.push(made);
  return made;
}

const request = (url: string, body = '1,2,3') => ({
  url,
  contentType: 'text/csv',
  accept: 'application/json',
  customAttributes: 'trace=1',
  body: Buffer.from(body),
});

describe('InstanceClient (the router → instance hop)', () => {
  it('posts to /invocations over one kept-alive connection and reads Content-Length answers', async () => {
    const seen: Array<{ port: number; url: string; headers: Record<string, unknown>; body: string }> = [];
    const url = await listen(
      createHttpServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          seen.push({ port: req.socket.remotePort ?? 0, url: req.url ?? '', headers: req.headers, body });
          res.writeHead(200, {
            'content-type': 'application/json',
            'x-amzn-sagemaker-custom-attributes': 'ok',
          });
          res.end(`[${body}]`);
        });
      }),
    );
    const c = client();
    for (let i = 0; i < 5; i++) {
      const answer = await c.post(request(url, `${i},1`), 5000);
      expect(answer).toMatchObject({ status: 200, contentType: 'application/json', customAttributes: 'ok' });
      expect(answer.body.toString()).toBe(`[${i},1]`);
    }
    expect(new Set(seen.map((s) => s.port)).size).toBe(1);
    expect(seen[0]).toMatchObject({
      url: '/invocations',
      headers: {
        'content-type': 'text/csv',
        accept: 'application/json',
        'x-amzn-sagemaker-custom-attributes': 'trace=1',
      },
    });
    // A body larger than the joined write, and concurrent requests on several connections.
    const big = 'x'.repeat(200_000);
    const answers = await Promise.all([1, 2, 3].map(() => c.post(request(url, big), 5000)));
    for (const answer of answers) expect(answer.body.length).toBe(big.length + 2);
  });

  it('reads chunked answers, answers framed by the connection closing, and Connection: close', async () => {
    const sockets = new Set<Socket>();
    const url = await rawInstance((_request, socket, count) => {
      sockets.add(socket);
      if (count === 1)
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n0.5\r\n2\r\n,1\r\n0\r\n\r\n',
        );
      else if (count === 2)
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
      else socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end');
    });
    const c = client();
    const chunked = await c.post(request(url), 5000);
    expect(chunked).toMatchObject({ status: 200, contentType: 'text/csv' });
    expect(chunked.body.toString()).toBe('0.5,1');
    expect((await c.post(request(url), 5000)).body.toString()).toBe('ok');
    // On a new connection (the old one said close), framed by the instance closing it.
    expect((await c.post(request(url), 5000)).body.toString()).toBe('until the end');
    expect(sockets.size).toBe(2);
  });

  it('skips an informational answer, passes a model error status on and refuses broken answers as MalformedAnswer', async () => {
    const url = await rawInstance((_request, socket, count) => {
      if (count === 1)
        socket.write(
          'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: 9\r\n\r\nbad width',
        );
      else socket.write('garbage\r\n\r\n');
    });
    const c = client();
    const answer = await c.post(request(url), 5000);
    expect(answer.status).toBe(400);
    expect(answer.body.toString()).toBe('bad width');
    await expect(c.post(request(url), 5000)).rejects.toBeInstanceOf(MalformedAnswer);
  });

  it('fails with UnreachableInstance when the instance is gone or drops the request, and times out as 504', async () => {
    const c = client();
    const closed = await listen(createServer((socket) => socket.destroy()));
    await expect(c.post(request(closed), 5000)).rejects.toBeInstanceOf(UnreachableInstance);
    const gone = servers.pop() as Server;
    const port = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    await expect(c.post(request(`http://127.0.0.1:${port}`), 5000)).rejects.toBeInstanceOf(
      UnreachableInstance,
    );
    const silent = await rawInstance(() => undefined);
    const answer = await c.post(request(silent), 300);
    expect(answer.status).toBe(504);
    expect(answer.body.toString()).toMatch(/did not answer/);
  });

  it('retries once on a new connection when a kept-alive one was closed by the instance meanwhile', async () => {
    const url = await rawInstance((_request, socket) => {
      // Answers, then closes the kept-alive connection a moment later (an idle timeout).
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1');
      setTimeout(() => socket.destroy(), 20);
    });
    const c = client();
    expect((await c.post(request(url), 5000)).body.toString()).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await c.post(request(url), 5000)).body.toString()).toBe('1');
  });

  it('refuses header values that would add lines to the request', async () => {
    const c = client();
    await expect(
      c.post({ ...request('http://127.0.0.1:9'), accept: 'text/csv\r\nX-Evil: 1' }, 1000),
    ).rejects.toThrow(/Accept: holds a line break/);
  });
});
