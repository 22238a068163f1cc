// The daemon's handle on its events (./types.ts): each one stamped (version, time, node, cluster),
// appended to the history (./history.ts) and queued for the hook (./hook.ts, when `events.exec` is
// set). Like the metrics' sink (src/metrics/sink.ts): never throws, never waits — a transition that
// emits an event goes on at once.
import type { EventsConfig, HistoryConfig } from '../config/types.ts';
import { errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import { EventHook, KILL_GRACE_MS, WAIT_SLACK_MS } from './hook.ts';
import { HistoryWriter } from './history.ts';
import { EVENT_VERSION, type AgentEvent, type EventFacts } from './types.ts';

export interface EventSinkOptions {
  node: string;
  cluster: string;
  stateDir: string;
  events: EventsConfig;
  history: HistoryConfig;
  log: Logger;
  /** the wall clock (tests fix it) */
  now?: () => Date;
}

export class EventSink {
  readonly history: HistoryWriter;
  private readonly hook: EventHook | null;

  constructor(private readonly options: EventSinkOptions) {
    const { events, log } = options;
    this.history = new HistoryWriter({ stateDir: options.stateDir, maxEntries: options.history.maxEntries, log });
    this.hook = events.exec === null ? null : new EventHook({ file: events.exec, timeoutMs: events.timeoutMs, log });
  }

  /** Records each event, in order: into the history, then to the hook's queue. Never throws. */
  emit(...facts: EventFacts[]): void {
    for (const fact of facts) {
      try {
        const event: AgentEvent = {
          version: EVENT_VERSION,
          kind: fact.kind,
          at: (this.options.now?.() ?? new Date()).toISOString(),
          node: this.options.node,
          cluster: this.options.cluster,
          role: fact.role,
          detail: fact.detail,
          ...(fact.durationMs === undefined ? {} : { durationMs: fact.durationMs }),
          ...(fact.outcome === undefined ? {} : { outcome: fact.outcome }),
        };
        this.history.append(event);
        this.hook?.enqueue(event);
      } catch (error) {
        this.options.log.error({ err: errorLine(error), event: fact.kind }, `event ${fact.kind} not recorded: ${errorLine(error)}`);
      }
    }
  }

  /** Resolves once every queued event has been handed to the hook (tests; the daemon never waits for this during a transition). */
  async idle(): Promise<void> {
    await this.hook?.idle();
  }

  /**
   * At the daemon's stop: gives the hook the time of one run (`events.timeoutMs` and the kill
   * grace) to finish what is queued; then what is left is dropped and a running hook killed.
   */
  async stop(): Promise<void> {
    await this.hook?.stop(this.options.events.timeoutMs + KILL_GRACE_MS + WAIT_SLACK_MS);
  }
}
