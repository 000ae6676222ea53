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

/** spec.ephemeralContainers is a PodSpec field from 1.16 (KEP-277, kubernetes/enhancements#277). */
export const EPHEMERAL_FIELD_FROM = 16;

/**
 * ValidatePodCreate, pkg/apis/core/validation/validation.go (@000f260): "EphemeralContainers can only be set on update
 * using the ephemeralcontainers subresource" -> field.Forbidden(spec.ephemeralContainers, "cannot be set on create"),
 * after the metadata and spec errors and before validateAppArmorAnnotationsAndFieldsMatchOnCreate. Only when the create
 * itself carries them; while the EphemeralContainers gate is off (1.16-1.22 by default) dropDisabledFields removed them
 * first (sim/simulate.ts), and before 1.16 the decoder does not know the field.
 */
export const apiEphemeralOnCreate: Check = {
  id: 'api-validate-ephemeral-on-create',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: EPHEMERAL_FIELD_FROM },
  validation: true,
  source: 'k8s/k8s pkg/apis/core/validation/validation.go ValidatePodCreate ("cannot be set on create", @000f260)',
  run(ctx) {
    if (!ctx.ephemeralOnCreate || !ctx.pod.containers.some((c) => c.kind === 'ephemeralContainers')) return skip('the create carries no spec.ephemeralContainers');
    return { verdict: 'fail', detail: 'spec.ephemeralContainers is set on create', fieldErrors: [{ type: 'Forbidden', field: 'spec.ephemeralContainers', detail: 'cannot be set on create' }] };
  },
};

/**
 * validateContainers, pkg/apis/core/validation/validation.go (@000f260): `if len(containers) == 0 { return
 * append(allErrs, field.Required(fldPath, "")) }`, called from ValidatePodSpec after the annotations were validated and
 * before the security contexts are.
 */
export const apiContainersRequired: Check = {
  id: 'api-validate-containers-required',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 0 },
  validation: true,
  source: 'k8s/k8s pkg/apis/core/validation/validation.go validateContainers (field.Required, @000f260)',
  run(ctx) {
    if (ctx.pod.containers.some((c) => c.kind === 'containers')) return skip('spec.containers is not empty');
    return { verdict: 'fail', detail: 'spec.containers is empty', fieldErrors: [{ type: 'Required', field: 'spec.containers', detail: '' }] };
  },
};
