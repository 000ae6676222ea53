// Facts of the real cluster's nodes, and whether a scenario's node preconditions can be met on one of them. Pure.
import type { Scenario } from '../io/load/scenario.js';
import { nodeForPod } from '../io/load/scenario.js';
import { gateEnabled, KNOWN_GATES } from '../sim/feature-gates.js';
import { simulate } from '../sim/simulate.js';
import type { ClusterFacts, FeatureGates, LoadedProfile, Minor, NodeFacts, RuntimeName, Stage } from '../sim/types.js';
import type { NodeInfo } from './cluster-api.js';
import { PLAIN_PROFILE_NAME } from './profiles.js';

/** Whether the container runtime applies AppArmor profiles, as the RuntimeDefault canary pod showed. */
export type RuntimeAppArmor = 'applies' | 'refuses' | 'untested';

export interface ClusterNode {
  name: string;
  ready: boolean;
  kubeletVersion: string;
  kubeletMinor: Minor | undefined;
  os: string;
  osImage: string;
  kernelVersion: string;
  containerRuntimeVersion: string;
  runtime: RuntimeName | undefined;
  /** /sys/module/apparmor/parameters/enabled on the node; null when unknown (probe failed or no module). */
  appArmorEnabled: boolean | null;
  /** Why appArmorEnabled is null when that is not "no module" (e.g. `conformance plan` does not probe nodes). */
  appArmorUnknownWhy?: string | undefined;
  /** /sys/kernel/security/apparmor/profiles before the run loaded anything; null when unreadable. */
  profiles: LoadedProfile[] | null;
  runtimeAppArmor: RuntimeAppArmor;
  /** What the canary showed, e.g. the runtime's error. */
  runtimeNote: string;
  /** Things worth knowing about the node (odd probe output, not probed because it runs Windows). */
  problems: string[];
  /** Infrastructure failures (probe or canary pod failed, exec failed): the node's facts are unknown; a run error. */
  failures: string[];
}

export interface ClusterDescription {
  serverVersion: string;
  serverMinor: Minor;
  /** Feature gates the cluster runs with: configured (kind) or declared by the user (--feature-gates). */
  featureGates: FeatureGates;
  nodes: ClusterNode[];
}

/** `v1.30.2`, `v1.30.2+k3s1`, `1.30` -> 30. */
export function parseMinor(version: string): Minor | undefined {
  const match = /^v?1\.(\d+)/.exec(version.trim());
  return match?.[1] ? Number(match[1]) : undefined;
}

/**
 * node.status.nodeInfo.containerRuntimeVersion is `<runtime>://<version>` (kubelet kuberuntime Version(): the CRI
 * RuntimeName and RuntimeVersion). docker:// on a 1.24+ kubelet is cri-dockerd, which the model calls `remote`.
 */
export function runtimeFromVersion(containerRuntimeVersion: string, kubeletMinor: Minor | undefined): RuntimeName | undefined {
  const scheme = /^([a-z0-9-]+):\/\//i.exec(containerRuntimeVersion)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'containerd':
      return 'containerd';
    case 'cri-o':
      return 'cri-o';
    case 'docker':
      return kubeletMinor !== undefined && kubeletMinor >= 24 ? 'remote' : 'docker';
    case undefined:
      return undefined;
    default:
      return 'remote';
  }
}

export function clusterNodeFromInfo(info: NodeInfo): ClusterNode {
  const kubeletMinor = parseMinor(info.kubeletVersion);
  return {
    name: info.name,
    ready: info.ready,
    kubeletVersion: info.kubeletVersion,
    kubeletMinor,
    os: info.operatingSystem || 'linux',
    osImage: info.osImage,
    kernelVersion: info.kernelVersion,
    containerRuntimeVersion: info.containerRuntimeVersion,
    runtime: runtimeFromVersion(info.containerRuntimeVersion, kubeletMinor),
    appArmorEnabled: null,
    profiles: null,
    runtimeAppArmor: 'untested',
    runtimeNote: '',
    problems: [],
    failures: [],
  };
}

/** AppArmor as the model means it: the kernel has it on and the runtime applies profiles. */
export function effectiveAppArmor(node: ClusterNode): boolean {
  return node.appArmorEnabled === true && node.runtimeAppArmor !== 'refuses';
}

/** The model's node for a real one: what the prediction for this cluster is computed from. */
export function modelNode(node: ClusterNode, featureGates: FeatureGates, extraProfiles: readonly LoadedProfile[], name = node.name): NodeFacts {
  const profiles = new Map<string, LoadedProfile>();
  for (const profile of [...(node.profiles ?? []), ...extraProfiles]) profiles.set(profile.name, profile);
  return {
    name,
    kubeletVersion: node.kubeletMinor ?? 0,
    featureGates,
    os: node.os === 'windows' ? 'windows' : 'linux',
    appArmorEnabled: effectiveAppArmor(node),
    runtime: node.runtime ?? 'remote',
    profiles: [...profiles.values()],
  };
}

export function modelCluster(scenario: Scenario, cluster: ClusterDescription): ClusterFacts {
  return { version: cluster.serverMinor, featureGates: cluster.featureGates, namespace: scenario.cluster.namespace, podSecurityPolicies: [] };
}

export type Placement =
  | {
      ok: true;
      node: ClusterNode;
      notes: string[];
      /** False when an API-decided scenario lands on a node unlike its own: its profiles are not loaded there. */
      loadProfiles: boolean;
    }
  | { ok: false; reason: string };

/**
 * The component whose decision the scenario is about: the model's stage for the scenario's own facts. A pod refused by
 * the API server (validation) or admission (Pod Security Admission, PodSecurityPolicy) never reaches a node, so the
 * node's kubelet, runtime and AppArmor state cannot change that outcome.
 */
export function decidingStage(scenario: Scenario): Stage {
  return simulate({ cluster: scenario.cluster, node: nodeForPod(scenario), pod: scenario.pod }).stage;
}

export function decidedByApi(stage: Stage): boolean {
  return stage === 'apiserver' || stage === 'admission';
}

/**
 * Picks a real node that meets the scenario's node preconditions (kubelet version, OS, runtime, AppArmor on or off,
 * feature gates), or says why none does. The API server version and its gates must match too.
 */
export function placeScenario(scenario: Scenario, cluster: ClusterDescription): Placement {
  if (scenario.cluster.version !== cluster.serverMinor) {
    return { ok: false, reason: `needs API server 1.${scenario.cluster.version}; the cluster runs ${cluster.serverVersion}` };
  }
  const gateProblem = gateDifference(scenario.cluster.featureGates, cluster.featureGates, cluster.serverMinor, 'API server');
  if (gateProblem) return { ok: false, reason: gateProblem };
  if (scenario.cluster.podSecurityPolicies.length > 0) {
    return { ok: false, reason: 'uses PodSecurityPolicy objects, which the harness does not create (and 1.25+ API servers do not serve)' };
  }
  if (scenario.workload) return { ok: false, reason: `creates a ${scenario.workload.kind}; the harness creates pods only` };
  if (scenario.pod.containers.some((c) => c.kind === 'ephemeralContainers') || scenario.ephemeralContainers.length > 0) {
    return { ok: false, reason: 'has ephemeral containers, which need the ephemeralcontainers subresource after the pod runs; the harness does not replay them yet' };
  }
  const wanted = nodeForPod(scenario);
  const unloadable = wanted.profiles.filter((p) => !PLAIN_PROFILE_NAME.test(p.name));
  if (unloadable.length > 0) {
    return { ok: false, reason: `lists loaded profile(s) ${unloadable.map((p) => JSON.stringify(p.name)).join(', ')} that cannot be loaded under a run-unique name` };
  }
  const notes: string[] = [];
  const stage = decidingStage(scenario);
  if (decidedByApi(stage)) {
    // Any Ready Linux node will do: the pod is refused before the scheduler or a kubelet sees it.
    const node = cluster.nodes.find((n) => n.ready && n.os === 'linux');
    if (!node) return { ok: false, reason: 'the cluster has no Ready Linux node' };
    const why = nodeMismatch(wanted, node, cluster.featureGates);
    if (why) notes.push(`decided by the ${stage === 'apiserver' ? 'API server' : 'admission'}; placed on ${node.name} although its node facts differ (${why}), without loading the scenario's profiles there`);
    return { ok: true, node, notes, loadProfiles: !why };
  }
  const reasons: string[] = [];
  for (const node of cluster.nodes) {
    const why = nodeMismatch(wanted, node, cluster.featureGates);
    if (!why) {
      if (wanted.appArmorEnabled && node.runtimeAppArmor === 'untested') notes.push(`whether ${node.runtime ?? 'the runtime'} on ${node.name} applies profiles was not tested`);
      return { ok: true, node, notes, loadProfiles: true };
    }
    reasons.push(`${node.name}: ${why}`);
  }
  return { ok: false, reason: reasons.length > 0 ? `no node meets the scenario's node preconditions (${reasons.join('; ')})` : 'the cluster has no ready node' };
}

function nodeMismatch(wanted: NodeFacts, node: ClusterNode, gates: FeatureGates): string | undefined {
  if (!node.ready) return 'not Ready';
  if (node.kubeletMinor !== wanted.kubeletVersion) return `kubelet ${node.kubeletVersion}, scenario needs 1.${wanted.kubeletVersion}`;
  if (node.os !== wanted.os) return `OS ${node.os}, scenario needs ${wanted.os}`;
  if (node.runtime !== wanted.runtime) return `runtime ${node.runtime ?? `unknown (${node.containerRuntimeVersion})`}, scenario needs ${wanted.runtime}`;
  if (wanted.appArmorEnabled) {
    if (node.appArmorEnabled !== true) return `AppArmor ${node.appArmorEnabled === false ? 'disabled in the kernel' : node.appArmorUnknownWhy ?? 'not detected in the kernel'}, scenario needs it enabled`;
    if (node.runtimeAppArmor === 'refuses') return `the kernel has AppArmor on but ${node.runtime ?? 'the runtime'} refuses AppArmor profiles (${node.runtimeNote}), a state the model cannot express`;
  } else if (node.appArmorEnabled !== false) {
    return `AppArmor ${node.appArmorEnabled === true ? 'enabled in the kernel' : node.appArmorUnknownWhy ?? 'state unknown in the kernel'}, scenario needs it disabled`;
  }
  return gateDifference(wanted.featureGates, gates, wanted.kubeletVersion, 'kubelet');
}

/** The first gate whose state differs between what the scenario needs and what the cluster runs with. */
function gateDifference(wanted: FeatureGates, actual: FeatureGates, version: Minor, component: string): string | undefined {
  const names = new Set([...Object.keys(wanted), ...Object.keys(actual)].filter((g) => KNOWN_GATES.includes(g)));
  for (const gate of names) {
    const need = gateEnabled(wanted, gate, version);
    const have = gateEnabled(actual, gate, version);
    if (need !== have) {
      return `needs ${component} feature gate ${gate}=${need}; the cluster runs with ${gate}=${have} (kind: pass --feature-gates ${gate}=${need}; existing cluster: declare its gates with --feature-gates)`;
    }
  }
  return undefined;
}
