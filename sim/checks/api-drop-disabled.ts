import type { Check } from '../check.js';
import { skip } from '../check.js';
import { gateEnabled } from '../feature-gates.js';
import { ANNOTATION_PREFIX } from '../pod.js';
import type { Pod } from '../types.js';

/**
 * From 1.14 a disabled AppArmor gate no longer forbids the annotations: dropDisabledFields removes them from a new
 * pod (pkg/api/pod/util.go, PR #72655, CHANGELOG-1.14). Before 1.14 validation forbids them instead
 * (see api-validate-annotations). From 1.30 the fields follow AppArmorFields the same way (KEP-24, util.go
 * dropDisabledFields). The gates are locked on from 1.31, so nothing is dropped after 1.30.
 */
export const apiDropDisabled: Check = {
  id: 'api-drop-disabled-apparmor',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 14, to: 30 },
  source: 'k8s/k8s pkg/api/pod/util.go dropDisabledFields (PR #72655, 1.14; AppArmorFields 1.30)',
  run(ctx, apiserver) {
    let pod: Pod = ctx.pod;
    const dropped: string[] = [];
    if (!gateEnabled(ctx.cluster.featureGates, 'AppArmor', apiserver)) {
      const kept = Object.fromEntries(Object.entries(pod.annotations).filter(([key]) => !key.startsWith(ANNOTATION_PREFIX)));
      if (Object.keys(kept).length !== Object.keys(pod.annotations).length) {
        dropped.push('the AppArmor annotations');
        pod = { ...pod, annotations: kept };
      }
    }
    if (apiserver >= 30 && !gateEnabled(ctx.cluster.featureGates, 'AppArmorFields', apiserver)) {
      if (pod.appArmorProfile || pod.containers.some((c) => c.appArmorProfile)) {
        dropped.push('the appArmorProfile fields');
        pod = { ...pod, appArmorProfile: undefined, containers: pod.containers.map((c) => ({ ...c, appArmorProfile: undefined })) };
      }
    }
    if (dropped.length === 0) return skip('feature gates on, or nothing to drop');
    return {
      verdict: 'mutate',
      detail: `feature gate off: the API server silently drops ${dropped.join(' and ')} on create`,
      pod,
      notes: [`the API server's feature gates drop ${dropped.join(' and ')}; the pod runs without the requested profile`],
    };
  },
};
