import type { Check } from '../check.js';
import { skip } from '../check.js';
import { annotationKey, isWindowsPod } from '../pod.js';
import { annotationForField, fieldForAnnotation, sameField } from '../profile.js';
import type { Container, Pod } from '../types.js';
import { appArmorFieldErrors } from './api-validate-fields.js';

/**
 * applyAppArmorVersionSkew, pkg/registry/core/pod/strategy.go PrepareForCreate (runs before validation).
 * 1.30-1.33: a field without annotation gets the annotation; an annotation without container field gets the field
 * (unless invalid or equal to the pod field) and a deprecation warning. From 1.34 fields are no longer copied to
 * annotations (PR #131989, "[Action Required] AppArmor profiles specified in the pod or container SecurityContext are
 * no longer copied to deprecated AppArmor annotations").
 */
const FIELDS_TO_ANNOTATIONS_UNTIL = 33;

export const apiAppArmorVersionSkew: Check = {
  id: 'api-apparmor-version-skew-sync',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 30 },
  source: 'k8s/k8s pkg/registry/core/pod/strategy.go applyAppArmorVersionSkew (1.30 #123435; 1.34 #131989)',
  run(ctx, apiserver) {
    const pod = ctx.pod;
    if (isWindowsPod(pod)) return skip('windows pods are not synced');
    const annotations: Record<string, string> = { ...pod.annotations };
    const warnings: string[] = [];
    const changes: string[] = [];
    const podProfile = pod.appArmorProfile;
    const containers: Container[] = pod.containers.map((container) => {
      const key = annotationKey(container.name);
      const annotation = pod.annotations[key];
      if (annotation === undefined) {
        if (apiserver > FIELDS_TO_ANNOTATIONS_UNTIL) return container;
        const source = container.appArmorProfile ?? podProfile;
        const derived = source ? annotationForField(source) : '';
        if (derived !== '') {
          annotations[key] = derived;
          changes.push(`annotation ${key}=${derived} from the ${container.appArmorProfile ? 'container' : 'pod'} field`);
        }
        return container;
      }
      if (container.appArmorProfile) return container;
      let field = fieldForAnnotation(annotation);
      if (field && appArmorFieldErrors(field, '').length > 0) field = undefined;
      let warn = field === undefined;
      let result = container;
      if (field && !sameField(field, podProfile)) {
        result = { ...container, appArmorProfile: field };
        changes.push(`${container.name} securityContext.appArmorProfile from annotation ${annotation}`);
        warn = true;
      }
      if (warn) {
        warnings.push(`metadata.annotations[${key}]: deprecated since v1.30; use the "appArmorProfile" field instead`);
      }
      return result;
    });
    if (changes.length === 0 && warnings.length === 0) return skip('nothing to sync between annotations and fields');
    const synced: Pod = { ...pod, annotations, containers };
    return { verdict: 'mutate', detail: changes.length ? `synced: ${changes.join('; ')}` : 'annotation kept without field', pod: synced, warnings };
  },
};
