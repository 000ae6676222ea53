// The dry run over several API server versions (--k8s-version 1.23,1.28-1.31) and/or several nodes (--cluster FILE):
// each pod is simulated on every eligible node of every version. Nodes that differ only in name, labels and taints
// decide alike, so each pod is simulated once per distinct node setup, not once per node.
import { gateProblems } from '../../sim/feature-gates.js';
import { podDisplayName } from '../../sim/pod.js';
import { simulate } from '../../sim/simulate.js';
import type { ClusterFacts, Decision, Minor, NodeFacts, PodSecurityPolicyFacts } from '../../sim/types.js';
import { podSecurityPolicyNotes } from '../../io/load/psp.js';
import { formatMinor } from '../../sim/version.js';
import { EXIT, UsageError, flagFailure } from '../../io/args.js';
import { paletteFor } from '../output/color.js';
import type { MatrixFormat, MatrixOutcome, MatrixCell, MatrixSummary } from '../output/matrix.js';
import { matrixJson, matrixJunit, matrixTable } from '../output/matrix.js';
import { matrixSarif } from '../output/sarif.js';
import type { ClusterNode, LoadedCluster } from '../../io/load/cluster.js';
import { loadCluster } from '../../io/load/cluster.js';
import type { DryRunSettings } from './dry-run.js';
import { simInputFor } from './dry-run.js';
import type { PodInput } from './manifests.js';
import { readManifests } from './manifests.js';
import { buildNode } from './node.js';
import { failsOn } from './fail-on.js';
import { reportInputProblems } from './input-problems.js';
import type { Eligibility } from './scheduling.js';
import { eligibleNodes, unschedulableMessage } from './scheduling.js';

/** One API server version: its nodes, and per node a key that is equal for nodes that decide alike. */
interface Column {
  version: Minor;
  base: ClusterFacts;
  nodes: ClusterNode[];
  keys: string[];
  /** Node name -> position, to list a group's nodes in cluster order. */
  order: Map<string, number>;
}

export interface MatrixRun {
  clusterMode: boolean;
  versions: Minor[];
  columns: Column[];
  namespaceLabels: (namespace: string) => Readonly<Record<string, string>>;
  notes: string[];
  /** The cluster file's podSecurityPolicies:. */
  podSecurityPolicies?: PodSecurityPolicyFacts[];
  /** --field-validation and --ephemeral-containers, as dry-run passes them. */
  request: Pick<DryRunSettings, 'fieldValidation' | 'ephemeralContainers'>;
}

export async function runMatrix(settings: DryRunSettings): Promise<number> {
  const prepared = await prepare(settings);
  const manifests = await readManifests(settings.inputs);
  // PodSecurityPolicy objects among the inputs join the cluster file's; the admission check applies them up to 1.24.
  const run = withPodSecurityPolicies(prepared, manifests.podSecurityPolicies);
  for (const note of run.notes) process.stderr.write(`apparmor-sim: warning: ${note}\n`);
  const format = formatFor(settings);
  const rendered: string[] = [];
  const summary: MatrixSummary = { pods: 0, runEverywhere: 0, refused: 0, variesByNode: 0, variesByVersion: 0, unschedulable: 0, skipped: manifests.skipped, errors: [], versions: run.versions, nodes: run.clusterMode ? (run.columns[0]?.nodes ?? []) : [], clusterMode: run.clusterMode, notes: run.notes };
  let failing = false;
  const out = new ChunkedWriter();
  const streaming = format.streaming;
  if (streaming) out.write(streaming.head);
  for (const outcome of evaluateAll(manifests.pods, run, settings.namespace)) {
    summary.pods++;
    if (!settings.suppressor.empty) {
      const target = { namespace: outcome.namespace, name: outcome.name, workload: outcome.input.workload };
      outcome.suppressed = outcome.refused ? settings.suppressor.forDecisions(target, outcome.cells.flatMap((c) => c.groups.map((g) => g.decision))) : undefined;
      outcome.suppress = (ruleId, decision) => settings.suppressor.match(target, ruleId, decision);
    }
    if (outcome.suppressed) summary.suppressed = (summary.suppressed ?? 0) + 1;
    else if (outcome.refused) summary.refused++;
    if (outcome.variesByNode) summary.variesByNode++;
    if (outcome.variesByVersion) summary.variesByVersion++;
    const unschedulable = outcome.cells.some((c) => c.unschedulable !== undefined);
    if (unschedulable) summary.unschedulable++;
    if (!unschedulable && !outcome.refused) summary.runEverywhere++;
    if (!outcome.suppressed && outcome.cells.some((c) => c.groups.some((g) => failsOn(settings.failOn, outcome.input.pod, g.decision)))) failing = true;
    if (!streaming) rendered.push(format.pod(outcome));
    else out.write(summary.pods > 1 ? streaming.separator + format.pod(outcome) : format.pod(outcome));
  }
  summary.errors = reportInputProblems(manifests);
  if (streaming) {
    // An empty result list is `[]`, as the non-streamed document writes it.
    if (summary.pods === 0) {
      out.reset();
      out.write(format.document([], summary));
    } else {
      out.write(streaming.tail(summary));
    }
  } else {
    out.write(format.document(rendered, summary));
  }
  out.flush();
  if (summary.errors.length > 0) return EXIT.usage;
  return failing ? EXIT.refusedOrFailed : EXIT.ok;
}

export function withPodSecurityPolicies(run: MatrixRun, fromInputs: readonly PodSecurityPolicyFacts[]): MatrixRun {
  const all = [...(run.podSecurityPolicies ?? []), ...fromInputs];
  if (all.length === 0) return run;
  return {
    ...run,
    columns: run.columns.map((column) => ({ ...column, base: { ...column.base, podSecurityPolicies: column.base.version <= 24 ? all : [] } })),
    notes: [...run.notes, ...podSecurityPolicyNotes(all.length, run.versions)],
  };
}

function formatFor(settings: DryRunSettings): MatrixFormat {
  switch (settings.output) {
    case 'json':
      return matrixJson(settings.explain);
    case 'junit':
      return matrixJunit;
    case 'sarif':
      return matrixSarif;
    case 'table':
      return matrixTable(settings.explain, paletteFor(process.stdout));
  }
}

/** Resolves versions, nodes and namespaces; every combination problem is an input error before any pod is read. */
export async function prepare(settings: DryRunSettings, cwd = process.cwd()): Promise<MatrixRun> {
  let cluster: LoadedCluster | undefined;
  if (settings.clusterFile !== undefined) {
    const clashing = [settings.nodeFile !== undefined && '--node', settings.runtime !== undefined && '--runtime', settings.appArmorDisabled && '--apparmor-disabled', settings.profiles.length > 0 && '--profiles'].filter(Boolean);
    if (clashing.length > 0) throw new UsageError(`--cluster describes every node: ${clashing.join(', ')} cannot be combined with it (set it per node in the cluster file)`, true);
    cluster = await loadCluster(settings.clusterFile, cwd);
  }
  const versions = settings.versionGiven ? settings.versions : cluster?.version !== undefined ? [cluster.version] : settings.versions;
  const notes: string[] = [];
  const columns: Column[] = [];
  for (const version of versions) {
    const gates = { ...(cluster?.featureGates ?? {}), ...settings.gates };
    const problems = gateProblems(gates, version, 'kube-apiserver');
    if (problems.length > 0) throw flagFailure(problems.map((p) => `--feature-gates: ${p.message}${versions.length > 1 ? ` (--k8s-version ${formatMinor(version)})` : ''}`));
    const base: ClusterFacts = { version, featureGates: gates, namespace: { name: settings.namespace, labels: settings.labels }, podSecurityPolicies: [] };
    let nodes: ClusterNode[];
    if (cluster) {
      nodes = await cluster.nodesFor(version, settings.kubeletText !== undefined ? settings.kubelet : undefined);
    } else {
      const kubelet = settings.kubeletText !== undefined ? settings.kubelet : version;
      const built = await buildNode({ ...settings, kubelet });
      for (const note of built.notes) if (!notes.includes(note)) notes.push(note);
      nodes = [{ name: built.node.name, os: built.node.os, labels: {}, taints: [], facts: built.node }];
    }
    columns.push({ version, base, nodes, keys: nodes.map((n) => setupKey(n.facts)), order: new Map(nodes.map((n, i) => [n.name, i])) });
  }
  if (cluster) notes.push(...cluster.notes);
  const namespaces = cluster?.namespaces;
  return {
    clusterMode: cluster !== undefined,
    versions,
    columns,
    namespaceLabels: (namespace) => namespaces?.get(namespace) ?? settings.labels,
    notes,
    podSecurityPolicies: cluster?.podSecurityPolicies ?? [],
    request: { fieldValidation: settings.fieldValidation, ephemeralContainers: settings.ephemeralContainers },
  };
}

/** Everything of a node the model reads except its name. */
function setupKey(node: NodeFacts): string {
  const gates = Object.entries(node.featureGates).sort(([a], [b]) => (a < b ? -1 : 1));
  const profiles = node.profiles.map((p) => `${p.name}\u0000${p.mode}`).sort();
  return JSON.stringify([node.kubeletVersion, node.os, node.appArmorEnabled, node.runtime, gates, profiles]);
}

/** The same decision for the table and the JSON groups: outcome, where, why, and what each container runs. */
export function decisionKey(decision: Decision): string {
  const workload = decision.workload ? [decision.workload.outcome, decision.workload.message, decision.workload.warnings, decision.workload.event?.message ?? null] : null;
  return JSON.stringify([decision.outcome, decision.stage, decision.reason, decision.message, decision.warnings, decision.containers.map((c) => [c.name, c.procAttrCurrent, c.state]), workload]);
}

export function* evaluateAll(pods: readonly PodInput[], run: MatrixRun, defaultNamespace: string): Generator<MatrixOutcome> {
  const clusters = new Map<string, ClusterFacts>();
  const clusterFor = (column: Column, namespace: string): ClusterFacts => {
    const key = `${column.version}/${namespace}`;
    let facts = clusters.get(key);
    if (!facts) {
      facts = { ...column.base, namespace: { name: namespace, labels: run.namespaceLabels(namespace) } };
      clusters.set(key, facts);
    }
    return facts;
  };
  const first = run.columns[0];
  // Pods of one chart or workload kind often share their scheduling fields: filter the nodes once per distinct set.
  const eligibilityCache = new Map<string, Eligibility>();
  for (const input of pods) {
    const namespace = input.pod.namespace ?? defaultNamespace;
    // Labels and taints are the same in every version; only the node setups change.
    let eligibility: Eligibility = { eligible: [0], ineligible: [] };
    if (run.clusterMode && first) {
      const key = JSON.stringify([input.placement ?? null, input.pod.os ?? null]);
      const cached = eligibilityCache.get(key);
      eligibility = cached ?? eligibleNodes(input.placement, input.pod.os, first.nodes);
      if (!cached && eligibilityCache.size < 10_000) eligibilityCache.set(key, eligibility);
    }
    const cells: MatrixCell[] = [];
    for (const column of run.columns) {
      if (eligibility.eligible.length === 0) {
        cells.push({ version: column.version, unschedulable: unschedulableMessage(column.nodes.length, eligibility.ineligible), groups: [] });
        continue;
      }
      const cluster = clusterFor(column, namespace);
      const bySetup = new Map<string, Decision>();
      const groups = new Map<string, { nodes: string[]; decision: Decision }>();
      for (const index of eligibility.eligible) {
        const node = column.nodes[index];
        const setup = column.keys[index];
        if (!node || setup === undefined) continue;
        let decision = bySetup.get(setup);
        if (!decision) {
          decision = simulate(simInputFor(input, cluster, node.facts, run.request));
          bySetup.set(setup, decision);
        }
        const group = groups.get(setup);
        if (group) group.nodes.push(node.name);
        else groups.set(setup, { nodes: [node.name], decision });
      }
      const merged = mergeGroups([...groups.values()]);
      if (merged.length > 1 || groups.size > 1) for (const group of merged) group.nodes.sort((a, b) => (column.order.get(a) ?? 0) - (column.order.get(b) ?? 0));
      cells.push({ version: column.version, groups: merged });
    }
    const outcomesPerVersion = cells.map((c) => (c.unschedulable !== undefined ? 'Unschedulable' : [...new Set(c.groups.map((g) => g.decision.outcome))].sort().join('+')));
    yield {
      input,
      namespace,
      name: podDisplayName(input.pod),
      cells,
      ineligible: eligibility.ineligible,
      eligibleCount: eligibility.eligible.length,
      refused: cells.some((c) => c.groups.some((g) => g.decision.outcome !== 'Run')),
      variesByNode: cells.some((c) => new Set(c.groups.map((g) => g.decision.outcome)).size > 1),
      variesByVersion: new Set(outcomesPerVersion).size > 1,
    };
  }
}

/** Groups keyed by node setup can still hold equal decisions (two setups that decide alike): merge those. */
function mergeGroups(groups: { nodes: string[]; decision: Decision }[]): { nodes: string[]; decision: Decision }[] {
  if (groups.length <= 1) return groups;
  const merged = new Map<string, { nodes: string[]; decision: Decision }>();
  for (const group of groups) {
    const key = decisionKey(group.decision);
    const existing = merged.get(key);
    if (existing) existing.nodes.push(...group.nodes);
    else merged.set(key, { nodes: [...group.nodes], decision: group.decision });
  }
  return [...merged.values()];
}

/** Gathers output into ~1 MiB writes; standard output is synchronous for files and pipes on Linux. */
class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;
  private written = false;

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 1 << 20) this.flush();
  }

  /** Drops what is buffered; only before anything was written. */
  reset(): void {
    if (this.written) throw new Error('output already written');
    this.parts = [];
    this.size = 0;
  }

  flush(): void {
    if (this.parts.length === 0) return;
    process.stdout.write(this.parts.join(''));
    this.written = true;
    this.parts = [];
    this.size = 0;
  }
}
