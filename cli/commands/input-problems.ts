// What dry-run prints on standard error besides its results: notes (repeated keys, directory entries passed over) and
// the input errors, one line each, capped (LIMITS.maxReportedNotes, LIMITS.maxReportedErrors) with a count of the rest.
import { InputFailure, LIMITS, type InputError } from '../../io/load/source.js';
import { terminalSafe } from '../output/input-errors.js';

/** Writes the notes and errors to standard error; returns the (capped) errors for the output formats. */
export function reportInputProblems(problems: { errors: readonly InputError[]; notes: readonly string[] }): InputError[] {
  for (const line of capLines(problems.notes)) process.stderr.write(`${terminalSafe(line)}\n`);
  if (problems.errors.length === 0) return [];
  const capped = new InputFailure([...problems.errors]).errors;
  for (const line of new InputFailure(capped).message.split('\n')) process.stderr.write(`${terminalSafe(line)}\n`);
  return capped;
}

/** The first LIMITS.maxReportedNotes lines and one counting the rest. */
export function capLines(lines: readonly string[], limit = LIMITS.maxReportedNotes): string[] {
  if (lines.length <= limit) return [...lines];
  return [...lines.slice(0, limit), `apparmor-sim: ${lines.length - limit} more note(s) not shown`];
}
