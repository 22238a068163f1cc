// Is the virtual IP (managed by keepalived, never by us) on the configured interface?
import { networkInterfaces } from 'node:os';

/** What the VIP probe saw. */
export interface VipState {
  held: boolean;
  /** the configured interface exists in this network namespace (has at least one address) */
  interfacePresent: boolean;
  /** other interfaces in this network namespace that carry the VIP (a misconfiguration) */
  elsewhere: string[];
}

// IPv6 addresses compare in canonical form ("fd00::1" vs "fd00:0:0::1"). (A colon test, not
// net.isIPv6: its first call compiles a large regular expression, ~4 ms of every `check`.)
const canonical = (address: string): string =>
  address.includes(':') ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;

/**
 * Looks the VIP up with getifaddrs(3) (`os.networkInterfaces()`, which lists only interfaces
 * that are up and running): no process spawn, no netlink library, well under a millisecond.
 * `interfaces` is for tests.
 */
export function probeVip(vip: { address: string; interface: string }, interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): VipState {
  const wanted = canonical(vip.address);
  const elsewhere: string[] = [];
  let held = false;
  for (const [name, addresses] of Object.entries(interfaces)) {
    // keepalived labels VIPs as "eth0:1" only when asked to; the kernel reports them under "eth0".
    const base = name.split(':')[0];
    for (const entry of addresses ?? []) {
      if (canonical(entry.address) !== wanted) continue;
      if (base === vip.interface) held = true;
      else elsewhere.push(name);
    }
  }
  return { held, interfacePresent: interfaces[vip.interface] !== undefined, elsewhere };
}
