// `apparmor-sim migrate`: rewrites the beta AppArmor annotations of Pods and pod templates into
// securityContext.appArmorProfile (plan: migrate-plan.ts; text edits: migrate-edit.ts), checking with the model that
// every migrated pod fares the same on every target version before and after.
import { writeFileSync } from 'node:fs';
import type { Document } from 'yaml';
import { parseAllDocuments } from 'yaml';
import { isMap } from '../../sim/pod.js';
import { simulate } from '../../sim/simulate.js';
import { gateProblems } from '../../sim/feature-gates.js';
import type { Decision, FeatureGates, LoadedProfile, Minor, NodeFacts, Pod } from '../../sim/types.js';
import { formatMinor, NEWEST_MODELLED_MINOR } from '../../sim/version.js';
import type { OptionSpecs } from '../../io/args.js';
import { EXIT, UsageError, flagFailure, parseCommandLine, parseFeatureGates, parseLabels } from '../../io/args.js';
import { defaultRuntime } from '../../io/load/facts.js';
import type { InputError, YamlDocument } from '../../io/load/source.js';
import { InputFailure, LIMITS, expandPaths, formatInputError, parseYamlDocuments, readTextFile } from '../../io/load/source.js';
import type { LineEdit } from '../output/diff.js';
import { applyLineEdits, lineDiff, splitLines, trimEdit, unifiedDiff } from '../output/diff.js';
import { displayPath } from './manifests.js';
import { Lines, NotBlockStyle, blockEdits, documentEdit, printContents, toLineEdits } from './migrate-edit.js';
import type { Path, PodPlan, PodSite } from './migrate-plan.js';
import { FIELDS_FROM, applyPlan, getIn, planChanges, planPod, podSites, sameValue } from './migrate-plan.js';
import { buildNode } from './node.js';
import { formatVersionRanges, parseVersionList } from './versions.js';
import type { CollectedPod } from './workloads.js';
import { WORKLOAD_TEMPLATES, collectObject } from './workloads.js';

const OPTIONS = {
  'k8s-version': { type: 'string' },
  check: { type: 'boolean' },
  write: { type: 'boolean' },
  node: { type: 'string' },
  profiles: { type: 'string', multiple: true },
  'namespace-labels': { type: 'string', multiple: true },
  'feature-gates': { type: 'string', multiple: true },
} as const satisfies OptionSpecs;

export const MIGRATE_HELP = `Usage: apparmor-sim migrate <files|dirs> [options]

Rewrites the beta annotations container.apparmor.security.beta.kubernetes.io/<container> of Pods and pod templates
(Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate, also in Lists)
into securityContext.appArmorProfile: at pod level when every container has the same profile, else per container
(init containers too). Comments, key order and formatting of everything else are kept. The annotations are removed
only when every target version is 1.${FIELDS_FROM} or newer; otherwise both are written, as clusters with older
API servers and kubelets need the annotations. Each migrated pod is simulated before and after on every target
version; a migration that would change what happens to the pod is refused and explained.

Options:
  --k8s-version V         target versions (default 1.${NEWEST_MODELLED_MINOR}): a list 1.29,1.30 or ranges 1.28-1.31
  --check                 change nothing; list what would change, exit 1 if anything would
  --write                 edit the files in place
  --node FILE             node facts for the before/after simulation (default: a node on which every profile the
                          manifests name is loaded)
  --profiles FILE|DIR     profiles loaded on that node (as dry-run --profiles)
  --namespace-labels k=v  labels of the pods' namespaces (Pod Security Admission)
  --feature-gates A=true  feature gates of the target clusters (e.g. AppArmorFields=false on 1.30 drops the fields,
                          so removing the annotations would be refused)
  -h, --help              show this help

Without --check or --write, a unified diff is printed (apply it with git apply or patch -p1) and the report goes to
standard error; with them, the report goes to standard output.

Exit codes:
  0  nothing refused (with --check: nothing would change either)
  1  a migration was refused (with --check: also when something would change)
  2  usage or input error (one line per error on stderr: file:line[:col]: message)
  3  internal error (a bug in apparmor-sim; please report it)
`;

interface Settings {
  inputs: string[];
  versions: Minor[];
  mode: 'diff' | 'check' | 'write';
  nodeFile: string | undefined;
  profiles: string[];
  labels: Readonly<Record<string, string>>;
  gates: FeatureGates;
}

interface SiteResult {
  line: number;
  site: PodSite;
  plan: PodPlan;
  /** Why the migration was refused, or undefined when it was not. */
  refused?: string | undefined;
}

interface FileResult {
  label: string;
  file: string;
  original: string;
  diff: string;
  newText: string | undefined;
  sites: SiteResult[];
  reformatted: number[];
  /** Set when the file could not be rewritten faithfully: an internal error, the file is left alone. */
  failure?: string | undefined;
}

export async function runMigrate(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, OPTIONS, 'migrate');
  if (parsed.help) {
    process.stdout.write(MIGRATE_HELP);
    return EXIT.ok;
  }
  const { values, positionals } = parsed;
  if (positionals.length === 0) throw new UsageError('migrate needs at least one file or directory', true);
  if (values.check && values.write) throw new UsageError('--check and --write cannot be combined', true);
  if (positionals.includes('-')) throw new UsageError('migrate edits files; give paths, not - (stdin)', true);
  const settings: Settings = {
    inputs: positionals,
    versions: values['k8s-version'] !== undefined ? parseVersionList('--k8s-version', values['k8s-version']) : [NEWEST_MODELLED_MINOR],
    mode: values.check ? 'check' : values.write ? 'write' : 'diff',
    nodeFile: values.node,
    profiles: values.profiles ?? [],
    labels: parseLabels(values['namespace-labels'] ?? []),
    gates: parseFeatureGates(values['feature-gates'] ?? []),
  };
  for (const version of settings.versions) {
    const problems = gateProblems(settings.gates, version, 'kube-apiserver');
    if (problems.length > 0) throw flagFailure(problems.map((p) => `--feature-gates: ${p.message}`));
  }
  const nodes = new NodeCache(settings);
  const errors: InputError[] = [];
  const results: FileResult[] = [];
  const cwd = process.cwd();
  for (const input of settings.inputs) {
    let files: string[];
    try {
      files = expandPaths([input], cwd);
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      errors.push(...error.errors);
      continue;
    }
    for (const file of files) {
      const label = displayPath(file, cwd);
      let text: string;
      try {
        text = readTextFile(file, label);
      } catch (error) {
        if (!(error instanceof InputFailure)) throw error;
        errors.push(...error.errors);
        continue;
      }
      results.push(await migrateText(text, label, file, settings, nodes, errors));
    }
  }

  const report = settings.mode === 'diff' ? process.stderr : process.stdout;
  let changed = 0;
  let refusedCount = 0;
  let failures = 0;
  for (const result of results) {
    if (result.failure !== undefined) {
      failures++;
      process.stderr.write(`apparmor-sim: internal error: ${result.failure}\n`);
      continue;
    }
    if (settings.mode === 'diff') process.stdout.write(result.diff);
    if (settings.mode === 'write' && result.newText !== undefined) writeFileSync(result.file, result.newText);
    for (const site of result.sites) {
      if (site.refused !== undefined) refusedCount++;
      else if (planChanges(site.plan)) changed++;
      report.write(describeSite(result.label, site, settings));
    }
    for (const line of result.reformatted) {
      report.write(`${result.label}:${line}: note: flow-style YAML there was printed again by the yaml library; check its formatting in the diff\n`);
    }
  }
  const verb = settings.mode === 'check' ? 'would change' : settings.mode === 'write' ? 'changed' : 'to change';
  report.write(`${changed} pod${changed === 1 ? '' : 's'} ${verb}, ${refusedCount} refused (target ${formatVersionRanges(settings.versions)})\n`);
  if (errors.length > 0) {
    process.stderr.write(new InputFailure(errors).errors.map((e) => `${formatInputError(e)}\n`).join(''));
    return EXIT.usage;
  }
  if (failures > 0) return EXIT.internal;
  if (refusedCount > 0) return EXIT.refusedOrFailed;
  return settings.mode === 'check' && changed > 0 ? EXIT.refusedOrFailed : EXIT.ok;
}

function describeSite(label: string, result: SiteResult, settings: Settings): string {
  const { site, plan } = result;
  const where = `${label}:${result.line}  ${site.kind}/${site.name || '<unnamed>'}`;
  const lines: string[] = [];
  if (result.refused !== undefined) lines.push(`${where}: refused: ${result.refused}`);
  else if (planChanges(plan)) {
    const parts: string[] = [];
    if (plan.podField) parts.push(`spec.securityContext.appArmorProfile ${describeField(plan.podField)}`);
    for (const c of plan.containerFields) parts.push(`${c.name}: ${c.kind}[${c.index}].securityContext.appArmorProfile ${describeField(c.field)}`);
    if (plan.removeAnnotations.length > 0) parts.push(`${plan.removeAnnotations.length} annotation${plan.removeAnnotations.length === 1 ? '' : 's'} removed`);
    if (plan.keptAnnotations.length > 0) {
      const older = settings.versions.filter((v) => v < FIELDS_FROM).map(formatMinor).join(', ');
      parts.push(`annotations kept for ${older} (no appArmorProfile fields before 1.${FIELDS_FROM})`);
    }
    lines.push(`${where}: ${parts.join('; ')}`);
  }
  for (const note of plan.notes) lines.push(`${where}: ${note}`);
  return lines.map((l) => `${l}\n`).join('');
}

function describeField(field: { type: string; localhostProfile?: string | undefined }): string {
  return field.localhostProfile !== undefined ? `${field.type} ${field.localhostProfile}` : field.type;
}

/** Migrates one file's text: the diff, the new text, and a result per pod. Input errors go to `errors`. */
export async function migrateText(text: string, label: string, file: string, settings: Settings, nodes: NodeCache, errors: InputError[]): Promise<FileResult> {
  const result: FileResult = { label, file, original: text, diff: '', newText: undefined, sites: [], reformatted: [] };
  const work = text.endsWith('\n') || text === '' ? text : `${text}\n`;
  const lines = new Lines(work);
  // The shared reader first, for its limits (tokens, scalar sizes, nesting, aliases, containers per pod): a file over
  // them is not edited at all. Syntax errors of single documents are reported below, per document.
  try {
    parseYamlDocuments(text, label);
  } catch (error) {
    if (!(error instanceof InputFailure)) throw error;
    if (!error.errors.every((e) => e.line !== undefined && /^invalid YAML: /.test(e.message))) {
      errors.push(...error.errors);
      return result;
    }
  }
  let list: Document.Parsed[];
  try {
    const docs = parseAllDocuments(work, { prettyErrors: false, uniqueKeys: true });
    list = Array.isArray(docs) ? docs : [];
  } catch (error) {
    errors.push({ file: label, message: `invalid YAML: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}` });
    return result;
  }
  const json = list.length === 1 && /^\s*\{/.test(work) && isJson(work);
  const changedDocs: { doc: Document.Parsed; accepted: { podPath: Path; plan: PodPlan }[] }[] = [];
  const expected = new Map<number, unknown>();
  for (const [index, doc] of list.entries()) {
    const first = doc.errors[0];
    if (first) {
      errors.push({ file: label, line: lines.lineOf(first.pos[0]) + 1, message: `invalid YAML: ${first.message.split('\n')[0] ?? ''}` });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: LIMITS.maxAliasCount });
    } catch (error) {
      errors.push({ file: label, line: lines.lineOf(doc.contents?.range?.[0] ?? 0) + 1, message: `invalid YAML: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    const accepted: { podPath: Path; plan: PodPlan }[] = [];
    // The document as planned: one copy, changed in place per pod (copying per pod would be quadratic in a List).
    let after: unknown;
    for (const site of podSites(value, WORKLOAD_TEMPLATES)) {
      const line = lineOfPath(doc, site.objectPath, lines);
      const podLike = getIn(value, site.podPath);
      if (!isMap(podLike)) continue;
      // A pod the API server could not even decode (wrong types) is an input error, as in dry-run.
      const before = collectPod(getIn(value, site.objectPath), site.objectPath, doc, label, lines, errors);
      if (!before) continue;
      const plan = planPod(podLike, settings.versions.every((v) => v >= FIELDS_FROM));
      const siteResult: SiteResult = { line, site, plan };
      if (planChanges(plan) || plan.notes.length > 0) result.sites.push(siteResult);
      if (!planChanges(plan)) continue;
      const migratedPodLike = applyPlan(podLike, plan);
      const migratedObject = replaceIn(getIn(value, site.objectPath), site.podPath.slice(site.objectPath.length), migratedPodLike);
      const afterPod = collectPod(migratedObject, site.objectPath, doc, label, lines, []);
      siteResult.refused = afterPod ? await compareOutcomes(before.pod, afterPod.pod, settings, nodes) : 'the migrated manifest is not a valid pod (a bug in apparmor-sim; please report it)';
      if (siteResult.refused !== undefined) continue;
      accepted.push({ podPath: site.podPath, plan });
      if (site.podPath.length === 0) after = migratedPodLike;
      else {
        after ??= structuredClone(value);
        setIn(after, site.podPath, migratedPodLike);
      }
    }
    if (accepted.length === 0) continue;
    expected.set(index, after);
    changedDocs.push({ doc, accepted });
  }
  if (expected.size === 0) return result;
  const { lines: original, finalNewline } = splitLines(work);
  // Lines added keep the file's line ends.
  const crlf = work.includes('\r\n');
  const withEnds = (edits: LineEdit[]): LineEdit[] => (crlf ? edits.map((e) => ({ ...e, lines: e.lines.map((l) => (l.endsWith('\r') ? l : `${l}\r`)) })) : edits);
  let attempt: { edits: LineEdit[]; reformatted: number[] } | undefined;
  if (json) {
    const indent = /\n([ \t]+)\S/.exec(work)?.[1] ?? '';
    const value = expected.get(0);
    const printed = (indent === '' && !work.trim().includes('\n') ? JSON.stringify(value) : JSON.stringify(value, null, indent)).split('\n');
    const edit = trimEdit(original, { start: 0, end: original.length, lines: crlf ? printed.map((l) => `${l}\r`) : printed });
    attempt = { edits: edit ? refine(original, edit) : [], reformatted: [] };
    if (!rewriteMatches(applyLineEdits(original, attempt.edits), expected)) attempt = undefined;
  } else {
    // In place first; if the result does not parse to the plan (a layout the line edits do not handle), print the
    // changed documents again instead; if that does not either, leave the file alone.
    for (const reprint of [false, true]) {
      const edits: LineEdit[] = [];
      const reformatted: number[] = [];
      for (const { doc, accepted } of changedDocs) edits.push(...withEnds(documentEdits(doc, accepted, lines, original, reprint, reformatted)));
      edits.sort((a, b) => a.start - b.start || a.end - b.end);
      if (rewriteMatches(applyLineEdits(original, edits), expected)) {
        attempt = { edits, reformatted };
        break;
      }
    }
  }
  if (!attempt) {
    result.failure = `${label}: the rewritten file would not parse to the planned manifest (a bug in apparmor-sim; please report it); left unchanged`;
    return result;
  }
  result.reformatted = attempt.reformatted;
  const newWork = `${applyLineEdits(original, attempt.edits).join('\n')}\n`;
  result.newText = text.endsWith('\n') || text === '' ? newWork : newWork.slice(0, -1);
  result.diff = unifiedDiff(label, original, attempt.edits, finalNewline && (text.endsWith('\n') || text === ''));
  return result;
}

/** The edits of one document: in place (block style), or the document printed again by the yaml library. */
function documentEdits(doc: Document.Parsed, accepted: readonly { podPath: Path; plan: PodPlan }[], lines: Lines, original: readonly string[], reprint: boolean, reformatted: number[]): LineEdit[] {
  if (!reprint) {
    try {
      return toLineEdits(blockEdits(doc, lines, accepted), lines);
    } catch (error) {
      if (!(error instanceof NotBlockStyle)) throw error;
    }
  }
  const contents = doc.contents;
  if (!contents?.range) return [];
  const start = lines.lineOf(contents.range[0]);
  const end = lines.lineOf(Math.max(contents.range[0], contents.range[1] - 1)) + 1;
  const edit = trimEdit(original, { start, end, lines: printContents(documentEdit(doc, accepted), original.slice(start, end).join('\n')) });
  if (!edit) return [];
  reformatted.push(edit.start + 1);
  return refine(original, edit);
}

/** One replacement split into the lines that really change (a bounded line diff), or kept whole. */
function refine(original: readonly string[], edit: LineEdit): LineEdit[] {
  const fine = lineDiff(original.slice(edit.start, edit.end), edit.lines);
  return fine?.map((e) => ({ ...e, start: e.start + edit.start, end: e.end + edit.start })) ?? [edit];
}

/** Whether the rewritten lines parse to exactly the planned manifests. */
function rewriteMatches(newLines: readonly string[], expected: ReadonlyMap<number, unknown>): boolean {
  const docs = parseAllDocuments(`${newLines.join('\n')}\n`, { prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  for (const [index, value] of expected) {
    const doc = list[index];
    if (!doc || doc.errors.length > 0 || !sameValue(doc.toJS({ maxAliasCount: LIMITS.maxAliasCount }), value)) return false;
  }
  return true;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function lineOfPath(doc: Document.Parsed, path: Path, lines: Lines): number {
  const node = path.length === 0 ? doc.contents : (doc.getIn(path, true) as { range?: [number, number, number] } | undefined);
  const range = node && typeof node === 'object' && 'range' in node ? node.range : undefined;
  return lines.lineOf(range?.[0] ?? doc.contents?.range?.[0] ?? 0) + 1;
}

/** The pod the model simulates for a Pod or workload object, through the same code dry-run uses. */
function collectPod(object: unknown, objectPath: Path, doc: Document.Parsed, label: string, lines: Lines, errors: InputError[]): CollectedPod | undefined {
  if (!isMap(object)) return undefined;
  const yamlDoc: YamlDocument = {
    file: label,
    line: lineOfPath(doc, objectPath, lines),
    value: object,
    lineOf: (path) => lineOfPath(doc, [...objectPath, ...path], lines),
    sourceOf: () => undefined,
  };
  const out = { pods: [] as CollectedPod[], skipped: [] };
  collectObject(yamlDoc, object, [], out, errors);
  return out.pods[0];
}

function setIn(root: unknown, path: Path, value: unknown): void {
  const parent = getIn(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent) && typeof key === 'number') parent[key] = value;
  else if (isMap(parent) && key !== undefined) parent[String(key)] = value;
}

function replaceIn(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root) && typeof head === 'number') return root.map((item, i) => (i === head ? replaceIn(item, rest, value) : item));
  if (isMap(root) && head !== undefined) return { ...root, [String(head)]: replaceIn(root[String(head)], rest, value) };
  return root;
}

/** Why the migrated pod fares differently from the original on some target version, or undefined when it does not. */
async function compareOutcomes(before: Pod, after: Pod, settings: Settings, nodes: NodeCache): Promise<string | undefined> {
  for (const version of settings.versions) {
    const node = await nodes.get(version, [before, after]);
    const cluster = { version, featureGates: settings.gates, namespace: { name: before.namespace ?? 'default', labels: settings.labels }, podSecurityPolicies: [] };
    const was = simulate({ cluster, node, pod: before });
    const will = simulate({ cluster, node, pod: after });
    if (summary(was) !== summary(will)) {
      return `on Kubernetes ${formatMinor(version)} the pod would go from ${describe(was)} to ${describe(will)}`;
    }
  }
  return undefined;
}

/** What counts as the outcome: the decision and the profile each container runs under. */
function summary(decision: Decision): string {
  return JSON.stringify([decision.outcome, decision.stage, decision.reason, decision.containers.map((c) => [c.name, c.state, c.appliedProfile])]);
}

function describe(decision: Decision): string {
  if (decision.outcome === 'Run') return `Run (${decision.containers.map((c) => `${c.name}: ${c.appliedProfile ?? 'not started'}`).join(', ')})`;
  return `${decision.outcome} (${decision.reason}: ${decision.message.split('\n')[0] ?? ''})`;
}

/** Nodes per target version: from --node/--profiles, or one with every Localhost profile the pods name loaded. */
export class NodeCache {
  private readonly built = new Map<Minor, NodeFacts>();
  constructor(private readonly settings: Settings) {}

  async get(version: Minor, pods: readonly Pod[]): Promise<NodeFacts> {
    if (this.settings.nodeFile === undefined && this.settings.profiles.length === 0) {
      return { name: 'node-1', kubeletVersion: version, featureGates: this.settings.gates, os: 'linux', appArmorEnabled: true, runtime: defaultRuntime(version), profiles: namedProfiles(pods) };
    }
    let node = this.built.get(version);
    if (!node) {
      const built = await buildNode({ nodeFile: this.settings.nodeFile, kubeletText: undefined, kubelet: version, runtime: undefined, gates: this.settings.gates, appArmorDisabled: false, profiles: this.settings.profiles });
      node = built.node;
      this.built.set(version, node);
      // Once per run, as dry-run prints them (e.g. profiles read without apparmor_parser).
      if (this.built.size === 1) for (const note of built.notes) process.stderr.write(`apparmor-sim: warning: ${note}\n`);
    }
    return node;
  }
}

function namedProfiles(pods: readonly Pod[]): LoadedProfile[] {
  const names = new Set<string>();
  for (const pod of pods) {
    for (const value of Object.values(pod.annotations)) if (value.startsWith('localhost/')) names.add(value.slice('localhost/'.length));
    for (const field of [pod.appArmorProfile, ...pod.containers.map((c) => c.appArmorProfile)]) {
      if (field?.type === 'Localhost' && field.localhostProfile) names.add(field.localhostProfile);
    }
  }
  return [...names].map((name) => ({ name, mode: 'enforce' }));
}

export type { Settings as MigrateSettings };
