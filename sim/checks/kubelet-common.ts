import type { CheckContext, Refusal } from '../check.js';
import { ANNOTATION_PREFIX, annotationKey } from '../pod.js';
import { annotationForField, UNCONFINED } from '../profile.js';
import type { Container, Minor, Pod } from '../types.js';

/**
 * How the kubelet turns an admission failure into pod status.
 * 1.4: a hard admit handler -> rejectPod: phase Failed, message "Pod " + msg (1.4-era e2e expects PodFailed).
 * 1.5-1.30: a soft admit handler -> Pending, reason AppArmor, waiting containers "Blocked"
 *   (CHANGELOG-1.5 #35342 "Hold bad AppArmor pods in pending rather than rejecting").
 * 1.31+: a hard admit handler again -> Failed, message "Pod was rejected: " + msg (rejectPod's prefix was "Pod " until
 *   #112644 changed it in 1.26; only 1.4 and 1.31+ reach rejectPod for AppArmor)
 *   (CHANGELOG-1.31 #125776 "Kubelet now hard rejects pods with AppArmor if the node does not have AppArmor enabled").
 */
const SOFT_ADMISSION = { from: 5, to: 30 } as const;

/** pkg/kubelet/lifecycle/handlers.go (later apparmor_admit.go): reason "AppArmor", message "Cannot enforce AppArmor: <err>". */
export const APPARMOR_REASON = 'AppArmor';

export function kubeletRefusal(kubelet: Minor, error: string): Refusal {
  const message = `Cannot enforce AppArmor: ${error}`;
  if (kubelet >= SOFT_ADMISSION.from && kubelet <= SOFT_ADMISSION.to) {
    return { outcome: 'Blocked', reason: APPARMOR_REASON, message };
  }
  return { outcome: 'Rejected', reason: APPARMOR_REASON, message: kubelet < SOFT_ADMISSION.from ? `Pod ${message}` : `Pod was rejected: ${message}` };
}

/** The kubelet reads annotations only until 1.29; from 1.30 GetProfile prefers the container field, then the annotation, then the pod field. */
const READS_FIELDS_FROM: Minor = 30;

export function kubeletReadsFields(kubelet: Minor): boolean {
  return kubelet >= READS_FIELDS_FROM;
}

/**
 * The request the kubelet of that version acts on for a container, in annotation syntax, or undefined for none.
 * 1.30+: pkg/kubelet/... apparmor helpers GetProfile (container field > annotation > pod field).
 */
export function kubeletProfileRequest(pod: Pod, container: Container, kubelet: Minor): { value: string; by: 'container-field' | 'annotation' | 'pod-field' } | undefined {
  if (kubeletReadsFields(kubelet) && container.appArmorProfile) {
    return { value: annotationForField(container.appArmorProfile), by: 'container-field' };
  }
  const annotation = pod.annotations[annotationKey(container.name)];
  if (annotation !== undefined) return { value: annotation, by: 'annotation' };
  if (kubeletReadsFields(kubelet) && pod.appArmorProfile) {
    return { value: annotationForField(pod.appArmorProfile), by: 'pod-field' };
  }
  return undefined;
}

/** Containers the kubelet's AppArmor admission visits (podutil.VisitContainers order: init, then regular). */
export function admittedContainers(pod: Pod): Container[] {
  return [...pod.containers.filter((c) => c.kind === 'initContainers'), ...pod.containers.filter((c) => c.kind === 'containers')];
}

export type Requirement = { required: boolean; why: string; orderDependent: boolean };

/**
 * isRequired, pkg/security/apparmor/helpers.go. 1.4-1.8: any AppArmor annotation. 1.9+: the first AppArmor annotation
 * met in Go map order decides (value != "unconfined"), so a pod mixing "unconfined" with other values is decided at
 * random by a real kubelet; the model treats it as required and says so. 1.30+: a non-Unconfined field first.
 */
export function appArmorRequired(ctx: CheckContext, kubelet: Minor): Requirement {
  const pod = ctx.pod;
  if (kubeletReadsFields(kubelet)) {
    if (pod.appArmorProfile && pod.appArmorProfile.type !== 'Unconfined') return { required: true, why: 'the pod-level field is not Unconfined', orderDependent: false };
    const fromField = admittedContainers(pod).find((c) => c.appArmorProfile && c.appArmorProfile.type !== 'Unconfined');
    if (fromField) return { required: true, why: `container "${fromField.name}" has a field that is not Unconfined`, orderDependent: false };
  }
  const values = Object.entries(pod.annotations).filter(([key]) => key.startsWith(ANNOTATION_PREFIX)).map(([, value]) => value);
  if (values.length === 0) return { required: false, why: 'the pod requests no AppArmor profile', orderDependent: false };
  if (kubelet < 9) return { required: true, why: 'the pod has AppArmor annotations', orderDependent: false };
  const confining = values.filter((v) => v !== UNCONFINED).length;
  if (confining === 0) return { required: false, why: 'every AppArmor annotation is "unconfined"', orderDependent: false };
  return { required: true, why: 'an AppArmor annotation is not "unconfined"', orderDependent: confining < values.length };
}

/**
 * Since 1.20 the AppArmor admit handler is registered only on Linux kubelets (CHANGELOG-1.20 #93220 "Ignore apparmor
 * for non-linux operating systems"); before that a non-Linux kubelet failed host validation instead.
 */
const LINUX_ONLY_HANDLER_FROM: Minor = 20;

export function handlerRegistered(ctx: CheckContext, kubelet: Minor): boolean {
  return ctx.node.os === 'linux' || kubelet < LINUX_ONLY_HANDLER_FROM;
}

/** Why a kubelet AppArmor check does not look at this pod, or undefined when it does. */
export function kubeletSkipReason(ctx: CheckContext, kubelet: Minor): string | undefined {
  if (!handlerRegistered(ctx, kubelet)) return `the AppArmor admit handler is not registered on a ${ctx.node.os} kubelet 1.${kubelet}`;
  const requirement = appArmorRequired(ctx, kubelet);
  if (!requirement.required) return `AppArmor not required: ${requirement.why}`;
  return undefined;
}
