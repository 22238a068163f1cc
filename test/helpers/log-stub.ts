// A Logger that records what it is given instead of writing it.
import type { Logger } from '../../src/log.ts';

export interface LogLine {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  fields: Record<string, unknown>;
  message: string;
}

/** The recording logger and its lines; `child()` records into the same list. */
export function logStub(): { log: Logger; lines: LogLine[]; messages: (level?: LogLine['level']) => string[] } {
  const lines: LogLine[] = [];
  const record =
    (level: LogLine['level']) =>
    (first: unknown, second?: unknown): void => {
      if (typeof first === 'string') lines.push({ level, fields: {}, message: first });
      else lines.push({ level, fields: (first ?? {}) as Record<string, unknown>, message: typeof second === 'string' ? second : '' });
    };
  const log = {
    trace: record('trace'),
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    fatal: record('fatal'),
    child: () => log,
  } as unknown as Logger;
  return { log, lines, messages: (level) => lines.filter((line) => level === undefined || line.level === level).map((line) => line.message) };
}
