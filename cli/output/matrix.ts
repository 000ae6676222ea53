// Output of the dry run over several versions and/or nodes: a pod x version (or pod x node) grid with the distinct
// decisions under it, JSON with per-version, per-node results, and JUnit.
import type { Decision, Minor } from '../../sim/types.js';
import type { Suppression } from '../../io/load/config.js';
import { suppressionJson } from '../commands/config.js';
import { formatMinor } from '../../sim/version.js';
import type { ClusterNode } from '../../io/load/cluster.js';
import type { PodInput, SkippedDocument } from '../commands/manifests.js';
import { formatVersionRanges } from '../commands/versions.js';
import type { Palette } from './color.js';
import type { PodResultJson } from './json.js';
import { DRY_RUN_JSON_HEAD, containerJson, podResultJson, workloadCreateJson } from './json.js';
import { escapeXml, junitDocument } from '../../io/junit.js';
import { containerLabel, containerSummary, podLabel, refused } from './report.js';
import { decisionDetails, errorCount, indentContinuation, skippedLines, suppressionText } from './table.js';
import type { InputError } from '../../io/load/source.js';
import { inputErrorsJson, junitErrorCases, tableErrorLine, terminalSafe as safe } from './input-errors.js';

export interface MatrixGroup {
  /** The eligible nodes on which the pod gets this decision, in node order. */
  nodes: string[];
  decision: Decision;
}

export interface MatrixCell {
  version: Minor;
  /** The scheduler's message when no node is eligible; then there are no groups. */
  unschedulable?: string | undefined;
  groups: MatrixGroup[];
}

export interface MatrixOutcome {
  input: PodInput;
  namespace: string;
  name: string;
  cells: MatrixCell[];
  ineligible: { node: string; why: string }[];
  eligibleCount: number;
  refused: boolean;
  variesByNode: boolean;
  variesByVersion: boolean;
  /** Set when every refusal of the pod is suppressed by the config file. */
  suppressed?: Suppression | undefined;
  /** The config file's suppression of one finding (SARIF marks each result). */
  suppress?: ((ruleId: string, decision: Decision) => Suppression | undefined) | undefined;
}

export interface MatrixSummary {
  pods: number;
  /** Pods that run on every eligible node in every version (and are schedulable). */
  runEverywhere: number;
  /** Refused pods, without the suppressed ones. */
  refused: number;
  suppressed?: number;
  variesByNode: number;
  variesByVersion: number;
  unschedulable: number;
  skipped: readonly SkippedDocument[];
  /** Input errors of single files or documents; known when the pods are done. */
  errors: readonly InputError[];
  versions: readonly Minor[];
  /** The nodes of the first version, in --cluster mode; empty otherwise. */
  nodes: readonly ClusterNode[];
  clusterMode: boolean;
  notes: readonly string[];
}

export interface MatrixFormat {
  pod(outcome: MatrixOutcome): string;
  document(pods: readonly string[], summary: MatrixSummary): string;
  /**
   * Formats whose document is `head`, the pods joined by `separator`, then `tail`, can be written as the pods are
   * simulated, so that the output is never held in memory whole (the 10,000-pod, 50-node JSON is tens of MB).
   */
  streaming?: { head: string; separator: string; tail(summary: MatrixSummary): string } | undefined;
}

const INDENT = '    ';

/** The cell of the first refusal (versions, then nodes, in order), else the first decision; undefined if unschedulable everywhere. */
export function primaryOf(outcome: MatrixOutcome): { cell: MatrixCell; group: MatrixGroup } | undefined {
  let first: { cell: MatrixCell; group: MatrixGroup } | undefined;
  for (const cell of outcome.cells) {
    for (const group of cell.groups) {
      first ??= { cell, group };
      if (refused(group.decision)) return { cell, group };
    }
  }
  return first;
}

function flags(outcome: MatrixOutcome): string[] {
  const out: string[] = [];
  if (outcome.variesByNode) out.push('varies by node');
  if (outcome.variesByVersion) out.push('varies by version');
  if (outcome.cells.some((c) => c.unschedulable !== undefined)) out.push('unschedulable');
  if (outcome.suppressed) out.push('suppressed');
  return out;
}

// ---- table ----

export function matrixTable(explain: boolean, colors: Palette): MatrixFormat {
  const rows: { label: string; cells: string[]; flags: string[] }[] = [];
  let columns: string[] | undefined;
  return {
    pod(outcome) {
      const versions = outcome.cells.map((c) => c.version);
      const byNode = versions.length === 1 && outcome.cells[0] !== undefined && isClusterCell(outcome);
      columns ??= byNode ? nodeColumns(outcome) : versions.map(formatMinor);
      rows.push({ label: safe(`${outcome.input.file}:${outcome.input.line}  ${podLabel({ ...outcome, workload: outcome.input.workload })}`), cells: byNode ? nodeCells(outcome, columns) : outcome.cells.map(cellText), flags: flags(outcome) });
      return detailLines(outcome, explain, colors);
    },
    document(pods, summary) {
      const lines: string[] = [];
      const header = (columns ?? (summary.clusterMode && summary.versions.length === 1 ? summary.nodes.map((n) => n.name) : summary.versions.map(formatMinor))).map(safe);
      const labelWidth = Math.max(3, ...rows.map((r) => r.label.length));
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.cells[i] ?? '').length)));
      const kind = summary.clusterMode && summary.versions.length === 1 ? `nodes (Kubernetes ${formatMinor(summary.versions[0] ?? 0)})` : 'Kubernetes versions';
      lines.push(colors.dim(`${'POD'.padEnd(labelWidth)}  ${header.map((h, i) => h.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd() + `   <- ${kind}`));
      for (const row of rows) {
        const cells = row.cells.map((c, i) => paintCell(c.padEnd(widths[i] ?? 0), c, colors)).join('  ');
        const flagText = row.flags.length ? `  ${colors.warn(row.flags.join(', '))}` : '';
        lines.push(`${row.label.padEnd(labelWidth)}  ${cells}${flagText}`.trimEnd());
      }
      if (pods.length > 0) lines.push('');
      lines.push(...pods);
      lines.push(...summary.errors.map((e) => colors.bad(tableErrorLine(e))));
      lines.push(...skippedLines(summary.skipped, colors));
      lines.push(summaryLine(summary) + errorCount(summary.errors.length));
      return `${lines.join('\n')}\n`;
    },
  };
}

function isClusterCell(outcome: MatrixOutcome): boolean {
  // Cluster mode shows up as ineligible nodes or groups naming several nodes; a single-node run has one node per cell.
  return outcome.ineligible.length > 0 || outcome.eligibleCount > 1 || outcome.cells.some((c) => c.unschedulable !== undefined);
}

function nodeColumns(outcome: MatrixOutcome): string[] {
  const names = [...(outcome.cells[0]?.groups.flatMap((g) => g.nodes) ?? []), ...outcome.ineligible.map((i) => i.node)];
  return names;
}

function nodeCells(outcome: MatrixOutcome, columns: readonly string[]): string[] {
  const cell = outcome.cells[0];
  const byNode = new Map<string, string>();
  for (const group of cell?.groups ?? []) for (const node of group.nodes) byNode.set(node, group.decision.outcome);
  return columns.map((node) => byNode.get(node) ?? '-');
}

function cellText(cell: MatrixCell): string {
  if (cell.unschedulable !== undefined) return 'unschedulable';
  const outcomes = [...new Set(cell.groups.map((g) => g.decision.outcome))];
  if (outcomes.length === 1) return outcomes[0] ?? '';
  return outcomes.map((o) => `${o}:${cell.groups.filter((g) => g.decision.outcome === o).reduce((n, g) => n + g.nodes.length, 0)}`).join(' ');
}

function paintCell(padded: string, raw: string, colors: Palette): string {
  if (raw === 'Run') return colors.good(padded);
  if (raw === '-' || raw === 'unschedulable') return colors.dim(padded);
  return colors.bad(padded);
}

/** Distinct decisions of a pod, each with where (versions, nodes) it happens. */
function detailLines(outcome: MatrixOutcome, explain: boolean, colors: Palette): string {
  const lines = [safe(`${outcome.input.file}:${outcome.input.line}  ${podLabel({ ...outcome, workload: outcome.input.workload })}`)];
  const distinct = new Map<string, { decision: Decision; where: { version: Minor; nodes: string[] }[] }>();
  for (const cell of outcome.cells) {
    for (const group of cell.groups) {
      const key = signature(group.decision);
      const entry = distinct.get(key) ?? { decision: group.decision, where: [] };
      entry.where.push({ version: cell.version, nodes: group.nodes });
      distinct.set(key, entry);
    }
  }
  const clusterish = isClusterCell(outcome);
  for (const { decision, where } of distinct.values()) {
    const outcomeText = refused(decision) ? colors.bad(decision.outcome) : colors.good(decision.outcome);
    const fields = [`${INDENT}${safe(whereText(where, outcome, clusterish))}: ${outcomeText}`, decision.stage];
    if (decision.reason) fields.push(safe(decision.reason));
    if (decision.message) fields.push(indentContinuation(decision.message));
    lines.push(fields.join('  '));
    const details: string[] = [];
    decisionDetails(decision, explain, colors, details);
    lines.push(...details.map((d) => `${INDENT}${d}`));
  }
  const unschedulable = outcome.cells.find((c) => c.unschedulable !== undefined);
  if (unschedulable?.unschedulable !== undefined) {
    lines.push(colors.warn(`${INDENT}unschedulable: ${safe(unschedulable.unschedulable)} (a scheduling result, not an AppArmor outcome)`));
  } else if (outcome.ineligible.length > 0) {
    const byWhy = new Map<string, string[]>();
    // Pushed, not copied: a pod placed on none of 5,000 nodes must not cost 5,000 copies of a growing list.
    for (const { node, why } of outcome.ineligible) {
      const nodes = byWhy.get(why);
      if (nodes) nodes.push(node);
      else byWhy.set(why, [node]);
    }
    for (const [why, nodes] of byWhy) lines.push(colors.dim(safe(`${INDENT}not scheduled to ${nodes.join(', ')}: ${why}`)));
  }
  return lines.join('\n');
}

function signature(decision: Decision): string {
  return JSON.stringify([decision.outcome, decision.stage, decision.reason, decision.message, decision.warnings, decision.containers.map((c) => [containerLabel(c), containerSummary(c)])]);
}

function whereText(where: { version: Minor; nodes: string[] }[], outcome: MatrixOutcome, clusterish: boolean): string {
  const versions = formatVersionRanges(where.map((w) => w.version));
  if (!clusterish) return versions;
  const nodeText = (nodes: readonly string[]) => (nodes.length === outcome.eligibleCount && nodes.length > 2 ? `all ${nodes.length} eligible nodes` : nodes.join(', '));
  const sameNodes = where.every((w) => w.nodes.join(',') === where[0]?.nodes.join(','));
  if (sameNodes) return outcome.cells.length === 1 ? nodeText(where[0]?.nodes ?? []) : `${versions} on ${nodeText(where[0]?.nodes ?? [])}`;
  return where.map((w) => `${formatMinor(w.version)} on ${nodeText(w.nodes)}`).join('; ');
}

function summaryLine(s: MatrixSummary): string {
  const everywhere = s.runEverywhere;
  const details = [s.variesByNode && `${s.variesByNode} vary by node`, s.variesByVersion && `${s.variesByVersion} vary by version`].filter(Boolean).join(', ');
  const scope = s.clusterMode ? (s.versions.length > 1 ? 'on every eligible node of every version' : 'on every eligible node') : 'in every version';
  return `${s.pods} pod${s.pods === 1 ? '' : 's'}: ${everywhere} run ${scope}, ${s.refused} refused somewhere${details ? ` (${details})` : ''}${s.suppressed ? `, ${s.suppressed} suppressed` : ''}${s.unschedulable ? `, ${s.unschedulable} unschedulable` : ''}; ${s.skipped.length} skipped`;
}

// ---- JSON ----

export interface MatrixGroupJson {
  nodes: string[];
  outcome: string;
  stage: string;
  reason: string;
  message: string;
  warnings: string[];
  containers: PodResultJson['containers'];
}

export interface MatrixPodJson extends Omit<PodResultJson, 'outcome' | 'stage'> {
  outcome: PodResultJson['outcome'] | 'Unschedulable';
  stage: PodResultJson['stage'] | 'scheduler';
  k8sVersion: string;
  node: string | null;
  variesByNode: boolean;
  variesByVersion: boolean;
  matrix: { k8sVersion: string; unschedulable: string | null; groups: MatrixGroupJson[] }[];
  notScheduledTo: { node: string; why: string }[];
}

export function matrixPodJson(outcome: MatrixOutcome, explain: boolean): MatrixPodJson {
  const primary = primaryOf(outcome);
  const base = { file: outcome.input.file, line: outcome.input.line, namespace: outcome.namespace, name: outcome.name, workload: outcome.input.workload };
  let head: Omit<MatrixPodJson, 'k8sVersion' | 'node' | 'variesByNode' | 'variesByVersion' | 'matrix' | 'notScheduledTo'>;
  if (primary) {
    const { workload, ...rest } = podResultJson({ ...base, decision: primary.group.decision }, explain);
    head = rest;
    if (workload) head.workload = workload;
  } else {
    const cell = outcome.cells[0];
    head = { file: base.file, line: base.line, kind: 'Pod', namespace: base.namespace, name: base.name, outcome: 'Unschedulable', stage: 'scheduler', reason: 'Unschedulable', message: cell?.unschedulable ?? '', warnings: [], containers: [] };
    if (base.workload) head.workload = { kind: base.workload.kind, name: base.workload.name };
  }
  return {
    ...head,
    k8sVersion: formatMinor(primary?.cell.version ?? outcome.cells[0]?.version ?? 0),
    node: primary?.group.nodes[0] ?? null,
    variesByNode: outcome.variesByNode,
    variesByVersion: outcome.variesByVersion,
    matrix: outcome.cells.map((cell) => ({
      k8sVersion: formatMinor(cell.version),
      unschedulable: cell.unschedulable ?? null,
      groups: cell.groups.map((g) => {
        const json = podResultJson({ ...base, decision: g.decision }, false);
        return { nodes: g.nodes, outcome: json.outcome, stage: json.stage, reason: json.reason, message: json.message, warnings: json.warnings, containers: json.containers };
      }),
    })),
    notScheduledTo: outcome.ineligible,
    ...(outcome.suppressed ? { suppressed: suppressionJson(outcome.suppressed) } : {}),
  };
}

/**
 * JSON.stringify(matrixPodJson(outcome, false)), written in pieces: a decision's part is serialized once for the head
 * and its group, and the node lists and notScheduledTo, which the pods of one placement share (most of the bytes on a
 * big cluster), once per list.
 */
export function matrixPodJsonText(outcome: MatrixOutcome): string {
  const primary = primaryOf(outcome);
  const input = outcome.input;
  const decisionParts = new Map<Decision, string>();
  const decisionPart = (decision: Decision): string => {
    let part = decisionParts.get(decision);
    if (part === undefined) {
      // The keys podResultJson writes after the pod's name, without the braces.
      part = JSON.stringify({ outcome: decision.outcome, stage: decision.stage, reason: decision.reason, message: decision.message, warnings: decision.warnings, containers: decision.containers.map(containerJson) }).slice(1, -1);
      decisionParts.set(decision, part);
    }
    return part;
  };
  let head: string;
  if (primary) {
    const decision = primary.group.decision;
    head = `${JSON.stringify({ file: input.file, line: input.line, kind: 'Pod', namespace: outcome.namespace, name: outcome.name }).slice(0, -1)},${decisionPart(decision)}`;
    if (decision.workload) head += `,"workloadCreate":${JSON.stringify(workloadCreateJson(decision.workload, false))}`;
    if (input.workload) head += `,"workload":${JSON.stringify({ kind: input.workload.kind, name: input.workload.name })}`;
  } else {
    const cell = outcome.cells[0];
    const unschedulable = { file: input.file, line: input.line, kind: 'Pod', namespace: outcome.namespace, name: outcome.name, outcome: 'Unschedulable', stage: 'scheduler', reason: 'Unschedulable', message: cell?.unschedulable ?? '', warnings: [], containers: [], ...(input.workload ? { workload: { kind: input.workload.kind, name: input.workload.name } } : {}) };
    head = JSON.stringify(unschedulable).slice(0, -1);
  }
  const cells = outcome.cells.map((cell) => {
    const groups = cell.groups.map((g) => `{"nodes":${sharedJson(g.nodes)},${decisionPart(g.decision)}}`);
    return `{"k8sVersion":${JSON.stringify(formatMinor(cell.version))},"unschedulable":${JSON.stringify(cell.unschedulable ?? null)},"groups":[${groups.join(',')}]}`;
  });
  const version = formatMinor(primary?.cell.version ?? outcome.cells[0]?.version ?? 0);
  const rest = `,"k8sVersion":${JSON.stringify(version)},"node":${JSON.stringify(primary?.group.nodes[0] ?? null)},"variesByNode":${JSON.stringify(outcome.variesByNode)},"variesByVersion":${JSON.stringify(outcome.variesByVersion)},"matrix":[${cells.join(',')}],"notScheduledTo":${sharedJson(outcome.ineligible)}`;
  const suppressed = outcome.suppressed ? `,"suppressed":${JSON.stringify(suppressionJson(outcome.suppressed))}` : '';
  return `${head}${rest}${suppressed}}`;
}

/** JSON text of lists that many pods share and nobody modifies: node lists and notScheduledTo of one placement. */
const SHARED_JSON = new WeakMap<readonly unknown[], string>();

function sharedJson(list: readonly unknown[]): string {
  let text = SHARED_JSON.get(list);
  if (text === undefined) {
    text = JSON.stringify(list);
    SHARED_JSON.set(list, text);
  }
  return text;
}

export function matrixJson(explain: boolean): MatrixFormat {
  return {
    // One line per result: with tens of nodes per pod, pretty-printing would triple the output.
    pod: (outcome) => `    ${explain ? JSON.stringify(matrixPodJson(outcome, explain)) : matrixPodJsonText(outcome)}`,
    document(pods, summary) {
      const results = pods.length > 0 ? `[\n${pods.join(',\n')}\n  ]` : '[]';
      return `${DRY_RUN_JSON_HEAD}${results}${jsonTail(summary)}`;
    },
    streaming: { head: `${DRY_RUN_JSON_HEAD}[\n`, separator: ',\n', tail: (summary) => `\n  ]${jsonTail(summary)}` },
  };
}

function jsonTail(summary: MatrixSummary): string {
      const indent = (value: unknown) => JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
      const skipped = summary.skipped.map(({ file, line, kind, name, why }) => ({ file, line, kind, name, why }));
      const nodes = summary.nodes.map((n) => ({
        name: n.name,
        kubeletVersion: formatMinor(n.facts.kubeletVersion),
        os: n.facts.os,
        runtime: n.facts.runtime,
        appArmorEnabled: n.facts.appArmorEnabled,
        profiles: n.facts.profiles.map((p) => p.name),
        labels: n.labels,
        taints: n.taints,
      }));
      return `,\n  "skipped": ${indent(skipped)},\n  "errors": ${indent(inputErrorsJson(summary.errors))},\n  "k8sVersions": ${indent(summary.versions.map(formatMinor))},\n  "nodes": ${indent(nodes)},\n  "notes": ${indent(summary.notes)}\n}\n`;
}

// ---- JUnit ----

export const matrixJunit: MatrixFormat = {
  pod(outcome) {
    return outcome.cells
      .map((cell) => {
        const name = `${podLabel({ ...outcome, workload: outcome.input.workload })}${outcome.cells.length > 1 ? ` @ ${formatMinor(cell.version)}` : ''}`;
        const parts = [`    <testcase name="${escapeXml(name)}" classname="${escapeXml(`${outcome.input.file}:${outcome.input.line}`)}">\n`];
        const bad = cell.groups.filter((g) => refused(g.decision));
        if (cell.unschedulable !== undefined) {
          parts.push(`      <skipped message="${escapeXml(`unschedulable: ${cell.unschedulable}`)}"/>\n`);
        } else if (bad.length > 0 && outcome.suppressed) {
          parts.push(`      <skipped message="${escapeXml(suppressionText(outcome.suppressed))}"/>\n`);
        } else if (bad.length > 0) {
          const type = [...new Set(bad.map((g) => g.decision.outcome))].join(',');
          const message = bad.map((g) => `${g.decision.outcome} at ${g.decision.stage} on ${g.nodes.join(', ')}`).join('; ');
          parts.push(`      <failure type="${escapeXml(type)}" message="${escapeXml(message)}">${escapeXml(bad.map((g) => g.decision.message).join('\n'))}</failure>\n`);
        }
        const out = cell.groups.flatMap((g) => [`${g.nodes.join(', ')}: ${g.decision.outcome}`, ...g.decision.containers.map((c) => `  ${containerLabel(c)}: ${containerSummary(c)}`)]).join('\n');
        if (out) parts.push(`      <system-out>${escapeXml(out)}</system-out>\n`);
        parts.push('    </testcase>\n');
        return parts.join('');
      })
      .join('');
  },
  document(pods, summary) {
    const count = (pattern: RegExp) => pods.reduce((n, p) => n + (p.match(pattern)?.length ?? 0), 0);
    const errors = junitErrorCases(summary.errors);
    return junitDocument('apparmor-sim dry-run', [...pods, ...errors], count(/<failure /g), { tests: count(/<testcase /g) + errors.length, skipped: count(/<skipped /g), errors: errors.length });
  },
};
