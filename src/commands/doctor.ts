// `fence-agent doctor [--json] [--keepalived-conf PATH]` — what an operator gets wrong on a first
// install, one line per check: ok, WARN or FAIL, and a fix (src/doctor/checks.ts, read by
// src/doctor/gather.ts). A configuration that does not load (bad value, untrusted file or
// permissions, a password others can read) is a FAIL line too. Exit 0 with no FAIL, 1 with one.
import { loadConfig } from '../config/load.ts';
import { errorLine, ExitCode, usageError } from '../errors.ts';
import { comparePeer, type Finding, type NodeFacts } from '../doctor/checks.ts';

export const DEFAULT_KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';

/** The findings as lines for a person: `ok    check: detail`, `FAIL  check: detail` + `      fix: …`. */
export function formatFindings(findings: readonly Finding[]): string[] {
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${f.status === 'ok' ? 'ok  ' : f.status.toUpperCase()}  ${f.check}: ${f.detail}`);
    if (f.status !== 'ok' && f.fix) lines.push(`      fix: ${f.fix}`);
  }
  const count = (status: Finding['status']): number => findings.filter((f) => f.status === status).length;
  lines.push(`doctor: ${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail`);
  return lines;
}

/** The default bound on the peer's `doctor --json` over ssh, ms. */
export const DEFAULT_PEER_TIMEOUT_MS = 30_000;

/**
 * Runs the checks (and with `peer` the comparison with that host's `doctor --json`, over ssh,
 * bounded by `peerTimeoutMs`) and prints them; returns the exit code. Never throws for what it finds.
 * @throws FenceAgentError `EUSAGE` (exit 2) for a `peerTimeoutMs` outside 1000..600000 or without `peer`
 */
export async function main(configPath: string, json: boolean, keepalivedConf: string | undefined, peer?: string, peerTimeoutMs?: number): Promise<number> {
  if (peerTimeoutMs !== undefined) {
    if (!Number.isInteger(peerTimeoutMs) || peerTimeoutMs < 1000 || peerTimeoutMs > 600_000) throw usageError(`--peer-timeout-ms: expected an integer 1000..600000 (ms), got ${String(peerTimeoutMs)}`);
    if (peer === undefined) throw usageError('--peer-timeout-ms goes with --peer');
  }
  let findings: Finding[];
  let facts: NodeFacts | null = null;
  try {
    const config = loadConfig(configPath);
    const { gather, peerReport } = await import('../doctor/gather.ts');
    ({ findings, facts } = await gather(config, { keepalivedConf: keepalivedConf ?? DEFAULT_KEEPALIVED_CONF }));
    if (peer !== undefined) {
      try {
        const other = await peerReport(peer, peerTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS);
        findings.push(...comparePeer(facts, other.facts));
        const failing = other.findings.filter((f) => f.status === 'fail').length;
        findings.push(failing === 0 ? { status: 'ok', check: 'peer', detail: `${other.facts.node}'s own doctor: no FAIL` } : { status: 'fail', check: 'peer', detail: `${other.facts.node}'s own doctor: ${failing} FAIL`, fix: `run fence-agent doctor on ${peer}` });
      } catch (error) {
        findings.push({ status: 'fail', check: 'peer', detail: errorLine(error), fix: 'ssh to the peer as root must work without a password (BatchMode), with fence-agent on its PATH' });
      }
    }
  } catch (error) {
    findings = [{ status: 'fail', check: 'config', detail: errorLine(error), fix: 'fence-agent config check says the same; the configuration must be root-owned, not writable by others, and a password in it readable by root only' }];
  }
  process.stdout.write(json ? `${JSON.stringify({ version: 1, facts, findings }, null, 2)}\n` : `${formatFindings(findings).join('\n')}\n`);
  return findings.some((f) => f.status === 'fail') ? ExitCode.FAILURE : ExitCode.OK;
}
