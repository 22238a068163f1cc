import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { configError } from '../errors.ts';
import { resolveConfig } from './schema.ts';
import { untrustedReason, type TrustOptions } from './trust.ts';
import type { Config } from './types.ts';

/** Where the configuration is read from when neither `--config` nor `FENCE_AGENT_CONFIG` is given. */
export const DEFAULT_CONFIG_PATH = '/etc/fence-agent/config.json';

/** `--config` wins over `FENCE_AGENT_CONFIG`, which wins over {@link DEFAULT_CONFIG_PATH}. */
export const configPathFrom = (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string =>
  path.resolve(flag || env.FENCE_AGENT_CONFIG || DEFAULT_CONFIG_PATH); // empty counts as unset

/**
 * Reads, parses and validates the configuration file (synchronously: it is a small local file).
 * Trust, as keepalived's `enable_script_security` (src/config/trust.ts): the file, the programs it
 * names (`mysqld.start[0]`, `mysqld.stop[0]`, `events.exec`) and the agent's own directories (`runDir`,
 * `stateDir`, when they exist) must be owned by root (or the user running the agent) and not
 * writable by group or other, nor may any directory above them be (sticky directories excepted).
 * A file that holds a password is refused when group or other may read it.
 * @param trust for tests: who counts as owner besides root, a fake stat
 * @throws FenceAgentError code `ECONFIG` (exit 6) with one line naming the file and the problem.
 */
export function loadConfig(configPath: string, trust: TrustOptions = {}): Config {
  let text: string;
  let mode: number;
  try {
    mode = statSync(configPath).mode;
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw configError(`config ${configPath}: cannot read it (${code})`);
  }
  const unsafeFile = untrustedReason(configPath, trust);
  if (unsafeFile !== null) throw configError(`config ${configPath}: not trusted: ${unsafeFile}`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw configError(`config ${configPath}: not valid JSON: ${(error as Error).message}`);
  }
  const config = resolveConfig(raw, configPath);
  const trusted: [string, string | undefined][] = [
    ['mysqld.start[0]', config.mysqld.start?.[0]],
    ['mysqld.stop[0]', config.mysqld.stop?.[0]],
    ['events.exec', config.events.exec ?? undefined],
    ['runDir', config.runDir],
    ['stateDir', config.stateDir],
  ];
  for (const [key, file] of trusted) {
    const unsafe = file === undefined ? null : untrustedReason(file, trust);
    if (unsafe !== null) throw configError(`config ${configPath}: ${key} not trusted: ${unsafe}`);
  }
  if (config.mysqld.health.password !== null && (mode & 0o044) !== 0) {
    throw configError(
      `config ${configPath}: holds mysqld.health.password but is readable by group/other (mode ${octal(mode)}); expected no group/other read bits: chmod 600 ${configPath}`,
    );
  }
  return config;
}

const octal = (mode: number): string => (mode & 0o777).toString(8).padStart(4, '0');

/** A copy of `config` safe to print: secrets replaced by `"***"`. */
export function maskSecrets(config: Config): Config {
  const password = config.mysqld.health.password === null ? null : '***';
  return { ...config, mysqld: { ...config.mysqld, health: { ...config.mysqld.health, password } } };
}
