// --cluster FILE: several nodes with labels and taints, from a YAML cluster file or `kubectl get nodes -o json`. Read
// by `dry-run --cluster` (cli/) and `conformance plan --cluster` (conformance/), hence here below both.
import { resolve } from 'node:path';
import { isMap } from '../../sim/pod.js';
import type { FeatureGates, Minor, NodeFacts, PodSecurityPolicyFacts, RuntimeName } from '../../sim/types.js';
import { readPodSecurityPolicyList } from './psp.js';
import { formatMinor, parseVersion } from '../../sim/version.js';
import { Reader, defaultRuntime, readNode } from './facts.js';
import type { YamlDocument } from './source.js';
import { displayLabel, formatInputError, InputFailure, parseYamlDocuments, readTextFile } from './source.js';
import { SCALE_LIMITS } from './scale-limits.js';

/** A node taint. */
export interface Taint {
  key: string;
  value: string;
  effect: string;
}

/** What scheduling (cli/commands/scheduling.ts) needs of a node. */
export interface SchedulableNode {
  name: string;
  os: 'linux' | 'windows';
  labels: Readonly<Record<string, string>>;
  taints: readonly Taint[];
}

export const CLUSTER_FILE_KEYS = ['version', 'featureGates', 'namespaces', 'nodes', 'podSecurityPolicies'] as const;
/** Keys of a cluster file's nodes[] entry on top of the node keys readNode knows. */
export const CLUSTER_NODE_EXTRA_KEYS = ['labels', 'taints'] as const;
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export interface ClusterNode extends SchedulableNode {
  facts: NodeFacts;
}

export interface LoadedCluster {
  label: string;
  /** The API server version the file names (a cluster file's `version`), if any. */
  version: Minor | undefined;
  featureGates: FeatureGates;
  namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** The file's podSecurityPolicies: (objects or the short form); they admit pods on API servers up to 1.24. */
  podSecurityPolicies: PodSecurityPolicyFacts[];
  /** The nodes for one API server version: nodes without a kubeletVersion follow it. */
  nodesFor(apiserver: Minor, kubelet: Minor | undefined): Promise<ClusterNode[]>;
  notes: string[];
}

export async function loadCluster(path: string, cwd = process.cwd()): Promise<LoadedCluster> {
  const file = resolve(cwd, path);
  const label = displayLabel(file, cwd);
  const docs = parseYamlDocuments(readTextFile(file, label), label);
  const doc = docs[0];
  if (docs.length !== 1 || !doc) throw new InputFailure([{ file: label, message: `--cluster needs exactly one YAML or JSON document, found ${docs.length}` }]);
  const kind = isMap(doc.value) ? doc.value['kind'] : undefined;
  const loaded = kind === 'NodeList' || kind === 'List' || kind === 'Node' ? await fromNodeList({ ...doc, file }, label) : await fromClusterFile({ ...doc, file }, label);
  // Repeated keys (kubectl keeps the last): said once, with their lines.
  loaded.notes.unshift(...(doc.warnings ?? []).map((w) => formatInputError({ ...w, message: w.message.replace(/^warning: /, '') })));
  return loaded;
}

function relabel(errors: Reader['errors'], file: string, label: string): InputFailure {
  return new InputFailure(errors.map((e) => ({ ...e, file: e.file === file ? label : e.file })));
}

async function fromClusterFile(doc: YamlDocument, label: string): Promise<LoadedCluster> {
  const reader = new Reader(doc);
  const map = reader.map(doc.value, [], true) ?? {};
  reader.onlyKeys(map, [], CLUSTER_FILE_KEYS);
  const version = reader.version(map['version'], ['version'], false);
  const featureGates = reader.featureGates(map['featureGates'], ['featureGates']);
  const namespaces = new Map<string, Record<string, string>>();
  reader.list(map['namespaces'], ['namespaces']).forEach((entry, index) => {
    const at = ['namespaces', index];
    const ns = reader.map(entry, at, true);
    if (!ns) return;
    reader.onlyKeys(ns, at, ['name', 'labels']);
    const name = reader.string(ns['name'], [...at, 'name'], true);
    if (name) namespaces.set(name, reader.stringMap(ns['labels'], [...at, 'labels']));
  });
  const podSecurityPolicies = readPodSecurityPolicyList(reader, map['podSecurityPolicies'], ['podSecurityPolicies']);
  const entries = reader.list(map['nodes'], ['nodes']);
  // Counted on the value read, after YAML aliases were expanded.
  if (entries.length > SCALE_LIMITS.maxNodes) throw relabel([{ file: doc.file, line: doc.lineOf(['nodes']), message: `nodes: ${entries.length} nodes, over the ${SCALE_LIMITS.maxNodes}-node limit` }], doc.file, label);
  if (map['nodes'] !== undefined && entries.length === 0) reader.error(['nodes'], 'needs at least one node');
  const extras = entries.map((entry, index) => nodeExtras(reader, entry, ['nodes', index]));
  if (reader.errors.length > 0) throw relabel(reader.errors, doc.file, label);
  const clusterNotes: string[] = [];
  return {
    label,
    version,
    featureGates,
    namespaces,
    podSecurityPolicies,
    notes: clusterNotes,
    async nodesFor(apiserver, kubelet) {
      const nodeReader = new Reader(doc);
      const notes: string[] = [];
      const nodes: ClusterNode[] = [];
      const names = new Set<string>();
      if (entries.length === 0) {
        const facts: NodeFacts = { name: 'node-1', kubeletVersion: kubelet ?? apiserver, featureGates: {}, os: 'linux', appArmorEnabled: true, runtime: defaultRuntime(kubelet ?? apiserver), profiles: [] };
        return [{ name: facts.name, os: facts.os, labels: defaultLabels(facts), taints: [], facts }];
      }
      for (const [index, entry] of entries.entries()) {
        const at = ['nodes', index];
        const { labels, taints, rest } = extras[index] ?? { labels: {}, taints: [], rest: entry };
        const facts = await readNode(nodeReader, rest, at, { name: `node-${index + 1}`, kubeletVersion: kubelet ?? apiserver }, notes);
        if (!facts) continue;
        if (facts.profiles.length > SCALE_LIMITS.maxProfilesPerNode) nodeReader.error([...at, 'profiles'], `${facts.profiles.length} profiles, over the ${SCALE_LIMITS.maxProfilesPerNode}-profile limit`);
        if (names.has(facts.name)) nodeReader.error([...at, 'name'], `duplicate node name ${JSON.stringify(facts.name)}`);
        names.add(facts.name);
        nodes.push({ name: facts.name, os: facts.os, labels: { ...defaultLabels(facts), ...labels }, taints, facts });
      }
      if (nodeReader.errors.length > 0) throw relabel(nodeReader.errors, doc.file, label);
      clusterNotes.push(...notes.filter((n) => !clusterNotes.includes(n)));
      return nodes;
    },
  };
}

/** The labels every kubelet sets on its node. */
function defaultLabels(facts: Pick<NodeFacts, 'name' | 'os'>): Record<string, string> {
  return { 'kubernetes.io/hostname': facts.name, 'kubernetes.io/os': facts.os, 'beta.kubernetes.io/os': facts.os };
}

interface NodeExtras {
  labels: Record<string, string>;
  taints: Taint[];
  /** The entry without labels and taints, for readNode. */
  rest: unknown;
}

function nodeExtras(reader: Reader, entry: unknown, at: (string | number)[]): NodeExtras {
  if (!isMap(entry)) return { labels: {}, taints: [], rest: entry };
  const { labels, taints, ...rest } = entry;
  const taintList = reader.list(taints, [...at, 'taints']).flatMap((t, i): Taint[] => {
    const tat = [...at, 'taints', i];
    const map = reader.map(t, tat, true);
    if (!map) return [];
    reader.onlyKeys(map, tat, ['key', 'value', 'effect']);
    const key = reader.string(map['key'], [...tat, 'key'], true) ?? '';
    const value = reader.string(map['value'], [...tat, 'value']) ?? '';
    const effect = reader.string(map['effect'], [...tat, 'effect'], true) ?? '';
    if (effect && !TAINT_EFFECTS.includes(effect)) reader.error([...tat, 'effect'], `unknown taint effect ${JSON.stringify(effect)} (expected one of: ${TAINT_EFFECTS.join(', ')})`);
    return [{ key, value, effect }];
  });
  return { labels: reader.stringMap(labels, [...at, 'labels']), taints: taintList, rest };
}

/** `kubectl get nodes -o json`: versions, OS, runtime, labels and taints are there; AppArmor state and profiles are not. */
function fromNodeList(doc: YamlDocument, label: string): LoadedCluster {
  const reader = new Reader(doc);
  const root = doc.value as Record<string, unknown>;
  const items = root['kind'] === 'Node' ? [root] : reader.list(root['items'], ['items']);
  if (items.length > SCALE_LIMITS.maxNodes) throw relabel([{ file: doc.file, line: doc.lineOf(['items']), message: `items: ${items.length} nodes, over the ${SCALE_LIMITS.maxNodes}-node limit` }], doc.file, label);
  const parsed: { name: string; kubelet: Minor | undefined; os: 'linux' | 'windows'; runtimeText: string; labels: Record<string, string>; taints: Taint[]; appArmorReported: boolean }[] = [];
  items.forEach((item, index) => {
    const at: (string | number)[] = root['kind'] === 'Node' ? [] : ['items', index];
    const node = reader.map(item, at, true);
    if (!node) return;
    if (node['kind'] !== undefined && node['kind'] !== 'Node') {
      reader.error([...at, 'kind'], `expected kind Node, got ${JSON.stringify(node['kind'])}`);
      return;
    }
    const metadata = reader.map(node['metadata'], [...at, 'metadata']) ?? {};
    const name = reader.string(metadata['name'], [...at, 'metadata', 'name'], true) ?? `node-${index + 1}`;
    const labels = reader.stringMap(metadata['labels'], [...at, 'metadata', 'labels']);
    const spec = reader.map(node['spec'], [...at, 'spec']) ?? {};
    const taints = reader.list(spec['taints'], [...at, 'spec', 'taints']).flatMap((t): Taint[] => (isMap(t) ? [{ key: String(t['key'] ?? ''), value: String(t['value'] ?? ''), effect: String(t['effect'] ?? '') }] : []));
    if (spec['unschedulable'] === true) taints.push({ key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' });
    const status = reader.map(node['status'], [...at, 'status']) ?? {};
    const info = reader.map(status['nodeInfo'], [...at, 'status', 'nodeInfo']) ?? {};
    const kubeletText = reader.string(info['kubeletVersion'], [...at, 'status', 'nodeInfo', 'kubeletVersion']);
    let kubelet: Minor | undefined;
    if (kubeletText !== undefined) {
      const v = parseVersion(kubeletText);
      if (v.ok) kubelet = v.minor;
      else reader.error([...at, 'status', 'nodeInfo', 'kubeletVersion'], v.message);
    }
    const osText = reader.string(info['operatingSystem'], [...at, 'status', 'nodeInfo', 'operatingSystem']) ?? labels['kubernetes.io/os'] ?? 'linux';
    const os = osText === 'windows' ? 'windows' : 'linux';
    parsed.push({ name, kubelet, os, runtimeText: reader.string(info['containerRuntimeVersion'], [...at, 'status', 'nodeInfo', 'containerRuntimeVersion']) ?? '', labels: { ...defaultLabels({ name, os }), ...labels }, taints, appArmorReported: readyReportsAppArmor(status['conditions']) });
  });
  if (parsed.length === 0) reader.error(root['kind'] === 'Node' ? [] : ['items'], 'no nodes in the node list');
  if (reader.errors.length > 0) throw relabel(reader.errors, doc.file, label);
  const kubelets = parsed.flatMap((p) => (p.kubelet !== undefined ? [p.kubelet] : []));
  const newest = kubelets.length > 0 ? Math.max(...kubelets) : undefined;
  const assumed = parsed.filter((p) => p.os === 'linux' && !p.appArmorReported).map((p) => p.name);
  const reported = parsed.filter((p) => p.appArmorReported).map((p) => p.name);
  const notes = [
    assumed.length === 0
      ? `${label}: the Ready condition of ${reported.join(', ')} says "AppArmor enabled"; a node list does not say which profiles are loaded, assuming none (write a cluster file with profiles, or use "apparmor-sim node snapshot" on the nodes)`
      : `${label}: a node list does not say whether AppArmor is enabled or which profiles are loaded; assuming AppArmor is enabled on Linux nodes with no profile loaded${reported.length > 0 ? ` (the Ready condition of ${reported.join(', ')} says "AppArmor enabled"; not of ${assumed.join(', ')})` : ''} (write a cluster file with profiles, or use "apparmor-sim node snapshot" on the nodes)`,
  ];
  return {
    label,
    version: newest,
    featureGates: {},
    namespaces: new Map(),
    podSecurityPolicies: [],
    notes,
    async nodesFor(apiserver) {
      return parsed.map((p) => {
        const kubeletVersion = p.kubelet ?? apiserver;
        const facts: NodeFacts = { name: p.name, kubeletVersion, featureGates: {}, os: p.os, appArmorEnabled: p.os === 'linux', runtime: runtimeOf(p.runtimeText, kubeletVersion), profiles: [] };
        return { name: p.name, os: p.os, labels: p.labels, taints: p.taints, facts };
      });
    },
  };
}

/**
 * The kubelet appends ". AppArmor enabled" to its Ready condition's message when the condition is True and its
 * AppArmor host validation passes (pkg/kubelet/kubelet_node_status.go from 1.4, pkg/kubelet/nodestatus/setters.go
 * ReadyCondition later: "TODO(tallclair): This is a temporary message until node feature reporting is added"). Its
 * absence proves nothing for kubelets that no longer print it, so only its presence is read.
 */
export function readyReportsAppArmor(conditions: unknown): boolean {
  if (!Array.isArray(conditions)) return false;
  return conditions.some((c: unknown) => isMap(c) && c['type'] === 'Ready' && c['status'] === 'True' && typeof c['message'] === 'string' && c['message'].includes('. AppArmor enabled'));
}

/** containerRuntimeVersion is `<runtime>://<version>`, e.g. containerd://1.7.13, cri-o://1.29.1, docker://20.10.7. */
export function runtimeOf(text: string, kubelet: Minor): RuntimeName {
  const scheme = /^([a-z0-9-]+):\/\//.exec(text)?.[1] ?? '';
  if (scheme === 'containerd') return 'containerd';
  if (scheme === 'cri-o') return 'cri-o';
  // From 1.24 a docker:// runtime is cri-dockerd, a remote CRI runtime to the kubelet.
  if (scheme === 'docker') return kubelet < 24 ? 'docker' : 'remote';
  if (scheme === '') return defaultRuntime(kubelet);
  return 'remote';
}

export function describeNodes(nodes: readonly ClusterNode[]): string {
  return nodes.map((n) => `${n.name} (kubelet ${formatMinor(n.facts.kubeletVersion)}, ${n.facts.runtime})`).join(', ');
}
