// `fence-agent config keepalived` — print keepalived.conf for this node, generated from the
// configuration (src/keepalived-conf.ts). Exit 0 with the file on stdout; 2 for bad flags (checked
// before the configuration is read, then again against the VIP's family); 6 for a bad configuration.
import { DEFAULT_CONFIG_PATH, loadConfig } from '../config/load.ts';
import { ExitCode, usageError } from '../errors.ts';
import { agentCommandProblem, instanceSpecProblem, keepalivedConf, type KeepalivedInstanceSpec, type SpecProblem } from '../keepalived-conf.ts';

export const CONFIG_KEEPALIVED_USAGE =
  'usage: fence-agent config keepalived --interface IF --router-id N --priority N [--advert-ms MS] [--src IP] [--peer IP ...] [--garp-refresh S] [--agent-command CMD] [--config FILE]';

/** Where keepalived finds the agent unless `--agent-command` says otherwise (README "Install"). */
export const DEFAULT_AGENT_COMMAND = '/usr/local/bin/fence-agent';

/** The flags of `config keepalived` as yargs hands them over: strings, unparsed. */
export interface ConfigKeepalivedFlags {
  interface?: string;
  routerId?: string;
  priority?: string;
  advertMs?: string;
  src?: string;
  peer?: string[];
  garpRefresh?: string;
  agentCommand?: string;
}

/** The flag each spec field comes from (`routerId`, global_defs router_id, is the node name). */
const FLAG: Record<keyof KeepalivedInstanceSpec, string> = {
  interface: '--interface',
  virtualRouterId: '--router-id',
  priority: '--priority',
  advertIntervalMs: '--advert-ms',
  unicastSrcIp: '--src',
  unicastPeers: '--peer',
  routerId: 'node',
  garpMasterRefreshS: '--garp-refresh',
};

const flagError = (problem: SpecProblem): Error => {
  const got = problem.got === undefined ? 'nothing' : JSON.stringify(problem.got);
  return usageError(`${FLAG[problem.field]}: expected ${problem.expected}, got ${got}; ${CONFIG_KEEPALIVED_USAGE}`);
};

/** A decimal integer flag; anything else is kept as given so that the error shows it. */
const integerFlag = (value: string | undefined): number | string | undefined => (value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : value);

/**
 * Parses the flags into an instance spec and checks what does not depend on the configuration
 * (`--agent-command` included).
 * @throws FenceAgentError `EUSAGE` (exit 2), one line naming the flag.
 */
export function specFromFlags(flags: ConfigKeepalivedFlags): KeepalivedInstanceSpec {
  const spec = {
    interface: flags.interface,
    virtualRouterId: integerFlag(flags.routerId),
    priority: integerFlag(flags.priority),
    advertIntervalMs: integerFlag(flags.advertMs),
    unicastSrcIp: flags.src,
    unicastPeers: flags.peer,
    garpMasterRefreshS: integerFlag(flags.garpRefresh),
  } as KeepalivedInstanceSpec; // checked right here
  const problem = instanceSpecProblem(spec, null);
  if (problem !== null) throw flagError(problem);
  const agentProblem = flags.agentCommand === undefined ? null : agentCommandProblem(flags.agentCommand);
  if (agentProblem !== null) {
    throw usageError(`--agent-command: expected ${agentProblem}, got ${JSON.stringify(flags.agentCommand)}; ${CONFIG_KEEPALIVED_USAGE}`);
  }
  return spec;
}

/**
 * Prints keepalived.conf for this node on stdout. `--config PATH` is written into the script lines
 * unless the configuration is at the default path.
 * @throws FenceAgentError `EUSAGE` (exit 2) for bad flags, `ECONFIG` (exit 6) for a bad configuration.
 */
export function main(configPath: string, flags: ConfigKeepalivedFlags): number {
  const spec = specFromFlags(flags);
  const config = loadConfig(configPath);
  const problem = instanceSpecProblem(spec, config.vip.address);
  if (problem !== null) throw flagError(problem);
  const text = keepalivedConf(
    config,
    { ...spec, routerId: config.node },
    {
      agentCommand: flags.agentCommand ?? DEFAULT_AGENT_COMMAND,
      ...(config.configPath === DEFAULT_CONFIG_PATH ? {} : { configPath: config.configPath }),
    },
  );
  process.stdout.write(text);
  return ExitCode.OK;
}
