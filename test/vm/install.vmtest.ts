// Issue 11: the README's install section, followed step by step on a VM from a plain Debian image
// (lab/vm/recipe.ts plainRecipe: a kernel, systemd, ssh and the network, nothing of the pair).
// Every block marked `install-test` in README "Install" runs in order (lab/vm/install-steps.ts),
// its placeholders filled in; the packages come from a flat apt repository of the image cache's
// .deb files and the agent and Node from tarballs, on a read-only disk (lab/vm/install-media.ts):
// the lab has no network. One node: keepalived alone on the cluster link becomes MASTER.
// Passes when doctor has every line ok (but the lab's named limits) and the node is a healthy
// MASTER serving SQL, holding the reservation, with nothing of the pair enabled that should not be.
//
// In CI (scripts/test-vm.sh runs every file of test/vm; ~9 min cold: the plain image ~3.5 min, the
// packages ~3 min under TCG). Alone: `npm run build && node --import tsx --test
// test/vm/install.vmtest.ts` (it builds the pair's image first if needed: its .deb files are the
// media's repository).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureImage, VMLAB_CACHE } from '../../lab/vm/image.ts';
import { buildInstallMedia, MEDIA_MOUNT, type InstallMedia } from '../../lab/vm/install-media.ts';
import { CONFIG_EDIT_STEP, fillIn, installBlocks } from '../../lab/vm/install-steps.ts';
import { VmLab, type VmNode } from '../../lab/vm/lab.ts';
import { PREFIX, STORAGE_SERVER_IP, VIP, vmAddresses } from '../../lab/vm/net.ts';
import { ISCSI_PORT, TARGET_IQN } from '../../lab/vm/tgt.ts';
import { waitFor } from '../../lab/wait.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const TAG = `inst${process.pid % 10000}`;
const WORK = path.join('/var/tmp', `fence-agent-install-${process.pid}`);
const log = (line: string): void => console.log(`# ${line}`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** What the lab cannot give a correct install (doctor WARN allowed), and why. */
const LAB_LIMITS: Record<string, string> = {
  clock: "the guest has no time source: the lab sets its clock from the host's at boot (no NTP)",
};


/** Runs a script in the guest with bash (-eu, pipefail), failing with its output's tail. */
async function runScript(node: VmNode, name: string, script: string, timeoutMs: number): Promise<string> {
  const started = Date.now();
  const ran = await node.run(['env', 'DEBIAN_FRONTEND=noninteractive', 'bash', '-euo', 'pipefail', '-s'], { input: `${script}\n`, timeoutMs });
  const output = `${ran.stdout}${ran.stderr}`;
  if (ran.exitCode !== 0) throw new Error(`install step "${name}" failed (exit ${ran.exitCode}) after ${seconds(Date.now() - started)}:\n${output.trim().split('\n').slice(-25).join('\n')}`);
  log(`install: ${name} in ${seconds(Date.now() - started)}`);
  return output;
}

describe('the README install on a plain Debian VM', () => {
  let lab: VmLab;
  let media: InstallMedia;

  before(
    async () => {
      // the pair's image: its build downloads the .deb files the media's repository is made of
      await ensureImage({ log });
      mkdirSync(WORK, { recursive: true });
      media = await buildInstallMedia({ workDir: WORK, debsDir: path.join(VMLAB_CACHE, 'debs'), repo: REPO, nodeBinary: process.execPath });
      log(`install media: ${media.debs} .deb files, ${media.nodeTarball}, ${media.agentTarball}`);
      const up = await VmLab.up({ tag: TAG, vms: 1, image: { variant: 'plain', log }, media: media.image, log });
      lab = up.lab;
      log(`plain VM up in ${seconds(up.timings.total)} (image ${seconds(up.timings.image)})`);
    },
    { timeout: 30 * 60_000 },
  );

  after(
    async () => {
      await VmLab.down(TAG, log);
      rmSync(WORK, { recursive: true, force: true });
    },
    { timeout: 5 * 60_000 },
  );

  test('every install-test block of README "Install" runs in order; doctor says ok; the node becomes a healthy MASTER', { timeout: 60 * 60_000 }, async () => {
    const node = lab.node(1);
    const blocks = installBlocks(readFileSync(path.join(REPO, 'README.md'), 'utf8'));
    assert.ok(blocks.length >= 8, `the README's marked blocks: ${blocks.map((b) => b.name).join(', ')}`);

    // standing in for the network: the mirror, nodejs.org and the build host, on the media
    await runScript(
      node,
      'media (the test: the mirror and the tarballs on a local disk)',
      [
        `mkdir -p ${MEDIA_MOUNT}`,
        `mount -o ro /dev/vda ${MEDIA_MOUNT}`,
        'mv /etc/apt/sources.list /etc/apt/sources.list.mirror',
        `echo 'deb [trusted=yes] file:${MEDIA_MOUNT}/debs ./' > /etc/apt/sources.list.d/install-media.list`,
        `echo 'APT::Get::Assume-Yes "true";' > /etc/apt/apt.conf.d/90install-test`,
        'apt-get update',
      ].join('\n'),
      5 * 60_000,
    );

    const values: Record<string, string> = {
      'node tarball': `${MEDIA_MOUNT}/${media.nodeTarball}`,
      'agent tarball': `${MEDIA_MOUNT}/${media.agentTarball}`,
      portal: `${STORAGE_SERVER_IP}:${ISCSI_PORT}`,
      target: TARGET_IQN,
      interface: 'eth1',
      priority: '150',
      'this node': vmAddresses(1).cluster,
      // a one-node pair: the peer's address is on the link, nobody answers it
      'the other node': vmAddresses(2).cluster,
    };
    for (const block of blocks) {
      if (block.name === 'filesystem') {
        // the LU as `ls -l /dev/disk/by-id/` after the login showed it: the link to sdb
        const links = await node.ok("for l in /dev/disk/by-id/*; do [ \"$(readlink -f \"$l\")\" = /dev/sdb ] && echo \"$l\"; done; true", { timeoutMs: 30_000 });
        const lu = links.split('\n').find((line) => /\/(scsi-|wwn-)/.test(line));
        assert.ok(lu !== undefined, `a /dev/disk/by-id link to the LU: ${links}`);
        values.LU = lu;
        log(`install: the LU is ${lu}`);
      }
      if (block.name === 'units') {
        // a one-node pair: the peer's address answers nobody
        const env = `FA_NODE=node1 FA_CLUSTER=install FA_VIP=${VIP}/${PREFIX} FA_INTERFACE=eth1 FA_DEVICE=${values.LU ?? '?'}-part1`;
        await runScript(node, 'edit the configuration (the test)', `export ${env}\n${CONFIG_EDIT_STEP}`, 60_000);
      }
      if (block.name === 'doctor') {
        assert.equal(block.script.trim(), 'fence-agent doctor', 'the test runs it with --json to read each line');
        const ran = await node.run('fence-agent doctor --json', { timeoutMs: 5 * 60_000 });
        const findings = (JSON.parse(ran.stdout) as { findings: { status: string; check: string; detail: string }[] }).findings;
        for (const f of findings) log(`doctor: ${f.status} ${f.check}: ${f.detail}`);
        assert.deepEqual(findings.filter((f) => f.status === 'fail').map((f) => `${f.check}: ${f.detail}`), [], 'no FAIL after the install');
        assert.deepEqual(findings.filter((f) => f.status === 'warn' && LAB_LIMITS[f.check] === undefined).map((f) => `${f.check}: ${f.detail}`), [], `every line ok but the lab's limits (${Object.keys(LAB_LIMITS).join(', ')})`);
        continue;
      }
      const output = await runScript(node, block.name, fillIn(block, values), 20 * 60_000);
      if (block.name === 'packages') assert.match(output, /^v(\d+)\.(\d+)\./m, 'node --version printed');
    }

    // keepalived alone on the link: MASTER after its master-down interval, then the promotion
    const startedMono = Date.now();
    let last = '';
    await waitFor(
      'a healthy MASTER',
      async () => {
        const ran = await node.run('fence-agent check', { timeoutMs: 30_000 });
        last = ran.stderr.trim();
        return ran.exitCode === 0 && /healthy MASTER:/.test(last) && !/in progress/.test(last);
      },
      5 * 60_000,
      2000,
    ).catch(async (error: unknown) => {
      const tail = await node.run('tail -n 30 /var/log/fence-agent.log; systemctl --no-pager status fence-agent keepalived mariadb | tail -n 30', { timeoutMs: 30_000 });
      throw new Error(`${(error as Error).message}; last check: ${last}\n${tail.stdout}`, { cause: error });
    });
    log(`install: healthy MASTER ${seconds(Date.now() - startedMono)} after the start: ${last}`);
    assert.equal((await node.ok("mariadb -N -e 'SELECT 1'", { timeoutMs: 60_000 })).trim(), '1', 'mysqld answers SQL');
    const shown = JSON.parse(await node.ok('fence-agent fence show --json', { timeoutMs: 60_000 })) as { thisNodeKey: string; keys: { key: string }[]; reservation: { key: string; type: number } | null };
    assert.deepEqual(shown.keys.map((k) => k.key), [shown.thisNodeKey], 'this node alone registered');
    assert.equal(shown.reservation?.type, 5, 'WERO');
    assert.equal((await node.ok('systemctl is-enabled fence-agent keepalived', { timeoutMs: 30_000 })).trim(), 'enabled\nenabled');
    assert.equal((await node.run('systemctl is-enabled mariadb', { timeoutMs: 30_000 })).stdout.trim(), 'disabled', 'mariadb.service is started by the agent only');
    assert.equal((await node.run('grep -c /data /etc/fstab', { timeoutMs: 30_000 })).stdout.trim(), '0', 'no fstab line for the shared disk');
  });
});
