import { dirname, resolve } from 'node:path';
import type { Expectation } from '../../sim/expect.js';
import { isMap, readPod } from '../../sim/pod.js';
import type { ClusterFacts, NodeFacts, Outcome, Pod, Stage } from '../../sim/types.js';
import { readCluster, readNode, Reader } from './facts.js';
import type { InputError, YamlDocument } from './source.js';
import { displayLabel, formatInputError, InputFailure, parseYamlDocuments, parseYamlDocumentsRecovering, readTextFile } from './source.js';

export interface Scenario {
  name: string;
  description: string;
  /** File as given (relative to the working directory when possible) and the line the scenario starts on. */
  file: string;
  line: number;
  cluster: ClusterFacts;
  nodes: NodeFacts[];
  pod: Pod;
  /** The manifest as written, for the conformance harness to create. */
  podManifest: Record<string, unknown>;
  expect: Expectation;
  /** Notes from loading (e.g. profiles read without apparmor_parser). */
  notes: string[];
}

export const SCENARIO_KEYS = ['name', 'description', 'cluster', 'nodes', 'pod', 'podFile', 'expect'] as const;
const OUTCOMES: readonly Outcome[] = ['Run', 'Forbidden', 'Blocked', 'Rejected', 'CreateContainerError'];
const STAGES: readonly Stage[] = ['apiserver', 'admission', 'kubelet', 'runtime'];

export async function loadScenarioFile(file: string, cwd = process.cwd()): Promise<Scenario[]> {
  const { scenarios, errors } = await loadScenarioFileRecovering(file, cwd);
  if (errors.length > 0) throw new InputFailure(errors);
  return scenarios;
}

/** Pod manifests read for `podFile:`, by absolute path: entries that share one file read and keep it once. */
export type PodFileCache = Map<string, { docs: YamlDocument[] } | { error: InputFailure; reported: boolean }>;

/**
 * The scenarios of a file that read cleanly, and the errors of those that do not: a wrong entry costs only itself.
 * Warnings (repeated keys) are returned as notes.
 */
export async function loadScenarioFileRecovering(file: string, cwd = process.cwd(), podFiles: PodFileCache = new Map()): Promise<{ scenarios: Scenario[]; errors: InputError[]; notes: string[] }> {
  const label = displayLabel(resolve(cwd, file), cwd);
  const text = readTextFile(file, label);
  const parsed = parseYamlDocumentsRecovering(text, label);
  const docs = parsed.documents;
  const notes = docs.flatMap((doc) => (doc.warnings ?? []).map(formatInputError));
  const scenarios: Scenario[] = [];
  const errors: InputError[] = [...parsed.errors];
  for (const doc of docs) {
    // A document may hold one scenario or a list of them.
    const entries = Array.isArray(doc.value) ? doc.value.map((value, index) => ({ value, path: [index] })) : [{ value: doc.value, path: [] as (string | number)[] }];
    for (const entry of entries) {
      try {
        scenarios.push(await readScenario(doc, entry.value, entry.path, resolve(cwd, file), cwd, podFiles));
      } catch (error) {
        if (error instanceof InputFailure) errors.push(...error.errors);
        else throw error;
      }
    }
  }
  const seen = new Map<string, Scenario>();
  for (const scenario of scenarios) {
    const first = seen.get(scenario.name);
    if (first) errors.push({ file: label, line: scenario.line, message: `duplicate scenario name ${JSON.stringify(scenario.name)} (first at line ${first.line})` });
    else seen.set(scenario.name, scenario);
  }
  const duplicates = new Set(errors.filter((e) => e.message.startsWith('duplicate scenario name')).map((e) => e.line));
  return { scenarios: scenarios.filter((s) => !duplicates.has(s.line) || seen.get(s.name) === s), errors: errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)), notes };
}

async function readScenario(doc: YamlDocument, value: unknown, base: (string | number)[], absoluteFile: string, cwd: string, podFiles: PodFileCache): Promise<Scenario> {
  const reader = new Reader(doc);
  const map = reader.map(value, base, true);
  if (!map) throw new InputFailure(reader.errors);
  reader.onlyKeys(map, base, SCENARIO_KEYS);
  const name = reader.string(map['name'], [...base, 'name'], true) ?? '';
  const description = reader.string(map['description'], [...base, 'description']) ?? '';
  const cluster = readCluster(reader, map['cluster'], [...base, 'cluster']);
  const notes: string[] = [];

  let manifest: unknown = map['pod'];
  let podDoc: YamlDocument = doc;
  let podBase: (string | number)[] = [...base, 'pod'];
  if (map['podFile'] !== undefined) {
    if (map['pod'] !== undefined) reader.error([...base, 'podFile'], 'give either pod or podFile, not both');
    const podFile = reader.string(map['podFile'], [...base, 'podFile'], true);
    if (podFile) {
      const path = resolve(dirname(absoluteFile), podFile);
      const podLabel = displayLabel(path, cwd);
      let cached = podFiles.get(path);
      if (!cached) {
        try {
          cached = { docs: parseYamlDocuments(readTextFile(path, podLabel), podLabel) };
        } catch (error) {
          if (!(error instanceof InputFailure)) throw error;
          cached = { error, reported: false };
        }
        podFiles.set(path, cached);
      }
      if ('error' in cached) {
        // The pod file's own errors, and the scenario line that names it.
        const missing = cached.error.errors.length === 1 && cached.error.errors[0]?.line === undefined;
        if (missing) reader.error([...base, 'podFile'], `${podFile}${podLabel === podFile ? '' : ` (${podLabel})`}: ${cached.error.errors[0]?.message ?? ''}`);
        else {
          // Reported once, however many scenarios share the file.
          if (!cached.reported) reader.errors.push(...cached.error.errors);
          cached.reported = true;
          reader.error([...base, 'podFile'], `${podLabel} has errors (reported at its lines)`);
        }
      } else if (cached.docs.length !== 1 || !cached.docs[0]) reader.error([...base, 'podFile'], `${podFile} must hold exactly one Pod manifest, found ${cached.docs.length} documents`);
      else {
        const [only] = cached.docs;
        podDoc = only;
        manifest = only.value;
        podBase = [];
      }
    }
  } else if (manifest === undefined) {
    reader.error([...base, 'pod'], 'is required (a Pod manifest, or podFile: <path>)');
  }
  let pod: Pod | undefined;
  if (manifest !== undefined) {
    const read = readPod(manifest);
    if (read.ok) pod = read.pod;
    else {
      const podReader = podDoc === doc ? reader : new Reader(podDoc);
      for (const issue of read.issues) podReader.error([...podBase, ...issue.path], issue.message);
      if (podReader !== reader) reader.errors.push(...podReader.errors);
    }
  }

  const nodes: NodeFacts[] = [];
  const nodeList = reader.list(map['nodes'], [...base, 'nodes']);
  if (cluster) {
    if (nodeList.length === 0) nodes.push({ name: 'node-1', kubeletVersion: cluster.version, featureGates: {}, os: 'linux', appArmorEnabled: true, runtime: cluster.version < 24 ? 'docker' : 'containerd', profiles: [] });
    for (const [index, entry] of nodeList.entries()) {
      const node = await readNode(reader, entry, [...base, 'nodes', index], { name: `node-${index + 1}`, kubeletVersion: cluster.version }, notes);
      if (node) nodes.push(node);
    }
  }

  const expect = readExpectation(reader, map['expect'], [...base, 'expect']);
  if (reader.errors.length > 0 || !cluster || !pod || !expect) throw new InputFailure(reader.errors);
  return {
    name,
    description,
    file: doc.file,
    line: doc.lineOf(base),
    cluster,
    nodes,
    pod,
    podManifest: isMap(manifest) ? manifest : {},
    expect,
    notes,
  };
}

function readExpectation(reader: Reader, value: unknown, path: (string | number)[]): Expectation | undefined {
  const map = reader.map(value, path, true);
  if (!map) return undefined;
  reader.onlyKeys(map, path, ['outcome', 'stage', 'reason', 'message', 'messageContains', 'containers', 'warnings']);
  const outcome = reader.string(map['outcome'], [...path, 'outcome'], true);
  if (outcome !== undefined && !(OUTCOMES as readonly string[]).includes(outcome)) {
    reader.error([...path, 'outcome'], `unknown outcome ${JSON.stringify(outcome)} (expected one of: ${OUTCOMES.join(', ')})`);
    return undefined;
  }
  const stage = reader.string(map['stage'], [...path, 'stage']);
  if (stage !== undefined && !(STAGES as readonly string[]).includes(stage)) {
    reader.error([...path, 'stage'], `unknown stage ${JSON.stringify(stage)} (expected one of: ${STAGES.join(', ')})`);
  }
  const containers: Record<string, { profile?: string | null }> = {};
  for (const [name, entry] of Object.entries(reader.map(map['containers'], [...path, 'containers']) ?? {})) {
    const at = [...path, 'containers', name];
    const container = reader.map(entry, at, true);
    if (!container) continue;
    reader.onlyKeys(container, at, ['profile']);
    const profile = container['profile'];
    if (profile !== null && profile !== undefined && typeof profile !== 'string') reader.error([...at, 'profile'], 'must be a string such as "name (enforce)" or "unconfined", or null');
    containers[name] = { profile: profile === null ? null : typeof profile === 'string' ? profile : undefined };
  }
  const warnings = reader.list(map['warnings'], [...path, 'warnings']).flatMap((w, i) => {
    const text = reader.string(w, [...path, 'warnings', i], true);
    return text === undefined ? [] : [text];
  });
  if (outcome === undefined) return undefined;
  return {
    outcome: outcome as Outcome,
    stage: stage as Stage | undefined,
    reason: reader.string(map['reason'], [...path, 'reason']),
    message: reader.string(map['message'], [...path, 'message']),
    messageContains: reader.string(map['messageContains'], [...path, 'messageContains']),
    containers: Object.keys(containers).length ? containers : undefined,
    warnings: warnings.length ? warnings : undefined,
  };
}

/** The node a scenario's pod lands on: spec.nodeName when it names one, else the first node. */
export function nodeForPod(scenario: Pick<Scenario, 'nodes' | 'podManifest'>): NodeFacts {
  const spec = scenario.podManifest['spec'];
  const nodeName = isMap(spec) && typeof spec['nodeName'] === 'string' ? spec['nodeName'] : undefined;
  const first = scenario.nodes[0];
  if (!first) throw new Error('scenario without nodes');
  return scenario.nodes.find((n) => n.name === nodeName) ?? first;
}
