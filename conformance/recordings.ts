// Recordings: what a cluster showed for one scenario, saved as JSON (`conformance run --record DIR`, or transcribed
// from upstream publications), and checked offline by `apparmor-sim scenarios run --recordings DIR`: the observation
// is classified again and compared with the model (simulated with the recorded cluster and node facts) and with the
// scenario's expectation.
//
// Each recording names a scenario. It is looked up among the scenarios being run; a recording may instead carry the
// scenario inline (`inlineScenario`, a scenario document with the keys of a scenario file) when the library has none
// for what it observed. Recordings whose scenario is neither loaded nor inline are left out (e.g. under --filter).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import type { Scenario } from '../io/load/scenario.js';
import { loadScenarioFile } from '../io/load/scenario.js';
import type { InputError } from '../io/load/source.js';
import { InputFailure, readTextFile } from '../io/load/source.js';
import type { Mismatch } from '../sim/expect.js';
import { isMap, readPod } from '../sim/pod.js';
import { simulate } from '../sim/simulate.js';
import type { Decision, LoadedProfile, Outcome, RuntimeName, Stage } from '../sim/types.js';
import { PROFILE_MODES, RUNTIME_NAMES } from '../sim/types.js';
import { parseVersion } from '../sim/version.js';
import type { Classification, Observation } from '../sim/classify.js';
import { classify } from '../sim/classify.js';
import { compareWithExpectation, compareWithModel } from '../sim/compare.js';
import type { RuntimeAppArmor } from './nodefacts.js';
import type { RawObservation } from '../sim/observation.js';

export const RECORDING_FORMAT = 'apparmor-sim/recording';
export const RECORDING_VERSION = 1;

export interface RecordingSource {
  /** `cluster`: recorded by `conformance run --record`; `published`: transcribed from an upstream document or test. */
  kind: 'cluster' | 'published';
  /** Repository, path and version (commit or tag), or URL, of what was observed. */
  citation: string;
  notes?: string | undefined;
}

export interface RecordedNode {
  name: string;
  kubeletVersion: string;
  os: 'linux' | 'windows';
  runtime: RuntimeName;
  runtimeVersion?: string | undefined;
  appArmorEnabled: boolean;
  runtimeAppArmor?: RuntimeAppArmor | undefined;
  profiles: LoadedProfile[];
}

export interface KnownDifference {
  /** A mismatch field, e.g. `model.message`. */
  field: string;
  why: string;
}

export interface Recording {
  format: typeof RECORDING_FORMAT;
  version: typeof RECORDING_VERSION;
  scenario: string;
  inlineScenario?: Record<string, unknown> | undefined;
  source: RecordingSource;
  recordedAt?: string | null | undefined;
  cluster: {
    version: string;
    /** Where the version comes from: the cluster itself, the source, or (when the source states none) the paired scenario. */
    versionFrom: 'cluster' | 'source' | 'scenario';
    featureGates: Record<string, boolean>;
  };
  node: RecordedNode;
  /** The pod as created (run-unique names already mapped back), or null to use the scenario's pod. */
  pod: Record<string, unknown> | null;
  observation: RawObservation;
  /** The classification when recorded, to notice when the classifier changes its mind. */
  classified?: { outcome: Outcome; stage: Stage; reason: string; message: string } | null | undefined;
  /** Mismatches explained by the source itself (e.g. edited documentation output); reported, not failed. */
  knownDifferences?: KnownDifference[] | undefined;
}

export interface RecordingResult {
  /** The scenario's name. */
  name: string;
  recording: string;
  source: string;
  passed: boolean;
  mismatches: Mismatch[];
  knownDifferences: Array<Mismatch & { why: string }>;
  observed: Pick<Observation, 'outcome' | 'stage' | 'reason' | 'message' | 'evidence'> | null;
  model: Pick<Decision, 'outcome' | 'stage' | 'reason' | 'message'> | null;
}

export interface RecordingsCheck {
  results: RecordingResult[];
}

/** `scenarios run --recordings DIR`. Throws InputFailure (exit 2) for unreadable or malformed recordings. */
export async function checkRecordings(dir: string, scenarios: readonly Scenario[]): Promise<RecordingsCheck> {
  const files = recordingFiles(dir);
  const errors: InputError[] = [];
  const loaded: Array<{ file: string; recording: Recording }> = [];
  for (const file of files) {
    try {
      loaded.push({ file, recording: readRecording(file) });
    } catch (error) {
      if (error instanceof InputFailure) errors.push(...error.errors);
      else throw error;
    }
  }
  const byName = new Map(scenarios.map((s) => [s.name, s]));
  const results: RecordingResult[] = [];
  for (const { file, recording } of loaded) {
    let scenario = byName.get(recording.scenario);
    if (!scenario && recording.inlineScenario) {
      try {
        scenario = await loadInlineScenario(file, recording);
      } catch (error) {
        if (error instanceof InputFailure) {
          errors.push(...error.errors);
          continue;
        }
        throw error;
      }
    }
    if (!scenario) continue;
    results.push(checkRecording(file, recording, scenario));
  }
  if (errors.length > 0) throw new InputFailure(errors);
  return { results };
}

export function checkRecording(file: string, recording: Recording, scenario: Scenario): RecordingResult {
  const base = { name: scenario.name, recording: file, source: recording.source.citation };
  const classification: Classification = classify(recording.observation);
  if (classification.kind !== 'decided') {
    return { ...base, passed: false, mismatches: [{ field: 'observation', expected: 'a decided outcome', actual: `${classification.kind}: ${classification.why}` }], knownDifferences: [], observed: null, model: null };
  }
  const observed = classification.observation;
  const decision = modelForRecording(recording, scenario);
  const all: Mismatch[] = [];
  if (recording.classified) {
    for (const field of ['outcome', 'stage', 'reason', 'message'] as const) {
      if (recording.classified[field] !== observed[field]) all.push({ field: `classifier.${field}`, expected: recording.classified[field], actual: observed[field] });
    }
  }
  if (decision.ok) all.push(...compareWithModel(observed, decision.decision));
  else all.push({ field: 'model', expected: 'a simulation of the recorded pod', actual: decision.why });
  all.push(...compareWithExpectation(observed, scenario.expect));
  const known = new Map((recording.knownDifferences ?? []).map((k) => [k.field, k.why]));
  const mismatches = all.filter((m) => !known.has(m.field));
  const knownDifferences = all.filter((m) => known.has(m.field)).map((m) => ({ ...m, why: known.get(m.field) ?? '' }));
  return {
    ...base,
    passed: mismatches.length === 0,
    mismatches,
    knownDifferences,
    observed: { outcome: observed.outcome, stage: observed.stage, reason: observed.reason, message: observed.message, evidence: observed.evidence },
    model: decision.ok ? { outcome: decision.decision.outcome, stage: decision.decision.stage, reason: decision.decision.reason, message: decision.decision.message } : null,
  };
}

/** The model's decision for the recorded pod on the recorded cluster and node. */
export function modelForRecording(recording: Recording, scenario: Scenario): { ok: true; decision: Decision } | { ok: false; why: string } {
  const clusterVersion = parseVersion(recording.cluster.version);
  const kubeletVersion = parseVersion(recording.node.kubeletVersion);
  if (!clusterVersion.ok) return { ok: false, why: `cluster.version: ${clusterVersion.message}` };
  if (!kubeletVersion.ok) return { ok: false, why: `node.kubeletVersion: ${kubeletVersion.message}` };
  const pod = recording.pod ? readPod(recording.pod) : { ok: true as const, pod: scenario.pod };
  if (!pod.ok) return { ok: false, why: `pod: ${pod.issues.map((i) => i.message).join('; ')}` };
  const decision = simulate({
    cluster: { version: clusterVersion.minor, featureGates: recording.cluster.featureGates, namespace: scenario.cluster.namespace, podSecurityPolicies: scenario.cluster.podSecurityPolicies },
    node: {
      name: recording.node.name,
      kubeletVersion: kubeletVersion.minor,
      featureGates: recording.cluster.featureGates,
      os: recording.node.os,
      appArmorEnabled: recording.node.appArmorEnabled && recording.node.runtimeAppArmor !== 'refuses',
      runtime: recording.node.runtime,
      profiles: recording.node.profiles,
    },
    pod: pod.pod,
  });
  return { ok: true, decision };
}

function recordingFiles(dir: string): string[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new InputFailure([{ file: dir, message: '--recordings: not a directory' }]);
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch (error) {
    if (error instanceof InputFailure) throw error;
    throw new InputFailure([{ file: dir, message: `--recordings: cannot read: ${error instanceof Error ? error.message : String(error)}` }]);
  }
  return entries.filter((e) => e.endsWith('.json')).sort().map((e) => join(dir, e));
}

export function readRecording(file: string): Recording {
  const label = relative(process.cwd(), file) || file;
  let value: unknown;
  try {
    value = JSON.parse(readTextFile(file, label));
  } catch (error) {
    if (error instanceof InputFailure) throw error;
    throw new InputFailure([{ file: label, message: `not JSON: ${error instanceof Error ? error.message : String(error)}` }]);
  }
  const problems = recordingProblems(value);
  if (problems.length > 0) throw new InputFailure(problems.map((message) => ({ file: label, message })));
  return value as Recording;
}

/** Structural check of a recording; messages name the offending key. */
export function recordingProblems(value: unknown): string[] {
  const problems: string[] = [];
  if (!isMap(value)) return ['a recording must be a JSON object'];
  if (value['format'] !== RECORDING_FORMAT) problems.push(`format: must be ${JSON.stringify(RECORDING_FORMAT)}`);
  if (value['version'] !== RECORDING_VERSION) problems.push(`version: must be ${RECORDING_VERSION}`);
  if (typeof value['scenario'] !== 'string' || value['scenario'] === '') problems.push('scenario: must name a scenario');
  if (value['inlineScenario'] !== undefined && !isMap(value['inlineScenario'])) problems.push('inlineScenario: must be a scenario object');
  const source = value['source'];
  if (!isMap(source) || (source['kind'] !== 'cluster' && source['kind'] !== 'published') || typeof source['citation'] !== 'string' || source['citation'] === '') {
    problems.push('source: must be {kind: cluster|published, citation: "repository path@version or URL"}');
  }
  const cluster = value['cluster'];
  if (!isMap(cluster) || typeof cluster['version'] !== 'string' || !isMap(cluster['featureGates']) || !['cluster', 'source', 'scenario'].includes(String(cluster['versionFrom']))) {
    problems.push('cluster: must be {version: "1.30", versionFrom: cluster|source|scenario, featureGates: {}}');
  }
  const node = value['node'];
  if (!isMap(node)) problems.push('node: must be an object');
  else {
    if (typeof node['name'] !== 'string') problems.push('node.name: must be a string');
    if (typeof node['kubeletVersion'] !== 'string') problems.push('node.kubeletVersion: must be a string such as "1.30"');
    if (node['os'] !== 'linux' && node['os'] !== 'windows') problems.push('node.os: must be linux or windows');
    if (!(RUNTIME_NAMES as readonly unknown[]).includes(node['runtime'])) problems.push(`node.runtime: must be one of ${RUNTIME_NAMES.join(', ')}`);
    if (typeof node['appArmorEnabled'] !== 'boolean') problems.push('node.appArmorEnabled: must be true or false');
    const profiles = node['profiles'];
    if (!Array.isArray(profiles) || !profiles.every((p) => isMap(p) && typeof p['name'] === 'string' && (PROFILE_MODES as readonly unknown[]).includes(p['mode']))) {
      problems.push('node.profiles: must be a list of {name, mode}');
    }
  }
  if (value['pod'] !== null && !isMap(value['pod'])) problems.push('pod: must be a Pod manifest or null');
  const observation = value['observation'];
  if (!isMap(observation)) problems.push('observation: must be an object');
  else {
    const api = observation['api'];
    if (!isMap(api) || typeof api['accepted'] !== 'boolean' || !Array.isArray(api['warnings'])) problems.push('observation.api: must be {accepted, warnings[], ...}');
    else if (api['accepted'] === false && (typeof api['code'] !== 'number' || typeof api['reason'] !== 'string' || typeof api['message'] !== 'string')) {
      problems.push('observation.api: a refusal needs code, reason and message');
    }
    if (observation['pod'] !== null && !isMap(observation['pod'])) problems.push('observation.pod: must be a pod status or null');
    if (!Array.isArray(observation['events'])) problems.push('observation.events: must be a list');
    if (!isMap(observation['exec'])) problems.push('observation.exec: must be an object');
    const containers = observation['containers'];
    if (!Array.isArray(containers) || !containers.every((c) => isMap(c) && typeof c['name'] === 'string' && typeof c['kind'] === 'string')) {
      problems.push('observation.containers: must be a list of {name, kind}');
    }
    if (typeof observation['warningsKnown'] !== 'boolean') problems.push('observation.warningsKnown: must be true or false');
  }
  const known = value['knownDifferences'];
  if (known !== undefined && (!Array.isArray(known) || !known.every((k) => isMap(k) && typeof k['field'] === 'string' && typeof k['why'] === 'string' && k['why'] !== ''))) {
    problems.push('knownDifferences: must be a list of {field, why}');
  }
  return problems;
}

/** Loads an inline scenario through the scenario loader (the same checks as a scenario file). */
async function loadInlineScenario(file: string, recording: Recording): Promise<Scenario> {
  const label = relative(process.cwd(), file) || file;
  const inline = recording.inlineScenario ?? {};
  if ('podFile' in inline) throw new InputFailure([{ file: label, message: 'inlineScenario: podFile is not allowed here; give the pod inline' }]);
  const dir = mkdtempSync(join(tmpdir(), 'apparmor-sim-inline-'));
  try {
    const temp = join(dir, `${basename(file, '.json')}.yaml`);
    // JSON is YAML: the scenario loader reads it as it is.
    writeFileSync(temp, JSON.stringify(inline, null, 2));
    let scenarios: Scenario[];
    try {
      scenarios = await loadScenarioFile(temp, dir);
    } catch (error) {
      if (error instanceof InputFailure) throw new InputFailure(error.errors.map((e) => ({ file: label, message: `inlineScenario: ${e.message}` })));
      throw error;
    }
    const scenario = scenarios[0];
    if (scenarios.length !== 1 || !scenario) throw new InputFailure([{ file: label, message: 'inlineScenario: must hold exactly one scenario' }]);
    if (scenario.name !== recording.scenario) throw new InputFailure([{ file: label, message: `inlineScenario: its name ${JSON.stringify(scenario.name)} differs from scenario ${JSON.stringify(recording.scenario)}` }]);
    return { ...scenario, file: `${label}#inlineScenario`, line: 1 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes a recording as `<dir>/<scenario>--<cluster version>.json`; returns the path. */
export function writeRecording(dir: string, recording: Recording): string {
  mkdirSync(dir, { recursive: true });
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '_');
  const file = join(dir, `${safe(recording.scenario)}--${safe(recording.cluster.version)}.json`);
  writeFileSync(file, `${JSON.stringify(recording, null, 2)}\n`);
  return file;
}
