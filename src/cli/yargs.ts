// The full command-line surface, with help, for everything except the hot paths (`check` and
// `notify` without --help are parsed by node:util in src/cli.ts and never load yargs).
import yargs from 'yargs';
import { configPathFrom, DEFAULT_CONFIG_PATH } from '../config/load.ts';
import { ExitCode, oneLine, usageError } from '../errors.ts';
import { reportError } from '../commands/common.ts';

/** Thrown by the fail handler after it has printed a usage error, to stop yargs there. */
const USAGE_REPORTED = new Error('usage error reported');

/** Parses `argv` (without node and script) and runs the command; returns the exit code. */
export async function runYargs(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.OK;
  const finish = (code: number): void => {
    exitCode = code;
  };
  const fail = (command: string) => (error: unknown) => finish(reportError(command, error));
  const configOption = {
    config: { type: 'string', describe: `configuration file (also FENCE_AGENT_CONFIG; default ${DEFAULT_CONFIG_PATH})` },
  } as const;
  // `config keepalived` only. Strings, parsed by the command, so that an error shows what was given.
  const keepalivedOptions = {
    interface: { type: 'string', describe: 'config keepalived: VRRP interface' },
    'router-id': { type: 'string', describe: 'config keepalived: virtual_router_id 1..255 (the same on both nodes)' },
    priority: { type: 'string', describe: 'config keepalived: priority 1..254 (different on the two nodes)' },
    'advert-ms': { type: 'string', describe: 'config keepalived: advert_int in ms (default 1000)' },
    src: { type: 'string', describe: "config keepalived: unicast_src_ip, this node's address" },
    peer: { type: 'string', array: true, describe: "config keepalived: unicast_peer, the other node's address (repeatable)" },
    'garp-refresh': { type: 'string', describe: 'config keepalived: garp_master_refresh in seconds' },
    'agent-command': { type: 'string', describe: 'config keepalived: how keepalived runs fence-agent (default /usr/local/bin/fence-agent)' },
  } as const;

  const parser = yargs(argv)
    .scriptName('fence-agent')
    .usage('$0 <command> [options]\n\nKeeps a two-node MySQL/MariaDB pair on one shared disk safe under keepalived.')
    .command(
      'check',
      'keepalived vrrp_script: exit 0 for healthy MASTER or healthy BACKUP, 1 otherwise',
      (y) => y.options({ ...configOption, 'timeout-ms': { type: 'number', describe: 'own deadline in ms (default deadlines.checkMs)' } }),
      async () => {
        const { main } = await import('../commands/check.ts');
        finish(await main(argv.slice(1)));
      },
    )
    .command(
      'notify [args..]',
      'keepalived notify: `notify master|backup|fault|stop` or `notify INSTANCE NAME STATE PRIORITY`; hands the request to the daemon',
      (y) => y.options(configOption).positional('args', { type: 'string', array: true }),
      async () => {
        const { main } = await import('../commands/notify.ts');
        finish(await main(argv.slice(1)));
      },
    )
    .command(
      'daemon',
      'run the daemon that owns all transitions (systemd ExecStart)',
      (y) => y.options(configOption),
      async (args) => {
        const { main } = await import('../commands/daemon.ts');
        await main(configPathFrom(args.config)).then(finish, fail('daemon'));
      },
    )
    .command(
      'status',
      'one screen: role, VIP, mount, mysqld, fence, daemon, last transition; exit 0 healthy, 1 unhealthy, 3 cannot tell',
      (y) =>
        y.options({
          ...configOption,
          json: { type: 'boolean', default: false, describe: 'machine-readable output' },
          live: { type: 'boolean', default: false, describe: "read the fence from the storage, not the daemon's published state (scsi-pr)" },
        }),
      async (args) => {
        const { main } = await import('../commands/status.ts');
        await main(configPathFrom(args.config), args.json, args.live).then(finish, fail('status'));
      },
    )
    .command(
      'switchover',
      'on the MASTER: hand the role to the peer (keepalived told through the health file), verified by the fence; exit 0 done, 1 refused/failed/aborted, 3 no outcome in time',
      (y) => y.options({ ...configOption, 'timeout-ms': { type: 'number', describe: "the hand-over's bound in ms (default: this node's demotion plus the peer's promotion deadline)" } }),
      async (args) => {
        const { main } = await import('../commands/switchover.ts');
        await main(configPathFrom(args.config), args['timeout-ms']).then(finish, fail('switchover'));
      },
    )
    .command(
      'maintenance <mode>',
      'on: the daemon takes no action on this node (keepalived requests recorded, not applied; the MASTER keeps its role, a BACKUP takes none; the fence keeps working); off: act again',
      (y) =>
        y
          .options({ ...configOption, reason: { type: 'string', describe: 'maintenance on: why (shown by status, at most 200 characters)' } })
          .positional('mode', { choices: ['on', 'off'] as const, demandOption: true }),
      async (args) => {
        const { main } = await import('../commands/maintenance.ts');
        await main(configPathFrom(args.config), args.mode === 'on', args.reason).then(finish, fail('maintenance'));
      },
    )
    .command(
      'doctor',
      'what a first install gets wrong, one line each (ok, WARN, FAIL) with a fix: fstab, distro units, keepalived.conf, the fence, the watchdog, MMP, the write cache, durability, the clock; exit 1 on a FAIL',
      (y) =>
        y.options({
          ...configOption,
          json: { type: 'boolean', default: false, describe: 'machine-readable output' },
          'keepalived-conf': { type: 'string', describe: 'keepalived.conf to check (default /etc/keepalived/keepalived.conf)' },
          peer: { type: 'string', describe: "compare with the peer's doctor --json over ssh (root, BatchMode): the same LU, VIP and fence target; unique names and keys" },
          'peer-timeout-ms': { type: 'number', describe: "bound on the peer's doctor over ssh, in ms (default 30000)" },
        }),
      async (args) => {
        const { main } = await import('../commands/doctor.ts');
        await main(configPathFrom(args.config), args.json, args['keepalived-conf'], args.peer, args['peer-timeout-ms']).then(finish, fail('doctor'));
      },
    )
    .command(
      'history',
      "what happened on this node, when, why, how long, how it ended (fenced, self-fenced, fenced-in, promotion, demotion, failover, local-restart, maintenance): <stateDir>/history.jsonl, the newest last; no daemon needed",
      (y) =>
        y.options({
          ...configOption,
          json: { type: 'boolean', default: false, describe: 'machine-readable output' },
          limit: { type: 'string', describe: 'the newest N events (1..100000, default 20)' },
        }),
      async (args) => {
        try {
          const { main } = await import('../commands/history.ts');
          finish(main(configPathFrom(args.config), args.json, args.limit));
        } catch (error) {
          fail('history')(error);
        }
      },
    )
    .command(
      'rejoin',
      'after a look: make this node a candidate again (clears the start hold of keepalived.startMode clean and the self-fence latch) — only on a clean node',
      (y) => y.options(configOption),
      async (args) => {
        const { main } = await import('../commands/rejoin.ts');
        await main(configPathFrom(args.config)).then(finish, fail('rejoin'));
      },
    )
    .command(
      'fence <action>',
      '`fence show`: the fence read from the storage (lease record; keys, reservation, full status); `fence clear --yes-i-have-checked-the-peer`: clear a fence a dead node left (refused while this node has the filesystem or a holder is seen alive)',
      (y) =>
        y
          .options({
            ...configOption,
            json: { type: 'boolean', default: false, describe: 'fence show: machine-readable output' },
            'yes-i-have-checked-the-peer': { type: 'boolean', default: false, describe: 'fence clear: the peer is powered off or cut from the storage' },
          })
          .positional('action', { choices: ['show', 'clear'] as const, demandOption: true }),
      async (args) => {
        const command = `fence ${args.action}`;
        const fence = await import('../commands/fence.ts');
        const run = args.action === 'show' ? fence.show(configPathFrom(args.config), args.json) : fence.clear(configPathFrom(args.config), args['yes-i-have-checked-the-peer']);
        await run.then(finish, fail(command));
      },
    )
    .command(
      'config <action>',
      'configuration tools; `config check` validates and prints the resolved configuration (secrets masked); `config keepalived` prints keepalived.conf for this node',
      (y) =>
        y
          .options({ ...configOption, ...keepalivedOptions })
          .positional('action', { choices: ['check', 'keepalived'] as const, demandOption: true })
          .example('$0 config keepalived --interface eth0 --router-id 51 --priority 150 --src 192.168.6.174 --peer 192.168.6.175 --garp-refresh 2', 'keepalived.conf of the first node'),
      async (args) => {
        const command = `config ${args.action}`;
        try {
          if (args.action === 'keepalived') {
            const { main } = await import('../commands/config-keepalived.ts');
            const { interface: ifname, routerId, priority, advertMs, src, peer, garpRefresh, agentCommand } = args;
            finish(main(configPathFrom(args.config), { interface: ifname, routerId, priority, advertMs, src, peer, garpRefresh, agentCommand }));
            return;
          }
          const stray = Object.keys(keepalivedOptions).find((flag) => args[flag as keyof typeof args] !== undefined);
          if (stray !== undefined) throw usageError(`--${stray} belongs to config keepalived`);
          const { main } = await import('../commands/config-check.ts');
          finish(await main(configPathFrom(args.config)));
        } catch (error) {
          fail(command)(error);
        }
      },
    )
    .demandCommand(1, 'no command given')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      process.stderr.write(`fence-agent: ${oneLine(message)}\nrun "fence-agent --help" for usage\n`);
      finish(ExitCode.USAGE);
      // Without a throw yargs goes on to run the command's handler despite the failed validation.
      throw USAGE_REPORTED;
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    if (error !== USAGE_REPORTED) throw error;
  }
  return exitCode;
}
