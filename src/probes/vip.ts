// Is the virtual IP (managed by keepalived, never by us) on the configured interface?
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** What the VIP probe saw. */
export interface VipState {
  held: boolean;
  /** the configured interface exists in this network namespace and is up (with or without an address) */
  interfacePresent: boolean;
  /** other interfaces in this network namespace that carry the VIP (a misconfiguration) */
  elsewhere: string[];
}

// IPv6 addresses compare in canonical form ("fd00::1" vs "fd00:0:0::1"). (A colon test, not
// net.isIPv6: its first call compiles a large regular expression, ~4 ms of every `check`.)
const canonical = (address: string): string =>
  address.includes(':') ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;

/**
 * Whether interface `name` is administratively up, from sysfs (`/sys/class/net/<name>/flags`,
 * IFF_UP); false when it does not exist; null when sysfs cannot tell.
 */
export function interfaceUp(name: string, sysRoot = '/sys'): boolean | null {
  try {
    return (Number.parseInt(readFileSync(`${sysRoot}/class/net/${name}/flags`, 'utf8').trim(), 16) & 0x1) !== 0;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? false : null;
  }
}

/**
 * Looks the VIP up with getifaddrs(3) (`os.networkInterfaces()`): no process spawn, no netlink
 * library, well under a millisecond. That list leaves out an interface without any address, so
 * the interface's presence also comes from sysfs ({@link interfaceUp}): an idle BACKUP whose VIP
 * interface carries no address of its own (only keepalived's VIP, when MASTER) is not "missing"
 * (issue 11 §6: it was put in FAULT). `interfaces` and `sysRoot` are for tests.
 */
export function probeVip(vip: { address: string; interface: string }, interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(), sysRoot = '/sys'): VipState {
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
  return { held, interfacePresent: interfaces[vip.interface] !== undefined || interfaceUp(vip.interface, sysRoot) === true, elsewhere };
}
