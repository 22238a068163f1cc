// The daemon's metrics outputs, loaded only when one is configured (./sink.ts imports this file
// dynamically; it is what pulls prom-client in): the node_exporter textfile, rewritten shortly
// after each change and every `metrics.intervalMs` otherwise, and the optional HTTP listener.
// Neither may hurt the daemon: a failed write or listen is logged (once per different error),
// never thrown, and the daemon goes on.
import type { MetricsConfig } from '../config/types.ts';
import { errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import { startMetricsListener, type MetricsListener } from './listener.ts';
import { AgentMetrics } from './registry.ts';
import { writeTextfile } from './textfile.ts';
import type { MetricsEvent, MetricsSnapshot } from './types.ts';

/** A change is written this long after it (ms), so that the burst of a transition's steps makes one write. */
export const CHANGE_DELAY_MS = 250;

export interface ExporterOptions {
  config: MetricsConfig;
  node: string;
  cluster: string;
  snapshot: () => MetricsSnapshot;
  log: Logger;
}

export interface Exporter {
  readonly metrics: AgentMetrics;
  /** the listener's address, or null when none is configured or it could not listen */
  readonly listening: MetricsListener['address'] | null;
  record(event: MetricsEvent): void;
  /** schedules a textfile write {@link CHANGE_DELAY_MS} from now (one for many changes) */
  changed(): void;
  /** writes the textfile now; resolves when it is written (or failed, logged) */
  flush(): Promise<void>;
  /** stops the timers, writes the textfile a last time and closes the listener */
  stop(): Promise<void>;
}

export async function startExporter(options: ExporterOptions): Promise<Exporter> {
  const { config, log } = options;
  const metrics = new AgentMetrics({ node: options.node, cluster: options.cluster, fenceMethod: options.snapshot().fence.method });
  const render = async (): Promise<{ text: string; contentType: string }> => ({ text: await metrics.render(options.snapshot()), contentType: metrics.contentType });

  let listener: MetricsListener | null = null;
  if (config.listen !== null) {
    try {
      listener = await startMetricsListener({ ...config.listen, render });
      log.info({ listen: listener.address }, `metrics: listening on ${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${listener.address.port}/metrics`);
    } catch (error) {
      log.error({ listen: config.listen, err: errorLine(error) }, `metrics: cannot listen on ${config.listen.host} port ${config.listen.port} (${errorLine(error)}); no listener, the daemon runs on`);
    }
  }

  const file = config.textfile;
  let lastError: string | null = null;
  let writing: Promise<void> | null = null;
  let again = false;
  let changeTimer: NodeJS.Timeout | null = null;
  let stopped = false;

  const writeOnce = async (): Promise<void> => {
    if (file === null) return;
    try {
      writeTextfile(file, (await render()).text);
      if (lastError !== null) log.info({ textfile: file }, 'metrics: textfile written again');
      lastError = null;
    } catch (error) {
      const line = errorLine(error);
      if (line !== lastError) log.error({ textfile: file, err: line }, `metrics: cannot write the textfile ${file} (${line}); retried at the next change or interval`);
      lastError = line;
    }
  };
  /** one write at a time; a request during a write makes one more after it */
  const flush = (): Promise<void> => {
    if (writing !== null) {
      again = true;
      return writing;
    }
    writing = (async () => {
      do {
        again = false;
        await writeOnce();
      } while (again);
    })().finally(() => {
      writing = null;
    });
    return writing;
  };
  const changed = (): void => {
    if (file === null || stopped || changeTimer !== null) return;
    changeTimer = setTimeout(() => {
      changeTimer = null;
      void flush();
    }, CHANGE_DELAY_MS);
    changeTimer.unref();
  };
  const interval = file === null ? null : setInterval(() => void flush(), config.intervalMs);
  interval?.unref();

  return {
    metrics,
    listening: listener?.address ?? null,
    record: (event) => {
      metrics.record(event);
      changed();
    },
    changed,
    flush,
    stop: async () => {
      stopped = true;
      if (changeTimer !== null) clearTimeout(changeTimer);
      if (interval !== null) clearInterval(interval);
      await flush();
      await listener?.close();
    },
  };
}
