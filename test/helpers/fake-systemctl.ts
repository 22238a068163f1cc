// A fake systemctl on PATH for unit tests (test/unit/fixtures/fake-systemctl.sh): it records its
// calls and answers `is-active` from a list, so a test can play systemd's side of a unit.
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const SCRIPT = path.resolve(import.meta.dirname, '../unit/fixtures/fake-systemctl.sh');

export interface FakeSystemctl {
  /** the fake's state directory ($FAKE_SYSTEMCTL_DIR) */
  dir: string;
  /** every call so far, as `command unit ...` */
  calls(): string[];
  /** what `is-active` answers, in order; the last answer repeats */
  answers(states: string[]): void;
  /** a sh script run for `command` (e.g. `stop`, `start`), its exit code systemctl's; its arguments are systemctl's */
  on(command: string, script: string): void;
  /** forgets calls, answers and scripts */
  reset(): void;
}

/**
 * Puts a `systemctl` symlink to the fake first on this process's PATH (children inherit it) with
 * its state in `<dir>/state`. Call once per test file (each file runs in its own process).
 */
export function installFakeSystemctl(dir: string): FakeSystemctl {
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  mkdirSync(bin, { recursive: true });
  mkdirSync(state, { recursive: true });
  symlinkSync(SCRIPT, path.join(bin, 'systemctl'));
  process.env.PATH = `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  process.env.FAKE_SYSTEMCTL_DIR = state;
  return {
    dir: state,
    calls: () => {
      try {
        return readFileSync(path.join(state, 'calls'), 'utf8').split('\n').filter((line) => line !== '');
      } catch {
        return [];
      }
    },
    answers: (states) => writeFileSync(path.join(state, 'is-active'), states.map((s) => `${s}\n`).join('')),
    on: (command, script) => writeFileSync(path.join(state, `on-${command}`), script),
    reset: () => {
      rmSync(state, { recursive: true, force: true });
      mkdirSync(state, { recursive: true });
    },
  };
}
