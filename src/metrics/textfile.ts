// The node_exporter textfile (`metrics.textfile`): replaced atomically, so that node_exporter's
// textfile collector — which reads every `*.prom` in its directory at each scrape — sees the old
// file or the new one, never half of one. The text goes to a temp file in the same directory
// (same filesystem: the rename is atomic) whose name node_exporter skips (`.NAME.PID.tmp`: not
// `*.prom`), then is renamed over the target; a failed write removes its temp file.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The temp file beside `file` a write goes through: hidden, and not ending in `.prom`. */
export const textfileTempPath = (file: string, pid = process.pid): string => path.join(path.dirname(file), `.${path.basename(file)}.${pid}.tmp`);

/**
 * Writes `text` to `file` atomically (mode 0644: node_exporter runs as another user). The
 * directory must exist (node_exporter's, created by its package); it is not created here.
 * @throws the fs error (ENOENT for a missing directory, EACCES, ENOSPC...), the temp file removed
 */
export function writeTextfile(file: string, text: string): void {
  const temp = textfileTempPath(file);
  try {
    writeFileSync(temp, text, { mode: 0o644 });
    renameSync(temp, file);
  } catch (error) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // best effort: the write's own error is the one to report
    }
    throw error;
  }
}
