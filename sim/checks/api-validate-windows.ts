import type { FieldError } from '../apierrors.js';
import type { Check } from '../check.js';
import { pass, skip } from '../check.js';
import { containerPath, isWindowsPod } from '../pod.js';

/** validateWindows, pkg/apis/core/validation/validation.go (1.30+): the fields are Linux-only; annotations are not checked. */
export const apiValidateWindows: Check = {
  id: 'api-validate-windows-apparmor',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 30 },
  validation: true,
  source: 'k8s/k8s pkg/apis/core/validation/validation.go validateWindows (1.30+)',
  run(ctx) {
    if (!isWindowsPod(ctx.pod)) return skip('not a windows pod (spec.os.name)');
    const fieldErrors: FieldError[] = [];
    const detail = 'cannot be set for a windows pod';
    if (ctx.pod.appArmorProfile) fieldErrors.push({ type: 'Forbidden', field: 'spec.securityContext.appArmorProfile', detail });
    for (const container of ctx.pod.containers) {
      if (container.appArmorProfile) {
        fieldErrors.push({ type: 'Forbidden', field: `${containerPath(ctx.pod, container)}.securityContext.appArmorProfile`, detail });
      }
    }
    if (fieldErrors.length === 0) return pass('windows pod without appArmorProfile fields');
    return { verdict: 'fail', detail: 'appArmorProfile set on a windows pod', fieldErrors };
  },
};
