// The full command-line surface, with help, for everything except the hot paths (`check` and
// `notify` without --help are parsed by node:util in src/cli.ts and never load yargs).
import yargs from 'yargs';
import { configPathFrom, DEFAULT_CONFIG_PATH } from '../config/load.ts';
import { ExitCode } from '../errors.ts';
import { reportError } from '../commands/common.ts';

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
      (y) => y.options({ ...configOption, json: { type: 'boolean', default: false, describe: 'machine-readable output' } }),
      async (args) => {
        const { main } = await import('../commands/status.ts');
        await main(configPathFrom(args.config), args.json).then(finish, fail('status'));
      },
    )
    .command(
      'config <action>',
      'configuration tools; `config check` validates and prints the resolved configuration (secrets masked)',
      (y) => y.options(configOption).positional('action', { choices: ['check'] as const, demandOption: true }),
      async (args) => {
        const { main } = await import('../commands/config-check.ts');
        try {
          finish(main(configPathFrom(args.config)));
        } catch (error) {
          fail('config check')(error);
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
      process.stderr.write(`fence-agent: ${message}\nrun "fence-agent --help" for usage\n`);
      finish(ExitCode.USAGE);
    });
  await parser.parseAsync();
  return exitCode;
}
