import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bareKeepalivedConf } from '../../../lab/vm/floor.ts';

// The agent's own generator's output for the example configuration (contrib/keepalived.conf.example
// is `fence-agent config keepalived` for contrib/config.example.json).
const EXAMPLE = readFileSync(path.resolve(import.meta.dirname, '../../../contrib/keepalived.conf.example'), 'utf8');

describe('bareKeepalivedConf', () => {
  const bare = bareKeepalivedConf(EXAMPLE);

  it("removes the check, the daemon's health file, their tracking and the notifies the agent adds", () => {
    assert.ok(EXAMPLE.includes('vrrp_script') && EXAMPLE.includes('track_script') && EXAMPLE.includes('track_file') && /^\s*notify\s/m.test(EXAMPLE), 'the example has what is to be removed');
    assert.doesNotMatch(bare, /vrrp_script|track_script|track_file|fence_agent_health|chk_fence_agent|^\s*notify(_fifo)?\s/m);
  });

  it('keeps the VRRP instance as generated: state, nopreempt, interface, router id, priority, advert, VIP', () => {
    for (const line of EXAMPLE.split('\n').filter((l) => /^\s*(state|nopreempt|interface|virtual_router_id|priority|advert_int|unicast_src_ip|garp_master_refresh)\b/.test(l))) {
      assert.ok(bare.includes(line), `kept: ${line.trim()}`);
    }
    assert.match(bare, /virtual_ipaddress \{\n\s+\S+\/\d+ dev \S+\n\s+\}/);
  });

  it('leaves balanced braces', () => {
    assert.equal((bare.match(/\{/g) ?? []).length, (bare.match(/\}/g) ?? []).length);
  });
});
