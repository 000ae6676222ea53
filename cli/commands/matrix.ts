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
import { PartsWriter } from '../output/chunked-writer.js';
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
import type { Placement } from './workloads.js';
import { SCALE_LIMITS } from '../../io/load/scale-limits.js';

/** One API server version: its nodes, and per node a key that is equal for nodes that decide alike. */
interface Column {
  version: Minor;
  base: ClusterFacts;
  nodes: ClusterNode[];
  keys: string[];
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
  const streaming = format.streaming;
  const parts = streaming ? new PartsWriter(streaming.head, streaming.separator) : undefined;
  const evaluate = evaluator(run, settings.namespace);
  checkEvaluationLimit(manifests.pods, [evaluate], run);
  for (const input of manifests.pods) {
    const outcome = evaluate(input);
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
    if (parts) parts.add(format.pod(outcome));
    else rendered.push(format.pod(outcome));
  }
  summary.errors = reportInputProblems(manifests);
  // An empty result list is `[]`, as the whole document writes it.
  if (streaming && parts) parts.end(() => streaming.tail(summary), () => format.document([], summary));
  else process.stdout.write(format.document(rendered, summary));
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
    columns.push({ version, base, nodes, keys: nodes.map((n) => setupKey(n.facts)) });
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

/** Nodes of the first column that the scheduler cannot tell apart (same OS, labels but the host name, taints). */
interface SchedulingClass {
  representative: number;
  members: number[];
}

/** Per column, the eligible nodes grouped by node setup (nodes that decide alike), in node order. */
type SetupGroups = { representative: number; nodes: string[]; positions: number[] }[];

export interface EvaluationStats {
  simulations: number;
}

/** Evaluates one pod in every column; `simulationsFor` says what that costs without simulating. */
export interface Evaluator {
  (input: PodInput): MatrixOutcome;
  /** Simulations the pod needs: one per eligible node setup and version. */
  simulationsFor(input: PodInput): number;
}

/**
 * Evaluates one pod at a time in every column, with the caches that pods share: eligibility per distinct placement
 * (computed per scheduling class unless the pod names nodes), and per eligibility the nodes grouped by setup, so that
 * a pod costs one simulation per node class and version, not one per node, and the nodes are filtered once per
 * placement, not once per pod.
 */
export function evaluator(run: MatrixRun, defaultNamespace: string, stats: EvaluationStats = { simulations: 0 }): Evaluator {
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
  const classes = first && run.clusterMode ? schedulingClasses(first.nodes) : [];
  const representatives = classes.map((c) => first?.nodes[c.representative] as ClusterNode);
  // Pods of one chart or workload kind often share their scheduling fields: filter the nodes once per distinct set.
  const eligibilityCache = new Map<string, Eligibility>();
  const groupCache = new WeakMap<Eligibility, SetupGroups[]>();
  const single: Eligibility = { eligible: [0], ineligible: [] };
  const eligibilityOf = (input: PodInput): Eligibility => {
    if (!run.clusterMode || !first) return single;
    // Labels and taints are the same in every version; only the node setups change.
    const key = placementKey(input.placement, input.pod.os);
    const cached = eligibilityCache.get(key);
    if (cached) return cached;
    const eligibility = namesNodes(input.placement) ? eligibleNodes(input.placement, input.pod.os, first.nodes) : expand(eligibleNodes(input.placement, input.pod.os, representatives), classes, first.nodes);
    if (eligibilityCache.size < 10_000) eligibilityCache.set(key, eligibility);
    return eligibility;
  };
  const setupsOf = (eligibility: Eligibility): SetupGroups[] => {
    let perColumn = groupCache.get(eligibility);
    if (!perColumn) {
      perColumn = run.columns.map((column) => setupGroups(column, eligibility));
      groupCache.set(eligibility, perColumn);
    }
    return perColumn;
  };
  const evaluate = (input: PodInput): MatrixOutcome => {
    const namespace = input.pod.namespace ?? defaultNamespace;
    const eligibility = eligibilityOf(input);
    const perColumn = setupsOf(eligibility);
    const cells: MatrixCell[] = [];
    run.columns.forEach((column, columnIndex) => {
      if (eligibility.eligible.length === 0) {
        cells.push({ version: column.version, unschedulable: unschedulableMessage(column.nodes.length, eligibility.ineligible), groups: [] });
        return;
      }
      const cluster = clusterFor(column, namespace);
      const setups = perColumn[columnIndex] ?? [];
      stats.simulations += setups.length;
      const decisions = setups.map(({ representative }) => simulate(simInputFor(input, cluster, (column.nodes[representative] as ClusterNode).facts, run.request)));
      cells.push({ version: column.version, groups: mergeGroups(setups, decisions, column) });
    });
    const outcomesPerVersion = cells.map((c) => (c.unschedulable !== undefined ? 'Unschedulable' : [...new Set(c.groups.map((g) => g.decision.outcome))].sort().join('+')));
    return {
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
  };
  evaluate.simulationsFor = (input: PodInput): number => {
    const eligibility = eligibilityOf(input);
    if (eligibility.eligible.length === 0) return 0;
    return setupsOf(eligibility).reduce((n, setups) => n + setups.length, 0);
  };
  return evaluate;
}

/**
 * The bound on a run's work: the simulations of every pod (pods x eligible node classes x versions) over all
 * evaluators, counted before any is run, so that a run over the cap writes no results and says why.
 */
export function checkEvaluationLimit(pods: readonly PodInput[], evaluators: readonly Evaluator[], run: MatrixRun): void {
  const budget = new EvaluationBudget(evaluators, run);
  for (const input of pods) budget.spend(input, pods.length);
}

/** The simulations counted against SCALE_LIMITS.maxEvaluations, a pod at a time (before or as pods are read). */
export class EvaluationBudget {
  private spent = 0;
  private pods = 0;

  constructor(
    private readonly evaluators: readonly Evaluator[],
    private readonly run: MatrixRun,
  ) {}

  /** Counts a pod's simulations; past the cap, the error naming this pod (of `total` when the input is all read). */
  spend(input: PodInput, total?: number): void {
    this.pods++;
    for (const evaluate of this.evaluators) this.spent += evaluate.simulationsFor(input);
    if (this.spent > SCALE_LIMITS.maxEvaluations) throw evaluationLimit(this.run, this.pods, total);
  }
}

function evaluationLimit(run: MatrixRun, at: number, pods: number | undefined): UsageError {
  const classes = run.columns.map((c) => new Set(c.keys).size);
  return new UsageError(
    `over the limit of ${SCALE_LIMITS.maxEvaluations} pod simulations (pods x node classes x versions) at pod ${at}${pods !== undefined ? ` of ${pods}` : ''}: ${classes.length} version(s) with up to ${Math.max(...classes)} distinct node setup(s); give fewer versions, nodes with fewer distinct setups, or fewer pods per run`,
  );
}

/** Whether a placement refers to node names, so that nodes of one scheduling class can differ for it. */
function namesNodes(placement: Placement | undefined): boolean {
  if (!placement) return false;
  if (placement.nodeName !== undefined || HOSTNAME in placement.nodeSelector) return true;
  return (placement.requiredTerms ?? []).some((t) => t.matchFields.length > 0 || t.matchExpressions.some((r) => r.key === HOSTNAME));
}

const HOSTNAME = 'kubernetes.io/hostname';

function schedulingClasses(nodes: readonly ClusterNode[]): SchedulingClass[] {
  const byKey = new Map<string, SchedulingClass>();
  nodes.forEach((node, index) => {
    const labels = Object.entries(node.labels).filter(([key]) => key !== HOSTNAME);
    const key = JSON.stringify([node.os, labels.sort(([a], [b]) => (a < b ? -1 : 1)), node.taints]);
    const existing = byKey.get(key);
    if (existing) existing.members.push(index);
    else byKey.set(key, { representative: index, members: [index] });
  });
  return [...byKey.values()];
}

/** Eligibility of the class representatives, for every node of their classes, in node order. */
function expand(byClass: Eligibility, classes: readonly SchedulingClass[], nodes: readonly ClusterNode[]): Eligibility {
  const eligibleClass = new Set(byClass.eligible);
  const why = new Map(byClass.ineligible.map((i) => [i.node, i.why]));
  const classOf = new Array<number>(nodes.length);
  classes.forEach((c, ci) => {
    for (const m of c.members) classOf[m] = ci;
  });
  const result: Eligibility = { eligible: [], ineligible: [] };
  nodes.forEach((node, index) => {
    const ci = classOf[index] as number;
    if (eligibleClass.has(ci)) result.eligible.push(index);
    else result.ineligible.push({ node: node.name, why: why.get(nodes[classes[ci]?.representative ?? index]?.name ?? '') ?? '' });
  });
  return result;
}

/**
 * A key equal for placements (and pod OSes) that the scheduler filters alike: every field eligibleNodes reads, each
 * string length-prefixed so that no two different placements share a key.
 */
function placementKey(placement: Placement | undefined, os: string | undefined): string {
  const text = (value: string | undefined) => (value === undefined ? '~' : `${value.length}:${value}`);
  let key = `${text(os)}|`;
  if (!placement) return key;
  key += `${text(placement.nodeName)}|${placement.everyNode ? 'E' : ''}|`;
  for (const [name, value] of Object.entries(placement.nodeSelector)) key += `${text(name)}${text(value)}`;
  key += '|';
  if (placement.requiredTerms !== undefined) key += text(JSON.stringify(placement.requiredTerms));
  key += '|';
  for (const t of placement.tolerations) key += `${text(t.key)}${text(t.operator)}${text(t.value)}${text(t.effect)},`;
  return key;
}

/** The eligible nodes of a column grouped by setup key, each group in node order. */
function setupGroups(column: Column, eligibility: Eligibility): SetupGroups {
  const bySetup = new Map<string, { representative: number; nodes: string[]; positions: number[] }>();
  for (const index of eligibility.eligible) {
    const node = column.nodes[index];
    const setup = column.keys[index];
    if (!node || setup === undefined) continue;
    const group = bySetup.get(setup);
    if (group) {
      group.nodes.push(node.name);
      group.positions.push(index);
    } else bySetup.set(setup, { representative: index, nodes: [node.name], positions: [index] });
  }
  return [...bySetup.values()];
}

/** Per setup grouping, the node lists of merged setups (by which setups merged), shared by the pods that merge alike. */
const MERGED_NODES = new WeakMap<SetupGroups, Map<string, string[]>>();

/**
 * Setups can still decide alike (two setups that differ in something this pod does not use): their groups are merged,
 * nodes in node order, the merged groups in the order of their first setup. The node lists are shared by the pods of
 * one placement and are never modified.
 */
function mergeGroups(setups: SetupGroups, decisions: readonly Decision[], column: Column): { nodes: string[]; decision: Decision }[] {
  if (setups.length <= 1) return setups.map((setup, i) => ({ nodes: setup.nodes, decision: decisions[i] as Decision }));
  // Which earlier setup each setup merges into: pairwise comparison for the usual few setups, keys beyond that.
  const target: number[] = [];
  const firsts: number[] = [];
  const byKey = setups.length > 8 ? new Map<string, number>() : undefined;
  decisions.forEach((decision, i) => {
    let into = -1;
    if (byKey) {
      const key = decisionKey(decision);
      into = byKey.get(key) ?? -1;
      if (into < 0) byKey.set(key, i);
    } else {
      for (const first of firsts) {
        if (sameDecision(decisions[first] as Decision, decision)) {
          into = first;
          break;
        }
      }
    }
    if (into < 0) firsts.push(i);
    target.push(into < 0 ? i : into);
  });
  if (firsts.length === setups.length) return setups.map((setup, i) => ({ nodes: setup.nodes, decision: decisions[i] as Decision }));
  let cache = MERGED_NODES.get(setups);
  if (!cache) {
    cache = new Map();
    MERGED_NODES.set(setups, cache);
  }
  const signature = target.join(',');
  return firsts.map((first) => {
    const members = target.flatMap((into, i) => (into === first ? [i] : []));
    if (members.length === 1) return { nodes: (setups[first] as SetupGroups[number]).nodes, decision: decisions[first] as Decision };
    const cacheKey = `${signature}/${first}`;
    let nodes = cache.get(cacheKey);
    if (!nodes) {
      const positions = members.flatMap((m) => (setups[m] as SetupGroups[number]).positions).sort((a, b) => a - b);
      nodes = positions.map((p) => (column.nodes[p] as ClusterNode).name);
      cache.set(cacheKey, nodes);
    }
    return { nodes, decision: decisions[first] as Decision };
  });
}

/** Whether two decisions have the same decisionKey, without building the keys. */
function sameDecision(a: Decision, b: Decision): boolean {
  if (a === b) return true;
  if (!same(a.outcome, b.outcome) || !same(a.stage, b.stage) || !same(a.reason, b.reason) || !same(a.message, b.message) || !sameList(a.warnings, b.warnings)) return false;
  if (a.containers.length !== b.containers.length) return false;
  for (let i = 0; i < a.containers.length; i++) {
    const x = a.containers[i];
    const y = b.containers[i];
    if (!x || !y || !same(x.name, y.name) || !same(x.procAttrCurrent, y.procAttrCurrent) || !same(x.state, y.state)) return false;
  }
  const wa = a.workload;
  const wb = b.workload;
  if (!wa || !wb) return !wa && !wb;
  return same(wa.outcome, wb.outcome) && same(wa.message, wb.message) && sameList(wa.warnings, wb.warnings) && same(wa.event?.message, wb.event?.message);
}

/** Equal as JSON.stringify writes them in an array (undefined as null). */
function same(a: string | null | undefined, b: string | null | undefined): boolean {
  return (a ?? null) === (b ?? null);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
  return true;
}
