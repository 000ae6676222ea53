import { dirname, resolve } from 'node:path';
import { gateProblems } from '../../sim/feature-gates.js';
import { isMap } from '../../sim/pod.js';
import type { ClusterFacts, FeatureGates, LoadedProfile, Minor, NodeFacts, ProfileMode, RuntimeName } from '../../sim/types.js';
import { PROFILE_MODES, RUNTIME_NAMES } from '../../sim/types.js';
import { describeType, parseVersion } from '../../sim/version.js';
import type { InputError, YamlDocument } from './source.js';
import { readPodSecurityPolicyList } from './psp.js';

export type Path = (string | number)[];

/** Collects errors with the line of the offending node. */
export class Reader {
  readonly errors: InputError[] = [];
  constructor(readonly doc: YamlDocument) {}

  error(path: Path, message: string): void {
    const where = path.length ? `${path.join('.')}: ` : '';
    this.errors.push({ file: this.doc.file, line: this.doc.lineOf(path), message: `${where}${message}` });
  }

  map(value: unknown, path: Path, required = false): Record<string, unknown> | undefined {
    if (value === undefined || value === null) {
      if (required) this.error(path, 'is required');
      return undefined;
    }
    if (!isMap(value)) {
      this.error(path, `must be a map, got ${describeType(value)}`);
      return undefined;
    }
    return value;
  }

  onlyKeys(value: Record<string, unknown>, path: Path, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.error([...path, key], `unknown key (expected one of: ${allowed.join(', ')})`);
    }
  }

  string(value: unknown, path: Path, required = false): string | undefined {
    if (value === undefined || value === null) {
      if (required) this.error(path, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.error(path, `must be a string, got ${describeType(value)}`);
      return undefined;
    }
    return value;
  }

  boolean(value: unknown, path: Path): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      this.error(path, `must be true or false, got ${describeType(value)}`);
      return undefined;
    }
    return value;
  }

  list(value: unknown, path: Path): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.error(path, `must be a list, got ${describeType(value)}`);
      return [];
    }
    return value;
  }

  version(value: unknown, path: Path, required: boolean): Minor | undefined {
    if (value === undefined || value === null) {
      if (required) this.error(path, 'is required (a Kubernetes version such as "1.30")');
      return undefined;
    }
    // YAML reads an unquoted 1.20 as 1.2: use the source text when it is there.
    const parsed = parseVersion(typeof value === 'number' ? (this.doc.sourceOf(path) ?? value) : value);
    if (!parsed.ok) {
      this.error(path, parsed.message);
      return undefined;
    }
    return parsed.minor;
  }

  featureGates(value: unknown, path: Path): FeatureGates {
    const map = this.map(value, path);
    const gates: Record<string, boolean> = {};
    for (const [name, on] of Object.entries(map ?? {})) {
      const flag = this.boolean(on, [...path, name]);
      if (flag !== undefined) gates[name] = flag;
    }
    return gates;
  }

  stringMap(value: unknown, path: Path): Record<string, string> {
    const map = this.map(value, path);
    const out: Record<string, string> = {};
    for (const [key, item] of Object.entries(map ?? {})) {
      const text = this.string(item, [...path, key]);
      if (text !== undefined) out[key] = text;
    }
    return out;
  }

  profiles(value: unknown, path: Path): LoadedProfile[] {
    return this.list(value, path).flatMap((entry, index): LoadedProfile[] => {
      const at = [...path, index];
      if (typeof entry === 'string') return [{ name: entry, mode: 'enforce' }];
      const map = this.map(entry, at, true);
      if (!map) return [];
      this.onlyKeys(map, at, ['name', 'mode']);
      const name = this.string(map['name'], [...at, 'name'], true);
      const mode = this.string(map['mode'], [...at, 'mode']) ?? 'enforce';
      if (!(PROFILE_MODES as readonly string[]).includes(mode)) {
        this.error([...at, 'mode'], `unknown profile mode ${JSON.stringify(mode)} (expected one of: ${PROFILE_MODES.join(', ')})`);
        return [];
      }
      return name ? [{ name, mode: mode as ProfileMode }] : [];
    });
  }
}

export const NODE_KEYS = ['name', 'kubeletVersion', 'featureGates', 'os', 'appArmorEnabled', 'runtime', 'profiles', 'profileFiles'] as const;

/** Before 1.24 the model's default node runs Docker (dockershim); from 1.24 containerd. */
export function defaultRuntime(kubelet: Minor): RuntimeName {
  return kubelet < 24 ? 'docker' : 'containerd';
}

export interface NodeDefaults {
  name: string;
  kubeletVersion: Minor;
}

/** Reads a node entry (scenario `nodes[i]` or a `--node` file); profileFiles are resolved against the YAML file's directory. */
export async function readNode(reader: Reader, value: unknown, path: Path, defaults: NodeDefaults, notes: string[]): Promise<NodeFacts | undefined> {
  const map = reader.map(value, path, true);
  if (!map) return undefined;
  reader.onlyKeys(map, path, NODE_KEYS);
  const name = reader.string(map['name'], [...path, 'name']) ?? defaults.name;
  const kubeletVersion = reader.version(map['kubeletVersion'], [...path, 'kubeletVersion'], false) ?? defaults.kubeletVersion;
  const featureGates = reader.featureGates(map['featureGates'], [...path, 'featureGates']);
  const os = reader.string(map['os'], [...path, 'os']) ?? 'linux';
  if (os !== 'linux' && os !== 'windows') reader.error([...path, 'os'], `unknown os ${JSON.stringify(os)} (expected linux or windows)`);
  const appArmorEnabled = reader.boolean(map['appArmorEnabled'], [...path, 'appArmorEnabled']) ?? os === 'linux';
  const runtimeText = reader.string(map['runtime'], [...path, 'runtime']);
  let runtime = defaultRuntime(kubeletVersion);
  if (runtimeText !== undefined) {
    if ((RUNTIME_NAMES as readonly string[]).includes(runtimeText)) runtime = runtimeText as RuntimeName;
    else reader.error([...path, 'runtime'], `unknown runtime ${JSON.stringify(runtimeText)} (expected one of: ${RUNTIME_NAMES.join(', ')})`);
  }
  const profiles = reader.profiles(map['profiles'], [...path, 'profiles']);
  const profileFiles = reader.list(map['profileFiles'], [...path, 'profileFiles']).flatMap((entry, index) => {
    const file = reader.string(entry, [...path, 'profileFiles', index], true);
    return file ? [resolve(dirname(reader.doc.file), file)] : [];
  });
  if (profileFiles.length > 0) {
    // Imported on demand: profile validation may pull in a process runner that `dry-run` must not pay for at start-up.
    const { loadProfileFiles } = await import('./profile-files.js');
    const loaded = await loadProfileFiles(profileFiles);
    if ('errors' in loaded) {
      for (const error of loaded.errors) reader.errors.push({ file: error.file, line: error.line, message: error.message });
    } else {
      profiles.push(...loaded.profiles);
      notes.push(...loaded.warnings);
    }
  }
  const node: NodeFacts = { name, kubeletVersion, featureGates, os: os === 'windows' ? 'windows' : 'linux', appArmorEnabled, runtime, profiles };
  for (const problem of nodeProblems(node)) reader.error(path, problem);
  return node;
}

/** Node settings a real kubelet of that version refuses to start with. */
export function nodeProblems(node: NodeFacts): string[] {
  const problems = gateProblems(node.featureGates, node.kubeletVersion, 'kubelet').map((p) => p.message);
  if (node.runtime === 'docker' && node.kubeletVersion >= 24) {
    problems.push(`runtime docker needs dockershim, removed in 1.24 (#97252); kubelet 1.${node.kubeletVersion} talks to containerd, cri-o or cri-dockerd (runtime: remote)`);
  }
  if (node.runtime === 'rkt' && node.kubeletVersion >= 11) {
    problems.push(`runtime rkt was removed from the kubelet in 1.11`);
  }
  return problems;
}

export const CLUSTER_KEYS = ['version', 'featureGates', 'namespace', 'podSecurityPolicies'] as const;

export function readCluster(reader: Reader, value: unknown, path: Path): ClusterFacts | undefined {
  const map = reader.map(value, path, true);
  if (!map) return undefined;
  reader.onlyKeys(map, path, CLUSTER_KEYS);
  const version = reader.version(map['version'], [...path, 'version'], true);
  const featureGates = reader.featureGates(map['featureGates'], [...path, 'featureGates']);
  const nsMap = reader.map(map['namespace'], [...path, 'namespace']);
  if (nsMap) reader.onlyKeys(nsMap, [...path, 'namespace'], ['name', 'labels']);
  const namespace = {
    name: reader.string(nsMap?.['name'], [...path, 'namespace', 'name']) ?? 'default',
    labels: reader.stringMap(nsMap?.['labels'], [...path, 'namespace', 'labels']),
  };
  // The short form {name, defaultProfileName, allowedProfileNames} or PodSecurityPolicy objects (io/load/psp.ts).
  const podSecurityPolicies = readPodSecurityPolicyList(reader, map['podSecurityPolicies'], [...path, 'podSecurityPolicies']);
  if (version === undefined) return undefined;
  if (podSecurityPolicies.length > 0 && version >= 25) {
    reader.error([...path, 'podSecurityPolicies'], `PodSecurityPolicy was removed in 1.25 (#109798); this cluster is 1.${version}`);
  }
  for (const problem of gateProblems(featureGates, version, 'kube-apiserver')) reader.error([...path, 'featureGates'], problem.message);
  return { version, featureGates, namespace, podSecurityPolicies };
}
