import { forbiddenPodMessage, goQuote } from '../apierrors.js';
import type { Check } from '../check.js';
import { skip } from '../check.js';
import { gateEnabled } from '../feature-gates.js';
import { ANNOTATION_PREFIX, podDisplayName } from '../pod.js';
import type { Minor, Pod } from '../types.js';

// Pod Security Admission (k8s.io/pod-security-admission), alpha in 1.22 behind PodSecurity (off), beta and on in
// 1.23, GA in 1.25. Only the checks whose inputs the model has are evaluated: appArmorProfile and privileged.

type Level = 'privileged' | 'baseline' | 'restricted';
const LEVELS: readonly Level[] = ['privileged', 'baseline', 'restricted'];
const LABEL_PREFIX = 'pod-security.kubernetes.io/';

interface ModePolicy {
  level: Level;
  version: string;
  labelError?: string;
}

/**
 * api.PolicyToEvaluate (pod-security-admission api/helpers.go): an unset label means privileged:latest. A level that
 * does not parse is restricted for enforce ("If labels cannot be parsed correctly, the values of "restricted" and
 * "latest" are used") but privileged for warn and audit ("Fail open for warn"); a version that does not parse is
 * latest and leaves the level alone. Warn does not default to enforce.
 */
export function policyForMode(labels: Readonly<Record<string, string>>, mode: 'enforce' | 'warn' | 'audit', cluster: Minor): ModePolicy {
  const rawLevel = labels[LABEL_PREFIX + mode];
  const rawVersion = labels[`${LABEL_PREFIX}${mode}-version`];
  let level: Level = 'privileged';
  let version = 'latest';
  let labelError: string | undefined;
  if (rawLevel !== undefined) {
    if ((LEVELS as readonly string[]).includes(rawLevel)) level = rawLevel as Level;
    else {
      level = mode === 'enforce' ? 'restricted' : 'privileged';
      labelError = `invalid ${LABEL_PREFIX}${mode} label value ${JSON.stringify(rawLevel)}`;
    }
  }
  if (rawVersion !== undefined) {
    const match = /^v1\.(\d+)$/.exec(rawVersion);
    if (rawVersion === 'latest') version = 'latest';
    else if (match) version = Number(match[1]) > cluster ? 'latest' : rawVersion;
    else {
      version = 'latest';
      labelError = `invalid ${LABEL_PREFIX}${mode}-version label value ${JSON.stringify(rawVersion)}`;
    }
  }
  return { level, version, labelError };
}

interface PsaCheckResult {
  reason: string;
  detail: string;
}

function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

function joinQuote(items: readonly string[]): string {
  return items.map((item) => `"${item}"`).join(', ');
}

/** policy/check_appArmorProfile.go: annotations only until v0.29; fields too from v0.30 (k8s 1.30). */
const CHECKS_FIELDS_FROM: Minor = 30;
const ALLOWED_ANNOTATION_VALUES = (value: string) => value === '' || value === 'runtime/default' || value.startsWith('localhost/');

export function appArmorProfileCheck(pod: Pod, cluster: Minor): PsaCheckResult | undefined {
  // fmt.Sprintf("%s=%q", k, v), sorted, in every version.
  const annotations = Object.entries(pod.annotations)
    .filter(([key, value]) => key.startsWith(ANNOTATION_PREFIX) && !ALLOWED_ANNOTATION_VALUES(value))
    .map(([key, value]) => `${key}=${goQuote(value)}`)
    .sort();
  const reason = (count: number) => pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', count);
  if (cluster < CHECKS_FIELDS_FROM) {
    if (annotations.length === 0) return undefined;
    return { reason: reason(annotations.length), detail: annotations.join(', ') };
  }
  // appArmorProfileV1Dot0 (v0.30+): setters are "pod", `container(s) "a", "b"`, "annotation(s)"; the bad values are
  // the sorted field types followed by the sorted annotation entries, all through joinQuote.
  const badSetters: string[] = [];
  const badTypes = new Set<string>();
  const allowedType = (type: string) => type === 'RuntimeDefault' || type === 'Localhost';
  if (pod.appArmorProfile && !allowedType(pod.appArmorProfile.type)) {
    badSetters.push('pod');
    badTypes.add(pod.appArmorProfile.type);
  }
  const badContainers = pod.containers.filter((c) => c.appArmorProfile && !allowedType(c.appArmorProfile.type));
  for (const c of badContainers) badTypes.add(c.appArmorProfile?.type ?? '');
  if (badContainers.length > 0) {
    badSetters.push(`${pluralize('container', 'containers', badContainers.length)} ${joinQuote(badContainers.map((c) => c.name))}`);
  }
  if (annotations.length > 0) badSetters.push(pluralize('annotation', 'annotations', annotations.length));
  if (badSetters.length === 0) return undefined;
  const badValues = [...[...badTypes].sort(), ...annotations];
  return {
    reason: reason(badValues.length),
    detail: `${badSetters.join(' and ')} must not set AppArmor profile type to ${joinQuote(badValues)}`,
  };
}

/** policy/check_privileged.go (baseline, all versions). */
export function privilegedCheck(pod: Pod): PsaCheckResult | undefined {
  const names = pod.containers.filter((c) => c.privileged).map((c) => c.name);
  if (names.length === 0) return undefined;
  return { reason: 'privileged', detail: `${pluralize('container', 'containers', names.length)} ${joinQuote(names)} must not set securityContext.privileged=true` };
}

function evaluate(pod: Pod, level: Level, cluster: Minor): PsaCheckResult[] {
  if (level === 'privileged') return [];
  // Failures are reported in check-ID order: policy/registry.go sorts the IDs (v0.24.0+), and before that checks ran in
  // registration order, check_appArmorProfile.go before check_privileged.go; "appArmorProfile" < "privileged" either way.
  return [appArmorProfileCheck(pod, cluster), privilegedCheck(pod)].filter((r): r is PsaCheckResult => r !== undefined);
}

function describeFailures(failures: readonly PsaCheckResult[]): string {
  return failures.map((f) => `${f.reason} (${f.detail})`).join(', ');
}

/**
 * kubernetes/pod-security-admission@v0.22.0 (k8s 1.22) admission/admission.go denies with
 * forbiddenResponse(result.ForbiddenDetail()) = failureResponse(msg, metav1.StatusFailure, 403), and the k/k plugin
 * (plugin/pkg/admission/security/podsecurity/admission.go) copies Result.Message and Result.Reason into its
 * StatusError: the client sees reason "Failure" and the bare detail. It warns as
 * `would violate %q version of %q PodSecurity profile: %s`. From v0.23.0 (k8s 1.23) the denial is
 * NewForbidden(..., "violates PodSecurity %q: %s") and the warning `would violate PodSecurity %q: %s`.
 */
const VIOLATES_WORDING_FROM: Minor = 23;

export const podSecurityAdmission: Check = {
  id: 'admission-pod-security',
  stage: 'admission',
  component: 'apiserver',
  versions: { from: 22 },
  source: 'kubernetes/pod-security-admission policy/check_appArmorProfile.go, check_privileged.go, admission/admission.go',
  run(ctx, cluster) {
    if (!gateEnabled(ctx.cluster.featureGates, 'PodSecurity', cluster)) return skip(`PodSecurity feature gate off in 1.${cluster}`);
    const labels = ctx.cluster.namespace.labels;
    if (!Object.keys(labels).some((k) => k.startsWith(LABEL_PREFIX))) return skip('namespace has no pod-security.kubernetes.io labels (privileged)');
    const notes: string[] = [];
    const warn = policyForMode(labels, 'warn', cluster);
    const enforce = policyForMode(labels, 'enforce', cluster);
    if (enforce.labelError) notes.push(`${enforce.labelError}: Pod Security Admission evaluates ${enforce.level}:${enforce.version}`);
    if (enforce.level === 'restricted' || warn.level === 'restricted') {
      notes.push('only the privileged and appArmorProfile checks of Pod Security Admission are modelled; restricted has more');
    }
    const failures = evaluate(ctx.pod, enforce.level, cluster);
    if (failures.length === 0) {
      // admission.go: "avoid adding warnings to a request we're already going to reject with an error".
      const warnings: string[] = [];
      const warnFailures = evaluate(ctx.pod, warn.level, cluster);
      if (warnFailures.length > 0) {
        warnings.push(
          cluster >= VIOLATES_WORDING_FROM
            ? `would violate PodSecurity "${warn.level}:${warn.version}": ${describeFailures(warnFailures)}`
            : `would violate "${warn.version}" version of "${warn.level}" PodSecurity profile: ${describeFailures(warnFailures)}`,
        );
      }
      return { verdict: 'pass', detail: `allowed by PodSecurity "${enforce.level}:${enforce.version}"`, warnings, notes };
    }
    const cause = `violates PodSecurity "${enforce.level}:${enforce.version}": ${describeFailures(failures)}`;
    const refusal =
      cluster >= VIOLATES_WORDING_FROM
        ? { outcome: 'Forbidden' as const, reason: 'Forbidden', message: forbiddenPodMessage(podDisplayName(ctx.pod), cause) }
        : { outcome: 'Forbidden' as const, reason: 'Failure', message: describeFailures(failures) };
    return { verdict: 'fail', detail: cause, notes, refusal };
  },
};

/**
 * ValidatePodController, pod-security-admission admission/admission.go (v0.22.0+; @v0.36-era source read): a workload
 * is never refused. Its pod template is evaluated with enforce=false, so only the warn policy (the
 * pod-security.kubernetes.io/warn labels; PolicyToEvaluate does not default warn to enforce) produces a warning, with
 * the same wording as for pods. Namespaces whose warn and audit levels are privileged are skipped outright.
 */
export const podSecurityAdmissionWorkload: Check = {
  id: 'admission-pod-security-workload',
  stage: 'admission',
  component: 'apiserver',
  versions: { from: 22 },
  source: 'kubernetes/pod-security-admission admission/admission.go ValidatePodController, EvaluatePod(enforce=false)',
  run(ctx, cluster) {
    if (!gateEnabled(ctx.cluster.featureGates, 'PodSecurity', cluster)) return skip(`PodSecurity feature gate off in 1.${cluster}`);
    const labels = ctx.cluster.namespace.labels;
    const warn = policyForMode(labels, 'warn', cluster);
    if (warn.level === 'privileged') return skip('warn level privileged: Pod Security Admission does not evaluate workloads');
    const failures = evaluate(ctx.pod, warn.level, cluster);
    if (failures.length === 0) return { verdict: 'pass', detail: `pod template allowed by PodSecurity "${warn.level}:${warn.version}" (warn)` };
    const warning =
      cluster >= VIOLATES_WORDING_FROM
        ? `would violate PodSecurity "${warn.level}:${warn.version}": ${describeFailures(failures)}`
        : `would violate "${warn.version}" version of "${warn.level}" PodSecurity profile: ${describeFailures(failures)}`;
    return { verdict: 'pass', detail: `workloads are not refused; warn: ${describeFailures(failures)}`, warnings: [warning] };
  },
};
