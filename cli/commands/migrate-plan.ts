// What `apparmor-sim migrate` changes in one pod (or pod template): which beta annotations become which
// securityContext.appArmorProfile fields, and whether the annotations can go. Pure: works on the parsed manifest.
//
// Upstream facts it rests on:
// - The fields exist from 1.30 (KEP-24 GA, kubernetes/kubernetes #123435); before 1.30 an API server does not know them
//   and drops them, and kubelets before 1.30 read only the annotations. kubernetes/website
//   content/en/docs/tutorials/security/apparmor.md: "Prior to Kubernetes v1.30, AppArmor was specified through
//   annotations" and "The container AppArmor profile takes precedence over the pod profile".
// - While both exist (1.30+), pkg/registry/core/pod/strategy.go applyAppArmorVersionSkew (PrepareForCreate) copies an
//   annotation without a container field into the field (unless it equals the pod field), and 1.30-1.33 copy fields to
//   annotations for older kubelets (sim/checks/api-sync.ts); validation requires annotation and field to match
//   (pkg/apis/core/validation validateAppArmorAnnotationsAndFieldsMatchOnCreate). So a manifest carrying both, equal,
//   is what a cluster with kubelets older than 1.30 needs; a manifest for 1.30+ only needs the field.
// - Annotation values map to fields as strategy.go apparmorFieldForAnnotation does (sim/profile.ts).
import { appArmorFieldErrors } from '../../sim/checks/api-validate-fields.js';
import { ANNOTATION_PREFIX, CONTAINER_KINDS, isMap } from '../../sim/pod.js';
import { fieldForAnnotation, sameField } from '../../sim/profile.js';
import type { AppArmorProfileField, ContainerKind, Minor } from '../../sim/types.js';

/** The first version whose API server and kubelet know securityContext.appArmorProfile. */
export const FIELDS_FROM: Minor = 30;

export type Path = (string | number)[];

export interface ContainerChange {
  kind: ContainerKind;
  index: number;
  name: string;
  field: AppArmorProfileField;
}

export interface PodPlan {
  /** Set spec.securityContext.appArmorProfile. */
  podField?: AppArmorProfileField | undefined;
  containerFields: ContainerChange[];
  /** Annotation keys to delete. */
  removeAnnotations: string[];
  /** Annotations migrated but kept, because a target version predates the fields. */
  keptAnnotations: string[];
  /** Things left as they are, and why. */
  notes: string[];
}

export function planChanges(plan: PodPlan): boolean {
  return plan.podField !== undefined || plan.containerFields.length > 0 || plan.removeAnnotations.length > 0;
}

interface ContainerInfo {
  kind: ContainerKind;
  index: number;
  name: string;
  field: AppArmorProfileField | undefined;
}

/** The plan for a pod-like map (a Pod, or a workload's pod template: `metadata` and `spec`). */
export function planPod(podLike: Record<string, unknown>, removeAnnotations: boolean): PodPlan {
  const plan: PodPlan = { containerFields: [], removeAnnotations: [], keptAnnotations: [], notes: [] };
  const metadata = isMap(podLike['metadata']) ? podLike['metadata'] : {};
  const annotations = isMap(metadata['annotations']) ? metadata['annotations'] : {};
  const spec = isMap(podLike['spec']) ? podLike['spec'] : {};
  const podField = readField(isMap(spec['securityContext']) ? spec['securityContext']['appArmorProfile'] : undefined);

  const containers: ContainerInfo[] = [];
  for (const kind of CONTAINER_KINDS) {
    const list = spec[kind];
    if (!Array.isArray(list)) continue;
    list.forEach((entry: unknown, index) => {
      if (!isMap(entry) || typeof entry['name'] !== 'string') return;
      const sc = entry['securityContext'];
      containers.push({ kind, index, name: entry['name'], field: readField(isMap(sc) ? sc['appArmorProfile'] : undefined) });
    });
  }

  /** Containers whose annotation converts to a field, with that field. */
  const converted: { container: ContainerInfo; key: string; field: AppArmorProfileField }[] = [];
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const name = key.slice(ANNOTATION_PREFIX.length);
    const container = containers.find((c) => c.name === name);
    if (!container) {
      plan.notes.push(`${key}: no container named ${JSON.stringify(name)}; left as is`);
      continue;
    }
    const field = typeof value === 'string' ? fieldForAnnotation(value) : undefined;
    if (!field || appArmorFieldErrors(field, '').length > 0) {
      plan.notes.push(`${key}: ${JSON.stringify(value)} is not a valid AppArmor profile; left as is`);
      continue;
    }
    if (container.field && !sameField(container.field, field)) {
      plan.notes.push(`${key}: the container's appArmorProfile field says otherwise (the API server refuses the pod); left as is`);
      continue;
    }
    converted.push({ container, key, field });
  }
  if (converted.length === 0) return plan;

  const first = converted[0]?.field;
  const everyContainerAgrees =
    first !== undefined &&
    converted.length === containers.length &&
    converted.every((c) => sameField(c.field, first) && c.container.field === undefined) &&
    (podField === undefined || sameField(podField, first));
  if (everyContainerAgrees) {
    if (podField === undefined) plan.podField = first;
  } else {
    for (const { container, field } of converted) {
      // A container field equal to the annotation, or a pod field that already says the same, needs nothing new.
      if (container.field !== undefined || sameField(podField, field)) continue;
      plan.containerFields.push({ kind: container.kind, index: container.index, name: container.name, field });
    }
  }
  for (const { key } of converted) (removeAnnotations ? plan.removeAnnotations : plan.keptAnnotations).push(key);
  return plan;
}

function readField(value: unknown): AppArmorProfileField | undefined {
  if (!isMap(value)) return undefined;
  const type = value['type'];
  const localhostProfile = value['localhostProfile'];
  return { type: typeof type === 'string' ? type : '', localhostProfile: typeof localhostProfile === 'string' ? localhostProfile : undefined };
}

/** The field as a plain object, in the key order Kubernetes prints it. */
export function fieldObject(field: AppArmorProfileField): Record<string, string> {
  return field.localhostProfile !== undefined ? { type: field.type, localhostProfile: field.localhostProfile } : { type: field.type };
}

/** The pod-like map with the plan applied (a copy; the input is not changed). */
export function applyPlan(podLike: Record<string, unknown>, plan: PodPlan): Record<string, unknown> {
  const copy = structuredClone(podLike);
  const metadata = isMap(copy['metadata']) ? copy['metadata'] : undefined;
  if (metadata && isMap(metadata['annotations'])) {
    const annotations = metadata['annotations'];
    for (const key of plan.removeAnnotations) delete annotations[key];
    if (Object.keys(annotations).length === 0 && plan.removeAnnotations.length > 0) delete metadata['annotations'];
    // A template whose metadata held only the annotations loses the empty metadata too (a Pod always has a name).
    if (Object.keys(metadata).length === 0) delete copy['metadata'];
  }
  const spec = isMap(copy['spec']) ? copy['spec'] : undefined;
  if (!spec) return copy;
  if (plan.podField) {
    const sc = isMap(spec['securityContext']) ? spec['securityContext'] : {};
    sc['appArmorProfile'] = fieldObject(plan.podField);
    spec['securityContext'] = sc;
  }
  for (const change of plan.containerFields) {
    const list = spec[change.kind];
    const container = Array.isArray(list) ? list[change.index] : undefined;
    if (!isMap(container)) continue;
    const sc = isMap(container['securityContext']) ? container['securityContext'] : {};
    sc['appArmorProfile'] = fieldObject(change.field);
    container['securityContext'] = sc;
  }
  return copy;
}

/** Order-insensitive deep equality of parsed YAML values (maps compare by keys, sequences by position). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isMap(a) && isMap(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue(a[k], b[k]));
  }
  return false;
}

/** Where a pod-like map sits: a Pod itself, or a workload's template; Lists recurse. */
export interface PodSite {
  /** Path of the Pod or the workload object in the document. */
  objectPath: Path;
  /** Path of the pod-like map (`metadata`, `spec`). */
  podPath: Path;
  kind: string;
  name: string;
}

export function podSites(value: unknown, templates: Readonly<Record<string, readonly string[]>>, path: Path = []): PodSite[] {
  if (!isMap(value)) return [];
  const kind = typeof value['kind'] === 'string' ? value['kind'] : '';
  const items = value['items'];
  if (kind.endsWith('List') && Array.isArray(items)) return items.flatMap((item: unknown, i) => podSites(item, templates, [...path, 'items', i]));
  const metadata = isMap(value['metadata']) ? value['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : typeof metadata['generateName'] === 'string' ? `${metadata['generateName']}<random>` : '';
  if (kind === 'Pod') return [{ objectPath: path, podPath: path, kind, name }];
  const template = templates[kind];
  return template ? [{ objectPath: path, podPath: [...path, ...template], kind, name }] : [];
}

export function getIn(value: unknown, path: readonly (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isMap(current)) current = current[String(key)];
    else return undefined;
  }
  return current;
}
