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

/**
 * Two `sleep` children forked one after the other, the first SIGSTOPped before the second was
 * forked (so it never ran first): what keepalived's concurrent notifies look like to the kernel.
 * Runs `body` with their pids, then SIGKILLs both.
 */
export async function withTwoForkedInOrder<T>(body: (first: number, second: number) => T | Promise<T>): Promise<T> {
  const { spawn } = await import('node:child_process');
  const first = spawn('sleep', ['30']);
  await new Promise((resolve) => first.once('spawn', resolve));
  first.kill('SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, 50));
  const second = spawn('sleep', ['30']);
  await new Promise((resolve) => second.once('spawn', resolve));
  try {
    return await body(first.pid as number, second.pid as number);
  } finally {
    first.kill('SIGKILL');
    second.kill('SIGKILL');
  }
}
