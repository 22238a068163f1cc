// The daemon's handle on its metrics. Dependency-free on purpose: the daemon imports this file
// statically, and only when `metrics.textfile` or `metrics.listen` is configured does start()
// load prom-client and the exporter (a dynamic import, ./exporter.ts). Events that happen before
// it is loaded (the start-up reconciliation) are queued and replayed, up to MAX_QUEUED.
import type { MetricsConfig } from '../config/types.ts';
import { errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Exporter, ExporterOptions } from './exporter.ts';
import type { MetricsEvent, MetricsSnapshot } from './types.ts';

/** Events kept while the exporter loads; more are dropped (counted in the log line). */
const MAX_QUEUED = 1000;

export interface MetricsSinkOptions {
  config: MetricsConfig;
  /** node and cluster, for `fence_agent_info` */
  node: string;
  cluster: string;
  snapshot: () => MetricsSnapshot;
  log: Logger;
}

export class MetricsSink {
  private exporter: Exporter | null = null;
  private queue: MetricsEvent[] = [];
  private dropped = 0;
  private stopped = false;
  readonly enabled: boolean;

  constructor(private readonly options: MetricsSinkOptions) {
    this.enabled = options.config.textfile !== null || options.config.listen !== null;
  }

  /** Counts an event (a no-op with metrics off). Never throws. */
  record(event: MetricsEvent): void {
    if (!this.enabled || this.stopped) return;
    if (this.exporter !== null) {
      this.exporter.record(event);
      return;
    }
    if (this.queue.length < MAX_QUEUED) this.queue.push(event);
    else this.dropped++;
  }

  /** Something in the snapshot changed: the textfile is rewritten soon (coalesced). Never throws. */
  changed(): void {
    this.exporter?.changed();
  }

  /**
   * Loads prom-client and the exporter, replays the queued events, writes the textfile and opens
   * the listener. Never throws: metrics that cannot start are one error line, the daemon runs on.
   */
  async start(): Promise<void> {
    if (!this.enabled || this.stopped) return;
    const { config, log } = this.options;
    try {
      const { startExporter } = await import('./exporter.ts');
      const options: ExporterOptions = { ...this.options };
      const exporter = await startExporter(options);
      if (this.stopped) {
        // the daemon stopped while prom-client loaded
        await exporter.stop();
        return;
      }
      for (const event of this.queue) exporter.record(event);
      if (this.dropped > 0) log.warn({ dropped: this.dropped }, `metrics: ${this.dropped} events before the exporter loaded were not counted`);
      this.queue = [];
      this.exporter = exporter;
      exporter.changed();
      log.info({ textfile: config.textfile, listen: config.listen }, 'metrics started');
    } catch (error) {
      log.error({ err: errorLine(error) }, `metrics not started: ${errorLine(error)}`);
    }
  }

  /** Writes the textfile one last time and closes the listener. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.exporter?.stop();
  }
}
