import { strictDecodingMessage } from '../apierrors.js';
import type { Check } from '../check.js';
import { skip } from '../check.js';
import { effectiveFieldValidation, SERVER_SIDE_FIELD_VALIDATION_FROM } from '../field-validation.js';
import { containerPath } from '../pod.js';
import type { Minor, Pod } from '../types.js';

/**
 * Before 1.30 the appArmorProfile fields do not exist in the API: the decoder drops them, warns, or refuses the body,
 * as the request's fieldValidation says (sim/field-validation.ts). Sources: KEP-2885 server-side unknown field
 * validation (beta 1.25, GA 1.27); k8s.io/api core/v1 types.go gains AppArmorProfile in kubernetes-1.30.0.
 */
const FIELDS_EXIST_FROM = 30;

/**
 * The unknown-field paths in the order the strict decoder meets them. kubectl sends an unstructured object, which
 * encoding/json marshals with sorted map keys: spec.containers, spec.ephemeralContainers, spec.initContainers, then
 * spec.securityContext. `prefix` is the pod spec's parent path ("" for a Pod, "spec.template." for a Deployment).
 */
export function unknownAppArmorFieldPaths(pod: Pod, prefix: string): string[] {
  const paths: string[] = [];
  for (const kind of ['containers', 'ephemeralContainers', 'initContainers'] as const) {
    for (const container of pod.containers) {
      if (container.kind === kind && container.appArmorProfile) paths.push(`${prefix}${containerPath(pod, container)}.securityContext.appArmorProfile`);
    }
  }
  if (pod.appArmorProfile) paths.push(`${prefix}spec.securityContext.appArmorProfile`);
  return paths;
}

export function withoutAppArmorFields(pod: Pod): Pod {
  return { ...pod, appArmorProfile: undefined, containers: pod.containers.map((c) => ({ ...c, appArmorProfile: undefined })) };
}

export function appArmorFieldsExist(apiserver: Minor): boolean {
  return apiserver >= FIELDS_EXIST_FROM;
}

export const apiUnknownFields: Check = {
  id: 'api-drop-unknown-apparmor-fields',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 0, to: FIELDS_EXIST_FROM - 1 },
  source: 'k8s.io/api core/v1 types.go (AppArmorProfile added in kubernetes-1.30.0); KEP-2885 fieldValidation; apiserver handlers/create.go',
  run(ctx, apiserver) {
    const dropped = unknownAppArmorFieldPaths(ctx.pod, '');
    if (dropped.length === 0) return skip('no appArmorProfile fields in the pod');
    const directive = effectiveFieldValidation(ctx.fieldValidation, apiserver);
    const notes: string[] = [];
    if (ctx.fieldValidation !== undefined && apiserver < SERVER_SIDE_FIELD_VALIDATION_FROM) {
      notes.push(`fieldValidation=${ctx.fieldValidation} is not honoured by a 1.${apiserver} API server (server-side field validation is on by default from 1.${SERVER_SIDE_FIELD_VALIDATION_FROM}): unknown fields are dropped silently`);
    }
    if (directive === 'Strict') {
      return {
        verdict: 'fail',
        detail: `fieldValidation=Strict: the decoder refuses ${dropped.join(', ')} (unknown before 1.${FIELDS_EXIST_FROM})`,
        refusal: { outcome: 'Forbidden', reason: 'BadRequest', message: strictDecodingMessage('Pod', 'v1', dropped) },
      };
    }
    notes.push(`the appArmorProfile fields are unknown to a 1.${apiserver} API server and are dropped; use the beta annotations`);
    return {
      verdict: 'mutate',
      detail: `appArmorProfile fields do not exist before 1.${FIELDS_EXIST_FROM}; the API server drops ${dropped.join(', ')} (fieldValidation ${directive})`,
      pod: withoutAppArmorFields(ctx.pod),
      warnings: directive === 'Warn' ? dropped.map((path) => `unknown field "${path}"`) : [],
      notes,
    };
  },
};

/**
 * Before 1.6 spec.initContainers is not a JSON field: 1.4 and 1.5 declare `InitContainers []Container \`json:"-"\``
 * (client-go@v1.4.0 1.4/pkg/api/v1/types.go, client-go@v2.0.0 pkg/api/v1/types.go, the 1.5 copy) and take init
 * containers only from the pod.beta.kubernetes.io/init-containers annotation; 1.6 makes it a field
 * (`json:"initContainers,omitempty"`, client-go@v3.0.0 pkg/api/v1/types.go). The decoder drops the field silently
 * (no unknown-field warnings before 1.25), so later checks never see those containers.
 */
export const INIT_CONTAINERS_FIELD_FROM: Minor = 6;

export const apiUnknownInitContainers: Check = {
  id: 'api-drop-unknown-init-containers-field',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 0, to: INIT_CONTAINERS_FIELD_FROM - 1 },
  source: 'k8s/k8s pkg/api/v1/types.go PodSpec.InitContainers json:"-" (client-go@v1.4.0, @v2.0.0); json:"initContainers" from 1.6 (client-go@v3.0.0)',
  run(ctx, apiserver) {
    const dropped = ctx.pod.containers.filter((c) => c.kind === 'initContainers');
    if (dropped.length === 0) return skip('no spec.initContainers');
    return {
      verdict: 'mutate',
      detail: `spec.initContainers is not a field before 1.${INIT_CONTAINERS_FIELD_FROM}; the API server drops ${dropped.map((c) => `"${c.name}"`).join(', ')}`,
      pod: { ...ctx.pod, containers: ctx.pod.containers.filter((c) => c.kind !== 'initContainers') },
      notes: [`spec.initContainers is unknown to a 1.${apiserver} API server and is dropped (init containers were the pod.beta.kubernetes.io/init-containers annotation until 1.6, which the model does not read)`],
    };
  },
};
