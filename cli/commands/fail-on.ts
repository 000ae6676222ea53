// --fail-on: which results make the exit code 1, so that CI can choose what breaks a build.
import { ANNOTATION_PREFIX } from '../../sim/pod.js';
import type { Decision, Pod } from '../../sim/types.js';
import { UsageError } from '../../io/args.js';

export const FAIL_ON_CONDITIONS = ['refused', 'dropped', 'warnings', 'never'] as const;
export type FailOnCondition = Exclude<(typeof FAIL_ON_CONDITIONS)[number], 'never'>;

export const FAIL_ON_HELP = `  --fail-on LIST          what makes the exit code 1, comma separated (default: refused):
                          refused   a pod is Forbidden, Blocked, Rejected or hits CreateContainerError
                          dropped   a pod runs without a profile its manifest requests (field unknown to
                                    an old API server, feature gate off, request the runtime ignores)
                          warnings  the API server returns a warning (e.g. deprecated annotations)
                          never     only input errors (2) change the exit code`;

/** `refused,dropped` -> the set; `never` alone -> the empty set. */
export function parseFailOn(values: readonly string[] | undefined): ReadonlySet<FailOnCondition> {
  if (values === undefined || values.length === 0) return new Set(['refused']);
  const items = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  const conditions = new Set<FailOnCondition>();
  let never = false;
  for (const item of items) {
    if (!(FAIL_ON_CONDITIONS as readonly string[]).includes(item)) {
      throw new UsageError(`--fail-on: unknown condition ${JSON.stringify(item)} (expected a list of: ${FAIL_ON_CONDITIONS.join(', ')})`);
    }
    if (item === 'never') never = true;
    else conditions.add(item as FailOnCondition);
  }
  if (never && conditions.size > 0) throw new UsageError('--fail-on: never cannot be combined with other conditions');
  if (items.length === 0) throw new UsageError(`--fail-on: needs a list of: ${FAIL_ON_CONDITIONS.join(', ')}`);
  return conditions;
}

/**
 * Containers whose manifest asks for a profile that the running container does not get: the request was dropped by
 * the API server (a field it does not know, a gate that is off) or ignored on the node. A refused pod is not "dropped".
 */
export function droppedRequests(pod: Pod, decision: Decision): string[] {
  if (decision.outcome !== 'Run') return [];
  const asked = new Set<string>();
  for (const container of pod.containers) {
    const annotation = pod.annotations[`${ANNOTATION_PREFIX}${container.name}`];
    const field = container.appArmorProfile ?? pod.appArmorProfile;
    const wants = (annotation !== undefined && annotation !== 'unconfined') || (field !== undefined && field.type !== 'Unconfined');
    if (wants) asked.add(container.name);
  }
  return decision.containers
    .filter((c) => asked.has(c.name) && c.state === 'Running' && (c.requested === null || c.requested === 'unconfined' || c.procAttrCurrent === null || c.procAttrCurrent === 'unconfined'))
    .map((c) => c.name);
}

/** API warnings (Warning headers), not the model's own notes. */
export function apiWarnings(decision: Decision): string[] {
  return decision.warnings.filter((w) => !w.startsWith('apparmor-sim: '));
}

/** Whether this decision meets a --fail-on condition. */
export function failsOn(conditions: ReadonlySet<FailOnCondition>, pod: Pod, decision: Decision): boolean {
  if (conditions.has('refused') && decision.outcome !== 'Run') return true;
  if (conditions.has('dropped') && droppedRequests(pod, decision).length > 0) return true;
  if (conditions.has('warnings') && apiWarnings(decision).length > 0) return true;
  return false;
}
