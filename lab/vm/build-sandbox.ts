// Every command of an image build runs in its own PID and mount namespace, tied to the build's
// life: when the builder (this node process) dies — a timeout, Ctrl-C, or SIGKILL, which no
// handler sees — the kernel kills the command and everything it started (debootstrap's dpkg and
// wget, a chroot's postinst scripts), and the mounts they made (debootstrap's /proc and /sys, the
// chroot's /proc) go with the namespace. Without it a killed build left debootstrap running,
// orphaned, still writing into a build directory the next build removes.
//
// The chain, all util-linux: `setpriv --pdeathsig KILL` (prctl(2) PR_SET_PDEATHSIG, kept across
// execve) kills `unshare` when its parent dies; `unshare --fork --pid --kill-child=SIGKILL` kills
// the namespace's first process when unshare ends, and the kernel then kills every other process
// of the namespace (pid_namespaces(7)); `--mount --propagation private` keeps the mounts inside.

/** The argv prefix that runs a command in the build's sandbox (root: unshare --pid needs CAP_SYS_ADMIN). */
export const BUILD_SANDBOX: readonly string[] = ['setpriv', '--pdeathsig', 'KILL', 'unshare', '--mount', '--propagation', 'private', '--fork', '--pid', '--kill-child=SIGKILL', '--'];

/** `argv` run inside the build's sandbox (see {@link BUILD_SANDBOX}). */
export const inBuildSandbox = (argv: readonly string[]): string[] => [...BUILD_SANDBOX, ...argv];
