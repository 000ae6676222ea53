// Entry point. Commands are imported on demand so that `dry-run` loads only yaml, the model and the CLI code:
// the conformance harness (Kubernetes client, execa) costs more start-up time than a whole dry run.
import { readFileSync } from 'node:fs';
import { EXIT, EXIT_CODES_HELP, UsageError, nearest } from '../io/args.js';
import { importOptional } from './commands/optional.js';
import { InputFailure, formatInputError, systemMessage } from '../io/load/source.js';
import { terminalSafe } from './output/input-errors.js';

const USAGE = `Usage: apparmor-sim <command> [options]

Models what Kubernetes 1.4-1.35 does with a Pod that requests an AppArmor profile.

Commands:
  dry-run <files|dirs|->      simulate each Pod in the given manifests
  scenarios run <files|dirs>  run scenario files against the model
  node snapshot               write this node's AppArmor facts as a --node file
  migrate <files|dirs>        rewrite AppArmor annotations to securityContext.appArmorProfile
  explain <pod.yaml|json>     why a live pod is Blocked/Rejected/failing, and what fixes it
  conformance ...             replay scenarios on a real cluster (see docs/conformance.md)

Options:
  -h, --help     show help (also per command: apparmor-sim dry-run --help)
  --version      print the version

${EXIT_CODES_HELP}
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  'dry-run': async () => (await import('./commands/dry-run.js')).runDryRun,
  scenarios: async () => (await import('./commands/scenarios.js')).runScenarios,
  node: async () => (await import('./commands/node-snapshot.js')).runNode,
  migrate: async () => (await import('./commands/migrate.js')).runMigrate,
  explain: async () => (await import('./commands/explain.js')).runExplain,
  conformance: loadConformance,
};

/** Runs the CLI; returns the exit code. Never throws: every failure becomes a message and an exit code. */
export async function main(argv: string[]): Promise<number> {
  ignoreClosedStdout();
  try {
    return await dispatch(argv);
  } catch (error) {
    return report(error);
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(USAGE);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[first];
  if (!load) {
    const guess = nearest(first.replace(/^-+/, ''), first.startsWith('-') ? ['help', 'version'] : Object.keys(COMMANDS));
    const hint = guess !== undefined ? ` (did you mean ${first.startsWith('-') ? '--' : ''}${guess}?)` : ` (expected one of: ${Object.keys(COMMANDS).join(', ')})`;
    throw new UsageError(first.startsWith('-') ? `unknown option ${first}${guess !== undefined ? hint : ''}` : `unknown command ${JSON.stringify(first)}${hint}`, true);
  }
  try {
    const command = await load();
    return await command(rest);
  } catch (error) {
    if (error instanceof UsageError && !error.command) error.command = first;
    throw error;
  }
}

function report(error: unknown): number {
  if (error instanceof InputFailure) {
    process.stderr.write(error.errors.map((e) => `${terminalSafe(formatInputError(e))}\n`).join(''));
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    const help = error.command ? `apparmor-sim ${error.command} --help` : 'apparmor-sim --help';
    process.stderr.write(`apparmor-sim: ${terminalSafe(error.message)}\n${error.hint ? `Run '${help}' for usage.\n` : ''}`);
    return EXIT.usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`apparmor-sim: internal error: ${message.split('\n')[0] ?? ''}; please report it\n`);
  return EXIT.internal;
}

function packageVersion(): string {
  // Built, this code is in dist/bundle/ (scripts/build.mjs) or dist/cli/main.js; run from source (tests), cli/main.ts.
  for (const candidate of ['../../package.json', '../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'apparmor-sim' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // Not this candidate.
    }
  }
  return 'unknown';
}

/** Written by another part of the project; some builds lack it. */
async function loadConformance(): Promise<Command> {
  const run = (await importOptional(() => import('../conformance/command.js'), 'conformance/command.js'))?.['runConformanceCommand'];
  if (typeof run !== 'function') throw new UsageError('conformance harness not available in this build');
  return async (argv) => {
    const code: unknown = await run(argv);
    return typeof code === 'number' ? code : EXIT.internal;
  };
}

/**
 * `apparmor-sim ... | head` closes the pipe early; that is not an error worth a stack trace. Any other failure to
 * write (a full disk, /dev/full: ENOSPC; EIO) loses output, so it is one line on stderr and exit code 2.
 */
function ignoreClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    writeFailed(error);
  });
}

function writeFailed(error: unknown): never {
  try {
    process.stderr.write(`apparmor-sim: cannot write standard output: ${systemMessage(error)}\n`);
  } catch {
    // Standard error is gone too: the exit code is all that is left.
  }
  process.exit(EXIT.usage);
}
