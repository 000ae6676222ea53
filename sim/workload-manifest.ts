// Reading a workload manifest: the pod its controller creates from the template, and the request for the workload.
import type { ManifestIssue, ManifestPath } from './pod.js';
import { isMap, readPod } from './pod.js';
import type { Pod, WorkloadRequest } from './types.js';

/** Where each workload kind keeps its pod template. */
export const WORKLOAD_TEMPLATES: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  PodTemplate: ['template'],
};

/**
 * The name part a controller puts in front of the random suffix; `<random>` stands for what nobody can predict
 * (the pod-template-hash of a Deployment's ReplicaSet, a CronJob's scheduled-time suffix), as sim/expect.ts matches it.
 */
export function podNaming(kind: string, name: string): { name?: string; generateName?: string } {
  switch (kind) {
    case 'StatefulSet':
      return { name: `${name}-0` };
    case 'Deployment':
      // ReplicaSet <name>-<pod-template-hash>, its pods <name>-<pod-template-hash>-<5 random characters>.
      return { generateName: `${name}-<random>-` };
    case 'CronJob':
      // Job <name>-<minutes since the epoch of the scheduled time>, its pods <job>-<random>.
      return { generateName: `${name}-<random>-` };
    default:
      return { generateName: `${name}-` };
  }
}

export function getIn(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isMap(current)) return undefined;
    current = current[key];
  }
  return current;
}

export type WorkloadRead =
  | { ok: true; request: WorkloadRequest; pod: Pod; templatePath: readonly string[] }
  | { ok: false; issues: ManifestIssue[]; noTemplate?: boolean };

/** A workload manifest's pod, as its controller builds it (issue paths are relative to the workload). */
export function readWorkload(manifest: Record<string, unknown>): WorkloadRead {
  const kind = typeof manifest['kind'] === 'string' ? manifest['kind'] : '';
  const templatePath = WORKLOAD_TEMPLATES[kind];
  if (!templatePath) return { ok: false, issues: [{ path: ['kind'], message: `expected a workload kind (${Object.keys(WORKLOAD_TEMPLATES).join(', ')}), got ${JSON.stringify(manifest['kind'] ?? null)}` }] };
  const metadata = isMap(manifest['metadata']) ? manifest['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '';
  const template = getIn(manifest, templatePath);
  if (!isMap(template)) return { ok: false, noTemplate: true, issues: [{ path: [...templatePath], message: `no pod template (${templatePath.join('.')})` }] };
  const generatedFrom = typeof metadata['generateName'] === 'string' ? `${metadata['generateName']}<random>` : '';
  const baseName = name || generatedFrom;
  if (!baseName) return { ok: false, issues: [{ path: ['metadata', 'name'], message: `a ${kind} needs metadata.name` }] };
  const templateMeta = isMap(template['metadata']) ? template['metadata'] : {};
  const podManifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    // Controllers copy the template's labels and annotations, and name the pod themselves in the workload's namespace.
    metadata: { ...templateMeta, name: undefined, generateName: undefined, namespace: metadata['namespace'], ...podNaming(kind, baseName) },
    spec: template['spec'],
  };
  const read = readPod(podManifest);
  if (!read.ok) return { ok: false, issues: read.issues.map((issue) => ({ path: [...templatePath, ...issue.path] as ManifestPath, message: issue.message })) };
  const apiVersion = typeof manifest['apiVersion'] === 'string' ? manifest['apiVersion'] : '';
  return { ok: true, request: { kind, apiVersion, name: baseName }, pod: read.pod, templatePath };
}
