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
  /** For a workload scenario: the workload's own create, and the controller's FailedCreate event. */
  workload?: WorkloadExpectation | undefined;
}

export interface WorkloadExpectation {
  outcome: 'Created' | 'Forbidden';
  reason?: string | undefined;
  message?: string | undefined;
  messageContains?: string | undefined;
  /** Substrings each of which some warning on the workload create must contain. */
  warnings?: readonly string[] | undefined;
  /** The FailedCreate event message (placeholders as in `message`). */
  event?: string | undefined;
  /** The controller records no FailedCreate event (the pod is created). */
  noEvent?: boolean | undefined;
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
  if (expect.workload) mismatches.push(...compareWorkload(decision, expect.workload));
  for (const fragment of expect.warnings ?? []) {
    if (!decision.warnings.some((w) => w.includes(fragment))) {
      mismatches.push({ field: 'warnings', expected: fragment, actual: decision.warnings.length ? decision.warnings.join(' | ') : '(no warnings)' });
    }
  }
  return mismatches;
}

function compareWorkload(decision: Decision, expect: WorkloadExpectation): Mismatch[] {
  const actual = decision.workload;
  if (!actual) return [{ field: 'workload', expected: expect.outcome, actual: 'no workload' }];
  const mismatches: Mismatch[] = [];
  const check = (field: string, expected: string | undefined, value: string, matches = (e: string, a: string) => e === a) => {
    if (expected !== undefined && !matches(expected, value)) mismatches.push({ field: `workload.${field}`, expected, actual: value });
  };
  check('outcome', expect.outcome, actual.outcome);
  check('reason', expect.reason, actual.reason);
  check('message', expect.message, actual.message, messageMatches);
  if (expect.messageContains !== undefined && !actual.message.includes(expect.messageContains)) mismatches.push({ field: 'workload.messageContains', expected: expect.messageContains, actual: actual.message });
  check('event', expect.event, actual.event?.message ?? '(no event)', messageMatches);
  if (expect.noEvent && actual.event) mismatches.push({ field: 'workload.noEvent', expected: '(no event)', actual: actual.event.message });
  for (const fragment of expect.warnings ?? []) {
    if (!actual.warnings.some((w) => w.includes(fragment))) mismatches.push({ field: 'workload.warnings', expected: fragment, actual: actual.warnings.length ? actual.warnings.join(' | ') : '(no warnings)' });
  }
  return mismatches;
}
