import type { Decision, Outcome, Stage } from './types.js';

/** The `expect:` block of a scenario. */
export interface Expectation {
  outcome: Outcome;
  stage?: Stage | undefined;
  reason?: string | undefined;
  message?: string | undefined;
  messageContains?: string | undefined;
  /** Per container, what /proc/1/attr/current shows (`name (enforce)`, `unconfined`), or null for "not started". */
  containers?: Readonly<Record<string, { profile?: string | null | undefined }>> | undefined;
  /** Substrings each of which some warning must contain. */
  warnings?: readonly string[] | undefined;
}

export interface Mismatch {
  field: string;
  expected: string;
  actual: string;
}

/**
 * Placeholders the model writes where a cluster prints values nobody can predict (container IDs, pointer addresses,
 * generated names); an expected message matches them with any text.
 */
const PLACEHOLDER = /<container-id>|0xc000000000|<random>/g;

export function messageMatches(expected: string, actual: string): boolean {
  if (expected === actual) return true;
  const pattern = actual
    .split(PLACEHOLDER)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`, 's').test(expected);
}

export function compareExpectation(decision: Decision, expect: Expectation): Mismatch[] {
  const mismatches: Mismatch[] = [];
  const check = (field: string, expected: string | undefined, actual: string, matches = (e: string, a: string) => e === a) => {
    if (expected !== undefined && !matches(expected, actual)) mismatches.push({ field, expected, actual });
  };
  check('outcome', expect.outcome, decision.outcome);
  check('stage', expect.stage, decision.stage);
  check('reason', expect.reason, decision.reason);
  check('message', expect.message, decision.message, messageMatches);
  if (expect.messageContains !== undefined && !decision.message.includes(expect.messageContains)) {
    mismatches.push({ field: 'messageContains', expected: expect.messageContains, actual: decision.message });
  }
  for (const [name, wanted] of Object.entries(expect.containers ?? {})) {
    const actual = decision.containers.find((c) => c.name === name);
    if (!actual) {
      mismatches.push({ field: `containers.${name}`, expected: 'a container of that name', actual: 'no such container' });
      continue;
    }
    if (wanted.profile !== undefined && wanted.profile !== actual.procAttrCurrent) {
      mismatches.push({ field: `containers.${name}.profile`, expected: String(wanted.profile), actual: String(actual.procAttrCurrent) });
    }
  }
  for (const fragment of expect.warnings ?? []) {
    if (!decision.warnings.some((w) => w.includes(fragment))) {
      mismatches.push({ field: 'warnings', expected: fragment, actual: decision.warnings.length ? decision.warnings.join(' | ') : '(no warnings)' });
    }
  }
  return mismatches;
}
