import type { Check } from '../check.js';
import { skip } from '../check.js';
import { hasAnyAppArmorAnnotation } from '../profile.js';

/** AppArmor support (annotations, validation, kubelet enforcement) arrived in 1.4 (PR #31473 and the AppArmor KEP-24). */
export const apiPreAppArmor: Check = {
  id: 'api-predates-apparmor',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 0, to: 3 },
  source: 'kubernetes/enhancements keps/sig-node/24-apparmor (alpha/beta in 1.4); CHANGELOG-1.4',
  run(ctx, apiserver) {
    if (!hasAnyAppArmorAnnotation(ctx.pod)) return skip('no AppArmor annotations');
    return {
      verdict: 'info',
      detail: `API server 1.${apiserver} predates AppArmor support: the annotations are stored as ordinary annotations and nothing enforces them`,
      notes: [`Kubernetes 1.${apiserver} silently ignores the AppArmor annotations (support arrived in 1.4)`],
    };
  },
};
