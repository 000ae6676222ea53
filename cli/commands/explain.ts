// `apparmor-sim explain`: reads a live pod (kubectl get pod -o yaml|json, with its status), optionally its events and
// its node, classifies its state as the conformance harness does (sim/classify.ts), simulates the same pod with the
// model for the cluster's versions, and says which component and check put the pod there, whether the model agrees
// (if not, it prints the model's trace: that is a bug report), and what would fix it.
import { resolve } from 'node:path';
import type { Observation } from '../../sim/classify.js';
import { classify } from '../../sim/classify.js';
import { gateProblems } from '../../sim/feature-gates.js';
import { compareWithModel } from '../../sim/compare.js';
import type { Mismatch } from '../../sim/expect.js';
import type { ContainerStatusObserved, EventObserved, PodStatusObserved, RawObservation } from '../../sim/observation.js';
import { isMap, podDisplayName, readPod } from '../../sim/pod.js';
import { simulate } from '../../sim/simulate.js';
import type { ClusterFacts, Decision, FeatureGates, Minor, NodeFacts, Pod, TraceEntry } from '../../sim/types.js';
import { formatMinor, parseVersion } from '../../sim/version.js';
import type { OptionSpecs } from '../../io/args.js';
import { EXIT, UsageError, flagFailure, parseChoice, parseCommandLine, parseFeatureGates, parseLabels, parseVersionFlag } from '../../io/args.js';
import { Reader, defaultRuntime } from '../../io/load/facts.js';
import type { InputError, YamlDocument } from '../../io/load/source.js';
import { InputFailure, formatInputError, parseYamlDocuments, readTextFile } from '../../io/load/source.js';
import { runtimeOf } from '../../io/load/cluster.js';
import { displayPath } from './manifests.js';
import { buildNode } from './node.js';

const OPTIONS = {
  events: { type: 'string' },
  node: { type: 'string' },
  'k8s-version': { type: 'string' },
  'kubelet-version': { type: 'string' },
  profiles: { type: 'string', multiple: true },
  'namespace-labels': { type: 'string', multiple: true },
  output: { type: 'string', short: 'o' },
  'feature-gates': { type: 'string', multiple: true },
} as const satisfies OptionSpecs;

export const EXPLAIN_HELP = `Usage: apparmor-sim explain <pod.yaml|pod.json> [options]

Explains the state of a live pod: give it what kubectl get pod NAME -o yaml (or -o json) prints, status included
(a List of pods works too). Says which component and check put the pod in its state (Blocked, Rejected,
CreateContainerError, Running), whether the model predicts the same for the cluster's versions, and what would
fix it. When the model disagrees with the cluster, its trace is printed: please report it.

Options:
  --k8s-version V         the API server's version (kubectl version); default: the kubelet's
  --kubelet-version V     the kubelet's version; default: from --node, else the API server's
  --node FILE             the pod's node: kubectl get node NAME -o json (or get nodes: the pod's node is picked),
                          or a node facts file (apparmor-sim node snapshot), which also says which profiles are loaded
  --profiles FILE|DIR     profiles loaded on the node (as dry-run --profiles)
  --events FILE           kubectl get events -o json (the pod's events are picked by name)
  --namespace-labels k=v  labels of the pod's namespace (Pod Security Admission)
  --feature-gates A=true  feature gates of the API server and the kubelet
  -o, --output FORMAT     text (default) | json
  -h, --help              show this help

Without node facts, what the node has is inferred from the pod's state and said so (e.g. a profile the status
reports as not loaded).

Exit codes:
  0  explained, and the model agrees with the cluster (or the pod is not decided yet)
  1  the model disagrees with what the cluster did: its trace is printed, please report it
  2  usage or input error (one line per error on stderr: file:line[:col]: message)
  3  internal error (a bug in apparmor-sim; please report it)
`;

/** A live pod as read from the file. */
interface LivePod {
  file: string;
  line: number;
  pod: Pod;
  status: PodStatusObserved;
  nodeName: string | undefined;
  /** containerID schemes of the container statuses, e.g. containerd://, which name the runtime. */
  containerIds: string[];
}

interface NodeInfo {
  facts: Partial<NodeFacts> & { name?: string };
  /** Whether profiles and appArmorEnabled are known facts (a node facts file) rather than unknown. */
  factsKnown: boolean;
  notes: string[];
  /** About reading the inputs (e.g. profiles read without apparmor_parser): stderr, as dry-run prints them. */
  warnings?: string[] | undefined;
}

export async function runExplain(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, OPTIONS, 'explain');
  if (parsed.help) {
    process.stdout.write(EXPLAIN_HELP);
    return EXIT.ok;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('explain needs exactly one file: the output of kubectl get pod NAME -o yaml (or -o json)', true);
  const apiserverFlag = values['k8s-version'] !== undefined ? parseVersionFlag('--k8s-version', values['k8s-version']) : undefined;
  const kubeletFlag = values['kubelet-version'] !== undefined ? parseVersionFlag('--kubelet-version', values['kubelet-version']) : undefined;
  const labels = parseLabels(values['namespace-labels'] ?? []);
  const gates = parseFeatureGates(values['feature-gates'] ?? []);
  const output = parseChoice('--output', values.output ?? 'text', ['text', 'json'] as const);
  const cwd = process.cwd();
  const errors: InputError[] = [];
  const pods = readLivePods(positionals[0] ?? '', cwd, errors);
  const events = values.events !== undefined ? readEvents(values.events, cwd, errors) : undefined;
  if (pods.length === 0 && errors.length === 0) errors.push({ file: displayPath(resolve(cwd, positionals[0] ?? ''), cwd), message: 'no Pod in this file (expected kubectl get pod NAME -o yaml output)' });

  let disagreements = 0;
  const out: PodExplanation[] = [];
  const warned = new Set<string>();
  for (const live of pods) {
    const node = values.node !== undefined ? await readNodeFor(values.node, live, cwd, kubeletFlag ?? apiserverFlag, values.profiles ?? []) : await nodeFromFlags(values.profiles ?? [], kubeletFlag ?? apiserverFlag);
    const kubelet = kubeletFlag ?? node.facts.kubeletVersion ?? apiserverFlag;
    const apiserver = apiserverFlag ?? kubelet;
    if (kubelet === undefined || apiserver === undefined) {
      throw new UsageError('explain needs the cluster\'s version: --k8s-version V (what kubectl version says) or --node FILE (kubectl get node NAME -o json)', true);
    }
    const gateErrors = gateProblems(gates, apiserver, 'kube-apiserver');
    if (gateErrors.length > 0) throw flagFailure(gateErrors.map((p) => `--feature-gates: ${p.message}`));
    const notes = [...node.notes];
    for (const warning of node.warnings ?? []) {
      if (warned.has(warning)) continue;
      warned.add(warning);
      process.stderr.write(`apparmor-sim: warning: ${warning}\n`);
    }
    if (apiserverFlag === undefined) notes.push(`API server version taken to be the kubelet's, ${formatMinor(apiserver)} (give --k8s-version)`);
    const explanation = explainPod(live, gates, events?.filter((e) => e.pod === live.pod.name && (e.namespace === undefined || live.pod.namespace === undefined || e.namespace === live.pod.namespace)).map((e) => e.event) ?? [], node, kubelet, apiserver, labels, notes);
    if (explanation.model.agrees === false) disagreements++;
    out.push(explanation);
  }
  process.stdout.write(output === 'json' ? `${JSON.stringify({ pods: out }, null, 2)}\n` : out.map(renderText).join('\n'));
  if (errors.length > 0) {
    process.stderr.write(new InputFailure(errors).errors.map((e) => `${formatInputError(e)}\n`).join(''));
    return EXIT.usage;
  }
  return disagreements > 0 ? EXIT.refusedOrFailed : EXIT.ok;
}

// ---- Reading ----

function readDocuments(path: string, cwd: string, errors: InputError[]): YamlDocument[] {
  const file = resolve(cwd, path);
  const label = displayPath(file, cwd);
  try {
    return parseYamlDocuments(readTextFile(file, label), label);
  } catch (error) {
    if (!(error instanceof InputFailure)) throw error;
    errors.push(...error.errors);
    return [];
  }
}

function readLivePods(path: string, cwd: string, errors: InputError[]): LivePod[] {
  const pods: LivePod[] = [];
  for (const doc of readDocuments(path, cwd, errors)) {
    const visit = (value: unknown, at: (string | number)[]) => {
      if (!isMap(value)) return;
      if (Array.isArray(value['items'])) {
        value['items'].forEach((item: unknown, i) => visit(item, [...at, 'items', i]));
        return;
      }
      if (value['kind'] !== 'Pod') return;
      const read = readPod(value);
      if (!read.ok) {
        const reader = new Reader(doc);
        for (const issue of read.issues) reader.error([...at, ...issue.path], issue.message);
        errors.push(...reader.errors);
        return;
      }
      const reader = new Reader(doc);
      const status = readStatus(reader, value['status'], [...at, 'status']);
      errors.push(...reader.errors);
      if (!status) return;
      const spec = isMap(value['spec']) ? value['spec'] : {};
      const statuses = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
      pods.push({
        file: doc.file,
        line: doc.lineOf(at),
        pod: read.pod,
        status,
        nodeName: typeof spec['nodeName'] === 'string' ? spec['nodeName'] : undefined,
        containerIds: statuses.map((s) => (s as ContainerStatusObserved & { containerID?: string }).containerID ?? '').filter((id) => id !== ''),
      });
    };
    visit(doc.value, []);
  }
  return pods;
}

/** The parts of PodStatus the classifier reads; wrong types are input errors at their line. */
function readStatus(reader: Reader, value: unknown, at: (string | number)[]): PodStatusObserved | undefined {
  const status = reader.map(value, at);
  if (!status) {
    reader.error(at, 'the pod has no status: give what kubectl get pod NAME -o yaml prints for a created pod');
    return undefined;
  }
  const text = (key: string) => reader.string(status[key], [...at, key]);
  const containerStatuses = (key: string): (ContainerStatusObserved & { containerID?: string })[] | undefined => {
    const list = status[key];
    if (list === undefined || list === null) return undefined;
    return reader.list(list, [...at, key]).flatMap((entry, i) => {
      const path = [...at, key, i];
      const s = reader.map(entry, path);
      const name = s ? reader.string(s['name'], [...path, 'name'], true) : undefined;
      if (!s || name === undefined) return [];
      return [{ name, state: readState(reader, s['state'], [...path, 'state']), lastState: readState(reader, s['lastState'], [...path, 'lastState']), containerID: typeof s['containerID'] === 'string' ? s['containerID'] : undefined }];
    });
  };
  const conditions = reader.list(status['conditions'] ?? [], [...at, 'conditions']).flatMap((c) => {
    if (!isMap(c) || typeof c['type'] !== 'string' || typeof c['status'] !== 'string') return [];
    return [{ type: c['type'], status: c['status'], reason: stringOr(c['reason']), message: stringOr(c['message']) }];
  });
  return {
    phase: text('phase'),
    reason: text('reason'),
    message: text('message'),
    initContainerStatuses: containerStatuses('initContainerStatuses'),
    containerStatuses: containerStatuses('containerStatuses'),
    ephemeralContainerStatuses: containerStatuses('ephemeralContainerStatuses'),
    conditions,
  };
}

function readState(reader: Reader, value: unknown, at: (string | number)[]): ContainerStatusObserved['state'] {
  const state = reader.map(value, at);
  if (!state) return undefined;
  const part = (key: string) => (isMap(state[key]) ? state[key] : undefined);
  const waiting = part('waiting');
  const running = part('running');
  const terminated = part('terminated');
  return {
    waiting: waiting ? { reason: stringOr(waiting['reason']), message: stringOr(waiting['message']) } : undefined,
    running: running ? { startedAt: stringOr(running['startedAt']) } : undefined,
    terminated: terminated ? { exitCode: typeof terminated['exitCode'] === 'number' ? terminated['exitCode'] : -1, reason: stringOr(terminated['reason']), message: stringOr(terminated['message']) } : undefined,
  };
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

interface PodEvent {
  pod: string;
  namespace: string | undefined;
  event: EventObserved;
}

/** kubectl get events -o json|yaml: core/v1 Events (involvedObject, source) or events.k8s.io/v1 (regarding, note). */
function readEvents(path: string, cwd: string, errors: InputError[]): PodEvent[] {
  const events: PodEvent[] = [];
  for (const doc of readDocuments(path, cwd, errors)) {
    const value = doc.value;
    const items = isMap(value) && Array.isArray(value['items']) ? value['items'] : [value];
    for (const item of items) {
      if (!isMap(item)) continue;
      const object = isMap(item['involvedObject']) ? item['involvedObject'] : isMap(item['regarding']) ? item['regarding'] : undefined;
      if (!object || object['kind'] !== 'Pod' || typeof object['name'] !== 'string') continue;
      const source = isMap(item['source']) ? stringOr(item['source']['component']) : undefined;
      const series = isMap(item['series']) && typeof item['series']['count'] === 'number' ? item['series']['count'] : undefined;
      events.push({
        pod: object['name'],
        namespace: stringOr(object['namespace']),
        event: {
          type: stringOr(item['type']),
          reason: stringOr(item['reason']),
          message: stringOr(item['message']) ?? stringOr(item['note']),
          source: source ?? stringOr(item['reportingController']) ?? stringOr(item['reportingComponent']),
          fieldPath: stringOr(object['fieldPath']),
          count: typeof item['count'] === 'number' ? item['count'] : series,
        },
      });
    }
  }
  return events;
}

async function nodeFromFlags(profiles: readonly string[], kubelet: Minor | undefined): Promise<NodeInfo> {
  if (profiles.length === 0 || kubelet === undefined) return { facts: {}, factsKnown: false, notes: [] };
  const built = await buildNode({ nodeFile: undefined, kubeletText: undefined, kubelet, runtime: undefined, gates: {}, appArmorDisabled: false, profiles: [...profiles] });
  return { facts: { profiles: built.node.profiles, appArmorEnabled: built.node.appArmorEnabled }, factsKnown: true, notes: [], warnings: built.notes };
}

/** --node: kubectl get node(s) -o json|yaml, or a node facts file. */
async function readNodeFor(path: string, live: LivePod, cwd: string, kubelet: Minor | undefined, profiles: readonly string[]): Promise<NodeInfo> {
  const errors: InputError[] = [];
  const docs = readDocuments(path, cwd, errors);
  if (errors.length > 0) throw new InputFailure(errors);
  const value = docs[0]?.value;
  const objects = isMap(value) && Array.isArray(value['items']) ? value['items'] : [value];
  const kubectlNodes = objects.filter((o): o is Record<string, unknown> => isMap(o) && (o['kind'] === 'Node' || isMap(o['status'])));
  if (kubectlNodes.length === 0) {
    // A node facts file, as dry-run --node reads it.
    const built = await buildNode({ nodeFile: path, kubeletText: undefined, kubelet: kubelet ?? 0, runtime: undefined, gates: {}, appArmorDisabled: false, profiles: [...profiles] }, cwd);
    if (kubelet === undefined && built.node.kubeletVersion === 0) throw new UsageError('explain needs the kubelet\'s version: kubeletVersion in the node file, --kubelet-version or --k8s-version', true);
    return { facts: built.node, factsKnown: true, notes: [], warnings: built.notes };
  }
  const node = kubectlNodes.find((n) => isMap(n['metadata']) && n['metadata']['name'] === live.nodeName) ?? (kubectlNodes.length === 1 ? kubectlNodes[0] : undefined);
  if (!node) throw new InputFailure([{ file: displayPath(resolve(cwd, path), cwd), message: `no node named ${JSON.stringify(live.nodeName ?? '')} (the pod's spec.nodeName) in this file` }]);
  const metadata = isMap(node['metadata']) ? node['metadata'] : {};
  const status = isMap(node['status']) ? node['status'] : {};
  const info = isMap(status['nodeInfo']) ? status['nodeInfo'] : {};
  const version = parseVersion(info['kubeletVersion']);
  const nodeKubelet = version.ok ? version.minor : undefined;
  const effectiveKubelet = kubelet ?? nodeKubelet;
  const facts: NodeInfo['facts'] = { name: stringOr(metadata['name']), kubeletVersion: effectiveKubelet };
  if (info['operatingSystem'] === 'windows') facts.os = 'windows';
  if (typeof info['containerRuntimeVersion'] === 'string' && effectiveKubelet !== undefined) facts.runtime = runtimeOf(info['containerRuntimeVersion'], effectiveKubelet);
  // 1.4-1.29 kubelets append "AppArmor enabled" to the Ready condition's message when the host has AppArmor
  // (pkg/kubelet/nodestatus/setters.go ReadyCondition; dropped in 1.30 by #123435, "AppArmor status is no longer
  // included in the node ready condition").
  const ready = Array.isArray(status['conditions']) ? status['conditions'].find((c: unknown) => isMap(c) && c['type'] === 'Ready') : undefined;
  const notes: string[] = [];
  if (isMap(ready) && typeof ready['message'] === 'string' && ready['message'].includes('AppArmor enabled')) {
    facts.appArmorEnabled = true;
    notes.push(`node ${facts.name ?? ''}: its Ready condition says "AppArmor enabled"`);
  }
  if (profiles.length > 0 && effectiveKubelet !== undefined) {
    const fromProfiles = await nodeFromFlags(profiles, effectiveKubelet);
    return { facts: { ...facts, ...fromProfiles.facts }, factsKnown: true, notes, warnings: fromProfiles.warnings };
  }
  return { facts, factsKnown: false, notes };
}

// ---- Explaining ----

/** Profile names a message mentions as missing (kubelet "profile "x" is not loaded", containerd "apparmor profile not found x", ...). */
function missingProfiles(pod: Pod, messages: readonly string[]): string[] {
  const named = localhostNames(pod);
  return named.filter((name) => messages.some((m) => m.includes(`"${name}"`) || new RegExp(`(^|[\\s/:])${escapeRegExp(name)}($|[\\s:,"])`).test(m)));
}

function localhostNames(pod: Pod): string[] {
  const names = new Set<string>();
  for (const value of Object.values(pod.annotations)) if (value.startsWith('localhost/') && value.length > 'localhost/'.length) names.add(value.slice('localhost/'.length));
  for (const field of [pod.appArmorProfile, ...pod.containers.map((c) => c.appArmorProfile)]) {
    if (field?.type === 'Localhost' && field.localhostProfile) names.add(field.localhostProfile);
  }
  return [...names];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function explainPod(live: LivePod, gates: FeatureGates, events: EventObserved[], nodeInfo: NodeInfo, kubelet: Minor, apiserver: Minor, labels: Readonly<Record<string, string>>, notes: string[]): PodExplanation {
  const { pod } = live;
  const raw: RawObservation = {
    api: { accepted: true, warnings: [] },
    pod: live.status,
    events,
    exec: {},
    containers: pod.containers.map((c) => ({ name: c.name, kind: c.kind })),
    warningsKnown: false,
  };
  const classification = classify(raw);
  const observed = classification.kind === 'decided' ? classification.observation : undefined;
  const observedMessages = [live.status.message ?? '', ...(observed ? [observed.message] : []), ...events.map((e) => e.message ?? '')];

  // What the node has: known from node facts; else each unknown (which profiles are loaded, whether AppArmor is on)
  // is assumed in turn, and the first assumption under which the model reproduces the pod's state is reported.
  const nodeName = nodeInfo.facts.name ?? live.nodeName ?? 'node-1';
  const runtimeFromStatus = live.containerIds[0] !== undefined ? runtimeOf(live.containerIds[0], kubelet) : undefined;
  const runtime = nodeInfo.facts.runtime ?? runtimeFromStatus ?? defaultRuntime(kubelet);
  const base: NodeFacts = {
    name: nodeName,
    kubeletVersion: kubelet,
    featureGates: { ...(nodeInfo.facts.featureGates ?? {}), ...gates },
    os: nodeInfo.facts.os ?? (pod.os === 'windows' ? 'windows' : 'linux'),
    appArmorEnabled: nodeInfo.facts.appArmorEnabled ?? true,
    runtime,
    profiles: nodeInfo.facts.profiles ?? [],
  };
  const cluster: ClusterFacts = { version: apiserver, featureGates: gates, namespace: { name: pod.namespace ?? 'default', labels }, podSecurityPolicies: [] };
  const candidates = nodeInfo.factsKnown ? [{ node: base, assumptions: [] as string[] }] : nodeCandidates(base, pod, observed, observedMessages, nodeInfo.facts.appArmorEnabled !== undefined);
  // The candidate that reproduces the most of the pod's state (outcome, stage and reason first, then the message).
  let chosen: { node: NodeFacts; assumptions: string[]; decision: Decision; mismatches: Mismatch[]; score: number } | undefined;
  for (const candidate of candidates) {
    const decision = simulate({ cluster, node: candidate.node, pod });
    const mismatches = observed ? compareWithModel(observed, decision).filter((m) => m.field !== 'model.warnings') : [];
    const score = mismatches.reduce((n, m) => n + (isDisagreement(m) ? 100 : m.field === 'model.message' ? 10 : 1), 0);
    if (!chosen || score < chosen.score) chosen = { ...candidate, decision, mismatches, score };
    if (score === 0) break;
  }
  const { node, decision, mismatches } = chosen as NonNullable<typeof chosen>;
  const assumptions = [...(chosen?.assumptions ?? [])];
  if (nodeInfo.facts.runtime === undefined && runtimeFromStatus === undefined) assumptions.push(`runtime ${runtime} (the default for kubelet ${formatMinor(kubelet)})`);
  const disagrees = observed !== undefined && mismatches.some(isDisagreement);

  const cause = failingCheck(decision);
  const fixes = fixesFor(observed?.outcome ?? decision.outcome, pod, decision, node, nodeInfo.factsKnown, observedMessages, kubelet);
  return {
    file: live.file,
    line: live.line,
    namespace: pod.namespace ?? 'default',
    name: podDisplayName(pod),
    node: nodeName,
    apiserver: formatMinor(apiserver),
    kubelet: formatMinor(kubelet),
    runtime,
    state: observed
      ? { decided: true, outcome: observed.outcome, stage: observed.stage, reason: observed.reason, message: observed.message, evidence: observed.evidence }
      : { decided: false, why: classification.kind === 'decided' ? '' : classification.why },
    requests: decision.containers.map((c) => ({ container: c.name, requested: c.requested, requestedBy: c.requestedBy })),
    runsAs: decision.outcome === 'Run' ? decision.containers.map((c) => ({ container: c.name, profile: c.procAttrCurrent })) : [],
    cause: observed && observed.outcome !== 'Run' ? { component: componentOf(observed.stage, kubelet, apiserver, runtime), ...(cause && !disagrees ? { check: cause.check, detail: cause.detail, source: cause.source } : {}) } : undefined,
    notes,
    assumptions,
    factsKnown: nodeInfo.factsKnown,
    model: {
      agrees: observed ? !disagrees : null,
      outcome: decision.outcome,
      stage: decision.stage,
      reason: decision.reason,
      message: decision.message,
      mismatches,
      trace: disagrees ? decision.trace : undefined,
    },
    fixes,
  };
}

/** One pod's explanation; `-o json` prints a list of them. */
export interface PodExplanation {
  file: string;
  line: number;
  namespace: string;
  name: string;
  node: string;
  apiserver: string;
  kubelet: string;
  runtime: string;
  state: { decided: true; outcome: Observation['outcome']; stage: Observation['stage']; reason: string; message: string; evidence: string } | { decided: false; why: string };
  requests: { container: string; requested: string | null; requestedBy: string }[];
  /** When the model predicts Run: what /proc/1/attr/current shows in each container. */
  runsAs: { container: string; profile: string | null }[];
  cause?: { component: string; check?: string; detail?: string; source?: string } | undefined;
  notes: string[];
  assumptions: string[];
  factsKnown: boolean;
  /** `agrees` is null when the pod's state is not decided yet; the trace is given when the model disagrees. */
  model: { agrees: boolean | null; outcome: Decision['outcome']; stage: Decision['stage']; reason: string; message: string; mismatches: Mismatch[]; trace?: TraceEntry[] | undefined };
  fixes: string[];
}

export function renderText(e: PodExplanation): string {
  const lines: string[] = [];
  lines.push(`${e.file}:${e.line}  pod ${e.namespace}/${e.name} on node ${e.node} (Kubernetes ${e.apiserver}, kubelet ${e.kubelet}, ${e.runtime})`);
  const state = e.state;
  lines.push(`  state:    ${state.decided ? `${state.outcome === 'Run' ? 'Running' : state.outcome} (${state.evidence})` : `not decided yet (${state.why})`}`);
  if (state.decided && state.message) lines.push(`  message:  ${state.message}`);
  lines.push(`  requests: ${e.requests.map((r) => `${r.container}: ${r.requested ?? 'none'}${r.requested ? ` (${r.requestedBy.replace('-', ' ')})` : ''}`).join(', ') || 'none'}`);
  if (state.decided && state.outcome === 'Run' && e.runsAs.length > 0) lines.push(`  runs as:  ${e.runsAs.map((r) => `${r.container}: ${r.profile ?? 'no AppArmor profile'}`).join(', ')}`);
  if (e.cause) {
    lines.push(`  cause:    ${e.cause.component}${e.cause.check ? `, check ${e.cause.check}: ${e.cause.detail ?? ''}` : ''}`);
    if (e.cause.source) lines.push(`            source: ${e.cause.source}`);
  }
  for (const note of e.notes) lines.push(`  note:     ${note}`);
  for (const assumption of e.assumptions) lines.push(`  assumed:  ${assumption}`);
  if (e.assumptions.length > 0 && !e.factsKnown) lines.push('            (give --node with the output of apparmor-sim node snapshot on that node to check instead of assume)');
  const model = e.model;
  const predicted = model.outcome === 'Run' ? 'Run' : `${model.outcome} at ${model.stage}: ${model.message}`;
  if (model.agrees === null) {
    lines.push(`  model:    predicts ${predicted}`);
  } else if (!model.agrees) {
    lines.push(`  model:    DISAGREES with the cluster: it predicts ${predicted}`);
    lines.push('            This is a bug report: please file it with this output and the pod, node and events you gave.');
    for (const m of model.mismatches) lines.push(`            ${m.field}: model ${JSON.stringify(m.expected)}, cluster ${JSON.stringify(m.actual)}`);
    lines.push('  trace:');
    for (const entry of model.trace ?? []) lines.push(`    ${formatTrace(entry)}`);
  } else {
    const messageDiffers = model.mismatches.find((m) => m.field === 'model.message');
    lines.push(`  model:    agrees: ${model.outcome}${model.outcome !== 'Run' ? ` at ${model.stage}` : ''}${messageDiffers ? ` (its message differs: ${JSON.stringify(messageDiffers.expected)})` : ''}`);
  }
  e.fixes.forEach((fix, i) => lines.push(`${i === 0 ? '  fix:      ' : '            '}${fix}`));
  return `${lines.join('\n')}\n`;
}

function isDisagreement(m: Mismatch): boolean {
  return m.field === 'model.outcome' || m.field === 'model.stage' || m.field === 'model.reason';
}

/**
 * Nodes to try when the node's facts are unknown, most likely first: the profiles the pod's state names as missing
 * are not loaded and the rest are; every requested profile loaded; none loaded; AppArmor off.
 */
function nodeCandidates(base: NodeFacts, pod: Pod, observed: Observation | undefined, messages: readonly string[], appArmorKnown: boolean): { node: NodeFacts; assumptions: string[] }[] {
  const names = localhostNames(pod);
  const missing = observed && observed.outcome !== 'Run' ? missingProfiles(pod, messages) : [];
  const withProfiles = (loaded: readonly string[], why: string) => {
    const assumptions: string[] = [];
    const notLoaded = names.filter((n) => !loaded.includes(n));
    if (notLoaded.length > 0) assumptions.push(`not loaded on ${base.name}: ${notLoaded.join(', ')} (${why})`);
    if (loaded.length > 0) assumptions.push(`loaded on ${base.name}: ${loaded.join(', ')}`);
    if (!appArmorKnown) assumptions.push(`AppArmor enabled on ${base.name}`);
    return { node: { ...base, profiles: loaded.map((name) => ({ name, mode: 'enforce' as const })) }, assumptions };
  };
  const candidates = [
    withProfiles(names.filter((n) => !missing.includes(n)), missing.length > 0 ? "the pod's status says so" : 'what reproduces the pod\'s state'),
    withProfiles([], 'what reproduces the pod\'s state'),
  ];
  if (!appArmorKnown) candidates.push({ node: { ...base, appArmorEnabled: false, profiles: [] }, assumptions: [`AppArmor not enabled on ${base.name} (what reproduces the pod's state)`] });
  return candidates;
}




function componentOf(stage: Observation['stage'], kubelet: Minor, apiserver: Minor, runtime: string): string {
  switch (stage) {
    case 'apiserver':
      return `API server ${formatMinor(apiserver)} (validation)`;
    case 'admission':
      return `API server ${formatMinor(apiserver)} (admission)`;
    case 'kubelet':
      return `kubelet ${formatMinor(kubelet)} (AppArmor admission)`;
    case 'runtime':
      return `container runtime ${runtime} (creating the container, for kubelet ${formatMinor(kubelet)})`;
  }
}

function failingCheck(decision: Decision): TraceEntry | undefined {
  return decision.trace.find((e) => e.verdict === 'fail' && e.check !== 'api-validation-result') ?? decision.trace.find((e) => e.verdict === 'fail');
}

function formatTrace(entry: TraceEntry): string {
  return `${entry.component.padEnd(14)} ${entry.check.padEnd(44)} ${entry.verdict.padEnd(6)} ${entry.detail}`;
}

/** Concrete steps, most direct first. */
function fixesFor(outcome: Decision['outcome'], pod: Pod, decision: Decision, node: NodeFacts, factsKnown: boolean, messages: readonly string[], kubelet: Minor): string[] {
  const fixes: string[] = [];
  const allMessages = [...messages, decision.message];
  if (outcome === 'Run') {
    const annotated = decision.containers.filter((c) => c.requestedBy === 'annotation');
    const hasFields = pod.appArmorProfile !== undefined || pod.containers.some((c) => c.appArmorProfile !== undefined);
    for (const c of decision.containers) {
      if (!c.procAttrCurrent?.endsWith(' (complain)')) continue;
      const profile = c.procAttrCurrent.slice(0, -' (complain)'.length);
      fixes.push(`${c.name} runs under ${profile} in complain mode, which only logs what the profile would deny; to enforce it, load it without -C: sudo apparmor_parser -r -W <its file> (or aa-enforce)`);
    }
    if (annotated.length > 0 && kubelet >= 30 && !hasFields) {
      fixes.push(`nothing is broken; the annotations are deprecated since 1.30: apparmor-sim migrate <manifest> moves them to securityContext.appArmorProfile`);
    } else if (fixes.length === 0) fixes.push('nothing to fix');
    return fixes;
  }
  if (!node.appArmorEnabled || allMessages.some((m) => m.includes('AppArmor is not enabled on the host'))) {
    fixes.push(`enable AppArmor on ${node.name} (kernel with AppArmor, boot parameters apparmor=1 security=apparmor, securityfs mounted),`);
    fixes.push('or schedule the pod to nodes that have it (nodeSelector / affinity), or remove its AppArmor request');
  }
  // Profiles the containers ask for that the node (as known or assumed) does not have.
  const requested = decision.containers.flatMap((c) => (c.requested?.startsWith('localhost/') ? [c.requested.slice('localhost/'.length)] : []));
  const missing = node.appArmorEnabled ? [...new Set([...missingProfiles(pod, allMessages), ...requested.filter((n) => n !== '' && !node.profiles.some((p) => p.name === n))])] : [];
  for (const name of missing) {
    fixes.push(`load profile ${name} on ${node.name}: put its source in /etc/apparmor.d/ and run sudo apparmor_parser -r -W /etc/apparmor.d/<that file>`);
    const near = factsKnown ? nearestProfile(name, node.profiles.map((p) => p.name)) : undefined;
    if (near) fixes.push(`or fix the name: ${node.name} has ${near} loaded (the pod asks for ${name})`);
    else fixes.push('(on every node that may run the pod, e.g. with a DaemonSet or the Security Profiles Operator), or fix the name in the pod');
  }
  if (allMessages.some((m) => /invalid AppArmor profile name|invalid empty AppArmor profile name/.test(m))) {
    fixes.push('fix the profile reference: runtime/default, unconfined or localhost/<name of a loaded profile> (fields: type RuntimeDefault, Unconfined or Localhost with localhostProfile)');
  }
  if (allMessages.some((m) => /only enabled for 'docker' runtime|runtime does not support/i.test(m))) {
    fixes.push(`run the pod on a node whose container runtime supports AppArmor (this kubelet ${formatMinor(kubelet)} accepts it only with docker)`);
  }
  if (fixes.length === 0) fixes.push(`see the cause above; apparmor-sim dry-run <manifest> --k8s-version ${formatMinor(kubelet)} --explain shows every check`);
  if (outcome === 'Blocked') fixes.push('then the pod starts by itself: the kubelet re-checks a Blocked pod each time it syncs it (soft admission; pkg/kubelet/kubelet.go SyncPod canRunPod)');
  if (outcome === 'Rejected') fixes.push('then recreate the pod: a rejected pod has failed for good (its controller, if any, creates a new one)');
  if (outcome === 'CreateContainerError') fixes.push('then the container starts by itself: the kubelet retries creating it with back-off');
  return fixes;
}

/** A loaded profile whose name is within edit distance 3 of the requested one, or equal ignoring case. */
function nearestProfile(name: string, loaded: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of loaded) {
    if (candidate === name) continue;
    const distance = candidate.toLowerCase() === name.toLowerCase() ? 0 : editDistance(candidate, name, 3);
    if (distance <= 3 && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance, stopping early above `limit` (profile names are short). */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

export type { LivePod, Mismatch };
