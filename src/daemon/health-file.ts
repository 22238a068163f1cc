// The node's health for keepalived without a process per check: the daemon evaluates the rule
// (src/health.ts) every `monitor.healthIntervalMs` and writes keepalived's `track_file`
// (keepalived.conf(5), keepalived 2.2: `track_file NAME { file PATH; weight 0 }`), which keepalived
// reads by inotify: `0` healthy, `1` FAULT. Written only when the value changes, by an atomic
// replace (src/state.ts writeTextAtomic: a temp file renamed over PATH; keepalived follows the
// name, measured in ../shared/reference/ha-anchors.md). `fall` unhealthy verdicts in a row write 1
// and `rise` healthy ones write 0, as vrrp_script's fall/rise; the first verdict is written at once.
//
// Traps measured with keepalived 2.2.7 (issue 12):
// - a missing file counts as 0 (healthy), so the daemon never deletes it;
// - a tracked file whose *directory* does not exist when keepalived starts is dropped for good
//   ("Track file directory for NAME does not exist - removing"): the directory must exist first
//   (the daemon starts before keepalived; contrib's keepalived drop-in creates it too);
// - a file that stops changing keeps its value: a frozen or killed daemon leaves its last verdict,
//   which is why keepalived still runs `fence-agent check` as a slower second opinion and the
//   lease's watchdog covers a daemon that stops.
import path from 'node:path';
import { errorLine } from '../errors.ts';
import type { Verdict } from '../health.ts';
import type { Logger } from '../log.ts';
import { writeTextAtomic } from '../state.ts';

/** The tracked file under the run directory: `<runDir>/health` (the generated keepalived.conf names it). */
export const healthFilePath = (runDir: string): string => path.join(runDir, 'health');

/** What the file says: keepalived's tracked-file status. */
export type HealthValue = 0 | 1;

export interface HealthFileOptions {
  /** the tracked file (see {@link healthFilePath}) */
  file: string;
  /** ms between evaluations (`monitor.healthIntervalMs`) */
  intervalMs: number;
  /** unhealthy verdicts in a row that write 1 (`keepalived.checkFall`) */
  fall: number;
  /** healthy verdicts in a row that write 0 again (`keepalived.checkRise`) */
  rise: number;
  /** one evaluation of the node; a rejection counts as an unhealthy verdict */
  evaluate: () => Promise<Verdict>;
  /** called after a verdict whose health or problems differ from the last one's (not its wording: a SQL latency); the metrics textfile is rewritten then */
  onChange?: () => void;
  log: Logger;
}

export interface HealthSnapshot {
  file: string;
  /** what the file says now; null before the first verdict was written */
  value: HealthValue | null;
  /** the last verdict's line (healthy or not), or null before the first */
  line: string | null;
  /** the last verdict evaluated (one that failed to evaluate included), or null before the first */
  verdict: Verdict | null;
  /** verdicts in a row that disagree with `value` (counting towards fall or rise) */
  pending: number;
}

/** Runs the evaluation loop and keeps the tracked file in step with it. */
export class HealthFile {
  private value: HealthValue | null = null;
  private line: string | null = null;
  private verdict: Verdict | null = null;
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: HealthFileOptions) {}

  /** Evaluates once now, then every `intervalMs` (an evaluation still running skips the tick). */
  start(): void {
    this.stopped = false;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the loop and waits for a running evaluation. The file keeps its last value. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  snapshot(): HealthSnapshot {
    return { file: this.options.file, value: this.value, line: this.line, verdict: this.verdict, pending: this.pending };
  }

  /** One evaluation; resolves when it is applied (the daemon's start-up waits for the first). A call while one runs gets that one. */
  evaluateNow(): Promise<void> {
    if (this.running !== null) return this.running;
    this.running = (async () => {
      let verdict: Verdict;
      try {
        verdict = await this.options.evaluate();
      } catch (error) {
        verdict = { healthy: false, known: false, role: 'BACKUP', inTransition: false, line: `UNHEALTHY: the evaluation failed (${errorLine(error)})`, problems: [errorLine(error)] };
      }
      if (!this.stopped) this.apply(verdict);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private tick(): void {
    if (this.running !== null) return;
    void this.evaluateNow();
  }

  /**
   * Writes 1 (FAULT) now, without waiting for `fall` verdicts: the daemon lost its fence and is
   * self-fencing, and a fenced node must not win VRRP back while it does (issue 9: a thawed
   * zombie's keepalived would otherwise stay MASTER, or become it, on its old health). Healthy
   * verdicts then need `rise` in a row, as after any FAULT. A failed write is logged; the next
   * unhealthy verdict writes it.
   */
  fault(line: string): void {
    this.line = line;
    this.pending = 0;
    if (this.value === 1) return;
    try {
      writeTextAtomic(this.options.file, '1\n');
    } catch (error) {
      this.options.log.error({ file: this.options.file, err: errorLine(error) }, 'cannot write the health file keepalived tracks');
      return;
    }
    this.value = 1;
    this.options.log.warn({ healthFile: this.options.file, value: 1 }, `health 1 for keepalived (FAULT) at once: ${line}`);
  }

  /** Applies a verdict: hysteresis (fall/rise), then the file and one log line when the value changes. */
  apply(verdict: Verdict): void {
    const key = (v: Verdict | null): string => (v === null ? '' : `${v.healthy} ${v.problems.join('|')}`);
    const changed = key(verdict) !== key(this.verdict);
    this.verdict = verdict;
    this.line = verdict.line;
    if (changed) this.options.onChange?.();
    const wanted: HealthValue = verdict.healthy ? 0 : 1;
    if (this.value === wanted) {
      this.pending = 0;
      return;
    }
    this.pending++;
    const needed = this.value === null ? 1 : wanted === 1 ? this.options.fall : this.options.rise;
    if (this.pending < needed) return;
    try {
      writeTextAtomic(this.options.file, `${wanted}\n`);
    } catch (error) {
      this.options.log.error({ file: this.options.file, err: errorLine(error) }, 'cannot write the health file keepalived tracks');
      return; // retried at the next verdict
    }
    const first = this.value === null;
    this.value = wanted;
    this.pending = 0;
    const fields = { healthFile: this.options.file, value: wanted, role: verdict.role };
    if (wanted === 0) this.options.log.info(fields, `health ${first ? '' : 'back to '}0 for keepalived: ${verdict.line}`);
    else this.options.log.warn({ ...fields, problems: verdict.problems }, `health 1 for keepalived (FAULT): ${verdict.line}`);
  }
}
