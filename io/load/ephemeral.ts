// Ephemeral containers to add to a running pod through pods/ephemeralcontainers (scenario `ephemeralContainers:`,
// `dry-run --ephemeral-containers FILE`): a list of container specs, read with the Pod reader's rules.
import { readPod } from '../../sim/pod.js';
import type { Container } from '../../sim/types.js';
import { Reader } from './facts.js';
import type { YamlDocument } from './source.js';
import { InputFailure, parseYamlDocuments, readTextFile } from './source.js';

type Path = (string | number)[];

/** Reads `value` (a list of container specs, or one) at `path`; problems go to `reader` with their line. */
export function readEphemeralContainers(reader: Reader, value: unknown, path: Path): Container[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  const read = readPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'ephemeral' }, spec: { containers: [], ephemeralContainers: list } });
  if (!read.ok) {
    for (const issue of read.issues) {
      // Issue paths are spec.ephemeralContainers.<index>...; map them onto the list as written.
      const rest = issue.path.slice(2);
      reader.error(Array.isArray(value) ? [...path, ...rest] : [...path, ...rest.slice(1)], issue.message);
    }
    return [];
  }
  return read.pod.containers.filter((c) => c.kind === 'ephemeralContainers');
}

/** A file holding one YAML document: a list of container specs (or one container spec). */
export function readEphemeralContainersFile(file: string, label = file): Container[] {
  const docs = parseYamlDocuments(readTextFile(file, label), label);
  const doc: YamlDocument | undefined = docs[0];
  if (!doc || docs.length !== 1) throw new InputFailure([{ file: label, message: `must hold one YAML document (a list of container specs), found ${docs.length}` }]);
  const reader = new Reader(doc);
  const containers = readEphemeralContainers(reader, doc.value, []);
  if (reader.errors.length === 0 && containers.length === 0) reader.error([], 'holds no container spec');
  if (reader.errors.length > 0) throw new InputFailure(reader.errors);
  return containers;
}
