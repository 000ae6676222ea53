import type { Check } from '../check.js';
import { skip } from '../check.js';
import { containerPath } from '../pod.js';
import type { Pod } from '../types.js';

/**
 * Before 1.30 the appArmorProfile fields do not exist in the API: the decoder drops them. With server-side field
 * validation (beta, default Warn, since 1.25) the API answers with an `unknown field "<path>"` warning.
 * Sources: KEP-2885 server-side unknown field validation (beta 1.25); k8s.io/api core/v1 types.go gains
 * AppArmorProfile in kubernetes-1.30.0.
 */
const FIELDS_EXIST_FROM = 30;
const UNKNOWN_FIELD_WARNINGS_FROM = 25;

export const apiUnknownFields: Check = {
  id: 'api-drop-unknown-apparmor-fields',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 0, to: FIELDS_EXIST_FROM - 1 },
  source: 'k8s.io/api core/v1 types.go (AppArmorProfile added in kubernetes-1.30.0); KEP-2885 fieldValidation=Warn default',
  run(ctx, apiserver) {
    const dropped: string[] = [];
    if (ctx.pod.appArmorProfile) dropped.push('spec.securityContext.appArmorProfile');
    for (const container of ctx.pod.containers) {
      if (container.appArmorProfile) dropped.push(`${containerPath(ctx.pod, container)}.securityContext.appArmorProfile`);
    }
    if (dropped.length === 0) return skip('no appArmorProfile fields in the pod');
    const pod: Pod = {
      ...ctx.pod,
      appArmorProfile: undefined,
      containers: ctx.pod.containers.map((c) => ({ ...c, appArmorProfile: undefined })),
    };
    const warnings = apiserver >= UNKNOWN_FIELD_WARNINGS_FROM ? dropped.map((path) => `unknown field "${path}"`) : [];
    return {
      verdict: 'mutate',
      detail: `appArmorProfile fields do not exist before 1.${FIELDS_EXIST_FROM}; the API server drops ${dropped.join(', ')}`,
      pod,
      warnings,
      notes: [`the appArmorProfile fields are unknown to a 1.${apiserver} API server and are dropped; use the beta annotations`],
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
const INIT_CONTAINERS_FIELD_FROM = 6;

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
