// The messages and warnings Kubernetes shows for AppArmor, as regular expressions per version range, written from
// upstream source and independent of the model's code (sim/). Sources:
//   kubelet: kubernetes/kubernetes pkg/security/apparmor/validate.go (stored versions @00bdb3f 1.4-era, id 57635799
//     "Binary ..." / "Found: %q.", id 91390852 and @2dd1588 "binary ..." / "Found: %q"), lowercased with the
//     trailing "." dropped by PR #84111 "fix golint failures of kubernetes/pkg/security/apparmor" (merged Oct/Nov
//     2019, before PR #84694 was closed as a duplicate on 2019-11-08, so in 1.17); runtime check docker-only until
//     1.7, docker|remote from PR #51167 (1.8), removed with dockershim in 1.24 (#97252); "profile %q is not loaded"
//     until 1.23 (#97966); "invalid empty AppArmor profile name: %q" from 1.24 (#108143), the %q of a
//     *v1.AppArmorProfile from 1.30 (@2dd1588). Wrappers: 1.4 rejectPod "Pod " + msg, 1.5-1.30 soft admission
//     (PR #35342) with the bare message, 1.31+ rejectPod "Pod was rejected: " + msg (#125776);
//     pkg/kubelet/lifecycle handlers.go "Cannot enforce AppArmor: %v".
//   API server: pkg/apis/core/validation/validation.go ValidateAppArmorPodAnnotations, validateAppArmorProfileField,
//     validateAppArmorAnnotationsAndFieldsMatchOnCreate, validateWindows; apimachinery field/errors.go ErrorBody;
//     utilerrors.NewAggregate; errors.NewInvalid ("Pod %q is invalid: ") and NewForbidden ("pods %q is forbidden: ").
//   PodSecurityPolicy: pkg/security/podsecuritypolicy/apparmor/strategy.go, admission.go wrapper (SUSE/skuba#523
//     shows "unable to validate against any pod security policy: [...]"; later "PodSecurityPolicy: unable to admit
//     pod: [...]" as in submariner#1736 on 1.20).
//   Pod Security Admission: kubernetes/pod-security-admission tags v0.22.0-v0.36.0 policy/check_appArmorProfile.go,
//     check_privileged.go, policy/checks.go AggregateCheckResult, admission/admission.go "violates PodSecurity %q: %s"
//     and "would violate PodSecurity %q: %s" (v0.22.0: the bare ForbiddenDetail with status reason Failure, and
//     "would violate %q version of %q PodSecurity profile: %s"); checks are reported in check-ID order (registry.go sorts IDs since
//     v0.24.0; before, init order = file order), so "forbidden AppArmor profile" precedes "privileged".
//   Warnings: strategy.go applyAppArmorVersionSkew (1.30+), KEP-2885 unknown-field warnings (1.25+).
//   Runtimes: containerd generateApparmorSpecOpts ("apparmor profile not found %s", "apparmor is not supported"),
//     wrapped "failed to generate apparmor spec opts: %w" and, in the CRI plugin of containerd 1.6+, "failed to get
//     container spec opts: %w"; CRI-O "empty localhost AppArmor profile is forbidden" (v1.24.0+); runc "apparmor
//     failed to apply profile".
import type { Decision } from '../../sim/types.js';

const Q = String.raw`"(?:[^"\\]|\\.)*"`; // Go %q of a string
const ANNOTATION_KEY = String.raw`container\.apparmor\.security\.beta\.kubernetes\.io/[^\]=]*`;
const ANNOTATION_FIELD = String.raw`metadata\.annotations\[${ANNOTATION_KEY}\]`;
const PROFILE_FIELD = String.raw`spec\.(?:(?:containers|initContainers|ephemeralContainers)\[\d+\]\.)?securityContext\.appArmorProfile`;

type Range = readonly [from: number, to: number];
const ALL: Range = [0, 99];

function within(version: number, range: Range): boolean {
  return version >= range[0] && version <= range[1];
}

function pick(version: number, table: readonly (readonly [Range, string])[]): string[] {
  return table.filter(([range]) => within(version, range)).map(([, pattern]) => pattern);
}

function anyOf(patterns: readonly string[]): string {
  return patterns.length === 0 ? '(?!)' : `(?:${patterns.join('|')})`;
}

/** validateHost and validateProfile errors of a kubelet version. */
export function kubeletErrors(kubelet: number): string[] {
  return pick(kubelet, [
    [[4, 32], 'AppArmor disabled by feature-gate'],
    [[4, 16], 'Binary not compiled for linux'],
    [[17, 19], 'binary not compiled for linux'],
    [ALL, 'AppArmor is not enabled on the host'],
    [[4, 7], String.raw`AppArmor is only enabled for 'docker' runtime\. Found: ${Q}\.`],
    [[8, 16], String.raw`AppArmor is only enabled for 'docker' and 'remote' runtimes\. Found: ${Q}\.`],
    [[17, 23], String.raw`AppArmor is only enabled for 'docker' and 'remote' runtimes\. Found: ${Q}`],
    [[4, 29], `invalid AppArmor profile name: ${Q}`],
    [[4, 23], `profile ${Q} is not loaded`],
    [[24, 29], String.raw`invalid empty AppArmor profile name: "localhost/(?:\s|\\[tnrv]|\\x[0-9a-f]{2}|\\u[0-9a-f]{4})*"`],
    [[30, 99], String.raw`invalid empty AppArmor profile name: &\{"Localhost" %!q\(\*string=0x[0-9a-f]+\)\}`],
  ]);
}

export function kubeletMessage(kubelet: number): RegExp {
  const prefix = kubelet <= 4 ? 'Pod Cannot enforce AppArmor: ' : kubelet <= 30 ? 'Cannot enforce AppArmor: ' : 'Pod was rejected: Cannot enforce AppArmor: ';
  return new RegExp(`^${prefix}${anyOf(kubeletErrors(kubelet))}$`);
}

/** One field.Error of the AppArmor validation of an API server version. */
export function apiFieldErrors(apiserver: number): string[] {
  return pick(apiserver, [
    [[4, 99], `${ANNOTATION_FIELD}: Invalid value: ${Q}: container not found`],
    [[4, 99], `${ANNOTATION_FIELD}: Invalid value: ${Q}: invalid AppArmor profile name: ${Q}`],
    [[4, 13], `${ANNOTATION_FIELD}: Forbidden: AppArmor is disabled by feature-gate`],
    [[30, 99], String.raw`${PROFILE_FIELD}\.localhostProfile: Required value: must be set when AppArmor type is Localhost`],
    [[30, 99], String.raw`${PROFILE_FIELD}\.localhostProfile: Invalid value: ${Q}: must not be padded with whitespace`],
    [[30, 31], String.raw`${PROFILE_FIELD}\.localhostProfile: Too long: may not be longer than 4095`],
    [[32, 99], String.raw`${PROFILE_FIELD}\.localhostProfile: Too long: may not be more than 4095 bytes`],
    [[30, 99], String.raw`${PROFILE_FIELD}\.localhostProfile: Invalid value: ${Q}: can only be set when AppArmor type is Localhost`],
    [[30, 99], String.raw`${PROFILE_FIELD}\.type: Required value: type is required when appArmorProfile is set`],
    [[30, 99], String.raw`${PROFILE_FIELD}\.type: Unsupported value: ${Q}: supported values: "Localhost", "RuntimeDefault", "Unconfined"`],
    [[30, 99], `${PROFILE_FIELD}: Forbidden: cannot be set for a windows pod`],
    [[30, 99], String.raw`${PROFILE_FIELD}\.type: Forbidden: apparmor type in annotation and field must match`],
    [[30, 99], String.raw`${PROFILE_FIELD}\.localhostProfile: Forbidden: apparmor profile in annotation and field must match`],
  ]);
}

export function invalidMessage(apiserver: number): RegExp {
  const e = anyOf(apiFieldErrors(apiserver));
  return new RegExp(`^Pod ${Q} is invalid: (?:${e}|\\[${e}(?:, ${e})*\\])$`);
}

export function pspMessage(apiserver: number): RegExp {
  const wrappers = pick(apiserver, [
    [[4, 19], 'unable to validate against any pod security policy'],
    [[17, 24], 'PodSecurityPolicy: unable to admit pod'],
  ]);
  const field = String.raw`pod\.metadata\.annotations\[${ANNOTATION_KEY}\]`;
  const e = `${field}: Forbidden: (?:AppArmor profile must be set|[^\\]]* is not an allowed profile\\. Allowed values: ${Q})`;
  return new RegExp(`^pods ${Q} is forbidden: ${anyOf(wrappers)}: \\[${e}(?: ${e})*\\]$`);
}

/** PSA's forbidden reasons, in check-ID order: appArmorProfile, then privileged. */
function psaFailures(apiserver: number): string {
  const containers = `containers? ${Q}(?:, ${Q})*`;
  const apparmor =
    apiserver <= 29
      ? `forbidden AppArmor profiles? \\(${ANNOTATION_KEY}=${Q}(?:, ${ANNOTATION_KEY}=${Q})*\\)`
      : `forbidden AppArmor profiles? \\((?:pod|${containers}|annotations?)(?: and (?:pod|${containers}|annotations?))* must not set AppArmor profile type to ".*"\\)`;
  const privileged = `privileged \\(${containers} must not set securityContext\\.privileged=true\\)`;
  return `(?:${apparmor}(?:, ${privileged})?|${privileged})`;
}

export function psaMessage(apiserver: number): RegExp {
  // v0.22.0 (k8s 1.22) denied with forbiddenResponse(result.ForbiddenDetail()): the bare failures, status reason
  // "Failure"; from v0.23.0 NewForbidden(..., "violates PodSecurity %q: %s").
  if (apiserver === 22) return new RegExp(`^${psaFailures(apiserver)}$`);
  return new RegExp(`^pods ${Q} is forbidden: violates PodSecurity "(?:baseline|restricted):(?:latest|v1\\.\\d+)": ${psaFailures(apiserver)}$`);
}

export function runtimeMessages(kubelet: number): RegExp[] {
  const containerdPrefix = kubelet >= 24 ? 'failed to get container spec opts' : '(?:failed to get container spec opts)?';
  return [
    new RegExp(`^${containerdPrefix}: failed to generate apparmor spec opts: (?:apparmor profile not found .+|apparmor is not supported|nil apparmor profile is not supported|unsupported apparmor profile type)$`, 's'),
    /^empty localhost AppArmor profile is forbidden$/,
    /^container create failed: apparmor failed to apply profile: .+$/,
  ];
}

/** API warnings (not the model's own "apparmor-sim: " notes). */
export function warningTemplates(apiserver: number): RegExp[] {
  // v0.22.0: "would violate %q version of %q PodSecurity profile: %s"; v0.23.0+: "would violate PodSecurity %q: %s".
  const templates = [
    apiserver === 22
      ? new RegExp(`^would violate "(?:latest|v1\\.\\d+)" version of "(?:baseline|restricted)" PodSecurity profile: ${psaFailures(apiserver)}$`)
      : new RegExp(`^would violate PodSecurity "(?:baseline|restricted):(?:latest|v1\\.\\d+)": ${psaFailures(apiserver)}$`),
  ];
  if (apiserver >= 25 && apiserver <= 29) templates.push(new RegExp(`^unknown field "${PROFILE_FIELD}"$`));
  if (apiserver >= 30) templates.push(new RegExp(`^${ANNOTATION_FIELD}: deprecated since v1\\.30; use the "appArmorProfile" field instead$`));
  return templates;
}

/** The templates a decision's message must match, by where it was decided. */
export function messageTemplates(decision: Pick<Decision, 'stage' | 'reason'>, apiserver: number, kubelet: number): RegExp[] {
  switch (decision.stage) {
    case 'apiserver':
      return decision.reason === 'Invalid' ? [invalidMessage(apiserver)] : [];
    case 'admission':
      if (decision.reason === 'Failure') return apiserver === 22 ? [psaMessage(apiserver)] : [];
      return decision.reason === 'Forbidden' ? [pspMessage(apiserver), psaMessage(apiserver)] : [];
    case 'kubelet':
      return decision.reason === 'AppArmor' ? [kubeletMessage(kubelet)] : [];
    case 'runtime':
      return decision.reason === 'CreateContainerError' ? runtimeMessages(kubelet) : [];
  }
}
