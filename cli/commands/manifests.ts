// Turns the dry-run inputs (files, directories, stdin) into Pods (and workloads' pods) with their file:line, and lists what is not.
import { fstatSync, readlinkSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { isMap } from '../../sim/pod.js';
import type { Pod, PodSecurityPolicyFacts } from '../../sim/types.js';
import { Reader } from '../../io/load/facts.js';
import { isPodSecurityPolicyObject, readPodSecurityPolicyObject } from '../../io/load/psp.js';
import type { InputError, YamlDocument } from '../../io/load/source.js';
import type { WalkReport } from '../../io/load/source.js';
import { InputFailure, LIMITS, decodeText, expandPaths, formatInputError, nonRegularKind, parseYamlDocumentsRecovering, readFd, readTextFile, systemMessage } from '../../io/load/source.js';
import type { CollectedPod } from './workloads.js';
import { WORKLOAD_TEMPLATES, collectObject } from './workloads.js';
import { readLargeJsonFile } from '../../io/load/json-stream.js';

export const STDIN_LABEL = '<stdin>';

/** A pod to simulate with where it came from; workloads.ts builds them. */
export type PodInput = CollectedPod;

export interface SkippedDocument {
  file: string;
  line: number;
  kind: string;
  name: string;
  why: string;
}

export interface Manifests {
  pods: PodInput[];
  skipped: SkippedDocument[];
  /** Input errors of single files or documents; every other document was still read. */
  errors: InputError[];
  /** Lines for standard error: repeated keys, entries of a directory passed over. */
  notes: string[];
  /** Every input's label in the order read, so that reports can place errors among the results. */
  files: string[];
  /** PodSecurityPolicy objects among the inputs: they admit the pods (API servers up to 1.24). */
  podSecurityPolicies: PodSecurityPolicyFacts[];
}

/**
 * Reads every input. A file or document that is wrong is an error entry and costs only itself: the documents before
 * and after it, and every other file, are still read (a chart's one bad template must not hide the rest).
 */
export async function readManifests(inputs: readonly string[], cwd = process.cwd()): Promise<Manifests> {
  const manifests: Manifests = { pods: [], skipped: [], errors: [], notes: [], files: [], podSecurityPolicies: [] };
  for (const input of inputs) {
    const before = manifests.errors.length;
    const sources = await sourcesOf(input, cwd, manifests);
    for (const error of manifests.errors.slice(before)) manifests.files.push(error.file);
    for (const source of sources) {
      manifests.files.push(source.label);
      if (source.largeJson !== undefined) {
        // A JSON file over the whole-file limit (a big cluster's `kubectl get -o json`): read an item at a time.
        const fileErrors: InputError[] = [];
        const streamed = readLargeJsonFile(source.largeJson, source.label, (doc) => collect(doc, doc.value, [], manifests, fileErrors), (error) => fileErrors.push(error));
        if (streamed) {
          manifests.errors.push(...fileErrors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
          continue;
        }
      }
      let text: string;
      try {
        text = source.text();
      } catch (error) {
        if (!(error instanceof InputFailure)) throw error;
        manifests.errors.push(...error.errors);
        continue;
      }
      const { documents, errors } = parseYamlDocumentsRecovering(text, source.label);
      const fileErrors = [...errors];
      for (const doc of documents) {
        for (const warning of doc.warnings ?? []) manifests.notes.push(formatInputError(warning));
        collect(doc, doc.value, [], manifests, fileErrors);
      }
      // In line order, whichever reader found them.
      manifests.errors.push(...fileErrors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
    }
  }
  return manifests;
}

interface Source {
  label: string;
  /** A .json file: read item by item when it is a regular file over the whole-file limit. */
  largeJson?: string | undefined;
  /** Deferred so that a file is only held in memory while it is parsed. */
  text(): string;
}

async function sourcesOf(input: string, cwd: string, out: Manifests): Promise<Source[]> {
  if (input === '-') {
    try {
      const text = readStdin();
      return [{ label: STDIN_LABEL, text: () => text }];
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      out.errors.push(...error.errors);
      return [];
    }
  }
  const walk: WalkReport = { errors: [], notes: [] };
  const files = expandPaths([input], cwd, walk);
  out.errors.push(...walk.errors);
  out.notes.push(...walk.notes.map((note) => `apparmor-sim: note: ${note}`));
  return files.map((file) => {
    const label = displayPath(file, cwd);
    return { label, largeJson: /\.json$/i.test(file) ? file : undefined, text: () => readTextFile(file, label) };
  });
}

/** Standard input, read synchronously up to the size limit: a directory, a closed descriptor or a device is an input error. */
function readStdin(): string {
  let kind: string | undefined;
  try {
    kind = nonRegularKind(fstatSync(0));
  } catch (error) {
    throw new InputFailure([{ file: STDIN_LABEL, message: `cannot read standard input: ${systemMessage(error) === 'EBADF' ? 'it is closed' : systemMessage(error)}` }]);
  }
  if (kind === 'a directory') throw new InputFailure([{ file: STDIN_LABEL, message: 'standard input is a directory, expected YAML or JSON' }]);
  // Node opens /dev/null in place of a closed standard input (`<&-`): nothing was piped in, which is a mistake.
  if (kind === 'a character device' && stdinPath() === '/dev/null') throw new InputFailure([{ file: STDIN_LABEL, message: 'standard input is closed or /dev/null: pipe the manifests into it (helm template ... | apparmor-sim dry-run -)' }]);
  // A pipe, a terminal or a file are fine; a device such as /dev/zero stops at the size limit.
  try {
    return decodeText(readFd(0, STDIN_LABEL), STDIN_LABEL);
  } catch (error) {
    if (error instanceof InputFailure && error.errors[0]?.message === 'cannot read: EBADF') throw new InputFailure([{ file: STDIN_LABEL, message: 'cannot read standard input: it is not open for reading' }]);
    throw error;
  }
}

function stdinPath(): string | undefined {
  try {
    return readlinkSync('/proc/self/fd/0');
  } catch {
    return undefined;
  }
}

/** Paths under the working directory are shown relative to it, others in full (never as ../../x). */
export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

type Path = (string | number)[];

function collect(doc: YamlDocument, value: unknown, path: Path, out: Manifests, errors: InputError[]): void {
  // An empty document (helm template renders one per empty template, `# Source:` comment only) is nothing.
  if (value === null || value === undefined) return;
  const line = doc.lineOf(path);
  if (!isMap(value)) {
    out.skipped.push({ file: doc.file, line, kind: '', name: '', why: 'not a Kubernetes object (not a map)' });
    return;
  }
  const kind = typeof value['kind'] === 'string' ? value['kind'] : '';
  const items = value['items'];
  if (kind.endsWith('List') && Array.isArray(items)) {
    items.forEach((item: unknown, index) => collect(doc, item, [...path, 'items', index], out, errors));
    return;
  }
  if (isPodSecurityPolicyObject(value)) {
    const reader = new Reader(doc);
    const psp = readPodSecurityPolicyObject(reader, value, path);
    errors.push(...reader.errors);
    if (psp) out.podSecurityPolicies.push(psp);
    return;
  }
  if (overContainerLimit(doc, value, path, errors)) return;
  // Pods, workloads' pod templates, and skips for other kinds: cli/commands/workloads.ts.
  collectObject(doc, value, path, out, errors);
}

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/**
 * The container limit, counted on the value as read, after YAML aliases were expanded: `containers: *list` adds as
 * many containers as the anchored list holds, however short the text is (the text-level check in io/load/source.ts
 * sees only the alias).
 */
function overContainerLimit(doc: YamlDocument, value: Record<string, unknown>, path: Path, errors: InputError[]): boolean {
  const kind = typeof value['kind'] === 'string' ? value['kind'] : '';
  const template = kind === 'Pod' ? [] : WORKLOAD_TEMPLATES[kind];
  if (!template) return false;
  let spec: unknown = value;
  for (const key of [...template, 'spec']) spec = isMap(spec) ? spec[key] : undefined;
  if (!isMap(spec)) return false;
  let over = false;
  for (const list of CONTAINER_LISTS) {
    const items = spec[list];
    if (Array.isArray(items) && items.length > LIMITS.maxContainersPerPod) {
      errors.push({ file: doc.file, line: doc.lineOf([...path, ...template, 'spec', list]), message: `${list}: ${items.length} containers, over the ${LIMITS.maxContainersPerPod}-container limit` });
      over = true;
    }
  }
  return over;
}
