// Which nodes the scheduler could put a pod on: spec.nodeName, spec.nodeSelector, required node affinity and taints
// against tolerations (the NodeName, NodeAffinity and TaintToleration filter plugins), plus the kubelet's refusal of a
// pod whose spec.os.name differs from the node's OS. Resources, ports and pod affinity are out of the model's scope.
import type { NodeSelectorRequirement, NodeSelectorTerm, Placement, Toleration } from './workloads.js';

// The node shapes are the cluster file reader's (io/load/cluster.ts, below both cli/ and conformance/).
import type { SchedulableNode, Taint } from '../../io/load/cluster.js';

export type { SchedulableNode, Taint };

export interface Eligibility {
  /** Indexes of the nodes the pod may land on (all of them for a DaemonSet pod). */
  eligible: number[];
  /** Per ineligible node, the scheduler's reason. */
  ineligible: { node: string; why: string }[];
}

const NO_PLACEMENT: Placement = { nodeSelector: {}, tolerations: [], everyNode: false };

export function eligibleNodes(placement: Placement | undefined, podOs: string | undefined, nodes: readonly SchedulableNode[]): Eligibility {
  const p = placement ?? NO_PLACEMENT;
  const result: Eligibility = { eligible: [], ineligible: [] };
  nodes.forEach((node, index) => {
    const why = whyNot(p, podOs, node);
    if (why === undefined) result.eligible.push(index);
    else result.ineligible.push({ node: node.name, why });
  });
  return result;
}

function whyNot(p: Placement, podOs: string | undefined, node: SchedulableNode): string | undefined {
  if (p.nodeName !== undefined && p.nodeName !== node.name) return "didn't match the requested node name";
  for (const [key, value] of Object.entries(p.nodeSelector)) {
    if (node.labels[key] !== value) return "didn't match Pod's node affinity/selector";
  }
  if (p.requiredTerms !== undefined && !p.requiredTerms.some((term) => termMatches(term, node))) return "didn't match Pod's node affinity/selector";
  // spec.nodeName bypasses the scheduler, and with it the taint filter (NoExecute still evicts).
  for (const taint of node.taints) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (p.nodeName !== undefined && taint.effect === 'NoSchedule') continue;
    if (!p.tolerations.some((t) => tolerates(t, taint))) return `had untolerated taint {${taint.key}: ${taint.value}}`;
  }
  if (podOs !== undefined && podOs !== '' && podOs !== node.os) return `runs ${node.os}, the pod's spec.os.name is ${podOs} (the kubelet rejects it: PodOSNotSupported)`;
  return undefined;
}

/** A term with no requirements matches nothing; requirements within a term are ANDed. */
function termMatches(term: NodeSelectorTerm, node: SchedulableNode): boolean {
  if (term.matchExpressions.length === 0 && term.matchFields.length === 0) return false;
  return term.matchExpressions.every((r) => requirementMatches(r, node.labels[r.key])) && term.matchFields.every((r) => r.key === 'metadata.name' && requirementMatches(r, node.name));
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const bound = r.values.length === 1 ? Number.parseInt(r.values[0] ?? '', 10) : Number.NaN;
      const actual = value !== undefined && /^-?\d+$/.test(value) ? Number.parseInt(value, 10) : Number.NaN;
      if (Number.isNaN(bound) || Number.isNaN(actual)) return false;
      return r.operator === 'Gt' ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/** v1 Toleration.ToleratesTaint: an empty effect matches all effects; Exists with an empty key matches every taint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== '' && t.effect !== taint.effect) return false;
  if (t.key !== '' && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (t.operator === 'Equal' || t.operator === '') return t.value === taint.value;
  return false;
}

/**
 * The scheduler's FitError text, e.g. `0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu},
 * 2 node(s) didn't match Pod's node affinity/selector.` (reasons counted and sorted as the scheduler does).
 */
export function unschedulableMessage(total: number, ineligible: Eligibility['ineligible']): string {
  const counts = new Map<string, number>();
  for (const { why } of ineligible) counts.set(why, (counts.get(why) ?? 0) + 1);
  const reasons = [...counts].map(([why, n]) => `${n} node(s) ${why}`).sort();
  return `0/${total} nodes are available: ${reasons.join(', ')}.`;
}
