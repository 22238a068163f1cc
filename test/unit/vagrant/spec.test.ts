// The Vagrant lab's shape (lab/vagrant/spec.ts): the VIP and each node's server_id come from one
// place, the spec the Vagrantfile reads; a name that is not a node is refused with one line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VAGRANT_VIP, vagrantLabSpec, vagrantServerId } from '../../../lab/vagrant/spec.ts';

describe('vagrant spec', () => {
  it('gives the VIP the Vagrantfile reads', () => {
    assert.equal(vagrantLabSpec('node.tar.gz').vip, VAGRANT_VIP);
  });

  it('gives each node the server_id of its spec entry', () => {
    for (const machine of vagrantLabSpec('').machines.filter((m) => m.id !== undefined)) {
      assert.equal(vagrantServerId(machine.name), machine.id);
    }
    assert.deepEqual([vagrantServerId('node1'), vagrantServerId('node2')], [1, 2]);
  });

  it('refuses a machine that is not a node (the san has no server_id)', () => {
    assert.throws(() => vagrantServerId('san'), /san is not one of the lab's nodes/);
    assert.throws(() => vagrantServerId('node3'), /node3 is not one of the lab's nodes/);
  });
});
