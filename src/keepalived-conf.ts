// keepalived.conf for one node of the pair, generated from the agent's configuration so the two
// cannot drift apart: the vrrp_script timing comes from `keepalived.*` (and is what the timer
// relations were checked against), the VIP from `vip`, the instance name from
// `keepalived.instance`. Syntax and semantics: keepalived.conf(5) of keepalived 2.2
// (global_defs, vrrp_script, vrrp_instance). `fence-agent config keepalived` prints it.
import { isIP } from 'node:net';
import path from 'node:path';
import { configError, usageError } from './errors.ts';
import type { Config } from './config/types.ts';
import { healthFilePath } from './daemon/health-file.ts';

/** The per-node settings of the VRRP instance that the agent's configuration does not hold. */
export interface KeepalivedInstanceSpec {
  /** `interface`: where VRRP adverts go (at most 15 bytes, as vip.interface) */
  interface: string;
  /** `virtual_router_id`, 1..255; the same on both nodes, unique on the LAN */
  virtualRouterId: number;
  /** `priority`, 1..254 (255 is reserved for the address owner); different on the two nodes */
  priority: number;
  /**
   * `advert_int` in ms (default 1000). Whole seconds for an IPv4 VIP (VRRPv2, keepalived rounds
   * anything else), a multiple of 10 ms up to 40950 for an IPv6 VIP (VRRPv3 centiseconds).
   */
  advertIntervalMs?: number;
  /** `unicast_src_ip`: this node's address; same family as the VIP */
  unicastSrcIp?: string;
  /** `unicast_peer` block: the other node's address(es); absent or empty = multicast */
  unicastPeers?: string[];
  /** global_defs `router_id`: names this machine in keepalived's logs (no white space) */
  routerId?: string;
  /** `garp_master_refresh`: re-send gratuitous ARP/NA every this many whole seconds while MASTER */
  garpMasterRefreshS?: number;
}

/** The name of the `vrrp_script` block the instance tracks. */
export const CHECK_SCRIPT_NAME = 'chk_fence_agent';
/** The `track_file` block naming the daemon's health file (src/daemon/health-file.ts). */
export const HEALTH_FILE_NAME = 'fence_agent_health';

/** What is wrong with one field of a spec: the field, what was expected, the value given. */
export interface SpecProblem {
  field: keyof KeepalivedInstanceSpec;
  expected: string;
  got: unknown;
}

const isInteger = (value: unknown, min: number, max: number): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

/**
 * The first problem of `spec` for a VIP of `vipAddress`'s family, or null. With `vipAddress` null
 * (the configuration not read yet) only what does not depend on the family is checked. Pure: the
 * CLI maps the field to its flag, {@link keepalivedConf} throws it.
 */
export function instanceSpecProblem(spec: KeepalivedInstanceSpec, vipAddress: string | null): SpecProblem | null {
  const family = vipAddress === null ? null : isIP(vipAddress);
  if (typeof spec.interface !== 'string' || !/^[^/\s]{1,15}$/.test(spec.interface)) {
    return { field: 'interface', expected: 'an interface name (at most 15 bytes)', got: spec.interface };
  }
  if (!isInteger(spec.virtualRouterId, 1, 255)) return { field: 'virtualRouterId', expected: 'an integer 1..255', got: spec.virtualRouterId };
  if (!isInteger(spec.priority, 1, 254)) return { field: 'priority', expected: 'an integer 1..254', got: spec.priority };
  const advert = spec.advertIntervalMs;
  if (advert !== undefined) {
    const [ok, expected] =
      family === null
        ? [isInteger(advert, 10, 255000), 'an integer 10..255000 (ms)']
        : family === 6
          ? [isInteger(advert, 10, 40950) && advert % 10 === 0, 'a multiple of 10 ms, 10..40950 (an IPv6 VIP means VRRPv3, whose advert_int is in centiseconds)']
          : [isInteger(advert, 1000, 255000) && advert % 1000 === 0, 'whole seconds in ms, 1000..255000 (an IPv4 VIP means VRRPv2, whose advert_int is whole seconds)'];
    if (!ok) return { field: 'advertIntervalMs', expected, got: advert };
  }
  const address = family === null ? 'an IPv4 or IPv6 address' : `an IPv${family} address (the VIP's family)`;
  const wrongFamily = (ip: unknown): boolean => typeof ip !== 'string' || (family === null ? isIP(ip) === 0 : isIP(ip) !== family);
  if (spec.unicastSrcIp !== undefined && wrongFamily(spec.unicastSrcIp)) return { field: 'unicastSrcIp', expected: address, got: spec.unicastSrcIp };
  for (const peer of spec.unicastPeers ?? []) {
    if (wrongFamily(peer)) return { field: 'unicastPeers', expected: address, got: peer };
  }
  if (spec.routerId !== undefined && (typeof spec.routerId !== 'string' || !/^[^\s"#!{}]{1,64}$/.test(spec.routerId))) {
    return { field: 'routerId', expected: 'a router id without white space, quotes, #, ! or braces (at most 64)', got: spec.routerId };
  }
  if (spec.garpMasterRefreshS !== undefined && !isInteger(spec.garpMasterRefreshS, 1, 86400)) {
    return { field: 'garpMasterRefreshS', expected: 'whole seconds 1..86400', got: spec.garpMasterRefreshS };
  }
  return null;
}

/** keepalived splits a script line on white space and ends it at a quote: no quotes, no newlines. */
const SCRIPT_UNSAFE = /["'\\\n\r]/;

/**
 * What is wrong with an agent command for keepalived's `script`/`notify` lines, or null: it must be
 * an absolute path, optionally followed by arguments, without quotes, backslashes or newlines.
 */
export function agentCommandProblem(command: string): string | null {
  const first = command.trim().split(/\s+/)[0] ?? '';
  return SCRIPT_UNSAFE.test(command) || !path.isAbsolute(first)
    ? 'an absolute path, optionally followed by arguments, without quotes, backslashes or newlines'
    : null;
}

/** `ms` as keepalived seconds: an integer when whole, else up to three decimals (1500 → `1.5`). */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(3).replace(/0+$/, '');
}

/** `2 failures`, `1 success`: a count with its noun. */
const times = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : noun.endsWith('s') ? 'es' : 's'}`;

/** Pads `text` so that a trailing comment starts in one column, as in contrib/keepalived.conf.example. */
const withComment = (text: string, comment: string): string => `${text.padEnd(36)}# ${comment}`;

/**
 * A complete keepalived.conf (keepalived.conf(5), keepalived 2.2) for this node of the pair:
 *
 * - `global_defs`: `enable_script_security`, `script_user root`, `router_id` when given,
 *   `notify_fifo` when `config.keepalived.notifyFifo` is set;
 * - `track_file fence_agent_health`: `<runDir>/health`, `weight 0` — the daemon's verdict, read by
 *   inotify (src/daemon/health-file.ts): non-zero puts the instance in FAULT at once;
 * - `vrrp_script chk_fence_agent`: `"<agentCommand> check[ --config PATH]"`, `interval` and
 *   `timeout` from `keepalived.checkIntervalMs` / `checkTimeoutMs` (whole seconds), `fall`/`rise`,
 *   no `weight`;
 * - `vrrp_instance <keepalived.instance ?? VI_1>`: BACKUP, `nopreempt`, the spec's interface,
 *   virtual_router_id, priority, advert_int, unicast addresses, the VIP, `track_file`, `track_script`,
 *   `notify "<agentCommand> notify[ --config PATH]"`, `garp_master_refresh` when given.
 *
 * @param options.agentCommand how keepalived runs the agent: an absolute path, optionally followed
 *   by arguments (e.g. `/usr/bin/node /opt/fence-agent/dist/cli.cjs`); no quotes or backslashes
 * @param options.configPath passed as `--config PATH` to check and notify; omit for the default path
 * @throws FenceAgentError `EUSAGE` (exit 2) for a bad spec field or option, naming it;
 *   `ECONFIG` (exit 6) when `keepalived.checkIntervalMs` or `checkTimeoutMs` is not whole
 *   seconds (vrrp_script `interval` and `timeout` are integers; keepalived ignores anything else)
 */
export function keepalivedConf(config: Config, instance: KeepalivedInstanceSpec, options: { agentCommand: string; configPath?: string }): string {
  const problem = instanceSpecProblem(instance, config.vip.address);
  if (problem !== null) {
    throw usageError(`keepalived.conf: ${problem.field}: expected ${problem.expected}, got ${JSON.stringify(problem.got) ?? 'nothing'}`);
  }
  const agentProblem = agentCommandProblem(options.agentCommand);
  if (agentProblem !== null) throw usageError(`keepalived.conf: agent command: expected ${agentProblem}, got ${JSON.stringify(options.agentCommand)}`);
  const agentCommand = options.agentCommand.trim().split(/\s+/).join(' ');
  const { configPath } = options;
  if (configPath !== undefined && (!path.isAbsolute(configPath) || SCRIPT_UNSAFE.test(configPath) || /\s/.test(configPath))) {
    throw usageError(`keepalived.conf: config path: expected an absolute path without white space, quotes or backslashes, got ${JSON.stringify(configPath)}`);
  }
  const k = config.keepalived;
  for (const key of ['checkIntervalMs', 'checkTimeoutMs'] as const) {
    if (k[key] % 1000 !== 0) {
      throw configError(
        `config ${config.configPath}: keepalived.${key}: expected whole seconds for keepalived.conf (vrrp_script interval and timeout are integers, keepalived.conf(5)), got ${k[key]}`,
      );
    }
  }

  const withConfig = configPath === undefined ? '' : ` --config ${configPath}`;
  const name = k.instance ?? 'VI_1';
  const advertMs = instance.advertIntervalMs ?? 1000;
  const peers = instance.unicastPeers ?? [];
  const vip = config.vip;
  const lines = [
    `# keepalived.conf for node ${config.node} of the fence-agent pair "${config.cluster}" (keepalived.conf(5), keepalived 2.2),`,
    `# generated by \`fence-agent config keepalived\` from ${config.configPath}.`,
    "# The peer's file differs in priority, unicast_src_ip and unicast_peer; regenerate both files",
    '# after changing vip.* or keepalived.* in the configuration.',
    'global_defs {',
    withComment('    enable_script_security', 'scripts must be root-owned in root-owned, non-world-writable paths'),
    withComment('    script_user root', 'check and notify read /proc and mountinfo and talk to the root-only daemon'),
    ...(instance.routerId === undefined ? [] : [`    router_id ${instance.routerId}`]),
    ...(k.notifyFifo === null
      ? []
      : [
          "    # keepalived's ordered channel (global: every instance's state changes, in the order keepalived",
          '    # made them, unlike notify scripts, which are forked concurrently); the daemon reads it',
          `    notify_fifo ${k.notifyFifo}`,
        ]),
    '}',
    '',
    "# the daemon's verdict on this node's health, kept current every monitor.healthIntervalMs",
    `# (${config.monitor.healthIntervalMs} ms; keepalived.checkFall/checkRise verdicts in a row change it): 0 healthy, 1 FAULT.`,
    '# keepalived reads it by inotify (no process per check). Its directory must exist before',
    '# keepalived starts (keepalived drops a tracked file whose directory is missing): the daemon',
    '# creates it; start the daemon first. A missing file counts as healthy.',
    `track_file ${HEALTH_FILE_NAME} {`,
    `    file "${healthFilePath(config.runDir)}"`,
    withComment('    weight 0', 'non-zero → FAULT (the VIP moves away), not a lower priority'),
    '}',
    '',
    "# a second opinion in its own process: reads the fence back from its storage, and still judges",
    '# the node when the daemon is frozen or gone (its tracked file then keeps its last value)',
    `vrrp_script ${CHECK_SCRIPT_NAME} {`,
    `    script "${agentCommand} check${withConfig}"`,
    withComment(`    interval ${formatSeconds(k.checkIntervalMs)}`, 'seconds between checks (keepalived.checkIntervalMs)'),
    withComment(
      `    timeout ${formatSeconds(k.checkTimeoutMs)}`,
      `keepalived kills the check after this; check's own deadline (deadlines.checkMs ${config.deadlines.checkMs} ms) ends first`,
    ),
    withComment(`    fall ${k.checkFall}`, `${times(k.checkFall, 'failure')} in a row → FAULT (the VIP moves away)`),
    withComment(`    rise ${k.checkRise}`, `${times(k.checkRise, 'success')} in a row → back out of FAULT`),
    '    # no weight: a failing check must put the instance in FAULT, not merely lower its priority',
    '    # (with a weight a broken MASTER could keep the VIP); a healthy idle BACKUP passes the check',
    '}',
    '',
    `vrrp_instance ${name} {`,
    withComment('    state BACKUP', 'both nodes start as BACKUP (nopreempt needs it); the election decides'),
    withComment('    nopreempt', 'a recovered node does not take the VIP back from a healthy MASTER (no ping-pong)'),
    `    interface ${instance.interface}`,
    withComment(`    virtual_router_id ${instance.virtualRouterId}`, 'the same on both nodes'),
    withComment(`    priority ${instance.priority}`, 'different on the other node'),
    withComment(`    advert_int ${formatSeconds(advertMs)}`, 'seconds between adverts; MASTER declared dead after about 3 of them'),
    ...(instance.unicastSrcIp === undefined ? [] : [`    unicast_src_ip ${instance.unicastSrcIp}`]),
    ...(peers.length === 0 ? [] : ['    unicast_peer {', ...peers.map((peer) => `        ${peer}`), '    }']),
    '    virtual_ipaddress {',
    `        ${vip.address}/${vip.prefix} dev ${vip.interface}`,
    '    }',
    '    track_file {',
    `        ${HEALTH_FILE_NAME}`,
    '    }',
    '    track_script {',
    `        ${CHECK_SCRIPT_NAME}`,
    '    }',
    `    # keepalived appends "INSTANCE ${name} <STATE> <PRIORITY>"; fence-agent hands it to its daemon`,
    `    notify "${agentCommand} notify${withConfig}"`,
    ...(instance.garpMasterRefreshS === undefined
      ? []
      : [
          `    # re-announce the VIP every ${instance.garpMasterRefreshS} s: after a partition heals, clients find the MASTER again`,
          `    garp_master_refresh ${instance.garpMasterRefreshS}`,
        ]),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}
