import type { AppArmorProfileField, Container, ContainerKind, Pod } from './types.js';
import { describeType } from './version.js';

export const ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';
export const CONTAINER_KINDS: readonly ContainerKind[] = ['initContainers', 'containers', 'ephemeralContainers'];

export type ManifestPath = readonly (string | number)[];

export interface ManifestIssue {
  path: ManifestPath;
  message: string;
}

export type PodRead = { ok: true; pod: Pod } | { ok: false; issues: ManifestIssue[] };

/**
 * Reads the parts of a Pod manifest that AppArmor handling depends on. Wrong types are issues (the API server's
 * decoder would refuse them before any AppArmor logic runs); unknown fields are ignored as the decoder does.
 */
export function readPod(manifest: unknown): PodRead {
  const issues: ManifestIssue[] = [];
  if (!isMap(manifest)) {
    return { ok: false, issues: [{ path: [], message: `a Pod manifest must be a map, got ${describeType(manifest)}` }] };
  }
  const kind = manifest['kind'];
  if (kind !== undefined && kind !== 'Pod') {
    issues.push({ path: ['kind'], message: `expected kind Pod, got ${JSON.stringify(kind)}` });
  }
  const apiVersion = manifest['apiVersion'];
  if (apiVersion !== undefined && apiVersion !== 'v1') {
    issues.push({ path: ['apiVersion'], message: `Pods are apiVersion v1, got ${JSON.stringify(apiVersion)}` });
  }
  const metadata = optionalMap(manifest, ['metadata'], issues) ?? {};
  const name = optionalString(metadata, ['metadata', 'name'], issues);
  const generateName = optionalString(metadata, ['metadata', 'generateName'], issues);
  if (!name && !generateName) {
    issues.push({ path: ['metadata', 'name'], message: 'a Pod needs metadata.name (or metadata.generateName)' });
  }
  const namespace = optionalString(metadata, ['metadata', 'namespace'], issues);
  const annotations: Record<string, string> = {};
  const rawAnnotations = optionalMap(metadata, ['metadata', 'annotations'], issues);
  for (const [key, value] of Object.entries(rawAnnotations ?? {})) {
    if (typeof value !== 'string') {
      issues.push({ path: ['metadata', 'annotations', key], message: `annotation values must be strings, got ${describeType(value)}` });
    } else {
      annotations[key] = value;
    }
  }

  const spec = optionalMap(manifest, ['spec'], issues);
  if (spec === undefined) {
    issues.push({ path: ['spec'], message: 'a Pod needs a spec' });
  }
  const specMap = spec ?? {};
  const osMap = optionalMap(specMap, ['spec', 'os'], issues);
  const os = osMap ? optionalString(osMap, ['spec', 'os', 'name'], issues) : undefined;
  const podSecurityContext = optionalMap(specMap, ['spec', 'securityContext'], issues);
  const podProfile = podSecurityContext
    ? readProfileField(podSecurityContext, ['spec', 'securityContext', 'appArmorProfile'], issues)
    : undefined;

  const containers: Container[] = [];
  for (const kindKey of CONTAINER_KINDS) {
    const list = specMap[kindKey];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      issues.push({ path: ['spec', kindKey], message: `spec.${kindKey} must be a list, got ${describeType(list)}` });
      continue;
    }
    list.forEach((entry: unknown, index: number) => {
      const path = ['spec', kindKey, index];
      if (!isMap(entry)) {
        issues.push({ path, message: `a container must be a map, got ${describeType(entry)}` });
        return;
      }
      const containerName = optionalString(entry, [...path, 'name'], issues);
      if (!containerName) {
        issues.push({ path: [...path, 'name'], message: 'a container needs a name' });
        return;
      }
      const securityContext = optionalMap(entry, [...path, 'securityContext'], issues);
      let privileged = false;
      let appArmorProfile: AppArmorProfileField | undefined;
      if (securityContext) {
        const rawPrivileged = securityContext['privileged'];
        if (rawPrivileged !== undefined && rawPrivileged !== null && typeof rawPrivileged !== 'boolean') {
          issues.push({ path: [...path, 'securityContext', 'privileged'], message: `privileged must be true or false, got ${describeType(rawPrivileged)}` });
        }
        privileged = rawPrivileged === true;
        appArmorProfile = readProfileField(securityContext, [...path, 'securityContext', 'appArmorProfile'], issues);
      }
      containers.push({ kind: kindKey, name: containerName, privileged, appArmorProfile });
    });
  }
  // A pod without spec.containers is not an input error: the API server refuses it (spec.containers: Required value).
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    pod: {
      name: name ?? '',
      generateName,
      namespace,
      annotations,
      os,
      appArmorProfile: podProfile,
      containers,
    },
  };
}

function readProfileField(parent: Record<string, unknown>, path: ManifestPath, issues: ManifestIssue[]): AppArmorProfileField | undefined {
  const raw = optionalMap(parent, path, issues);
  if (raw === undefined) return undefined;
  const type = raw['type'];
  const localhostProfile = raw['localhostProfile'];
  // An absent type is a validation error the API server reports ("type is required"), not a decoding error.
  if (type !== undefined && type !== null && typeof type !== 'string') {
    issues.push({ path: [...path, 'type'], message: `appArmorProfile.type must be a string, got ${describeType(type)}` });
  }
  if (localhostProfile !== undefined && localhostProfile !== null && typeof localhostProfile !== 'string') {
    issues.push({ path: [...path, 'localhostProfile'], message: `appArmorProfile.localhostProfile must be a string, got ${describeType(localhostProfile)}` });
  }
  return {
    type: typeof type === 'string' ? type : '',
    localhostProfile: typeof localhostProfile === 'string' ? localhostProfile : undefined,
  };
}

export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalMap(parent: Record<string, unknown>, path: ManifestPath, issues: ManifestIssue[]): Record<string, unknown> | undefined {
  const value = parent[String(path[path.length - 1])];
  if (value === undefined || value === null) return undefined;
  if (!isMap(value)) {
    issues.push({ path, message: `${path.join('.')} must be a map, got ${describeType(value)}` });
    return undefined;
  }
  return value;
}

function optionalString(parent: Record<string, unknown>, path: ManifestPath, issues: ManifestIssue[]): string | undefined {
  const value = parent[String(path[path.length - 1])];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    issues.push({ path, message: `${path.join('.')} must be a string, got ${describeType(value)}` });
    return undefined;
  }
  return value;
}

/** The display name Kubernetes uses in messages; generated names get a random suffix the model cannot know. */
export function podDisplayName(pod: Pod): string {
  return pod.name || `${pod.generateName ?? ''}<random>`;
}

export function annotationKey(containerName: string): string {
  return ANNOTATION_PREFIX + containerName;
}

export function withAnnotations(pod: Pod, annotations: Record<string, string>): Pod {
  return { ...pod, annotations };
}

export function isWindowsPod(pod: Pod): boolean {
  return pod.os === 'windows';
}

/** Up to this many containers, containerPath counts instead of indexing: bounded work per call. */
const SMALL_CONTAINER_LIST = 16;

/** The API field path of a container, e.g. `spec.initContainers[0]`. */
export function containerPath(pod: Pod, container: Container): string {
  if (pod.containers.length <= SMALL_CONTAINER_LIST) {
    // A few containers: counting is cheaper than indexing the list (most pods, and most lists are new per check).
    let n = 0;
    for (const c of pod.containers) {
      if (c === container) return `spec.${container.kind}[${n}]`;
      if (c.kind === container.kind) n++;
    }
    return `spec.${container.kind}[-1]`;
  }
  // Indexes computed once per container list: checks ask for the path of every container, which must stay linear.
  let indexes = CONTAINER_INDEXES.get(pod.containers);
  if (!indexes) {
    indexes = new Map();
    const counts = new Map<string, number>();
    for (const c of pod.containers) {
      const n = counts.get(c.kind) ?? 0;
      if (!indexes.has(c)) indexes.set(c, n);
      counts.set(c.kind, n + 1);
    }
    CONTAINER_INDEXES.set(pod.containers, indexes);
  }
  return `spec.${container.kind}[${indexes.get(container) ?? -1}]`;
}

const CONTAINER_INDEXES = new WeakMap<readonly Container[], Map<Container, number>>();
