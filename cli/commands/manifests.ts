// Turns the dry-run inputs (files, directories, stdin) into Pods (and workloads' pods) with their file:line, and lists what is not.
import { closeSync, fstatSync, readlinkSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { isMap } from '../../sim/pod.js';
import type { PodSecurityPolicyFacts } from '../../sim/types.js';
import { Reader } from '../../io/load/facts.js';
import { isPodSecurityPolicyObject, readPodSecurityPolicyObject } from '../../io/load/psp.js';
import type { InputError, YamlDocument } from '../../io/load/source.js';
import type { WalkReport } from '../../io/load/source.js';
import { InputFailure, LIMITS, expandPaths, formatInputError, nonRegularKind, openRegularFile, systemMessage } from '../../io/load/source.js';
import type { CollectedPod, CollectedSkip, Collector } from './workloads.js';
import { WORKLOAD_TEMPLATES, collectObject } from './workloads.js';
import type { InputFormat } from '../../io/load/document-stream.js';
import { formatOf, readDocuments } from '../../io/load/document-stream.js';

export const STDIN_LABEL = '<stdin>';

/** A pod to simulate with where it came from; workloads.ts builds them. */
export type PodInput = CollectedPod;

/** A document that is not a pod or a workload: listed with where it is and why. */
export type SkippedDocument = CollectedSkip;

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

/** Results handed over while the input is read. */
export interface ManifestStream {
  /** A document's (or JSON List item's) pods and input errors, as soon as the document is read. */
  batch(pods: readonly PodInput[], errors: readonly InputError[]): void;
  /** The input has nothing to read yet: a good moment to write out what is buffered. */
  idle?: (() => void) | undefined;
}

/**
 * Reads every input, a document at a time. A file or document that is wrong is an error entry and costs only itself:
 * the documents before and after it, and every other file, are still read (a chart's one bad template must not hide
 * the rest). With `stream`, each document's pods and errors go there as they are read and are not kept (the errors
 * are still listed in `errors` for the report); without it, they are collected in `pods` and `errors`.
 */
export async function readManifests(inputs: readonly string[], cwd = process.cwd(), stream?: ManifestStream): Promise<Manifests> {
  const manifests: Manifests = { pods: [], skipped: [], errors: [], notes: [], files: [], podSecurityPolicies: [] };
  const batch: PodInput[] = [];
  const collector: ManifestCollector = { pods: batch, skipped: manifests.skipped, podSecurityPolicies: manifests.podSecurityPolicies };
  const hand = (errors: InputError[]) => {
    if (batch.length === 0 && errors.length === 0) return;
    errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    // One at a time: a List document can hold more items than a call takes arguments.
    for (const error of errors) manifests.errors.push(error);
    if (stream) stream.batch(batch, errors);
    else for (const pod of batch) manifests.pods.push(pod);
    batch.length = 0;
  };
  for (const input of inputs) {
    const sources = sourcesOf(input, cwd, manifests);
    for (const error of sources.errors) {
      manifests.files.push(error.file);
      hand([error]);
    }
    for (const source of sources.sources) {
      manifests.files.push(source.label);
      let fd: number;
      try {
        fd = source.open();
      } catch (error) {
        if (!(error instanceof InputFailure)) throw error;
        hand([...error.errors]);
        continue;
      }
      try {
        readDocuments(fd, source.label, source.format, {
          document(doc) {
            for (const warning of doc.warnings ?? []) manifests.notes.push(formatInputError(warning));
            const errors: InputError[] = [];
            collect(doc, doc.value, [], collector, errors);
            hand(errors);
          },
          error(error) {
            hand([source.describe?.(error) ?? error]);
          },
          idle: stream?.idle,
        });
      } finally {
        if (source.close) closeSync(fd);
      }
    }
  }
  return manifests;
}

/** Where collect() puts what it finds: pods of the current document, skips and PodSecurityPolicies of all. */
interface ManifestCollector extends Collector {
  podSecurityPolicies: PodSecurityPolicyFacts[];
}

interface Source {
  label: string;
  format: InputFormat;
  /** The descriptor to read; InputFailure when it cannot be read. */
  open(): number;
  /** Whether the reader closes the descriptor (not standard input). */
  close: boolean;
  /** A better wording of a read error for this source. */
  describe?: (error: InputError) => InputError;
}

function sourcesOf(input: string, cwd: string, out: Manifests): { sources: Source[]; errors: InputError[] } {
  if (input === '-') {
    return {
      sources: [{ label: STDIN_LABEL, format: formatOf('-'), open: openStdin, close: false, describe: (error) => (error.message === 'cannot read: EBADF' ? { ...error, message: 'cannot read standard input: it is not open for reading' } : error) }],
      errors: [],
    };
  }
  const walk: WalkReport = { errors: [], notes: [] };
  const files = expandPaths([input], cwd, walk);
  out.notes.push(...walk.notes.map((note) => `apparmor-sim: note: ${note}`));
  return {
    sources: files.map((file) => {
      const label = displayPath(file, cwd);
      return { label, format: formatOf(file), open: () => openRegularFile(file, label), close: true };
    }),
    errors: walk.errors,
  };
}

/** Standard input, checked: a directory, a closed descriptor or /dev/null is an input error. */
function openStdin(): number {
  let kind: string | undefined;
  try {
    kind = nonRegularKind(fstatSync(0));
  } catch (error) {
    throw new InputFailure([{ file: STDIN_LABEL, message: `cannot read standard input: ${systemMessage(error) === 'EBADF' ? 'it is closed' : systemMessage(error)}` }]);
  }
  if (kind === 'a directory') throw new InputFailure([{ file: STDIN_LABEL, message: 'standard input is a directory, expected YAML or JSON' }]);
  // Node opens /dev/null in place of a closed standard input (`<&-`): nothing was piped in, which is a mistake.
  if (kind === 'a character device' && stdinPath() === '/dev/null') throw new InputFailure([{ file: STDIN_LABEL, message: 'standard input is closed or /dev/null: pipe the manifests into it (helm template ... | apparmor-sim dry-run -)' }]);
  // A pipe, a terminal or a file are fine; a device such as /dev/zero stops at its first NUL byte.
  // A pipe is put in non-blocking mode (libuv does so when Node opens process.stdin on it, which stays paused): a read
  // with nothing to read yet then returns EAGAIN, and the results so far are written out while the writer is slow.
  if (kind === 'a FIFO' || kind === 'a socket') process.stdin.pause();
  return 0;
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

function collect(doc: YamlDocument, value: unknown, path: Path, out: ManifestCollector, errors: InputError[]): void {
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
