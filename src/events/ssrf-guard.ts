import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where a webhook may not point, unless WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true: loopback,
 * private, link-local (with the cloud metadata address 169.254.169.254), CGNAT (with Alibaba's
 * metadata 100.100.100.200), unspecified, multicast, reserved and benchmark ranges, for IPv4
 * and IPv6; an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) IPv6 address is judged
 * by the IPv4 address it carries.
 */
const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local (incl. AWS's metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv6');
}

/** The IPv4 address an IPv6 one carries (mapped ::ffff:x or NAT64 64:ff9b::x), if any. */
function embeddedV4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const match =
    /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/.exec(lower);
  if (match === null) return undefined;
  if (match[1] !== undefined) return match[1];
  const high = parseInt(match[2], 16);
  const low = parseInt(match[3], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Why an IP address may not be a webhook target; undefined when it may. */
export function forbiddenAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return `'${address}' is not an IP address`;
  if (family === 6) {
    const v4 = embeddedV4(address);
    if (v4 !== undefined) return forbiddenAddress(v4);
    if (address.toLowerCase().startsWith('::ffff:')) return `${address} is an IPv4-mapped address`;
  }
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6')
    ? `${address} is a loopback, private, link-local or otherwise non-public address`
    : undefined;
}

/** A URL's host as an IP literal (brackets of IPv6 removed), or undefined for a name. */
export function literalAddress(hostname: string): string | undefined {
  const bare = hostname.replace(/^\[|\]$/g, '');
  return isIP(bare) !== 0 ? bare : undefined;
}

export class TargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefused';
  }
}

/**
 * The address to connect to for `hostname`: resolved here, and every address it resolves to
 * checked (unless private networks are allowed), so that the connection goes to the address
 * that was checked (a DNS answer that changes between check and connect changes nothing).
 * Throws TargetRefused for a forbidden address, and the resolver's error when the name does
 * not resolve (a network error: retried).
 */
export async function resolveTarget(
  hostname: string,
  allowPrivate: boolean,
): Promise<{ address: string; family: 4 | 6 }> {
  const literal = literalAddress(hostname);
  const addresses =
    literal !== undefined
      ? [{ address: literal, family: isIP(literal) as 4 | 6 }]
      : (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({
          address: a.address,
          family: a.family as 4 | 6,
        }));
  if (addresses.length === 0) throw new Error(`${hostname} resolves to no address`);
  if (!allowPrivate) {
    for (const a of addresses) {
      const reason = forbiddenAddress(a.address);
      if (reason !== undefined) {
        throw new TargetRefused(`${hostname} resolves to a forbidden address: ${reason}`);
      }
    }
  }
  return addresses[0];
}
