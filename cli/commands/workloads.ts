// Pods and workloads: turns a Kubernetes object into the Pod a controller would create from it (Deployment,
// StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate), with what the scheduler
// reads (nodeName, nodeSelector, required node affinity, tolerations) and where the AppArmor requests were written.
import { ANNOTATION_PREFIX, isMap, readPod } from '../../sim/pod.js';
import type { Pod, WorkloadRequest } from '../../sim/types.js';
import { getIn, readWorkload, WORKLOAD_TEMPLATES } from '../../sim/workload-manifest.js';
import { Reader } from '../../io/load/facts.js';
import type { InputError, YamlDocument } from '../../io/load/source.js';

type Path = (string | number)[];

/** The object a pod came from when it is not a Pod itself. */
export interface WorkloadRef {
  kind: string;
  name: string;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values: string[];
}

export interface NodeSelectorTerm {
  matchExpressions: NodeSelectorRequirement[];
  matchFields: NodeSelectorRequirement[];
}

export interface Toleration {
  key: string;
  operator: string;
  value: string;
  effect: string;
}

/** What the scheduler reads to pick a node. */
export interface Placement {
  nodeName?: string | undefined;
  nodeSelector: Readonly<Record<string, string>>;
  /** requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms (ORed); undefined when there is none. */
  requiredTerms?: NodeSelectorTerm[] | undefined;
  tolerations: Toleration[];
  /** DaemonSet pods go to every eligible node, not one of them. */
  everyNode: boolean;
}

/** 1-based lines of the manifest text that request AppArmor profiles, for SARIF locations. */
export interface RequestLines {
  /** spec.securityContext.appArmorProfile */
  podField?: number | undefined;
  /** container name -> line of its container.apparmor.security.beta.kubernetes.io/<name> annotation */
  annotations: Record<string, number>;
  /** container name -> line of its securityContext.appArmorProfile */
  containerFields: Record<string, number>;
}

/** A pod to simulate, as the CLI hands it around (manifests.ts calls it PodInput). */
export interface CollectedPod {
  file: string;
  line: number;
  pod: Pod;
  workload?: WorkloadRef | undefined;
  /** The create of the workload itself (kind, apiVersion, name), for the workload-level outcome. */
  request?: WorkloadRequest | undefined;
  placement?: Placement | undefined;
  requests?: RequestLines | undefined;
}

export interface CollectedSkip {
  file: string;
  line: number;
  kind: string;
  name: string;
  why: string;
}

export interface Collector {
  pods: CollectedPod[];
  skipped: CollectedSkip[];
}

export { WORKLOAD_TEMPLATES } from '../../sim/workload-manifest.js';

/** Tolerations the DaemonSet controller adds to every DaemonSet pod (pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations). */
const DAEMONSET_TOLERATIONS: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', value: '', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', value: '', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', value: '', effect: 'NoSchedule' },
];

/**
 * Adds a Pod or a workload's pod to `out`; other kinds are listed as skipped. Wrongly typed pod fields are input
 * errors at their line (inside a template, the template's line).
 */
export function collectObject(doc: YamlDocument, value: Record<string, unknown>, path: Path, out: Collector, errors: InputError[]): void {
  const line = doc.lineOf(path);
  const kind = typeof value['kind'] === 'string' ? value['kind'] : '';
  const metadata = isMap(value['metadata']) ? value['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '';
  if (kind === 'Pod') {
    const read = readPod(value);
    if (!read.ok) {
      reportIssues(doc, path, read.issues, errors);
      return;
    }
    const spec = isMap(value['spec']) ? value['spec'] : {};
    out.pods.push({ file: doc.file, line, pod: read.pod, placement: placementOf(spec, false), requests: requestLines(doc, path, value) });
    return;
  }
  if (!WORKLOAD_TEMPLATES[kind]) {
    out.skipped.push({ file: doc.file, line, kind, name, why: kind ? 'not a Pod' : 'no kind: not a Kubernetes object' });
    return;
  }
  const read = readWorkload(value);
  if (!read.ok) {
    const first = read.issues[0];
    if (read.noTemplate && first) out.skipped.push({ file: doc.file, line, kind, name, why: first.message });
    else if (read.issues.some((i) => i.path[0] === 'metadata' && i.path[1] === 'name' && i.path.length === 2)) errors.push({ file: doc.file, line, message: `metadata.name: a ${kind} needs metadata.name` });
    else reportIssues(doc, path, read.issues, errors);
    return;
  }
  const at = [...path, ...read.templatePath];
  const template = getIn(value, read.templatePath);
  const templateMap = isMap(template) ? template : {};
  const spec = isMap(templateMap['spec']) ? templateMap['spec'] : {};
  out.pods.push({
    file: doc.file,
    line,
    pod: read.pod,
    workload: { kind, name: read.request.name },
    request: read.request,
    placement: placementOf(spec, kind === 'DaemonSet'),
    requests: requestLines(doc, at, templateMap),
  });
}

function reportIssues(doc: YamlDocument, at: Path, issues: readonly { path: readonly (string | number)[]; message: string }[], errors: InputError[]): void {
  const reader = new Reader(doc);
  for (const issue of issues) reader.error([...at, ...issue.path], issue.message);
  errors.push(...reader.errors);
}

function requestLines(doc: YamlDocument, at: Path, podLike: Record<string, unknown>): RequestLines {
  const lines: RequestLines = { annotations: {}, containerFields: {} };
  const metadata = podLike['metadata'];
  const annotations = isMap(metadata) ? metadata['annotations'] : undefined;
  if (isMap(annotations)) {
    for (const key of Object.keys(annotations)) {
      if (key.startsWith(ANNOTATION_PREFIX)) lines.annotations[key.slice(ANNOTATION_PREFIX.length)] = doc.lineOf([...at, 'metadata', 'annotations', key]);
    }
  }
  const spec = podLike['spec'];
  if (!isMap(spec)) return lines;
  if (isMap(spec['securityContext']) && spec['securityContext']['appArmorProfile'] !== undefined) {
    lines.podField = doc.lineOf([...at, 'spec', 'securityContext', 'appArmorProfile']);
  }
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    containers.forEach((container: unknown, index) => {
      if (!isMap(container) || typeof container['name'] !== 'string') return;
      const sc = container['securityContext'];
      if (isMap(sc) && sc['appArmorProfile'] !== undefined) {
        lines.containerFields[container['name']] = doc.lineOf([...at, 'spec', list, index, 'securityContext', 'appArmorProfile']);
      }
    });
  }
  return lines;
}

/** Reads the scheduling fields leniently: a wrongly typed one counts as absent (the model is about AppArmor). */
export function placementOf(spec: Record<string, unknown>, everyNode: boolean): Placement {
  const nodeName = typeof spec['nodeName'] === 'string' && spec['nodeName'] !== '' ? spec['nodeName'] : undefined;
  const nodeSelector: Record<string, string> = {};
  if (isMap(spec['nodeSelector'])) {
    for (const [key, value] of Object.entries(spec['nodeSelector'])) nodeSelector[key] = scalarText(value);
  }
  const required = getIn(spec, ['affinity', 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution']);
  let requiredTerms: NodeSelectorTerm[] | undefined;
  if (isMap(required)) {
    const terms = Array.isArray(required['nodeSelectorTerms']) ? required['nodeSelectorTerms'] : [];
    requiredTerms = terms.map((term: unknown) => ({
      matchExpressions: requirements(isMap(term) ? term['matchExpressions'] : undefined),
      matchFields: requirements(isMap(term) ? term['matchFields'] : undefined),
    }));
  }
  const tolerations: Toleration[] = (Array.isArray(spec['tolerations']) ? spec['tolerations'] : []).flatMap((t: unknown): Toleration[] => {
    if (!isMap(t)) return [];
    return [{ key: scalarText(t['key']), operator: scalarText(t['operator']) || 'Equal', value: scalarText(t['value']), effect: scalarText(t['effect']) }];
  });
  if (everyNode) tolerations.push(...DAEMONSET_TOLERATIONS);
  return { nodeName, nodeSelector, requiredTerms, tolerations, everyNode };
}

function requirements(value: unknown): NodeSelectorRequirement[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((r: unknown): NodeSelectorRequirement[] => {
    if (!isMap(r)) return [];
    const values = Array.isArray(r['values']) ? r['values'].map(scalarText) : [];
    return [{ key: scalarText(r['key']), operator: scalarText(r['operator']), values }];
  });
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}
