import type { Check, CheckContext } from '../check.js';
import { pass, skip } from '../check.js';
import { goQuote } from '../apierrors.js';
import { LOCALHOST_PREFIX, findLoaded } from '../profile.js';
import type { Minor } from '../types.js';
import { profileFormatError } from './api-validate-annotations.js';
import { admittedContainers, kubeletProfileRequest, kubeletRefusal, kubeletSkipReason } from './kubelet-common.js';

// Per-container validation in validator.Validate, pkg/security/apparmor/validate.go: containers are visited init
// first, then regular; the first error wins.

function containerCheck(
  id: string,
  versions: { from: Minor; to?: Minor },
  source: string,
  validate: (request: string, ctx: CheckContext, kubelet: Minor) => string | undefined,
): Check {
  return {
    id,
    stage: 'kubelet',
    component: 'kubelet',
    versions,
    source,
    run(ctx, kubelet) {
      const skipped = kubeletSkipReason(ctx, kubelet);
      if (skipped) return skip(skipped);
      for (const container of admittedContainers(ctx.pod)) {
        const request = kubeletProfileRequest(ctx.pod, container, kubelet);
        const error = validate(request?.value ?? '', ctx, kubelet);
        if (error !== undefined) {
          return { verdict: 'fail', detail: `container "${container.name}": ${error}`, refusal: kubeletRefusal(kubelet, error) };
        }
      }
      return pass('every container passes');
    },
  };
}

/** The API server validates the same format, so only pods that bypass it (static pods) can fail here. */
export const kubeletProfileFormat = containerCheck(
  'kubelet-apparmor-profile-format',
  { from: 4, to: 29 },
  'k8s/k8s pkg/security/apparmor/validate.go validateProfile -> ValidateProfileFormat',
  (request, _ctx, kubelet) => profileFormatError(request, kubelet),
);

/**
 * Until 1.23 the kubelet requires a localhost profile to be listed in <securityfs>/apparmor/profiles. 1.24 removed
 * the check: "Removed validation if AppArmor profiles are loaded on the local node. This should be handled by the
 * container runtime. (#97966)" (CHANGELOG-1.24, v1.24.0-alpha.2).
 */
export const kubeletProfileLoaded = containerCheck(
  'kubelet-apparmor-profile-loaded',
  { from: 4, to: 23 },
  'k8s/k8s pkg/security/apparmor/validate.go validateProfile: profile %q is not loaded (removed by #97966 in 1.24)',
  (request, ctx) => {
    if (!request.startsWith(LOCALHOST_PREFIX)) return undefined;
    const name = request.slice(LOCALHOST_PREFIX.length);
    return findLoaded(ctx.node.profiles, name) ? undefined : `profile ${goQuote(name)} is not loaded`;
  },
);

/**
 * 1.24+: "Forbid empty AppArmor localhost profile" (#108143). 1.24-1.29 format the annotation value; 1.30+ format
 * the *v1.AppArmorProfile pointer with %q, which prints the struct and a pointer address.
 */
const STRUCT_MESSAGE_FROM: Minor = 30;
export const kubeletEmptyLocalhost = containerCheck(
  'kubelet-apparmor-empty-localhost-name',
  { from: 24 },
  'k8s/k8s pkg/security/apparmor/validate.go Validate: invalid empty AppArmor profile name (#108143)',
  (request, _ctx, kubelet) => {
    if (!request.startsWith(LOCALHOST_PREFIX) || request.slice(LOCALHOST_PREFIX.length).trim() !== '') return undefined;
    if (kubelet < STRUCT_MESSAGE_FROM) return `invalid empty AppArmor profile name: ${goQuote(request)}`;
    return `invalid empty AppArmor profile name: &{"Localhost" %!q(*string=0xc000000000)}`;
  },
);
