// Output of `conformance run`: a table for people, JSON and JUnit for machines. Pure.
import { escapeXml } from '../io/junit.js';
import type { Observation } from '../sim/classify.js';
import type { CleanupReport } from './cleanup.js';
import type { ClusterDescription, ClusterNode } from './nodefacts.js';
import type { ScenarioReport } from './replay.js';

export const CONFORMANCE_SCHEMA_VERSION = 1;

export interface RunSummary {
  runId: string;
  /** e.g. "kind cluster apparmor-sim-abc (kindest/node:v1.35.0@sha256:...)" or "kubeconfig context kind-kind (https://...)" */
  target: string;
  cluster: ClusterDescription | null;
  results: ScenarioReport[];
  cleanup: CleanupReport | null;
  logsDir: string;
  /** Why the whole run was skipped (no cluster), when it was. */
  skipped?: string | undefined;
  /** Why the run as a whole failed (cluster setup, unknown node facts, nothing replayed), when it did. */
  error?: string | undefined;
  interrupted?: string | undefined;
}

export interface Counts {
  total: number;
  agree: number;
  mismatch: number;
  error: number;
  skipped: number;
}

export function counts(results: readonly ScenarioReport[]): Counts {
  const by = (status: ScenarioReport['status']) => results.filter((r) => r.status === status).length;
  return { total: results.length, agree: by('agree'), mismatch: by('mismatch'), error: by('error'), skipped: by('skipped') };
}

export function summaryLine(summary: RunSummary): string {
  if (summary.skipped) return `conformance skipped: ${summary.skipped}`;
  const c = counts(summary.results);
  const failed = summary.error ? `; run failed: ${summary.error}` : '';
  const leftovers = summary.cleanup?.failed.length ? `; cleanup left ${summary.cleanup.failed.length} resource(s), see above` : '';
  const kept = summary.cleanup?.kept.length ? `; kept ${summary.cleanup.kept.length} resource(s) (--keep)` : '';
  const interrupted = summary.interrupted ? `; interrupted by ${summary.interrupted}` : '';
  return `${c.total} scenarios: ${c.agree} agree, ${c.mismatch} mismatch, ${c.error} error, ${c.skipped} skipped${failed}${interrupted}${leftovers}${kept}`;
}

const LABEL: Record<ScenarioReport['status'], string> = { agree: 'AGREE', mismatch: 'MISMATCH', error: 'ERROR', skipped: 'SKIP' };

export function conformanceTable(summary: RunSummary): string {
  const lines: string[] = [];
  if (summary.cluster) lines.push(clusterLine(summary), ...summary.cluster.nodes.map((n) => `  node ${describeNode(n)}`));
  for (const r of summary.results) {
    const where = `${r.file}:${r.line}`;
    if (r.status === 'skipped' || r.status === 'error') {
      lines.push(`${LABEL[r.status].padEnd(8)} ${r.name} ${where}: ${r.reason}`);
      continue;
    }
    lines.push(`${LABEL[r.status].padEnd(8)} ${r.name} ${where}${r.node ? ` on ${r.node}` : ''}`);
    if (r.model) lines.push(`    model:    ${describe(r.model.outcome, r.model.stage, r.model.message)}`);
    lines.push(`    expect:   ${describe(r.expectation.outcome, r.expectation.stage, r.expectation.message ?? (r.expectation.messageContains ? `...${r.expectation.messageContains}...` : ''))}`);
    if (r.observed) lines.push(`    observed: ${describe(r.observed.outcome, r.observed.stage, r.observed.message)}${containersText(r.observed)}`);
    for (const m of r.mismatches) lines.push(`    ${m.field}: expected ${JSON.stringify(m.expected)}, observed ${JSON.stringify(m.actual)}`);
    for (const note of r.notes) lines.push(`    note: ${note}`);
  }
  if (summary.cleanup) {
    for (const f of summary.cleanup.failed) lines.push(`cleanup failed: ${f.description}: ${f.error}`);
    for (const k of summary.cleanup.kept) lines.push(`kept: ${k.description}`);
  }
  if (summary.results.some((r) => r.status === 'mismatch' || r.status === 'error')) lines.push(`diagnostics: ${summary.logsDir}`);
  lines.push(summaryLine(summary));
  return `${lines.join('\n')}\n`;
}

/** One line per node: its facts, what the canary showed, its problems and infrastructure failures. */
export function describeNode(n: ClusterNode): string {
  const problems = n.problems.length ? `; problems: ${n.problems.join('; ')}` : '';
  const failures = n.failures.length ? `; FAILED: ${n.failures.join('; ')}` : '';
  return `${n.name}: ${n.ready ? '' : 'NotReady, '}${n.os}, kubelet ${n.kubeletVersion}, ${n.containerRuntimeVersion}, AppArmor ${n.appArmorEnabled === null ? 'unknown' : n.appArmorEnabled ? 'on' : 'off'}, runtime ${n.runtimeAppArmor}${n.runtimeNote ? ` (${n.runtimeNote})` : ''}${problems}${failures}`;
}

function clusterLine(summary: RunSummary): string {
  const cluster = summary.cluster;
  if (!cluster) return summary.target;
  const gates = Object.entries(cluster.featureGates).map(([g, v]) => `${g}=${v}`).join(',');
  return `cluster: ${summary.target}, API server ${cluster.serverVersion}${gates ? `, feature gates ${gates}` : ''}, run ${summary.runId}`;
}

function describe(outcome: string, stage: string | undefined, message: string): string {
  return `${outcome}${stage ? ` at ${stage}` : ''}${message ? `: ${message}` : ''}`;
}

function containersText(observed: Observation): string {
  const parts = observed.containers
    .filter((c) => c.profile !== undefined || c.writeDenied !== undefined)
    .map((c) => `${c.name}: ${c.profile ?? 'not started'}${c.writeDenied === undefined ? '' : c.writeDenied ? ', write denied' : ', write allowed'}`);
  return parts.length ? `; ${parts.join('; ')}` : '';
}

export function conformanceJson(summary: RunSummary): string {
  const body = {
    version: CONFORMANCE_SCHEMA_VERSION,
    runId: summary.runId,
    target: summary.target,
    skipped: summary.skipped ?? null,
    error: summary.error ?? null,
    interrupted: summary.interrupted ?? null,
    cluster: summary.cluster,
    summary: counts(summary.results),
    results: summary.results.map((r) => ({
      name: r.name,
      file: r.file,
      line: r.line,
      status: r.status,
      reason: r.reason,
      node: r.node ?? null,
      expectation: r.expectation,
      model: r.model ?? null,
      observed: r.observed ?? null,
      mismatches: r.mismatches,
      notes: r.notes,
      durationMs: r.durationMs,
    })),
    cleanup: summary.cleanup,
    logsDir: summary.logsDir,
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

export function conformanceJunit(summary: RunSummary): string {
  const c = counts(summary.results);
  const suite = `apparmor-sim conformance${summary.cluster ? ` ${summary.cluster.serverVersion}` : ''}`;
  const cases: string[] = summary.results.map((r) => {
    const head = `    <testcase name="${escapeXml(r.name)}" classname="${escapeXml(`${r.file}:${r.line}`)}" time="${(r.durationMs / 1000).toFixed(3)}">\n`;
    let body = '';
    if (r.status === 'skipped') body = `      <skipped message="${escapeXml(r.reason)}"/>\n`;
    else if (r.status === 'error') body = `      <error type="error" message="${escapeXml(r.reason)}"/>\n`;
    else if (r.status === 'mismatch') {
      const text = r.mismatches.map((m) => `${m.field}: expected ${JSON.stringify(m.expected)}, observed ${JSON.stringify(m.actual)}`).join('\n');
      body = `      <failure type="mismatch" message="${escapeXml(`${r.mismatches.length} mismatch${r.mismatches.length === 1 ? '' : 'es'}`)}">${escapeXml(text)}</failure>\n`;
    }
    const out = r.observed ? `      <system-out>${escapeXml(`observed ${describe(r.observed.outcome, r.observed.stage, r.observed.message)}${containersText(r.observed)}${r.node ? ` on ${r.node}` : ''}`)}</system-out>\n` : '';
    return `${head}${body}${out}    </testcase>\n`;
  });
  if (summary.skipped) cases.push(`    <testcase name="cluster" classname="conformance"><skipped message="${escapeXml(summary.skipped)}"/></testcase>\n`);
  if (summary.error) cases.push(`    <testcase name="cluster" classname="conformance"><error type="run" message="${escapeXml(summary.error)}"/></testcase>\n`);
  const skipped = c.skipped + (summary.skipped ? 1 : 0);
  const errors = c.error + (summary.error ? 1 : 0);
  // Node facts and problems, so that a CI report shows what the cluster was without the job log.
  const properties = summary.cluster
    ? [
        '    <properties>\n',
        `      <property name="target" value="${escapeXml(summary.target)}"/>\n`,
        `      <property name="apiserver" value="${escapeXml(summary.cluster.serverVersion)}"/>\n`,
        ...summary.cluster.nodes.map((n) => `      <property name="node.${escapeXml(n.name)}" value="${escapeXml(describeNode(n))}"/>\n`),
        '    </properties>\n',
      ]
    : [];
  const systemOut = summary.cluster ? [`    <system-out>${escapeXml(summary.cluster.nodes.map((n) => `node ${describeNode(n)}`).join('\n'))}</system-out>\n`] : [];
  const tests = cases.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    `<testsuites tests="${tests}" failures="${c.mismatch}" errors="${errors}" skipped="${skipped}">\n`,
    `  <testsuite name="${escapeXml(suite)}" tests="${tests}" failures="${c.mismatch}" errors="${errors}" skipped="${skipped}">\n`,
    ...properties,
    ...cases,
    ...systemOut,
    '  </testsuite>\n',
    '</testsuites>\n',
  ].join('');
}

export function renderConformance(summary: RunSummary, format: 'table' | 'json' | 'junit'): string {
  switch (format) {
    case 'json':
      return conformanceJson(summary);
    case 'junit':
      return conformanceJunit(summary);
    case 'table':
      return conformanceTable(summary);
  }
}
