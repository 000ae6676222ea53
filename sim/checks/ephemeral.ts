import type { Check } from '../check.js';
import { pass, skip } from '../check.js';
import { containerPath } from '../pod.js';
import { appArmorFieldErrors } from './api-validate-fields.js';
import { runContainers } from './runtime-apply.js';

// Ephemeral containers cannot be set on create (ValidatePodCreate: spec.ephemeralContainers "cannot be set on
// create"); they are added to a running pod through the ephemeralcontainers subresource. The kubelet's AppArmor
// admission only looks at Pending pods, so only API validation, Pod Security Admission and the runtime see them.

export const apiValidateEphemeralFields: Check = {
  id: 'api-validate-ephemeral-apparmor-fields',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 30 },
  validation: true,
  source: 'k8s/k8s pkg/apis/core/validation/validation.go ValidatePodEphemeralContainersUpdate -> validateAppArmorProfileField',
  run(ctx) {
    const ephemeral = ctx.pod.containers.filter((c) => c.kind === 'ephemeralContainers' && c.appArmorProfile);
    if (ephemeral.length === 0) return skip('no ephemeral container sets appArmorProfile');
    const fieldErrors = ephemeral.flatMap((c) =>
      c.appArmorProfile ? appArmorFieldErrors(c.appArmorProfile, `${containerPath(ctx.pod, c)}.securityContext.appArmorProfile`) : [],
    );
    return fieldErrors.length === 0 ? pass('ephemeral appArmorProfile fields are valid') : { verdict: 'fail', detail: 'invalid ephemeral appArmorProfile field', fieldErrors };
  },
};

export const runtimeStartEphemeral: Check = {
  id: 'runtime-start-ephemeral-containers',
  stage: 'runtime',
  component: 'kubelet',
  versions: { from: 0 },
  source: 'k8s/k8s pkg/kubelet/kuberuntime startContainer for ephemeral containers; runtime models in sim/runtimes/',
  run(ctx, kubelet) {
    const ephemeral = ctx.pod.containers.filter((c) => c.kind === 'ephemeralContainers');
    const run = runContainers(ctx.pod, ephemeral, ctx.node, kubelet);
    if (run.failure) {
      return {
        verdict: 'fail',
        detail: run.details.join('; '),
        containers: run.results,
        refusal: { outcome: 'CreateContainerError', reason: 'CreateContainerError', message: run.failure.message },
      };
    }
    return { verdict: 'pass', detail: run.details.join('; '), containers: run.results };
  },
};
