// Child processes a test starts and must not leave behind.
import type { ChildProcess } from 'node:child_process';

/** Remembers children; `killAll` SIGKILLs the live ones and waits until they have exited. */
export class Children {
  private list: ChildProcess[] = [];

  push(child: ChildProcess): ChildProcess {
    this.list.push(child);
    return child;
  }

  readonly killAll = async (): Promise<void> => {
    const live = this.list.filter((child) => child.exitCode === null && child.signalCode === null);
    const exits = live.map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of live) child.kill('SIGKILL');
    await Promise.all(exits);
    this.list = [];
  };
}
