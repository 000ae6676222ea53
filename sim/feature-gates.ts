import type { FeatureGates, Minor } from './types.js';

interface GateLifecycle {
  /** First minor the gate exists in. */
  from: Minor;
  /** Default value by minor: the first entry whose `until` is not passed applies. */
  defaults: readonly { until: Minor; value: boolean; locked?: boolean }[];
  /** First minor in which the gate no longer exists. */
  removedIn?: Minor;
}

/**
 * Gate lifecycles from pkg/features/kube_features.go and the website's feature-gate pages
 * (content/en/docs/reference/command-line-tools-reference/feature-gates/AppArmor.md, AppArmorFields.md, PodSecurity.md).
 */
const GATES: Readonly<Record<string, GateLifecycle>> = {
  // Beta and on by default from 1.4 (PR #31473); GA and locked in 1.31 (#125257); removed in 1.33.
  // versioned_kube_features.go: AppArmor {1.4 Beta true}, {1.31 GA true LockToDefault} "remove in 1.33"; AppArmorFields
  // {1.30 Beta true}, {1.31 GA true LockToDefault} "remove in 1.33", removed by #129497 (2025-01).
  AppArmor: { from: 4, defaults: [{ until: 30, value: true }, { until: 32, value: true, locked: true }], removedIn: 33 },
  // Beta in 1.30 (#123435); GA and locked in 1.31; removed in 1.33 (#129497).
  AppArmorFields: { from: 30, defaults: [{ until: 30, value: true }, { until: 32, value: true, locked: true }], removedIn: 33 },
  // KEP-277 ephemeral containers: alpha off in 1.16-1.22, beta on in 1.23, GA in 1.25 (kubernetes/enhancements#277,
  // kubernetes/kubernetes#111402); pkg/api/pod/util.go dropDisabledFields drops spec.ephemeralContainers while it is off.
  EphemeralContainers: { from: 16, defaults: [{ until: 22, value: false }, { until: 24, value: true }, { until: 26, value: true, locked: true }] },
  // Alpha off in 1.22, beta on in 1.23, GA locked in 1.25, removed in 1.28.
  PodSecurity: { from: 22, defaults: [{ until: 22, value: false }, { until: 24, value: true }, { until: 27, value: true, locked: true }], removedIn: 28 },
};

export type GateProblem = { gate: string; message: string };

/** Whether a gate is on for a component of the given version, honouring locks (a locked gate cannot be turned off). */
export function gateEnabled(gates: FeatureGates, name: string, version: Minor): boolean {
  const lifecycle = GATES[name];
  if (!lifecycle) return gates[name] ?? false;
  if (version < lifecycle.from) return false;
  if (lifecycle.removedIn !== undefined && version >= lifecycle.removedIn) return true;
  const phase = lifecycle.defaults.find((d) => version <= d.until);
  if (!phase) return true;
  if (phase.locked) return true;
  return gates[name] ?? phase.value;
}

/** Settings a component of that version refuses at start, in the words of component-base/featuregate. */
export function gateProblems(gates: FeatureGates, version: Minor, component: string): GateProblem[] {
  const problems: GateProblem[] = [];
  for (const [name, value] of Object.entries(gates)) {
    const lifecycle = GATES[name];
    if (!lifecycle) continue;
    if (version < lifecycle.from || (lifecycle.removedIn !== undefined && version >= lifecycle.removedIn)) {
      problems.push({ gate: name, message: `${component} 1.${version} does not start with --feature-gates=${name}=${value}: unrecognized feature gate: ${name}` });
      continue;
    }
    const phase = lifecycle.defaults.find((d) => version <= d.until);
    if (phase?.locked && value !== phase.value) {
      problems.push({ gate: name, message: `${component} 1.${version} does not start with --feature-gates=${name}=${value}: cannot set feature gate ${name} to ${value}, feature is locked to ${phase.value}` });
    }
  }
  return problems;
}

export const KNOWN_GATES = Object.keys(GATES);
