// Observation versus model decision, and observation versus a scenario's expectation. Pure.
// Fields the observation does not know (a container nobody could exec into, warnings a published source does not
// show) are not compared; a partial message (a substring the source gives) is compared by containment.
import type { Expectation, Mismatch } from './expect.js';
import { messageMatches } from './expect.js';
import type { Decision } from './types.js';
import type { Observation } from './classify.js';

const MODEL_NOTE = 'apparmor-sim: ';

/** `expected` is the model's value, `actual` what the cluster showed. Fields are prefixed `model.`. */
export function compareWithModel(observed: Observation, decision: Decision): Mismatch[] {
  const mismatches: Mismatch[] = [];
  const push = (field: string, expected: string, actual: string) => mismatches.push({ field: `model.${field}`, expected, actual });
  if (decision.outcome !== observed.outcome) push('outcome', decision.outcome, observed.outcome);
  if (decision.stage !== observed.stage) push('stage', decision.stage, observed.stage);
  if (decision.reason !== observed.reason) push('reason', decision.reason, observed.reason);
  if (!messageAgrees(decision.message, observed)) push('message', decision.message, observed.message);
  for (const container of observed.containers) {
    if (container.profile === undefined) continue;
    const predicted = decision.containers.find((c) => c.name === container.name);
    if (!predicted) {
      push(`containers.${container.name}`, 'no such container', 'a container of that name');
      continue;
    }
    if (predicted.procAttrCurrent !== container.profile) push(`containers.${container.name}.profile`, String(predicted.procAttrCurrent), String(container.profile));
  }
  if (observed.warningsKnown) {
    const predicted = decision.warnings.filter((w) => !w.startsWith(MODEL_NOTE));
    for (const warning of predicted) {
      if (!observed.warnings.some((w) => messageMatches(w, warning))) push('warnings', warning, observed.warnings.join(' | ') || '(no warnings)');
    }
    // Unpredicted warnings count only when they are about AppArmor: the API server warns about unrelated things too.
    for (const warning of observed.warnings) {
      if (/apparmor/i.test(warning) && !predicted.some((w) => messageMatches(warning, w))) push('warnings', predicted.join(' | ') || '(no warnings)', warning);
    }
  }
  return mismatches;
}

/** `expected` is the scenario's expectation, `actual` what the cluster showed. Fields are prefixed `expect.`. */
export function compareWithExpectation(observed: Observation, expect: Expectation): Mismatch[] {
  const mismatches: Mismatch[] = [];
  const push = (field: string, expected: string, actual: string) => mismatches.push({ field: `expect.${field}`, expected, actual });
  if (expect.outcome !== observed.outcome) push('outcome', expect.outcome, observed.outcome);
  if (expect.stage !== undefined && expect.stage !== observed.stage) push('stage', expect.stage, observed.stage);
  if (expect.reason !== undefined && expect.reason !== observed.reason) push('reason', expect.reason, observed.reason);
  if (expect.message !== undefined && !messageAgrees(expect.message, observed)) push('message', expect.message, observed.message);
  if (expect.messageContains !== undefined) {
    // A partial observation agrees when either text contains the other: the cluster's full message is unknown.
    const agrees = observed.messagePartial
      ? expect.messageContains.includes(observed.message) || observed.message.includes(expect.messageContains)
      : observed.message.includes(expect.messageContains);
    if (!agrees) push('messageContains', expect.messageContains, observed.message);
  }
  for (const [name, wanted] of Object.entries(expect.containers ?? {})) {
    const container = observed.containers.find((c) => c.name === name);
    if (!container) {
      push(`containers.${name}`, 'a container of that name', 'no such container');
      continue;
    }
    if (wanted.profile === undefined || container.profile === undefined) continue;
    if (wanted.profile !== container.profile) push(`containers.${name}.profile`, String(wanted.profile), String(container.profile));
  }
  if (observed.warningsKnown) {
    for (const fragment of expect.warnings ?? []) {
      if (!observed.warnings.some((w) => w.includes(fragment))) push('warnings', fragment, observed.warnings.join(' | ') || '(no warnings)');
    }
  }
  return mismatches;
}

/** A reference message (model or expectation, possibly with placeholders) against the observed one. */
function messageAgrees(reference: string, observed: Observation): boolean {
  if (observed.messagePartial) return reference.includes(observed.message);
  return messageMatches(observed.message, reference);
}
