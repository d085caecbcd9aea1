import { lookup as dnsLookup } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { invalidArgument, TrainyardError } from '@trainyard/contracts/errors';

/**
 * Address ranges a webhook never reaches unless the operator allows them: the server's own
 * loopback, link-local (cloud metadata at 169.254.169.254), private, shared, multicast and
 * reserved networks. IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry.
 */
const refusedRanges: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'an unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'a private'],
  ['100.64.0.0', 10, 'ipv4', 'a shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'ipv4', 'a loopback'],
  ['169.254.0.0', 16, 'ipv4', 'a link-local'],
  ['172.16.0.0', 12, 'ipv4', 'a private'],
  ['192.0.0.0', 24, 'ipv4', 'a reserved'],
  ['192.168.0.0', 16, 'ipv4', 'a private'],
  ['198.18.0.0', 15, 'ipv4', 'a reserved'],
  ['224.0.0.0', 4, 'ipv4', 'a multicast'],
  ['240.0.0.0', 4, 'ipv4', 'a reserved'],
  ['::', 128, 'ipv6', 'an unspecified'],
  ['::1', 128, 'ipv6', 'a loopback'],
  ['fc00::', 7, 'ipv6', 'a private'],
  ['fe80::', 10, 'ipv6', 'a link-local'],
  ['ff00::', 8, 'ipv6', 'a multicast'],
  ['64:ff9b::', 96, 'ipv6', 'a NAT64'],
];

function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0) {
    throw invalidArgument('webhookAllowedNetworks', `"${text}" is not an address or CIDR (e.g. 10.0.0.0/8)`);
  }
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw invalidArgument('webhookAllowedNetworks', `"${text}": the prefix length must be 0..${max}`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Decides where the server may send webhooks. A target is checked when subscribing (its name is
 * resolved, every address must pass) and again at each delivery, on the addresses the connection
 * actually uses: the request connects to an address this policy approved, so a name that
 * resolves elsewhere later (DNS rebinding) is refused too.
 *
 * @param allowedNetworks CIDRs (or single addresses) the operator opens despite the refused ranges,
 *   e.g. `["10.1.0.0/16", "127.0.0.1"]` (config `webhookAllowedNetworks`). Default: none.
 */
export class WebhookTargetPolicy {
  readonly #refused = new BlockList();
  readonly #reasons: [BlockList, string][] = [];
  readonly #allowed = new BlockList();

  constructor(allowedNetworks: readonly string[] = []) {
    for (const [address, prefix, family, reason] of refusedRanges) {
      this.#refused.addSubnet(address, prefix, family);
      const one = new BlockList();
      one.addSubnet(address, prefix, family);
      this.#reasons.push([one, reason]);
    }
    for (const cidr of allowedNetworks) {
      const { address, prefix, family } = parseCidr(cidr);
      this.#allowed.addSubnet(address, prefix, family);
    }
  }

  /** Why `address` is refused ("a loopback address"), or undefined when webhooks may reach it. */
  refusal(address: string): string | undefined {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (this.#allowed.check(address, family) || !this.#refused.check(address, family)) return undefined;
    const reason = this.#reasons.find(([list]) => list.check(address, family))?.[1] ?? 'a refused';
    return `${reason} address`;
  }

  /**
   * Resolves the URL's host and refuses it when any address is in a refused range.
   * @throws PERMISSION_DENIED naming `field` and the address; INVALID_ARGUMENT when the name does not resolve
   */
  async check(url: string, field = 'endpoint.url'): Promise<void> {
    const host = hostOf(url);
    let addresses: string[];
    try {
      addresses = isIP(host)
        ? [host]
        : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw invalidArgument(field, `host "${host}" does not resolve`);
    }
    for (const address of addresses) {
      const refusal = this.refusal(address);
      if (refusal) throw refused(field, host, address, refusal);
    }
  }

  /** A `lookup` for http.request that hands the socket only approved addresses. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as unknown as { address: string; family: number }[];
      for (const { address } of list) {
        const refusal = this.refusal(address);
        if (refusal) return callback(refused('endpoint.url', hostname, address, refusal), '', 0);
      }
      if (options.all) return callback(null, list as never);
      const [first] = list;
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };

  /**
   * POSTs `body` to `url` through this policy: literal addresses are checked, names are resolved
   * by {@link lookup}; redirects are not followed. Resolves with the HTTP status.
   */
  post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<number> {
    const target = new URL(url);
    const host = hostOf(url);
    if (isIP(host)) {
      const refusal = this.refusal(host);
      if (refusal) return Promise.reject(refused('endpoint.url', host, host, refusal));
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<number>((resolve, reject) => {
      const req = send(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: this.lookup,
          signal,
        },
        (res) => {
          // The status decides the attempt; the body is drained in the background and cut off
          // past 1 MiB, so an endpoint that never stops sending cannot hold a delivery slot.
          let seen = 0;
          res.on('data', (chunk: Buffer) => {
            seen += chunk.length;
            if (seen > 1 << 20) res.destroy();
          });
          res.on('error', () => {});
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

function hostOf(url: string): string {
  const hostname = new URL(url).hostname;
  return hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
}

function refused(field: string, host: string, address: string, refusal: string): TrainyardError {
  const what = host === address ? `${address} is ${refusal}` : `${host} resolves to ${address}, ${refusal}`;
  return new TrainyardError(
    'PERMISSION_DENIED',
    `${field}: ${what}; webhooks do not go to loopback, link-local or private networks unless the operator allows them (config webhookAllowedNetworks)`,
    { field },
  );
}
