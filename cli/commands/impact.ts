// `dry-run --impact`: what changes for each pod between two settings, the first and the last --k8s-version and/or
// the --after-* flags (namespace labels, feature gates, runtime, nodes). Pods whose outcome, applied profiles or API
// warnings change are reported grouped by cause (the first check whose verdict differs), counts first, then details.
// Input errors, suppressions (.apparmor-sim.yaml) and --fail-on apply as in the rest of dry-run.
import type { Decision, Minor, TraceEntry } from '../../sim/types.js';
import { formatMinor } from '../../sim/version.js';
import type { Suppression } from '../../io/load/config.js';
import type { InputError } from '../../io/load/source.js';
import { EXIT, UsageError } from '../../io/args.js';
import { paletteFor } from '../output/color.js';
import type { Palette } from '../output/color.js';
import { inputErrorsJson, tableErrorLine, terminalSafe as safe } from '../output/input-errors.js';
import type { ContainerJson } from '../output/json.js';
import { DRY_RUN_SCHEMA_VERSION, JSON_SCHEMA_VERSION, podResultJson } from '../output/json.js';
import type { MatrixOutcome } from '../output/matrix.js';
import { containerLabel, containerSummary, podLabel } from '../output/report.js';
import { IMPACT_RULE, impactSarif } from '../output/sarif.js';
import { errorCount, indentContinuation, skippedLines, suppressionText } from '../output/table.js';
import { suppressionJson } from './config.js';
import type { DryRunSettings } from './dry-run.js';
import { apiWarnings, failsOn } from './fail-on.js';
import { reportInputProblems } from './input-problems.js';
import type { Manifests, PodInput, SkippedDocument } from './manifests.js';
import { readManifests } from './manifests.js';
import type { Evaluator } from './matrix.js';
import { EvaluationBudget, checkEvaluationLimit, evaluator, prepare, withPodSecurityPolicies } from './matrix.js';
import { PSP_REMOVED_IN } from '../../sim/checks/psp.js';

/** What --after-* changes; undefined keeps the "before" setting. */
export interface AfterSettings {
  labels?: Readonly<Record<string, string>> | undefined;
  gates?: DryRunSettings['gates'] | undefined;
  runtime?: DryRunSettings['runtime'] | undefined;
  clusterFile?: string | undefined;
  nodeFile?: string | undefined;
  kubeletText?: string | undefined;
  kubelet?: DryRunSettings['kubelet'] | undefined;
  profiles?: string[] | undefined;
  /** The flags as given, to name the change in the output. */
  described: string[];
}

/** One side of a change on some nodes. */
interface Side {
  decision: Decision | undefined;
  /** Why the pod is not placed, when it is not. */
  unschedulable?: string | undefined;
}

export interface PodChange {
  outcome: MatrixOutcome;
  cause: string;
  /** What changed: 'outcome', 'profile', 'warnings', 'nodes'. */
  aspects: string[];
  transition: string;
  /** Per group of nodes that change alike. */
  groups: { nodes: string[]; before: Side; after: Side }[];
  /** The config file's suppression that accepts the change. */
  suppressed?: Suppression | undefined;
}

export async function runImpact(settings: DryRunSettings, after: AfterSettings, failOnGiven: boolean): Promise<number> {
  if (settings.output === 'junit') throw new UsageError('--impact writes table, json or sarif, not junit');
  const first = settings.versions[0] ?? settings.apiserver;
  const last = settings.versions[settings.versions.length - 1] ?? first;
  if (first === last && after.described.length === 0) {
    throw new UsageError('--impact compares two settings: give two versions (--k8s-version 1.30,1.31) or an --after-* flag', true);
  }
  const kubeletBefore = settings.kubeletText !== undefined ? settings.kubelet : first;
  const beforeSettings: DryRunSettings = { ...settings, versions: [first], apiserver: first, kubelet: kubeletBefore };
  const afterKubeletText = after.kubeletText ?? settings.kubeletText;
  const afterSettings: DryRunSettings = {
    ...settings,
    versions: [last],
    apiserver: last,
    kubeletText: afterKubeletText,
    kubelet: after.kubelet ?? (afterKubeletText !== undefined ? settings.kubelet : last),
    labels: after.labels ?? settings.labels,
    gates: after.gates ? { ...settings.gates, ...after.gates } : settings.gates,
    runtime: after.runtime ?? settings.runtime,
    clusterFile: after.clusterFile ?? settings.clusterFile,
    nodeFile: after.nodeFile ?? settings.nodeFile,
    profiles: after.profiles ?? settings.profiles,
  };
  const beforeRun = await prepare(beforeSettings);
  const afterRun = await prepare(afterSettings);
  const versionsText = `Kubernetes ${formatMinor(beforeRun.versions[0] ?? first)}${(afterRun.versions[0] ?? last) !== (beforeRun.versions[0] ?? first) ? ` -> ${formatMinor(afterRun.versions[0] ?? last)}` : ''}`;
  const title = [versionsText, ...after.described].join(', ');

  // Only the changes are kept: the report leads with their counts.
  const changes: PodChange[] = [];
  let pods = 0;
  let failing = false;
  const compareOne = ([evaluateBefore, evaluateAfter]: readonly [Evaluator, Evaluator], input: PodInput) => {
    pods++;
    const change = compare(evaluateBefore(input), evaluateAfter(input));
    if (!change) return;
    change.suppressed = suppressionOf(change, settings);
    if (!change.suppressed && changeFails(change, settings, failOnGiven)) failing = true;
    changes.push(change);
  };
  // PodSecurityPolicy objects among the inputs admit the pods on both sides up to 1.24: there, the input is read
  // first; from 1.25 on each pod is compared as it is read.
  const streamed = Math.min(...beforeRun.versions, ...afterRun.versions) >= PSP_REMOVED_IN;
  let manifests: Manifests;
  if (streamed) {
    const evaluators = [evaluator(beforeRun, settings.namespace), evaluator(afterRun, settings.namespace)] as const;
    // Both settings count toward the cap on simulations (with the nodes of the first), pod by pod.
    const budget = new EvaluationBudget(evaluators, beforeRun);
    manifests = await readManifests(settings.inputs, process.cwd(), {
      batch(batch) {
        for (const input of batch) {
          budget.spend(input);
          compareOne(evaluators, input);
        }
      },
    });
  } else manifests = await readManifests(settings.inputs);
  const before = withPodSecurityPolicies(beforeRun, manifests.podSecurityPolicies);
  const afterward = withPodSecurityPolicies(afterRun, manifests.podSecurityPolicies);
  for (const note of new Set([...before.notes, ...afterward.notes])) process.stderr.write(`apparmor-sim: warning: ${note}\n`);
  if (!streamed) {
    const evaluators = [evaluator(before, settings.namespace), evaluator(afterward, settings.namespace)] as const;
    checkEvaluationLimit(manifests.pods, evaluators, before);
    for (const input of manifests.pods) compareOne(evaluators, input);
  }
  const errors = reportInputProblems(manifests);
  const versions = [...new Set([before.versions[0] ?? first, afterward.versions[0] ?? last])];
  const report: ImpactReport = { title, versions, pods, changes, skipped: manifests.skipped, errors };
  if (settings.output === 'json') process.stdout.write(impactJson(report));
  else if (settings.output === 'sarif') process.stdout.write(impactSarif(changes, title, errors));
  else process.stdout.write(impactTable(report, paletteFor(process.stdout)));
  // Input errors win, as in the rest of dry-run: a comparison that could not read all its input is not a pass.
  if (errors.length > 0) return EXIT.usage;
  return failing ? EXIT.refusedOrFailed : EXIT.ok;
}

/**
 * A change is accepted by the config file when a suppression names the pod (or its workload) and the impact rule,
 * the check that causes the change, or a check that fails on the changed side.
 */
function suppressionOf(change: PodChange, settings: DryRunSettings): Suppression | undefined {
  if (settings.suppressor.empty) return undefined;
  const target = { namespace: change.outcome.namespace, name: change.outcome.name, workload: change.outcome.input.workload };
  let first: Suppression | undefined;
  for (const group of change.groups) {
    const decision = group.after.decision ?? group.before.decision;
    if (!decision) return undefined;
    const found = settings.suppressor.match(target, IMPACT_RULE.id, decision) ?? settings.suppressor.match(target, change.cause, decision);
    if (!found) return undefined;
    first ??= found;
  }
  return first;
}

/**
 * Without --fail-on every change fails (exit code 1). With it, a change fails when, on some of the pod's nodes, the
 * second setting meets a --fail-on condition that the first did not: the upgrade newly refuses, drops or warns.
 */
function changeFails(change: PodChange, settings: DryRunSettings, failOnGiven: boolean): boolean {
  if (!failOnGiven) return true;
  const pod = change.outcome.input.pod;
  return change.groups.some((g) => g.after.decision !== undefined && failsOn(settings.failOn, pod, g.after.decision) && !(g.before.decision !== undefined && failsOn(settings.failOn, pod, g.before.decision)));
}

/** Per node: before and after; nodes (or the single node) that change alike form a group. */
function compare(before: MatrixOutcome, after: MatrixOutcome): PodChange | undefined {
  const sides = (outcome: MatrixOutcome): Map<string, Side> => {
    const map = new Map<string, Side>();
    const cell = outcome.cells[0];
    if (!cell) return map;
    if (cell.unschedulable !== undefined) map.set('', { decision: undefined, unschedulable: cell.unschedulable });
    for (const group of cell.groups) for (const node of group.nodes) map.set(node, { decision: group.decision });
    return map;
  };
  const was = sides(before);
  const now = sides(after);
  const groups = new Map<string, { nodes: string[]; before: Side; after: Side; aspects: string[] }>();
  for (const node of new Set([...was.keys(), ...now.keys()])) {
    const b = was.get(node) ?? { decision: undefined, unschedulable: 'not a node in this setting' };
    const a = now.get(node) ?? { decision: undefined, unschedulable: 'not a node in this setting' };
    const aspects = differences(b, a);
    if (aspects.length === 0) continue;
    const key = `${sideKey(b)}\u0001${sideKey(a)}`;
    const group = groups.get(key);
    if (group) group.nodes.push(node);
    else groups.set(key, { nodes: [node], before: b, after: a, aspects });
  }
  if (groups.size === 0) return undefined;
  const list = [...groups.values()];
  const firstGroup = list[0] as (typeof list)[number];
  const aspects = [...new Set(list.flatMap((g) => g.aspects))];
  return {
    outcome: after,
    cause: causeOf(firstGroup.before, firstGroup.after, firstGroup.aspects),
    aspects,
    transition: `${sideOutcome(firstGroup.before)} -> ${sideOutcome(firstGroup.after)}`,
    groups: list.map(({ nodes, before: b, after: a }) => ({ nodes: nodes.filter((n) => n !== ''), before: b, after: a })),
  };
}

function sideOutcome(side: Side): string {
  return side.decision ? side.decision.outcome : 'Unschedulable';
}

function sideKey(side: Side): string {
  if (!side.decision) return `unschedulable:${side.unschedulable ?? ''}`;
  const d = side.decision;
  return JSON.stringify([d.outcome, d.stage, d.reason, d.message, apiWarnings(d), d.containers.map((c) => [c.kind, c.name, c.procAttrCurrent, c.state])]);
}

function differences(before: Side, after: Side): string[] {
  if (!before.decision || !after.decision) return before.decision || after.decision || before.unschedulable !== after.unschedulable ? ['nodes'] : [];
  const b = before.decision;
  const a = after.decision;
  const aspects: string[] = [];
  if (b.outcome !== a.outcome || b.stage !== a.stage || b.reason !== a.reason || b.message !== a.message) aspects.push('outcome');
  const profiles = (d: Decision) => JSON.stringify(d.containers.map((c) => [c.kind, c.name, c.procAttrCurrent, c.state]));
  if (profiles(b) !== profiles(a)) aspects.push('profile');
  if (JSON.stringify(apiWarnings(b)) !== JSON.stringify(apiWarnings(a))) aspects.push('warnings');
  return aspects;
}

/**
 * The cause of a change: the first check, in the order the cluster runs them, that has an effect (fails, mutates,
 * notes something) in one setting and not in the other, or a different one; when every check has the same effect
 * (a different default profile, a reworded warning), the first whose finding differs at the stage that changed.
 * `scheduling` when the pod's nodes change.
 */
function causeOf(before: Side, after: Side, aspects: readonly string[]): string {
  if (!before.decision || !after.decision) return 'scheduling';
  const effect = (t: TraceEntry | undefined) => (t === undefined || t.verdict === 'skip' || t.verdict === 'pass' ? 'none' : t.verdict);
  const was = new Map(before.decision.trace.map((t) => [t.check, t]));
  const now = new Map(after.decision.trace.map((t) => [t.check, t]));
  const order = [...new Set([...after.decision.trace.map((t) => t.check), ...before.decision.trace.map((t) => t.check)])];
  for (const check of order) if (effect(was.get(check)) !== effect(now.get(check))) return check;
  const stages = aspects.includes('outcome') ? undefined : aspects.includes('profile') ? ['runtime', 'kubelet'] : ['apiserver', 'admission'];
  const finding = (t: TraceEntry | undefined) => (t === undefined || t.verdict === 'skip' ? '' : t.detail.replace(/\b1\.\d+\b/g, ''));
  for (const check of order) {
    const stage = (now.get(check) ?? was.get(check))?.stage ?? '';
    if (stages && !stages.includes(stage)) continue;
    if (finding(was.get(check)) !== finding(now.get(check))) return check;
  }
  return 'unknown';
}

export interface ImpactReport {
  title: string;
  /** The API server versions compared: the first setting's, then the second's when it differs. */
  versions: Minor[];
  pods: number;
  changes: PodChange[];
  skipped: readonly SkippedDocument[];
  errors: readonly InputError[];
}

interface CauseCount {
  cause: string;
  pods: number;
  transitions: Record<string, number>;
}

function causes(changes: readonly PodChange[]): CauseCount[] {
  const byCause = new Map<string, CauseCount>();
  for (const change of changes) {
    const entry = byCause.get(change.cause) ?? { cause: change.cause, pods: 0, transitions: {} };
    entry.pods++;
    const label = transitionLabel(change);
    entry.transitions[label] = (entry.transitions[label] ?? 0) + 1;
    byCause.set(change.cause, entry);
  }
  return [...byCause.values()].sort((a, b) => b.pods - a.pods || (a.cause < b.cause ? -1 : 1));
}

function transitionLabel(change: PodChange): string {
  const [from, to] = change.transition.split(' -> ');
  return from === to ? `${from}, ${change.aspects.filter((a) => a !== 'outcome').join(' and ') || 'message'} changed` : change.transition;
}

function impactTable(report: ImpactReport, colors: Palette): string {
  const lines = [`Impact of ${report.title}: ${report.changes.length} of ${report.pods} pod${report.pods === 1 ? '' : 's'} change`];
  const counts = causes(report.changes);
  if (counts.length > 0) {
    const width = Math.max(5, ...counts.map((c) => c.cause.length));
    lines.push(colors.dim(`${'CAUSE'.padEnd(width)}  PODS  CHANGE`));
    for (const c of counts) {
      const transitions = Object.entries(c.transitions).map(([t, n]) => (Object.keys(c.transitions).length > 1 ? `${t} (${n})` : t));
      lines.push(`${c.cause.padEnd(width)}  ${String(c.pods).padStart(4)}  ${transitions.join('; ')}`);
    }
    lines.push('');
  }
  for (const change of report.changes) {
    const input = change.outcome.input;
    lines.push(`${safe(`${input.file}:${input.line}  ${podLabel({ ...change.outcome, workload: input.workload })}`)}  ${colors.warn(transitionLabel(change))}  (cause: ${change.cause})`);
    if (change.suppressed) lines.push(colors.dim(`    ${suppressionText(change.suppressed)}`));
    for (const group of change.groups) {
      const where = group.nodes.length > 0 && change.outcome.cells[0] && (change.groups.length > 1 || group.nodes.length > 1 || change.outcome.eligibleCount > 1) ? ` on ${group.nodes.join(', ')}` : '';
      lines.push(...sideLines(`before${where}`, group.before, group.after), ...sideLines(`after${where}`, group.after, group.before));
    }
  }
  lines.push(...report.errors.map((e) => colors.bad(tableErrorLine(e))));
  lines.push(...skippedLines(report.skipped, colors));
  const suppressed = report.changes.filter((c) => c.suppressed).length;
  lines.push(`${report.pods} pod${report.pods === 1 ? '' : 's'}: ${report.changes.length} change${suppressed > 0 ? ` (${suppressed} suppressed)` : ''}, ${report.pods - report.changes.length} unchanged; ${report.skipped.length} skipped${errorCount(report.errors.length)}`);
  return `${lines.join('\n')}\n`;
}

/** One side's decision, then the containers and warnings that differ from the other side. */
function sideLines(label: string, side: Side, other: Side): string[] {
  const INDENT = '    ';
  if (!side.decision) return [`${INDENT}${safe(label)}: unschedulable: ${safe(side.unschedulable ?? '')}`];
  const d = side.decision;
  const lines = [`${INDENT}${safe(label)}: ${[d.outcome, d.stage, safe(d.reason), d.message ? indentContinuation(d.message) : ''].filter(Boolean).join('  ')}`];
  const otherContainers = new Map((other.decision?.containers ?? []).map((c) => [`${c.kind}/${c.name}`, containerSummary(c)]));
  for (const c of d.containers) {
    const summary = containerSummary(c);
    if (otherContainers.get(`${c.kind}/${c.name}`) !== summary) lines.push(`${INDENT}${INDENT}${safe(containerLabel(c))}: ${safe(summary)}`);
  }
  const otherWarnings = new Set(other.decision ? apiWarnings(other.decision) : []);
  for (const w of apiWarnings(d)) if (!otherWarnings.has(w)) lines.push(`${INDENT}${INDENT}warning: ${indentContinuation(w)}`);
  return lines;
}

interface SideJson {
  outcome: string;
  stage: string;
  reason: string;
  message: string;
  warnings: string[];
  containers: ContainerJson[];
}

function sideJson(side: Side, change: PodChange): SideJson {
  if (!side.decision) return { outcome: 'Unschedulable', stage: 'scheduler', reason: 'Unschedulable', message: side.unschedulable ?? '', warnings: [], containers: [] };
  const input = change.outcome.input;
  const json = podResultJson({ file: input.file, line: input.line, namespace: change.outcome.namespace, name: change.outcome.name, decision: side.decision }, false);
  return { outcome: json.outcome, stage: json.stage, reason: json.reason, message: json.message, warnings: apiWarnings(side.decision), containers: json.containers };
}

function impactJson(report: ImpactReport): string {
  const body = {
    schemaVersion: JSON_SCHEMA_VERSION,
    version: DRY_RUN_SCHEMA_VERSION,
    impact: { compared: report.title, pods: report.pods, changed: report.changes.length, causes: causes(report.changes) },
    changes: report.changes.map((change) => {
      const input = change.outcome.input;
      return {
        file: input.file,
        line: input.line,
        namespace: change.outcome.namespace,
        name: change.outcome.name,
        ...(input.workload ? { workload: { kind: input.workload.kind, name: input.workload.name } } : {}),
        cause: change.cause,
        changed: change.aspects,
        transition: change.transition,
        groups: change.groups.map((g) => ({ nodes: g.nodes, before: sideJson(g.before, change), after: sideJson(g.after, change) })),
        ...(change.suppressed ? { suppressed: suppressionJson(change.suppressed) } : {}),
      };
    }),
    skipped: report.skipped.map(({ file, line, kind, name, why }) => ({ file, line, kind, name, why })),
    k8sVersions: report.versions.map(formatMinor),
    errors: inputErrorsJson(report.errors),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}
