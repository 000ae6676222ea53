import type { FieldError } from '../apierrors.js';
import type { Check } from '../check.js';
import { pass, skip } from '../check.js';
import { containerPath } from '../pod.js';
import type { AppArmorProfileField, Pod } from '../types.js';

// PATH_MAX - 1, validation.go validateAppArmorProfileField.
const MAX_LOCALHOST_PROFILE_LENGTH = 4095;
const SUPPORTED_TYPES = ['Localhost', 'RuntimeDefault', 'Unconfined'] as const;
const UTF8 = new TextEncoder();

/** validateAppArmorProfileField, pkg/apis/core/validation/validation.go (1.30+). */
export function appArmorFieldErrors(profile: AppArmorProfileField, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const at = (child: string) => (path ? `${path}.${child}` : child);
  switch (profile.type) {
    case 'Localhost': {
      const name = profile.localhostProfile;
      if (name === undefined) {
        errors.push({ type: 'Required', field: at('localhostProfile'), detail: 'must be set when AppArmor type is Localhost' });
        break;
      }
      if (name.trim() !== name) {
        errors.push({ type: 'Invalid', field: at('localhostProfile'), value: name, detail: 'must not be padded with whitespace' });
      } else if (name === '') {
        errors.push({ type: 'Required', field: at('localhostProfile'), detail: 'must be set when AppArmor type is Localhost' });
      }
      // A UTF-16 code unit is at most 3 UTF-8 bytes: only a long name needs encoding.
      if (name.length * 3 > MAX_LOCALHOST_PROFILE_LENGTH && UTF8.encode(name).length > MAX_LOCALHOST_PROFILE_LENGTH) {
        errors.push({ type: 'TooLong', field: at('localhostProfile'), maxLength: MAX_LOCALHOST_PROFILE_LENGTH, maxLengthHelper: true });
      }
      break;
    }
    case 'RuntimeDefault':
    case 'Unconfined':
      if (profile.localhostProfile !== undefined) {
        errors.push({ type: 'Invalid', field: at('localhostProfile'), value: profile.localhostProfile, detail: 'can only be set when AppArmor type is Localhost' });
      }
      break;
    case '':
      errors.push({ type: 'Required', field: at('type'), detail: 'type is required when appArmorProfile is set' });
      break;
    default:
      errors.push({ type: 'NotSupported', field: at('type'), value: profile.type, supported: SUPPORTED_TYPES });
  }
  return errors;
}

/** Container fields in the order ValidatePodSpec validates them: containers, initContainers, ephemeralContainers, then the pod. */
export function fieldValidationErrors(pod: Pod): FieldError[] {
  const errors: FieldError[] = [];
  for (const kind of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    for (const container of pod.containers) {
      if (container.kind !== kind || !container.appArmorProfile) continue;
      errors.push(...appArmorFieldErrors(container.appArmorProfile, `${containerPath(pod, container)}.securityContext.appArmorProfile`));
    }
  }
  if (pod.appArmorProfile) errors.push(...appArmorFieldErrors(pod.appArmorProfile, 'spec.securityContext.appArmorProfile'));
  return errors;
}

export const apiValidateFields: Check = {
  id: 'api-validate-apparmor-fields',
  stage: 'apiserver',
  component: 'apiserver',
  versions: { from: 30 },
  validation: true,
  source: 'k8s/k8s pkg/apis/core/validation/validation.go validateAppArmorProfileField (1.30+)',
  run(ctx) {
    const hasFields = ctx.pod.appArmorProfile !== undefined || ctx.pod.containers.some((c) => c.appArmorProfile);
    if (!hasFields) return skip('no appArmorProfile fields');
    const fieldErrors = fieldValidationErrors(ctx.pod);
    if (fieldErrors.length === 0) return pass('appArmorProfile fields are valid');
    return { verdict: 'fail', detail: `${fieldErrors.length} invalid appArmorProfile field value(s)`, fieldErrors };
  },
};
