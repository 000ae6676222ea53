// PodSecurityPolicy objects (policy/v1beta1, extensions/v1beta1) in dry-run inputs and in a --cluster file's
// podSecurityPolicies: list. Only what the AppArmor strategy reads: the name and its two annotations.
import { isMap } from '../../sim/pod.js';
import type { PodSecurityPolicyFacts } from '../../sim/types.js';
import type { Reader } from './facts.js';

type Path = (string | number)[];

/** pkg/security/podsecuritypolicy/apparmor/strategy.go (PR #30183, 1.4): the policy's AppArmor annotations. */
export const PSP_DEFAULT_PROFILE_ANNOTATION = 'apparmor.security.beta.kubernetes.io/defaultProfileName';
export const PSP_ALLOWED_PROFILES_ANNOTATION = 'apparmor.security.beta.kubernetes.io/allowedProfileNames';
/** The API groups that served PodSecurityPolicy: extensions/v1beta1 until 1.15, policy/v1beta1 from 1.10 to 1.24. */
export const PSP_API_VERSIONS = ['policy/v1beta1', 'extensions/v1beta1'] as const;

export function isPodSecurityPolicyObject(value: Record<string, unknown>): boolean {
  return value['kind'] === 'PodSecurityPolicy';
}

/** A PodSecurityPolicy manifest as the policy's AppArmor facts; problems go to `reader` at their path. */
export function readPodSecurityPolicyObject(reader: Reader, value: Record<string, unknown>, path: Path): PodSecurityPolicyFacts | undefined {
  const apiVersion = value['apiVersion'];
  if (typeof apiVersion !== 'string' || !(PSP_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    reader.error([...path, 'apiVersion'], `a PodSecurityPolicy is ${PSP_API_VERSIONS.join(' or ')}, got ${JSON.stringify(apiVersion ?? null)}`);
    return undefined;
  }
  const metadata = reader.map(value['metadata'], [...path, 'metadata'], true);
  if (!metadata) return undefined;
  const name = reader.string(metadata['name'], [...path, 'metadata', 'name'], true);
  const annotations = reader.stringMap(metadata['annotations'], [...path, 'metadata', 'annotations']);
  if (!name) return undefined;
  return { name, defaultProfileName: annotations[PSP_DEFAULT_PROFILE_ANNOTATION], allowedProfileNames: annotations[PSP_ALLOWED_PROFILES_ANNOTATION] };
}

/**
 * A --cluster file's podSecurityPolicies: PodSecurityPolicy objects, or the short form of a scenario's cluster
 * ({name, defaultProfileName, allowedProfileNames}).
 */
export function readPodSecurityPolicyList(reader: Reader, value: unknown, path: Path): PodSecurityPolicyFacts[] {
  return reader.list(value, path).flatMap((entry, index): PodSecurityPolicyFacts[] => {
    const at = [...path, index];
    const map = reader.map(entry, at, true);
    if (!map) return [];
    if (isMap(map) && map['kind'] !== undefined) {
      const psp = isPodSecurityPolicyObject(map) ? readPodSecurityPolicyObject(reader, map, at) : undefined;
      if (!isPodSecurityPolicyObject(map)) reader.error([...at, 'kind'], `expected kind PodSecurityPolicy, got ${JSON.stringify(map['kind'])}`);
      return psp ? [psp] : [];
    }
    reader.onlyKeys(map, at, ['name', 'defaultProfileName', 'allowedProfileNames']);
    const name = reader.string(map['name'], [...at, 'name'], true);
    const defaultProfileName = reader.string(map['defaultProfileName'], [...at, 'defaultProfileName']);
    const allowed = map['allowedProfileNames'];
    const allowedProfileNames = Array.isArray(allowed)
      ? allowed.map((item, i) => reader.string(item, [...at, 'allowedProfileNames', i], true) ?? '').join(',')
      : reader.string(allowed, [...at, 'allowedProfileNames']);
    return name ? [{ name, defaultProfileName, allowedProfileNames }] : [];
  });
}

/**
 * PodSecurityPolicy admission runs up to 1.24 (removed in 1.25, #109798); extensions/v1beta1 stopped serving it in
 * 1.16 (CHANGELOG-1.16). Notes for the versions where the given policies do not apply.
 */
export function podSecurityPolicyNotes(count: number, versions: readonly number[]): string[] {
  if (count === 0) return [];
  const newer = versions.filter((v) => v >= 25);
  return newer.length > 0 ? [`${count} PodSecurityPolicy object(s) given: they apply to API servers up to 1.24 only (PodSecurityPolicy was removed in 1.25, #109798), not to ${newer.map((v) => `1.${v}`).join(', ')}`] : [];
}
