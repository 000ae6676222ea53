import type { FieldError } from '../apierrors.js';
import { formatFieldError, forbiddenPodMessage, goQuote } from '../apierrors.js';
import type { Check } from '../check.js';
import { skip } from '../check.js';
import { annotationKey } from '../pod.js';
import type { Container, Minor, Pod, PodSecurityPolicyFacts } from '../types.js';

/**
 * PodSecurityPolicy's AppArmor strategy, pkg/security/podsecuritypolicy/apparmor/strategy.go (PR #30183, 1.4), in the
 * PodSecurityPolicy admission plugin until its removal in 1.25 (#109798). Mutating admission: it runs before the
 * pod strategy and validation.
 */
export const PSP_REMOVED_IN: Minor = 25;
/**
 * admission.go wraps the field.ErrorList (printed by %v: `[e1 e2]`) as "unable to validate against any pod security
 * policy: %v" through 1.18 (vendored v1.16.6 admission.go, kubernetes-sigs/cluster-capacity@8a73ea001; 1.18.0 logs in
 * minikube#7314 still lack the "PodSecurityPolicy: " prefix added with the rewording) and as "PodSecurityPolicy: unable
 * to admit pod: %v" (Admit; Validate says "unable to validate pod") from 1.19 (v1.19.2 in cert-manager#3374) to 1.24.
 * Pinned from reports, not from the release tag's source (the kubernetes repository was too large to fetch).
 */
const ADMIT_POD_WORDING_FROM: Minor = 19;
/**
 * From 1.9 the plugin sorts policies by name and prefers one that admits the pod without changing it (#52849). 1.4-1.8
 * take the first validating policy in informer-cache List() order (a Go map: unspecified; vendored 1.4-1.8
 * admission.go getMatchingPolicies); the model uses name order there as a deterministic stand-in.
 */
const PREFERS_NON_MUTATING_FROM: Minor = 9;

interface PolicyVerdict {
  policy: PodSecurityPolicyFacts;
  errors: FieldError[];
  pod: Pod;
  mutated: boolean;
}

function evaluatePolicy(policy: PodSecurityPolicyFacts, pod: Pod): PolicyVerdict {
  const annotations: Record<string, string> = { ...pod.annotations };
  let mutated = false;
  const containers = pod.containers.filter((c: Container) => c.kind !== 'ephemeralContainers');
  if (policy.defaultProfileName) {
    for (const container of containers) {
      const key = annotationKey(container.name);
      if (!annotations[key]) {
        annotations[key] = policy.defaultProfileName;
        mutated = true;
      }
    }
  }
  const errors: FieldError[] = [];
  if (policy.allowedProfileNames !== undefined) {
    const allowed = new Set(policy.allowedProfileNames.split(','));
    for (const container of containers) {
      const key = annotationKey(container.name);
      // field.NewPath("pod", "metadata", "annotations").Key(...) in strategy.go, every version.
      const field = `pod.metadata.annotations[${key}]`;
      const profile = annotations[key] ?? '';
      if (profile === '') {
        errors.push({ type: 'Forbidden', field, detail: 'AppArmor profile must be set' });
      } else if (!allowed.has(profile)) {
        errors.push({ type: 'Forbidden', field, detail: `${profile} is not an allowed profile. Allowed values: ${goQuote(policy.allowedProfileNames)}` });
      }
    }
  }
  return { policy, errors, pod: mutated ? { ...pod, annotations } : pod, mutated };
}

/**
 * PodSecurityPolicy is a mutating admission plugin: it runs before the registry generates the name, so
 * admission.NewForbidden (extractResourceName) names the pod by its generateName, e.g. `pods "web-6c96db7488-" is
 * forbidden`. Validation and validating admission (PSA) run after name generation and show the generated name.
 */
function nameBeforeGeneration(pod: Pod): string {
  return pod.name || pod.generateName || 'Unknown';
}

export const podSecurityPolicy: Check = {
  id: 'admission-podsecuritypolicy-apparmor',
  stage: 'admission',
  component: 'apiserver',
  versions: { from: 4, to: PSP_REMOVED_IN - 1 },
  source: 'k8s/k8s pkg/security/podsecuritypolicy/apparmor/strategy.go; plugin/pkg/admission/security/podsecuritypolicy/admission.go',
  run(ctx, apiserver) {
    const policies = [...ctx.cluster.podSecurityPolicies].sort((a, b) => a.name.localeCompare(b.name));
    if (policies.length === 0) return skip('no PodSecurityPolicies given (admission plugin not in use)');
    const verdicts = policies.map((policy) => evaluatePolicy(policy, ctx.pod));
    const admitting = verdicts.filter((v) => v.errors.length === 0);
    const chosen = apiserver >= PREFERS_NON_MUTATING_FROM ? (admitting.find((v) => !v.mutated) ?? admitting[0]) : admitting[0];
    if (chosen) {
      return {
        verdict: chosen.mutated ? 'mutate' : 'pass',
        detail: `admitted by PodSecurityPolicy ${chosen.policy.name}${chosen.mutated ? ' (default AppArmor profile added)' : ''}`,
        pod: chosen.pod,
      };
    }
    const errors = verdicts.flatMap((v) => v.errors.map((e) => formatFieldError(e, apiserver)));
    return {
      verdict: 'fail',
      detail: `no PodSecurityPolicy admits the pod: ${errors.join('; ')}`,
      refusal: { outcome: 'Forbidden', reason: 'Forbidden', message: forbiddenPodMessage(nameBeforeGeneration(ctx.pod), `${apiserver >= ADMIT_POD_WORDING_FROM ? 'PodSecurityPolicy: unable to admit pod' : 'unable to validate against any pod security policy'}: [${errors.join(' ')}]`) },
    };
  },
};
