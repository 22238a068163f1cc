// The persistent event history: `<stateDir>/history.jsonl`, one event (./types.ts) per line,
// oldest first, read by `fence-agent history` (src/commands/history.ts) with or without a daemon.
//
// - Appended with one write(2) per event (O_APPEND): a crash or a full disk can tear only the
//   line being written; a torn or unreadable line is skipped on read, and the next append starts
//   on a line of its own.
// - Bounded: once the file holds `history.maxEntries` plus a tenth (at least 10) lines, it is
//   rewritten with the newest `maxEntries` (a temp file in the same directory renamed over it):
//   a reader sees the old file or the new one, never half.
// - Survives daemon restarts and reboots (stateDir is persistent); not fsynced: the history is for
//   people, it guards nothing.
// - Never throws into the daemon: a failure is one error line per kind of failure (its errno code)
//   until an append succeeds again.
import { appendFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorLine } from '../errors.ts';
import type { Logger } from '../log.ts';
import { eventProblem, type AgentEvent } from './types.ts';

export const historyFilePath = (stateDir: string): string => path.join(stateDir, 'history.jsonl');

/** Lines allowed beyond `maxEntries` before the file is trimmed back to `maxEntries`. */
export const trimSlack = (maxEntries: number): number => Math.max(10, Math.ceil(maxEntries / 10));

/** What a read of the history found: its events oldest first, and how many lines were not events (torn, foreign, of a later version). */
export interface HistoryRead {
  entries: AgentEvent[];
  skipped: number;
}

/** The events in `text` (the history file's content), oldest first; blank lines ignored, malformed ones counted in `skipped`. */
export function parseHistory(text: string): HistoryRead {
  const entries: AgentEvent[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (eventProblem(value) === null) entries.push(value as AgentEvent);
    else skipped++;
  }
  return { entries, skipped };
}

/**
 * Reads `<stateDir>/history.jsonl`; no file (no event yet) is an empty history.
 * @throws the fs error for a file that exists but cannot be read (EACCES, EISDIR, ...)
 */
export function readHistory(stateDir: string): HistoryRead {
  let text: string;
  try {
    text = readFileSync(historyFilePath(stateDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: 0 };
    throw error;
  }
  return parseHistory(text);
}

export interface HistoryWriterOptions {
  stateDir: string;
  maxEntries: number;
  log: Logger;
}

/** The daemon's appender. Loads the file's line count at the first append, then counts. */
export class HistoryWriter {
  readonly file: string;
  /** lines in the file as far as this writer knows; null: to be read (first append, or after a failure) */
  private lines: number | null = null;
  /** the file does not end with a newline (a torn last line): the next append starts a line first */
  private torn = false;
  /** the kinds of failure already logged (errno code or message), cleared by a good append */
  private readonly failing = new Set<string>();

  constructor(private readonly options: HistoryWriterOptions) {
    this.file = historyFilePath(options.stateDir);
  }

  /** Appends `event` (trimming the file when it is over its bound). Never throws. */
  append(event: AgentEvent): void {
    try {
      if (this.lines === null) this.load();
      appendFileSync(this.file, `${this.torn ? '\n' : ''}${JSON.stringify(event)}\n`, { mode: 0o644 });
      this.torn = false;
      this.lines = (this.lines ?? 0) + 1;
      if (this.lines > this.options.maxEntries + trimSlack(this.options.maxEntries)) this.trim();
      if (this.failing.size > 0) {
        this.options.log.info({ file: this.file }, `history: ${this.file} written again`);
        this.failing.clear();
      }
    } catch (error) {
      this.lines = null; // read the file again next time: a partial write may have left half a line
      const kind = (error as NodeJS.ErrnoException).code ?? errorLine(error);
      if (!this.failing.has(kind)) {
        this.failing.add(kind);
        this.options.log.error({ file: this.file, err: errorLine(error) }, `history: cannot write ${this.file} (${errorLine(error)}); events are not kept there until it can be written (logged once per kind of failure)`);
      }
    }
  }

  /** Counts the lines already in the file and whether its last one is torn. */
  private load(): void {
    let text = '';
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.lines = text.split('\n').filter((line) => line.trim() !== '').length;
    this.torn = text.length > 0 && !text.endsWith('\n');
  }

  /** Rewrites the file with its newest `maxEntries` events (torn and malformed lines dropped). */
  private trim(): void {
    const kept = parseHistory(readFileSync(this.file, 'utf8')).entries.slice(-this.options.maxEntries);
    const temp = `${this.file}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, kept.map((event) => `${JSON.stringify(event)}\n`).join(''), { mode: 0o644 });
      renameSync(temp, this.file);
    } catch (error) {
      rmSync(temp, { force: true }); // a full disk leaves no half temp file behind
      throw error;
    }
    this.lines = kept.length;
    this.torn = false;
  }
}
