// The node a dry run simulates on: --node FILE read like a scenario's nodes[] entry, overridden by flags.
import { resolve } from 'node:path';
import { isMap } from '../../sim/pod.js';
import type { LoadedProfile, NodeFacts } from '../../sim/types.js';
import { Reader, defaultRuntime, nodeProblems, readNode } from '../../io/load/facts.js';
import { InputFailure, formatInputError, parseYamlDocuments, readTextFile } from '../../io/load/source.js';
import { flagFailure } from '../../io/args.js';
import type { DryRunSettings } from './dry-run.js';
import { displayPath } from './manifests.js';
import { loadNodeProfiles } from './profiles.js';

type NodeSettings = Pick<DryRunSettings, 'nodeFile' | 'kubeletText' | 'kubelet' | 'runtime' | 'gates' | 'appArmorDisabled' | 'profiles'>;

export interface BuiltNode {
  node: NodeFacts;
  /** Things worth telling the user once (e.g. profiles read without apparmor_parser). */
  notes: string[];
}

export async function buildNode(settings: NodeSettings, cwd = process.cwd()): Promise<BuiltNode> {
  const notes: string[] = [];
  const base = settings.nodeFile !== undefined ? await nodeFromFile(settings, settings.nodeFile, cwd, notes) : nodeFromFlags(settings);
  const extra = await Promise.all(settings.profiles.map((path) => loadNodeProfiles(resolve(cwd, path), displayPath(resolve(cwd, path), cwd))));
  let node = base;
  for (const loaded of extra) {
    notes.push(...loaded.notes);
    node = { ...node, profiles: mergeProfiles(node.profiles, loaded.profiles), appArmorEnabled: node.appArmorEnabled && loaded.appArmorEnabled !== false };
  }
  return { node, notes };
}

function nodeFromFlags(settings: NodeSettings): NodeFacts {
  const node: NodeFacts = {
    name: 'node-1',
    kubeletVersion: settings.kubelet,
    featureGates: settings.gates,
    os: 'linux',
    appArmorEnabled: !settings.appArmorDisabled,
    runtime: settings.runtime ?? defaultRuntime(settings.kubelet),
    profiles: [],
  };
  const problems = nodeProblems(node);
  if (problems.length > 0) throw flagFailure(problems.map((p) => `node: ${p}`));
  return node;
}

async function nodeFromFile(settings: NodeSettings, path: string, cwd: string, notes: string[]): Promise<NodeFacts> {
  const file = resolve(cwd, path);
  const label = displayPath(file, cwd);
  const docs = parseYamlDocuments(readTextFile(file, label), label);
  const doc = docs[0];
  if (docs.length !== 1 || !doc) throw new InputFailure([{ file: label, message: `--node needs exactly one YAML document (a map of node facts), found ${docs.length}` }]);
  // Repeated keys (kubectl keeps the last): said once, with their lines.
  notes.push(...(doc.warnings ?? []).map((w) => formatInputError({ ...w, message: w.message.replace(/^warning: /, '') })));
  // readNode resolves profileFiles against the document's file, so give it the absolute path.
  const reader = new Reader({ ...doc, file });
  const node = await readNode(reader, withFlagOverrides(doc.value, settings), [], { name: 'node-1', kubeletVersion: settings.kubelet }, notes);
  if (reader.errors.length > 0 || !node) throw new InputFailure(reader.errors.map((e) => ({ ...e, file: e.file === file ? label : e.file })));
  return node;
}

/** Flags win over the file; they were validated already, so errors still point into the file. */
function withFlagOverrides(value: unknown, settings: NodeSettings): unknown {
  if (!isMap(value)) return value;
  const merged: Record<string, unknown> = { ...value };
  if (settings.kubeletText !== undefined) merged['kubeletVersion'] = settings.kubeletText;
  if (settings.runtime !== undefined) merged['runtime'] = settings.runtime;
  if (settings.appArmorDisabled) merged['appArmorEnabled'] = false;
  const fileGates = value['featureGates'];
  if (Object.keys(settings.gates).length > 0 && (fileGates === undefined || fileGates === null || isMap(fileGates))) {
    merged['featureGates'] = { ...(fileGates ?? {}), ...settings.gates };
  }
  return merged;
}

/** A profile loaded twice (e.g. from two sources) keeps the later mode, as reloading it would. */
function mergeProfiles(current: readonly LoadedProfile[], added: readonly LoadedProfile[]): LoadedProfile[] {
  const byName = new Map(current.map((p) => [p.name, p]));
  for (const profile of added) byName.set(profile.name, profile);
  return [...byName.values()];
}
