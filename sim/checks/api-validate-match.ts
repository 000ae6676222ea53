import type { FieldError } from '../apierrors.js';
import type { Check } from '../check.js';
import { pass, skip } from '../check.js';
import { annotationKey, containerPath, isWindowsPod } from '../pod.js';
import { LOCALHOST_PREFIX, RUNTIME_DEFAULT, UNCONFINED } from '../profile.js';

/** validateAppArmorAnnotationsAndFieldsMatchOnCreate, pkg/apis/core/validation/validation.go (1.30+). */
export const apiValidateAnnotationFieldMatch: Check = {
  id: 'api-validate-annotation-field-match',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 30 },
  validation: true,
  source: 'k8s/k8s pkg/apis/core/validation/validation.go validateAppArmorAnnotationsAndFieldsMatchOnCreate (1.30+)',
  run(ctx) {
    const pod = ctx.pod;
    if (isWindowsPod(pod)) return skip('windows pods are not checked');
    const fieldErrors: FieldError[] = [];
    let compared = 0;
    // VisitContainersWithPath order: init, regular, ephemeral.
    for (const kind of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
      for (const container of pod.containers) {
        if (container.kind !== kind) continue;
        const profile = container.appArmorProfile ?? pod.appArmorProfile;
        const annotation = pod.annotations[annotationKey(container.name)];
        if (!profile || annotation === undefined) continue;
        compared++;
        const path = `${containerPath(pod, container)}.securityContext.appArmorProfile`;
        const typeMismatch = { type: 'Forbidden', field: `${path}.type`, detail: 'apparmor type in annotation and field must match' } as const;
        if (profile.type === 'Unconfined' && annotation !== UNCONFINED) fieldErrors.push(typeMismatch);
        else if (profile.type === 'RuntimeDefault' && annotation !== RUNTIME_DEFAULT) fieldErrors.push(typeMismatch);
        else if (profile.type === 'Localhost') {
          if (!annotation.startsWith(LOCALHOST_PREFIX)) fieldErrors.push(typeMismatch);
          else if (profile.localhostProfile === undefined || annotation.slice(LOCALHOST_PREFIX.length) !== profile.localhostProfile) {
            fieldErrors.push({ type: 'Forbidden', field: `${path}.localhostProfile`, detail: 'apparmor profile in annotation and field must match' });
          }
        }
      }
    }
    if (compared === 0) return skip('no container has both an annotation and a field');
    if (fieldErrors.length === 0) return pass(`annotations and fields agree for ${compared} container(s)`);
    return { verdict: 'fail', detail: 'annotation and field disagree', fieldErrors };
  },
};
