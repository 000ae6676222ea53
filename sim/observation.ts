// What a cluster showed for one pod, in the shapes the Kubernetes API uses (a subset of V1PodStatus, CoreV1Event and
// the Status body of a refused request), plus what the harness read inside running containers. Recordings store this
// raw material; the classifier (classify.ts) turns it into the model's vocabulary.
import type { ContainerKind } from './types.js';

/** metav1.Status of a refused create: HTTP code, `reason` (Invalid, Forbidden, BadRequest...) and `message`. */
export interface ApiRefusal {
  accepted: false;
  code: number;
  reason: string;
  message: string;
  warnings: string[];
}

export interface ApiAcceptance {
  accepted: true;
  /** Warning headers of the create response (RFC 7234 `299 - "text"`, already unquoted). */
  warnings: string[];
}

export type ApiResult = ApiRefusal | ApiAcceptance;

export interface ContainerStateObserved {
  waiting?: { reason?: string | undefined; message?: string | undefined } | undefined;
  running?: { startedAt?: string | undefined } | undefined;
  terminated?: { exitCode: number; reason?: string | undefined; message?: string | undefined } | undefined;
}

export interface ContainerStatusObserved {
  name: string;
  state?: ContainerStateObserved | undefined;
  lastState?: ContainerStateObserved | undefined;
}

export interface PodStatusObserved {
  phase?: string | undefined;
  reason?: string | undefined;
  message?: string | undefined;
  initContainerStatuses?: ContainerStatusObserved[] | undefined;
  containerStatuses?: ContainerStatusObserved[] | undefined;
  ephemeralContainerStatuses?: ContainerStatusObserved[] | undefined;
  /** PodScheduled=False with reason Unschedulable makes a run inconclusive, not an outcome. */
  conditions?: Array<{ type: string; status: string; reason?: string | undefined; message?: string | undefined }> | undefined;
}

export interface EventObserved {
  type?: string | undefined;
  reason?: string | undefined;
  message?: string | undefined;
  /** `kubelet`, `default-scheduler`... (source.component, or reportingController for events.k8s.io). */
  source?: string | undefined;
  /** e.g. `spec.containers{hello}`. */
  fieldPath?: string | undefined;
  count?: number | undefined;
}

/** What the harness read in a running container. */
export interface ContainerProbe {
  /** `cat /proc/1/attr/apparmor/current` (falling back to /proc/1/attr/current), trimmed; null when unreadable; absent when not read. */
  procAttrCurrent?: string | null | undefined;
  /** `touch /tmp/...` failed (checked for deny-write profiles); undefined when not checked. */
  writeDenied?: boolean | undefined;
  /** How the value was obtained when not by exec (e.g. "exit code of `touch foo`" in an upstream e2e test). */
  via?: string | undefined;
}

/**
 * Fields a partial source gives only as a substring: documentation that elides output, e2e tests that assert
 * `ContainSubstring`. Such a field is compared by containment, never for equality.
 */
export type PartialField = 'pod.message' | 'waiting.message';

export interface RawObservation {
  api: ApiResult;
  /** The pod's status when the harness stopped waiting; null when the API refused the pod. */
  pod: PodStatusObserved | null;
  events: EventObserved[];
  exec: Record<string, ContainerProbe>;
  /** Containers of the pod as created, in the order Kubernetes visits them (names and kinds). */
  containers: Array<{ name: string; kind: ContainerKind }>;
  /** Whether `api.warnings` is the complete list (true for harness runs; published sources rarely show them). */
  warningsKnown: boolean;
  partial?: PartialField[] | undefined;
}
