import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TrainyardError } from '@trainyard/contracts/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookTargetPolicy } from './webhook-target.js';

describe('WebhookTargetPolicy', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['169.254.169.254', 'a link-local address'],
    ['10.1.2.3', 'a private address'],
    ['172.20.0.1', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['100.64.0.1', 'a shared (carrier-grade NAT) address'],
    ['0.0.0.0', 'an unspecified address'],
    ['::1', 'a loopback address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['fe80::1', 'a link-local address'],
    ['fd00::1', 'a private address'],
  ])('refuses %s as %s', (address, reason) => {
    expect(new WebhookTargetPolicy().refusal(address)).toBe(reason);
  });

  it('lets public addresses and the networks the operator allows through', () => {
    const policy = new WebhookTargetPolicy(['10.1.0.0/16', '::1']);
    expect(policy.refusal('93.184.215.14')).toBeUndefined();
    expect(policy.refusal('2606:4700::1111')).toBeUndefined();
    expect(policy.refusal('10.1.200.3')).toBeUndefined();
    expect(policy.refusal('::1')).toBeUndefined();
    expect(policy.refusal('10.2.0.1')).toBe('a private address');
    expect(() => new WebhookTargetPolicy(['10.0.0.0/40'])).toThrow(/webhookAllowedNetworks: "10.0.0.0\/40"/);
    expect(() => new WebhookTargetPolicy(['intranet'])).toThrow(/is not an address or CIDR/);
  });

  it('resolves names when checking, naming the address a name leads to', async () => {
    const error = await new WebhookTargetPolicy()
      .check(`http://localhost:${port}/hook`)
      .catch((e: unknown) => e as TrainyardError);
    expect(error).toBeInstanceOf(TrainyardError);
    expect(error).toMatchObject({ code: 'PERMISSION_DENIED', details: { field: 'endpoint.url' } });
    expect((error as TrainyardError).message).toMatch(
      /localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
    );
  });

  it('refuses at delivery time on the resolved address, so a name that changed since subscribe gets nothing', async () => {
    const before = hits;
    const policy = new WebhookTargetPolicy();
    for (const url of [`http://localhost:${port}/hook`, `http://127.0.0.1:${port}/hook`]) {
      await expect(policy.post(url, '{}', {}, AbortSignal.timeout(2000))).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
    }
    expect(hits).toBe(before);
    // The same call through a policy that allows loopback arrives.
    expect(
      await new WebhookTargetPolicy(['127.0.0.1']).post(
        `http://127.0.0.1:${port}/hook`,
        '{}',
        {},
        AbortSignal.timeout(2000),
      ),
    ).toBe(204);
    expect(hits).toBe(before + 1);
  });
});
