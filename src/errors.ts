// Errors and exit codes shared by every command.
//
// Exit codes follow the OCF resource-agent convention where one applies
// (heartbeat/ocf-returncodes): 2 = ERR_ARGS, 6 = ERR_CONFIGURED.

/** Process exit codes of the `fence-agent` binary (documented in README "Exit codes"). */
export const ExitCode = {
  /** healthy MASTER or healthy BACKUP; command succeeded */
  OK: 0,
  /** unhealthy, or the command failed */
  FAILURE: 1,
  /** malformed arguments (OCF ERR_ARGS); nothing was changed */
  USAGE: 2,
  /** `status` could not tell whether the node is healthy */
  UNKNOWN: 3,
  /** bad or unsafe configuration (OCF ERR_CONFIGURED); nothing was changed */
  CONFIG: 6,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Every error the agent raises on purpose. `code` is stable and documented;
 * `exitCode` is what a command exits with when this error ends it.
 */
export class FenceAgentError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;

  constructor(code: string, message: string, options: { exitCode?: ExitCodeValue; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.FAILURE;
  }

  override get name(): string {
    return 'FenceAgentError';
  }
}

/** Bad configuration: code `ECONFIG`, exit 6. */
export const configError = (message: string): FenceAgentError =>
  new FenceAgentError('ECONFIG', message, { exitCode: ExitCode.CONFIG });

/** Malformed command line: code `EUSAGE`, exit 2. */
export const usageError = (message: string): FenceAgentError =>
  new FenceAgentError('EUSAGE', message, { exitCode: ExitCode.USAGE });

/** True for errors raised by the agent itself (as opposed to bugs or library errors). */
export const isFenceAgentError = (error: unknown): error is FenceAgentError => error instanceof FenceAgentError;

/**
 * `text` on one line: control characters (a newline in an argument, in a program's stderr) and the
 * Unicode line separators written as JSON escapes (`\n`), so that an error stays one line in
 * keepalived's log, ours and a terminal.
 */
export const oneLine = (text: string): string =>
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    if (c === '\t') return ' ';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });

/** One line for a human: the message of any thrown value, without a stack, control characters escaped ({@link oneLine}). */
export const errorLine = (error: unknown): string => {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return oneLine(
      typeof code === 'string' && !error.message.includes(code) && !(error instanceof FenceAgentError)
        ? `${error.message} (${code})`
        : error.message,
    );
  }
  return oneLine(String(error));
};
