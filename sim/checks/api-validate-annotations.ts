import type { FieldError } from '../apierrors.js';
import { goQuote } from '../apierrors.js';
import type { Check } from '../check.js';
import { pass, skip } from '../check.js';
import { gateEnabled } from '../feature-gates.js';
import { ANNOTATION_PREFIX } from '../pod.js';
import { LOCALHOST_PREFIX, RUNTIME_DEFAULT, UNCONFINED } from '../profile.js';
import type { Minor } from '../types.js';

/** "unconfined" became a valid value in 1.9: "You can now disable AppArmor by setting the AppArmor profile to unconfined. (#52395)". */
const UNCONFINED_VALID_FROM: Minor = 9;
/** Until 1.13 a disabled gate makes validation forbid the annotations; from 1.14 they are dropped instead (#72655). */
const GATE_FORBIDS_UNTIL: Minor = 13;

/** ValidateAppArmorProfileFormat, pkg/apis/core/validation/validation.go (pkg/security/apparmor before 1.9). */
export function profileFormatError(profile: string, version: Minor): string | undefined {
  if (profile === '' || profile === RUNTIME_DEFAULT || profile.startsWith(LOCALHOST_PREFIX)) return undefined;
  if (profile === UNCONFINED && version >= UNCONFINED_VALID_FROM) return undefined;
  return `invalid AppArmor profile name: ${goQuote(profile)}`;
}

/**
 * ValidateAppArmorPodAnnotations, called from ValidatePodSpecificAnnotations before the spec is validated. Go ranges
 * over the annotation map in random order; the model reports errors sorted by key so that output is stable.
 */
export const apiValidateAnnotations: Check = {
  id: 'api-validate-apparmor-annotations',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 4 },
  validation: true,
  source: 'k8s/k8s pkg/apis/core/validation/validation.go ValidateAppArmorPodAnnotations (PR #31473 1.4; #52395 1.9)',
  run(ctx, apiserver) {
    const keys = Object.keys(ctx.pod.annotations).filter((key) => key.startsWith(ANNOTATION_PREFIX)).sort();
    if (keys.length === 0) return skip('no AppArmor annotations');
    const gateOn = gateEnabled(ctx.cluster.featureGates, 'AppArmor', apiserver);
    const fieldErrors: FieldError[] = [];
    // podSpecHasContainer visits every container of the spec being created (VisitContainersWithPath @000f260); ephemeral
    // containers are only in it when the create itself carries spec.ephemeralContainers (refused anyway).
    const createdContainers = new Set(ctx.pod.containers.map((c) => c.name));
    for (const key of keys) {
      const field = `metadata.annotations[${key}]`;
      if (!gateOn && apiserver <= GATE_FORBIDS_UNTIL) {
        fieldErrors.push({ type: 'Forbidden', field, detail: 'AppArmor is disabled by feature-gate' });
        continue;
      }
      const containerName = key.slice(ANNOTATION_PREFIX.length);
      if (!createdContainers.has(containerName)) {
        fieldErrors.push({ type: 'Invalid', field, value: containerName, detail: 'container not found' });
      }
      const value = ctx.pod.annotations[key] ?? '';
      const formatError = profileFormatError(value, apiserver);
      if (formatError) fieldErrors.push({ type: 'Invalid', field, value, detail: formatError });
    }
    if (fieldErrors.length === 0) return pass(`${keys.length} AppArmor annotation(s) name existing containers and valid profiles`);
    return { verdict: 'fail', detail: `${fieldErrors.length} annotation error(s)`, fieldErrors };
  },
};
