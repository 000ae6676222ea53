import { dirname, resolve } from 'node:path';
import type { Expectation, WorkloadExpectation } from '../../sim/expect.js';
import { isMap, readPod } from '../../sim/pod.js';
import type { ClusterFacts, Container, FieldValidation, NodeFacts, Outcome, Pod, SimInput, Stage, WorkloadRequest } from '../../sim/types.js';
import { FIELD_VALIDATIONS } from '../../sim/types.js';
import { readWorkload } from '../../sim/workload-manifest.js';
import { readEphemeralContainers } from './ephemeral.js';
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
  /** The manifest as written, for the conformance harness to create (the workload's, for a workload scenario). */
  podManifest: Record<string, unknown>;
  /** `workload:` (or a podFile holding a workload): the workload is created and `pod` is its controller's pod. */
  workload?: WorkloadRequest | undefined;
  /** `ephemeralContainers:`: added to the running pod through pods/ephemeralcontainers. */
  ephemeralContainers: Container[];
  /** `fieldValidation:` of the create; absent: the server's default. */
  fieldValidation?: FieldValidation | undefined;
  expect: Expectation;
  /** Notes from loading (e.g. profiles read without apparmor_parser). */
  notes: string[];
}

export const SCENARIO_KEYS = ['name', 'description', 'cluster', 'nodes', 'pod', 'podFile', 'workload', 'ephemeralContainers', 'fieldValidation', 'expect'] as const;
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

  let manifest: unknown = map['workload'] ?? map['pod'];
  let podDoc: YamlDocument = doc;
  let podBase: (string | number)[] = [...base, map['workload'] !== undefined ? 'workload' : 'pod'];
  if (map['workload'] !== undefined && map['pod'] !== undefined) reader.error([...base, 'workload'], 'give either pod or workload, not both');
  if (map['podFile'] !== undefined) {
    if (map['pod'] !== undefined || map['workload'] !== undefined) reader.error([...base, 'podFile'], 'give either pod, workload or podFile, not several');
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
    reader.error([...base, 'pod'], 'is required (a Pod manifest, workload: <a workload manifest>, or podFile: <path>)');
  }
  let pod: Pod | undefined;
  let workload: WorkloadRequest | undefined;
  if (manifest !== undefined) {
    const isWorkload = map['workload'] !== undefined || (isMap(manifest) && manifest['kind'] !== undefined && manifest['kind'] !== 'Pod');
    const workloadRead = isWorkload && isMap(manifest) ? readWorkload(manifest) : undefined;
    const read = workloadRead ?? readPod(manifest);
    if (read.ok) {
      pod = read.pod;
      if (workloadRead?.ok) workload = workloadRead.request;
    } else {
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

  const ephemeralContainers = readEphemeralContainers(reader, map['ephemeralContainers'], [...base, 'ephemeralContainers']);
  const fieldValidationText = reader.string(map['fieldValidation'], [...base, 'fieldValidation']);
  if (fieldValidationText !== undefined && !(FIELD_VALIDATIONS as readonly string[]).includes(fieldValidationText)) {
    reader.error([...base, 'fieldValidation'], `unknown value ${JSON.stringify(fieldValidationText)} (expected one of: ${FIELD_VALIDATIONS.join(', ')})`);
  }
  const expect = readExpectation(reader, map['expect'], [...base, 'expect']);
  if (expect?.workload && !workload) reader.error([...base, 'expect', 'workload'], 'only a workload scenario (workload:) has a workload outcome');
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
    workload,
    ephemeralContainers,
    fieldValidation: fieldValidationText as FieldValidation | undefined,
    expect,
    notes,
  };
}

/** The create a scenario describes, as the model's input (a manifest as written: spec.ephemeralContainers is on the create). */
export function scenarioRequest(scenario: Pick<Scenario, 'pod' | 'workload' | 'ephemeralContainers' | 'fieldValidation'>): Omit<SimInput, 'cluster' | 'node'> {
  return {
    pod: scenario.pod,
    ephemeralOnCreate: true,
    addEphemeralContainers: scenario.ephemeralContainers.length > 0 ? scenario.ephemeralContainers : undefined,
    workload: scenario.workload,
    fieldValidation: scenario.fieldValidation,
  };
}

/** The model's input for a scenario on the node its pod lands on. */
export function scenarioInput(scenario: Scenario): SimInput {
  return { cluster: scenario.cluster, node: nodeForPod(scenario), ...scenarioRequest(scenario) };
}

function readExpectation(reader: Reader, value: unknown, path: (string | number)[]): Expectation | undefined {
  const map = reader.map(value, path, true);
  if (!map) return undefined;
  reader.onlyKeys(map, path, ['outcome', 'stage', 'reason', 'message', 'messageContains', 'containers', 'warnings', 'workload']);
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
  const workload = readWorkloadExpectation(reader, map['workload'], [...path, 'workload']);
  if (outcome === undefined) return undefined;
  return {
    workload,
    outcome: outcome as Outcome,
    stage: stage as Stage | undefined,
    reason: reader.string(map['reason'], [...path, 'reason']),
    message: reader.string(map['message'], [...path, 'message']),
    messageContains: reader.string(map['messageContains'], [...path, 'messageContains']),
    containers: Object.keys(containers).length ? containers : undefined,
    warnings: warnings.length ? warnings : undefined,
  };
}

const WORKLOAD_OUTCOMES = ['Created', 'Forbidden'] as const;

function readWorkloadExpectation(reader: Reader, value: unknown, path: (string | number)[]): WorkloadExpectation | undefined {
  const map = reader.map(value, path);
  if (!map) return undefined;
  reader.onlyKeys(map, path, ['outcome', 'reason', 'message', 'messageContains', 'warnings', 'event', 'noEvent']);
  const outcome = reader.string(map['outcome'], [...path, 'outcome'], true);
  if (outcome !== undefined && !(WORKLOAD_OUTCOMES as readonly string[]).includes(outcome)) {
    reader.error([...path, 'outcome'], `unknown workload outcome ${JSON.stringify(outcome)} (expected one of: ${WORKLOAD_OUTCOMES.join(', ')})`);
    return undefined;
  }
  const warnings = reader.list(map['warnings'], [...path, 'warnings']).flatMap((w, i) => {
    const text = reader.string(w, [...path, 'warnings', i], true);
    return text === undefined ? [] : [text];
  });
  const noEvent = map['noEvent'];
  if (noEvent !== undefined && typeof noEvent !== 'boolean') reader.error([...path, 'noEvent'], 'must be true or false');
  if (outcome === undefined) return undefined;
  return {
    outcome: outcome as WorkloadExpectation['outcome'],
    reason: reader.string(map['reason'], [...path, 'reason']),
    message: reader.string(map['message'], [...path, 'message']),
    messageContains: reader.string(map['messageContains'], [...path, 'messageContains']),
    warnings: warnings.length ? warnings : undefined,
    event: reader.string(map['event'], [...path, 'event']),
    noEvent: noEvent === true ? true : undefined,
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
