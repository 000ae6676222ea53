import type { AppArmorProfileField, Container, LoadedProfile, Pod } from './types.js';
import { annotationKey } from './pod.js';

// Beta annotation values, k8s.io/api core/v1 annotation_key_constants.go (DeprecatedAppArmorBeta* since 1.30).
export const RUNTIME_DEFAULT = 'runtime/default';
export const UNCONFINED = 'unconfined';
export const LOCALHOST_PREFIX = 'localhost/';

/** appArmorAnnotationForField, pkg/registry/core/pod/strategy.go (1.30). */
export function annotationForField(field: AppArmorProfileField): string {
  switch (field.type) {
    case 'Unconfined':
      return UNCONFINED;
    case 'RuntimeDefault':
      return RUNTIME_DEFAULT;
    case 'Localhost':
      return field.localhostProfile !== undefined ? LOCALHOST_PREFIX + field.localhostProfile : '';
    default:
      return '';
  }
}

/** apparmorFieldForAnnotation, pkg/registry/core/pod/strategy.go (1.30); the caller still validates the result. */
export function fieldForAnnotation(annotation: string): AppArmorProfileField | undefined {
  if (annotation === UNCONFINED) return { type: 'Unconfined' };
  if (annotation === RUNTIME_DEFAULT) return { type: 'RuntimeDefault' };
  if (annotation.startsWith(LOCALHOST_PREFIX)) {
    return { type: 'Localhost', localhostProfile: annotation.slice(LOCALHOST_PREFIX.length) };
  }
  return undefined;
}

export function sameField(a: AppArmorProfileField | undefined, b: AppArmorProfileField | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.type === b.type && a.localhostProfile === b.localhostProfile;
}

export function containerAnnotation(pod: Pod, container: Container): string | undefined {
  return pod.annotations[annotationKey(container.name)];
}

export function hasAnyAppArmorAnnotation(pod: Pod): boolean {
  return Object.keys(pod.annotations).some((key) => key.startsWith('container.apparmor.security.beta.kubernetes.io/'));
}

export function findLoaded(profiles: readonly LoadedProfile[], name: string): LoadedProfile | undefined {
  // Indexed once per profile list: a node can have thousands of profiles and a pod hundreds of containers.
  let byName = PROFILE_INDEXES.get(profiles);
  if (!byName) {
    byName = new Map();
    for (const profile of profiles) if (!byName.has(profile.name)) byName.set(profile.name, profile);
    PROFILE_INDEXES.set(profiles, byName);
  }
  return byName.get(name);
}

const PROFILE_INDEXES = new WeakMap<readonly LoadedProfile[], Map<string, LoadedProfile>>();
