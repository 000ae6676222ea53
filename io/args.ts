// Flag parsing shared by the commands: node:util parseArgs in strict mode, with its errors reworded for people.
import { parseArgs } from 'node:util';
import { KNOWN_GATES } from '../sim/feature-gates.js';
import type { FeatureGates, Minor } from '../sim/types.js';
import { parseVersion } from '../sim/version.js';
import { InputFailure } from './load/source.js';

/**
 * A mistake on the command line, exit code 2: printed as `apparmor-sim: <message>`, followed by a pointer to --help
 * when the shape of the command line is wrong (a bad value already says what is expected).
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint = false,
    /** The command whose --help the hint points to; main fills it in. */
    public command = '',
  ) {
    super(message);
  }
}

export const EXIT = {
  ok: 0,
  refusedOrFailed: 1,
  usage: 2,
  internal: 3,
  /** conformance only: no cluster, or no scenario could run on it. */
  skipped: 4,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  every pod runs / every scenario passed
  1  some pod is refused (or meets another --fail-on condition) / some scenario failed
  2  usage or input error (one line per error on stderr: file:line[:col]: message); the results
     of every other file and document are still printed
  3  internal error (a bug in apparmor-sim; please report it)
  4  conformance: skipped, no reachable cluster or no scenario could run on it (the reason is on stderr)
  130/143  conformance: interrupted by SIGINT/SIGTERM, after cleanup`;

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true ? boolean[] : boolean
  : S['multiple'] extends true ? string[] : string;

export type ParsedValues<S extends OptionSpecs> = { [K in keyof S]?: ValueOf<S[K]> };

export interface Parsed<S extends OptionSpecs> {
  values: ParsedValues<S>;
  positionals: string[];
}

/** parseArgs with `--help` added and its error codes turned into one-line messages. */
export function parseCommandLine<S extends OptionSpecs>(argv: readonly string[], options: S, command: string): Parsed<S> & { help: boolean } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    const { help, ...rest } = values as Record<string, unknown>;
    return { values: rest as ParsedValues<S>, positionals, help: help === true };
  } catch (error) {
    const message = parseErrorMessage(error);
    const unknown = /^unknown option (--?[^\s]+)$/.exec(message)?.[1];
    const suggestion = unknown !== undefined ? nearest(unknown.replace(/^-+/, '').split('=')[0] ?? '', [...Object.keys(options), 'help']) : undefined;
    throw new UsageError(suggestion !== undefined ? `${message} (did you mean --${suggestion}?)` : message, true, command);
  }
}

/** The candidate closest to `word` (case-insensitive edit distance at most 2, or a case-only difference), if any. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= Math.min(2, Math.floor(candidate.length / 3)) && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 200 || b.length > 200) return 99;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const swap = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? (previous[j - 2] ?? 0) : 99;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1), swap + 1);
    }
    previous = current;
  }
  return previous[b.length] ?? 99;
}

function parseErrorMessage(error: unknown): string {
  const code = error && typeof error === 'object' && 'code' in error ? String(error.code) : '';
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // Either "Option '--x <value>' argument missing" or "Option '--x' does not take an argument".
      const flag = quoted.split(' ')[0] ?? quoted;
      return message.includes('does not take') ? `option ${flag} does not take a value` : `option ${flag} needs a value`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted}`;
    default:
      return message.split('\n')[0] ?? message;
  }
}

export function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag}: unknown value ${JSON.stringify(value)} (expected one of: ${choices.join(', ')})`);
}

export function parseVersionFlag(flag: string, value: string): Minor {
  const parsed = parseVersion(value);
  if (!parsed.ok) throw new UsageError(`${flag}: ${parsed.message}`);
  return parsed.minor;
}

/** `A=true,B=false`, the syntax of the components' own --feature-gates flag; the flag may repeat. */
export function parseFeatureGates(values: readonly string[]): FeatureGates {
  const gates: Record<string, boolean> = {};
  for (const item of splitList(values)) {
    const match = /^([A-Za-z][A-Za-z0-9]*)=(true|false)$/i.exec(item);
    if (!match?.[1] || !match[2]) {
      throw new UsageError(`--feature-gates: malformed entry ${JSON.stringify(item)} (expected Name=true or Name=false, comma separated)`);
    }
    // Gate names are case-sensitive (component-base/featuregate: "unrecognized feature gate"); a near miss of a gate
    // the model knows is a typo no component would start with, not a gate the model merely does not model.
    const known = nearest(match[1], KNOWN_GATES);
    if (known !== undefined && known !== match[1]) {
      throw new UsageError(`--feature-gates: unrecognized feature gate: ${match[1]} (did you mean ${known}?)`);
    }
    gates[match[1]] = match[2].toLowerCase() === 'true';
  }
  return gates;
}

/** `k=v,k2=v2` as kubectl label selectors write equality; values may be empty. */
export function parseLabels(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of splitList(values)) {
    const eq = item.indexOf('=');
    const key = eq === -1 ? '' : item.slice(0, eq);
    if (!/^([A-Za-z0-9.-]+\/)?[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(key)) {
      throw new UsageError(`--namespace-labels: malformed label ${JSON.stringify(item)} (expected key=value, comma separated)`);
    }
    labels[key] = item.slice(eq + 1);
  }
  return labels;
}

function splitList(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(',')).map((item) => item.trim()).filter((item) => item !== '');
}

/**
 * Errors about a combination of flag values (e.g. a gate the version does not know), one line each, in the
 * `file: message` shape of input errors with the program name in place of the file.
 */
export function flagFailure(messages: readonly string[]): InputFailure {
  return new InputFailure(messages.map((message) => ({ file: 'apparmor-sim', message })));
}
