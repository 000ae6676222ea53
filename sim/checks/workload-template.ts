// Checks of a workload's own create (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
// CronJob, PodTemplate): decoding, validation of its pod template, and the warnings on it. The pod checks' logic is
// reused with the template's field paths.
import type { FieldError } from '../apierrors.js';
import { strictDecodingMessage } from '../apierrors.js';
import type { Check, CheckContext, CheckResult, WorkloadKindInfo } from '../check.js';
import { pass, skip } from '../check.js';
import { gateEnabled } from '../feature-gates.js';
import { effectiveFieldValidation } from '../field-validation.js';
import { ANNOTATION_PREFIX, annotationKey } from '../pod.js';
import type { Minor, Pod } from '../types.js';
import { appArmorFieldsExist, unknownAppArmorFieldPaths, withoutAppArmorFields } from './api-unknown-fields.js';
import { apiValidateAnnotations } from './api-validate-annotations.js';
import { fieldValidationErrors } from './api-validate-fields.js';
import { apiValidateAnnotationFieldMatch } from './api-validate-match.js';
import { apiValidateWindows } from './api-validate-windows.js';
import { EPHEMERAL_FIELD_FROM } from './ephemeral.js';
import { INIT_CONTAINERS_FIELD_FROM } from './api-unknown-fields.js';

function workloadOf(ctx: CheckContext): WorkloadKindInfo {
  if (!ctx.workload) throw new Error('workload check without a workload');
  return ctx.workload;
}

/**
 * A pod check's field path on the template. ValidatePodTemplateSpec (pkg/apis/core/validation/validation.go @000f260)
 * passes fldPath.Child("annotations") to ValidatePodSpecificAnnotations, so the annotation errors say
 * `spec.template.annotations[...]` (no "metadata"), and fldPath.Child("spec") to ValidatePodSpec and the
 * annotation/field match.
 */
export function templateField(field: string, templatePath: string): string {
  if (field.startsWith('metadata.annotations')) return `${templatePath}.${field.slice('metadata.'.length)}`;
  return `${templatePath}.${field}`;
}

function rebase(errors: readonly FieldError[] | undefined, templatePath: string): FieldError[] {
  return (errors ?? []).map((e) => ({ ...e, field: templateField(e.field, templatePath) }));
}


/**
 * Decoding the workload: fields the API server of that version does not know are refused (fieldValidation=Strict,
 * HTTP 400 "... cannot be handled as a Deployment: strict decoding error: unknown field ..."), warned about (Warn) or
 * dropped (Ignore, and every request before 1.25). The path is the full path in the workload
 * ("spec.template.spec.containers[0].securityContext.appArmorProfile"). Sources: apiserver handlers/create.go and
 * rest.go transformDecodeError; KEP-2885.
 */
export const workloadDecode: Check = {
  id: 'workload-decode-unknown-fields',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 0 },
  source: 'k8s/k8s staging/src/k8s.io/apiserver/pkg/endpoints/handlers/create.go, rest.go transformDecodeError; KEP-2885',
  run(ctx, apiserver) {
    const workload = workloadOf(ctx);
    let pod: Pod = ctx.pod;
    const unknown = appArmorFieldsExist(apiserver) ? [] : unknownAppArmorFieldPaths(pod, `${workload.templatePath}.`);
    const notes: string[] = [];
    if (apiserver < INIT_CONTAINERS_FIELD_FROM && pod.containers.some((c) => c.kind === 'initContainers')) {
      pod = { ...pod, containers: pod.containers.filter((c) => c.kind !== 'initContainers') };
      notes.push(`${workload.templatePath}.spec.initContainers is unknown to a 1.${apiserver} API server and is dropped`);
    }
    if (apiserver < EPHEMERAL_FIELD_FROM && pod.containers.some((c) => c.kind === 'ephemeralContainers')) {
      pod = { ...pod, containers: pod.containers.filter((c) => c.kind !== 'ephemeralContainers') };
      notes.push(`${workload.templatePath}.spec.ephemeralContainers is unknown to a 1.${apiserver} API server and is dropped`);
    }
    if (unknown.length === 0) return notes.length ? { verdict: 'mutate', detail: notes.join('; '), pod, notes } : skip('no field unknown to this version');
    const directive = effectiveFieldValidation(ctx.fieldValidation, apiserver);
    if (directive === 'Strict') {
      return {
        verdict: 'fail',
        detail: `fieldValidation=Strict refuses ${unknown.join(', ')}`,
        refusal: { outcome: 'Forbidden', reason: 'BadRequest', message: strictDecodingMessage(workload.kind, workload.version, unknown) },
      };
    }
    notes.push(`the appArmorProfile fields are unknown to a 1.${apiserver} API server and are dropped from the ${workload.kind}; use the beta annotations`);
    return {
      verdict: 'mutate',
      detail: `fieldValidation ${directive}: the API server drops ${unknown.join(', ')}`,
      pod: withoutAppArmorFields(pod),
      warnings: directive === 'Warn' ? unknown.map((path) => `unknown field "${path}"`) : [],
      notes,
    };
  },
};

/**
 * StatefulSet templates were not run through ValidatePodTemplateSpec: ValidatePodTemplateSpecForStatefulSet
 * (pkg/apis/apps/validation/validation.go) validated only labels and annotations ("TODO: Add validation for PodSpec")
 * until kubernetes/kubernetes#131790 ("add podSpec validation for create StatefulSet", 1.34). A bad field is accepted and
 * every pod the controller creates is refused (kubernetes/kubernetes#81147 shows the event).
 */
const STATEFULSET_POD_SPEC_VALIDATED_FROM: Minor = 34;

/**
 * ValidatePodTemplateSpec (pkg/apis/core/validation/validation.go @000f260) in its order: pod-specific annotations,
 * ValidatePodSpec (containers required, container and pod appArmorProfile fields, windows), the annotation/field match,
 * then "ephemeral containers not allowed in pod template". One 422 for the workload, `Kind.group "name" is invalid`.
 */
export const workloadValidateTemplate: Check = {
  id: 'workload-validate-pod-template',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 0 },
  validation: true,
  source: 'k8s/k8s pkg/apis/core/validation/validation.go ValidatePodTemplateSpec (@000f260); pkg/apis/apps/validation ValidatePodTemplateSpecForStatefulSet',
  run(ctx, apiserver) {
    const workload = workloadOf(ctx);
    const at = workload.templatePath;
    const errors: FieldError[] = [];
    const reuse = (check: Check): FieldError[] => (check.versions.from <= apiserver ? rebase(check.run(ctx, apiserver).fieldErrors, at) : []);
    errors.push(...reuse(apiValidateAnnotations));
    const podSpecValidated = workload.kind !== 'StatefulSet' || apiserver >= STATEFULSET_POD_SPEC_VALIDATED_FROM;
    if (podSpecValidated) {
      if (!ctx.pod.containers.some((c) => c.kind === 'containers')) errors.push({ type: 'Required', field: `${at}.spec.containers`, detail: '' });
      if (appArmorFieldsExist(apiserver)) {
        errors.push(...rebase(fieldValidationErrors(ctx.pod), at));
        errors.push(...reuse(apiValidateWindows));
        errors.push(...reuse(apiValidateAnnotationFieldMatch));
      }
      if (apiserver >= EPHEMERAL_FIELD_FROM && gateEnabled(ctx.cluster.featureGates, 'EphemeralContainers', apiserver) && ctx.pod.containers.some((c) => c.kind === 'ephemeralContainers')) {
        errors.push({ type: 'Forbidden', field: `${at}.spec.ephemeralContainers`, detail: 'ephemeral containers not allowed in pod template' });
      }
    }
    const notes = podSpecValidated ? [] : [`a 1.${apiserver} API server does not validate a StatefulSet's pod spec (only its annotations, until 1.${STATEFULSET_POD_SPEC_VALIDATED_FROM}): what is wrong in it shows when the controller creates the pods`];
    if (errors.length === 0) return pass(`the pod template at ${at} is valid${podSpecValidated ? '' : ' (annotations only)'}`, { notes });
    return { verdict: 'fail', detail: `${errors.length} error(s) in the pod template`, fieldErrors: errors, notes };
  },
};

/**
 * GetWarningsForPodTemplate, pkg/api/pod/warnings.go (kubernetes/kubernetes 1.30+, behind AppArmorFields): for each
 * container (init, regular, ephemeral) with a beta annotation and neither a container nor a pod appArmorProfile field,
 * `<fieldPath>.metadata.annotations[<key>]: deprecated since v1.30; use the "appArmorProfile" field instead`, with
 * fieldPath.Child("metadata", "annotations") (so `spec.template.metadata.annotations[...]`, unlike the error path).
 * Returned by the workload strategies' WarningsOnCreate after validation passed (warnings_test.go TestTemplateOnlyWarnings).
 */
export const workloadTemplateWarnings: Check = {
  id: 'workload-pod-template-warnings',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 30 },
  source: 'k8s/k8s pkg/api/pod/warnings.go warningsForPodSpecAndMeta (isPodTemplate, 1.30+)',
  run(ctx, apiserver): CheckResult {
    const workload = workloadOf(ctx);
    if (!gateEnabled(ctx.cluster.featureGates, 'AppArmorFields', apiserver)) return skip('AppArmorFields gate off');
    const warnings: string[] = [];
    for (const kind of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
      for (const container of ctx.pod.containers) {
        if (container.kind !== kind || ctx.pod.appArmorProfile || container.appArmorProfile) continue;
        const key = annotationKey(container.name);
        if (ctx.pod.annotations[key] !== undefined) warnings.push(`${workload.templatePath}.metadata.annotations[${key}]: deprecated since v1.30; use the "appArmorProfile" field instead`);
      }
    }
    if (warnings.length === 0) return skip(`no ${ANNOTATION_PREFIX}* annotation without a field`);
    return { verdict: 'pass', detail: `${warnings.length} deprecated annotation(s) in the template`, warnings };
  },
};
