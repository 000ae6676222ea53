// Running host commands (kind, docker, podman). Behind an interface so that the drivers can be tested with a fake;
// the real implementation loads execa only when a command actually runs.

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs?: number | undefined;
  input?: string | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  /** Kills the command when aborted (SIGINT during `kind create cluster`); the run then rejects with CommandCanceled. */
  signal?: AbortSignal | undefined;
}

export interface Exec {
  /** Runs a command; resolves with its exit code whatever it is. Rejects only with CommandNotFound, CommandTimedOut or CommandCanceled. */
  run(command: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
}

export class CommandNotFound extends Error {
  constructor(readonly command: string) {
    super(`${command}: command not found`);
  }
}

export class CommandTimedOut extends Error {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${command} did not finish within ${Math.round(timeoutMs / 1000)} s`);
  }
}

export class CommandCanceled extends Error {
  constructor(readonly command: string) {
    super(`${command} was stopped`);
  }
}

/** The real thing: execa 9, imported on first use. */
export const hostExec: Exec = {
  async run(command, args, options = {}) {
    const { execa } = await import('execa');
    const result = await execa(command, [...args], {
      reject: false,
      timeout: options.timeoutMs,
      input: options.input,
      env: options.env,
      cancelSignal: options.signal,
      stripFinalNewline: true,
    });
    if (result.isCanceled) throw new CommandCanceled(command);
    if (result.code === 'ENOENT') throw new CommandNotFound(command);
    if (result.timedOut) throw new CommandTimedOut(command, options.timeoutMs ?? 0);
    return {
      exitCode: result.exitCode ?? (result.failed ? 1 : 0),
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
    };
  },
};

/** The first line of a command's stderr (or stdout), for one-line messages. */
export function firstLine(result: ExecResult): string {
  const text = result.stderr.trim() || result.stdout.trim();
  return (text.split('\n').find((line) => line.trim() !== '') ?? '').trim();
}
