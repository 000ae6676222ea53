// Turns the dry-run inputs (files, directories, stdin) into Pods (and workloads' pods) with their file:line, and lists what is not.
import { isAbsolute, relative } from 'node:path';
import { isMap } from '../../sim/pod.js';
import type { Pod, PodSecurityPolicyFacts } from '../../sim/types.js';
import { Reader } from '../../io/load/facts.js';
import { isPodSecurityPolicyObject, readPodSecurityPolicyObject } from '../../io/load/psp.js';
import type { InputError, YamlDocument } from '../../io/load/source.js';
import { InputFailure, LIMITS, decodeText, expandPaths, parseYamlDocuments, readTextFile } from '../../io/load/source.js';
import type { CollectedPod } from './workloads.js';
import { collectObject } from './workloads.js';

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
  /** PodSecurityPolicy objects among the inputs: they admit the pods (API servers up to 1.24). */
  podSecurityPolicies: PodSecurityPolicyFacts[];
}

/** Reads every input; all input errors of all files are collected and thrown together. */
export async function readManifests(inputs: readonly string[], cwd = process.cwd()): Promise<Manifests> {
  const manifests: Manifests = { pods: [], skipped: [], podSecurityPolicies: [] };
  const errors: InputError[] = [];
  for (const input of inputs) {
    try {
      for (const source of await sourcesOf(input, cwd)) {
        for (const doc of parseYamlDocuments(source.text(), source.label)) collect(doc, doc.value, [], manifests, errors);
      }
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      errors.push(...error.errors);
    }
  }
  if (errors.length > 0) throw new InputFailure(errors);
  return manifests;
}

interface Source {
  label: string;
  /** Deferred so that a file is only held in memory while it is parsed. */
  text(): string;
}

async function sourcesOf(input: string, cwd: string): Promise<Source[]> {
  if (input === '-') {
    const text = await readStdin();
    return [{ label: STDIN_LABEL, text: () => text }];
  }
  return expandPaths([input], cwd).map((file) => {
    const label = displayPath(file, cwd);
    return { label, text: () => readTextFile(file, label) };
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    // Stop reading rather than buffer an endless stream.
    if (size > LIMITS.maxFileBytes) {
      process.stdin.destroy();
      throw new InputFailure([{ file: STDIN_LABEL, message: `input is over the ${LIMITS.maxFileBytes}-byte limit` }]);
    }
    chunks.push(buffer);
  }
  return decodeText(Buffer.concat(chunks), STDIN_LABEL);
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
  // Pods, workloads' pod templates, and skips for other kinds: cli/commands/workloads.ts.
  collectObject(doc, value, path, out, errors);
}
