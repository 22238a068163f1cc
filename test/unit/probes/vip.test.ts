import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { interfaceUp, probeVip } from '../../../src/probes/vip.ts';
import { scratchDir } from '../../helpers/scratch.ts';

const { fresh } = scratchDir('vip');

/** A fake /sys with `/class/net/<name>/flags` for each entry (hex, as the kernel writes it). */
const fakeSys = (flags: Record<string, string>): string => {
  const root = fresh('sys');
  for (const [name, value] of Object.entries(flags)) {
    mkdirSync(path.join(root, 'class', 'net', name), { recursive: true });
    writeFileSync(path.join(root, 'class', 'net', name, 'flags'), `${value}\n`);
  }
  return root;
};

/** A fake os.networkInterfaces() entry (the boundary probeVip reads). */
const entry = (address: string, family: 'IPv4' | 'IPv6'): NetworkInterfaceInfo =>
  ({ address, family, netmask: family === 'IPv4' ? '255.255.255.0' : 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', internal: false, cidr: null, scopeid: 0 });

// The loopback interface carries 127.0.0.1 and ::1 in every network namespace with lo up.
const MISSING = 'fa-nosuch0';
// TEST-NET-2 (RFC 5737): documentation only, never configured on an interface.
const NOBODY = '198.51.100.77';

describe('probeVip', () => {
  it('the machine has lo with 127.0.0.1 and ::1 (precondition of these tests)', () => {
    const addresses = (networkInterfaces().lo ?? []).map((entry) => entry.address);
    assert.ok(addresses.includes('127.0.0.1'));
    assert.ok(addresses.includes('::1'));
  });

  it('probeVip reports 127.0.0.1 on lo as held', () => {
    assert.deepEqual(probeVip({ address: '127.0.0.1', interface: 'lo' }), { held: true, interfacePresent: true, elsewhere: [] });
  });

  it('probeVip reports an address on another interface as not held and names that interface', () => {
    assert.deepEqual(probeVip({ address: '127.0.0.1', interface: MISSING }), { held: false, interfacePresent: false, elsewhere: ['lo'] });
  });

  it('probeVip names lo as elsewhere when the configured interface exists but lacks the address', () => {
    const interfaces = { lo: [entry('127.0.0.1', 'IPv4')], eth0: [entry('192.0.2.2', 'IPv4')] };
    assert.deepEqual(probeVip({ address: '127.0.0.1', interface: 'eth0' }, interfaces), { held: false, interfacePresent: true, elsewhere: ['lo'] });
  });

  it('probeVip counts a keepalived label such as eth0:1 as the interface itself', () => {
    const interfaces = { eth0: [entry('192.0.2.2', 'IPv4')], 'eth0:1': [entry('192.0.2.100', 'IPv4')] };
    assert.deepEqual(probeVip({ address: '192.0.2.100', interface: 'eth0' }, interfaces), { held: true, interfacePresent: true, elsewhere: [] });
  });

  it('probeVip reports an address nobody has as not held and nowhere else', () => {
    assert.deepEqual(probeVip({ address: NOBODY, interface: 'lo' }), { held: false, interfacePresent: true, elsewhere: [] });
  });

  it('probeVip reports interfacePresent false for a missing interface', () => {
    assert.deepEqual(probeVip({ address: NOBODY, interface: MISSING }), { held: false, interfacePresent: false, elsewhere: [] });
  });

  it('probeVip counts an interface that is up without any address as present (getifaddrs leaves it out), and one that is down or missing as not', () => {
    const sys = fakeSys({ eth1: '0x1003', eth2: '0x1002' });
    assert.deepEqual(probeVip({ address: NOBODY, interface: 'eth1' }, {}, sys), { held: false, interfacePresent: true, elsewhere: [] });
    assert.deepEqual(probeVip({ address: NOBODY, interface: 'eth2' }, {}, sys), { held: false, interfacePresent: false, elsewhere: [] });
    assert.deepEqual(probeVip({ address: NOBODY, interface: 'eth3' }, {}, sys), { held: false, interfacePresent: false, elsewhere: [] });
  });

  it('interfaceUp reads IFF_UP from sysfs: lo is up here, a missing interface is false', () => {
    assert.equal(interfaceUp('lo'), true);
    assert.equal(interfaceUp(MISSING), false);
  });

  it('probeVip compares IPv6 addresses in canonical form', () => {
    for (const address of ['::1', '0:0:0:0:0:0:0:1', '0000:0000:0000:0000:0000:0000:0000:0001', '::0:1', '0::1']) {
      assert.deepEqual(probeVip({ address, interface: 'lo' }), { held: true, interfacePresent: true, elsewhere: [] }, address);
    }
  });

  it('probeVip compares IPv6 addresses case-insensitively', () => {
    const interfaces = { eth0: [entry('fd00::abcd', 'IPv6')] };
    assert.equal(probeVip({ address: 'FD00::ABCD', interface: 'eth0' }, interfaces).held, true);
    assert.equal(probeVip({ address: 'fd00:0:0:0:0:0:0:abcd', interface: 'eth0' }, interfaces).held, true);
  });

  it('probeVip does not take ::1 for 127.0.0.1 or a different IPv6 address for ::1', () => {
    assert.equal(probeVip({ address: '::2', interface: 'lo' }).held, false);
    assert.equal(probeVip({ address: '::ffff:127.0.0.1', interface: 'lo' }).held, false);
    assert.equal(probeVip({ address: '127.0.0.2', interface: 'lo' }).held, false);
  });
});
