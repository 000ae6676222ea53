// Turns what a cluster showed (observation.ts) into the model's vocabulary: outcome, stage, reason, message and the
// profile each container runs under. Pure; used by the conformance harness (while polling: is the pod decided yet?
// and for recordings) and by `apparmor-sim explain` (a live pod's status).
//
// The shapes it recognises, with their upstream sources:
// - API refusal: metav1.Status with code 422 reason Invalid (validation) or 403 reason Forbidden (admission: PSP, PSA).
// - Blocked: phase Pending, status.reason "AppArmor", containers waiting "Blocked" (kubelet soft admission 1.5-1.30;
//   test/e2e_node/apparmor_test.go expectSoftRejection).
// - Rejected: phase Failed, status.reason "AppArmor" (kubelet hard admission 1.4 and 1.31+; test/e2e_node
//   apparmor_test.go expectRejection).
// - CreateContainerError: a container waiting with reason CreateContainerError and the runtime's message
//   (pkg/kubelet/kuberuntime ErrCreateContainer; the kubelet also records a `Warning Failed` event "Error: <message>").
// - Run: every regular container started (running, or terminated after running).
import type { ContainerKind, Outcome, Stage } from './types.js';
import type { ContainerStateObserved, ContainerStatusObserved, EventObserved, RawObservation } from './observation.js';

export interface ObservedContainer {
  name: string;
  kind: ContainerKind;
  state: 'Running' | 'Terminated' | 'Waiting' | 'NotCreated' | 'Unknown';
  waitingReason?: string | undefined;
  exitCode?: number | undefined;
  /** What /proc/1/attr/current showed; null: not started (or unreadable); undefined: not observed. */
  profile: string | null | undefined;
  writeDenied?: boolean | undefined;
}

export interface Observation {
  outcome: Outcome;
  stage: Stage;
  reason: string;
  message: string;
  /** The message is only a substring of the real one (a partial source). */
  messagePartial: boolean;
  warnings: string[];
  warningsKnown: boolean;
  containers: ObservedContainer[];
  /** What the classification rests on, for people reading a report. */
  evidence: string;
}

export type Classification =
  | { kind: 'decided'; observation: Observation }
  | { kind: 'waiting'; why: string }
  | { kind: 'inconclusive'; why: string };

/** Waiting reasons of a container the runtime failed to create or start. */
const RUNTIME_FAILURE_WAITING = new Set(['CreateContainerError', 'CreateContainerConfigError', 'RunContainerError']);
/** Terminated reasons of a container that never ran its command (containerd StartError, dockershim ContainerCannotRun). */
const START_FAILURE_TERMINATED = new Set(['StartError', 'ContainerCannotRun']);
/** Waiting reasons that say nothing about AppArmor and will not resolve by themselves. */
const STUCK_WAITING = new Set(['ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
/** `Warning Failed` events about images, not container creation (kubelet images/image_manager.go). */
const IMAGE_EVENT = /^Error: (ErrImagePull|ImagePullBackOff|ErrImageNeverPull|InvalidImageName)\b/;

export const APPARMOR_REASON = 'AppArmor';

export function classify(raw: RawObservation): Classification {
  const partial = new Set(raw.partial ?? []);
  const base = { warnings: raw.api.warnings, warningsKnown: raw.warningsKnown };
  if (!raw.api.accepted) {
    // 403 comes from admission (PodSecurityPolicy, Pod Security Admission); everything else from the API server's
    // decoding and validation (422 Invalid, 400 BadRequest).
    return decided({
      ...base,
      outcome: 'Forbidden',
      stage: raw.api.code === 403 ? 'admission' : 'apiserver',
      reason: raw.api.reason,
      message: raw.api.message,
      messagePartial: false,
      containers: raw.containers.map((c) => ({ name: c.name, kind: c.kind, state: 'NotCreated', profile: null })),
      evidence: `API refused the create: HTTP ${raw.api.code} ${raw.api.reason}`,
    });
  }
  const pod = raw.pod;
  if (!pod) return { kind: 'waiting', why: 'no pod status yet' };
  const statuses = allStatuses(pod);
  const kindOf = new Map(raw.containers.map((c) => [c.name, c.kind]));

  if (pod.reason === APPARMOR_REASON) {
    const rejected = pod.phase === 'Failed';
    return decided({
      ...base,
      outcome: rejected ? 'Rejected' : 'Blocked',
      stage: 'kubelet',
      reason: APPARMOR_REASON,
      message: pod.message ?? '',
      messagePartial: partial.has('pod.message'),
      containers: containersOf(raw, statuses, kindOf, () => null),
      evidence: `phase ${pod.phase ?? '?'}, status.reason AppArmor${rejected ? '' : `, containers ${waitingReasons(statuses) || 'without status'}`}`,
    });
  }

  const unschedulable = pod.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  if (unschedulable) return { kind: 'inconclusive', why: `pod unschedulable: ${unschedulable.message ?? ''}`.trim() };

  for (const container of visitOrder(raw)) {
    const status = statuses.get(container.name);
    const failure = runtimeFailure(status);
    if (failure) {
      const event = failedEvent(raw.events, container.name);
      const message = failure.message ?? (event ? event.slice('Error: '.length) : '');
      return decided({
        ...base,
        outcome: 'CreateContainerError',
        stage: 'runtime',
        reason: failure.reason,
        message,
        messagePartial: partial.has('waiting.message'),
        containers: containersOf(raw, statuses, kindOf, (name) => (name === container.name ? null : undefined)),
        evidence: `container ${container.name} ${failure.where} ${failure.reason}`,
      });
    }
    const stuck = status?.state?.waiting?.reason;
    if (stuck && STUCK_WAITING.has(stuck)) return { kind: 'inconclusive', why: `container ${container.name} ${stuck}: ${status?.state?.waiting?.message ?? ''}`.trim() };
  }

  if (pod.phase === 'Failed' && !statuses.size) {
    return { kind: 'inconclusive', why: `pod failed (${pod.reason ?? 'no reason'}): ${pod.message ?? ''}`.trim() };
  }

  const regular = raw.containers.filter((c) => c.kind === 'containers');
  if (statuses.size > 0) {
    const notStarted = regular.filter((c) => !started(statuses.get(c.name)));
    if (notStarted.length === 0 && regular.length > 0) return runDecision(raw, statuses, kindOf, base, 'every container started');
    return { kind: 'waiting', why: `waiting for ${notStarted.map((c) => `${c.name} (${describeState(statuses.get(c.name)?.state)})`).join(', ')}` };
  }

  // No container statuses: a published source that shows only events or command output.
  return fromEventsOnly(raw, kindOf, base, partial.has('pod.message') || partial.has('waiting.message'));
}

function fromEventsOnly(raw: RawObservation, kindOf: Map<string, ContainerKind>, base: Pick<Observation, 'warnings' | 'warningsKnown'>, partial: boolean): Classification {
  const statuses = new Map<string, ContainerStatusObserved>();
  for (const container of visitOrder(raw)) {
    const error = failedEvent(raw.events, container.name);
    if (error) {
      return decided({
        ...base,
        outcome: 'CreateContainerError',
        stage: 'runtime',
        // The waiting reason the kubelet sets when CreateContainer fails (kuberuntime ErrCreateContainer); the source
        // shows only the event, whose text is "Error: " + the waiting message.
        reason: 'CreateContainerError',
        message: error.slice('Error: '.length),
        messagePartial: partial,
        containers: containersOf(raw, statuses, kindOf, (name) => (name === container.name ? null : undefined)),
        evidence: `kubelet event "Failed" for ${container.name}: ${error}`,
      });
    }
  }
  const appArmorEvent = raw.events.find((e) => e.reason === APPARMOR_REASON && e.type === 'Warning');
  if (appArmorEvent && raw.pod?.phase !== 'Running') {
    return decided({
      ...base,
      outcome: raw.pod?.phase === 'Failed' ? 'Rejected' : 'Blocked',
      stage: 'kubelet',
      reason: APPARMOR_REASON,
      message: appArmorEvent.message ?? '',
      messagePartial: partial,
      containers: containersOf(raw, statuses, kindOf, () => null),
      evidence: `kubelet event "AppArmor": ${appArmorEvent.message ?? ''}`,
    });
  }
  const regular = raw.containers.filter((c) => c.kind === 'containers');
  const startedByEvidence = (name: string) =>
    raw.events.some((e) => e.reason === 'Started' && e.fieldPath?.includes(`{${name}}`)) || typeof raw.exec[name]?.procAttrCurrent === 'string';
  if (regular.length > 0 && regular.every((c) => startedByEvidence(c.name))) {
    return runDecision(raw, statuses, kindOf, base, 'kubelet "Started" events or commands run in the containers');
  }
  return { kind: 'waiting', why: `pod ${raw.pod?.phase ?? 'without phase'}, no container status` };
}

function runDecision(
  raw: RawObservation,
  statuses: Map<string, ContainerStatusObserved>,
  kindOf: Map<string, ContainerKind>,
  base: Pick<Observation, 'warnings' | 'warningsKnown'>,
  evidence: string,
): Classification {
  return decided({
    ...base,
    outcome: 'Run',
    stage: 'runtime',
    reason: '',
    message: '',
    messagePartial: false,
    containers: containersOf(raw, statuses, kindOf, (name) => raw.exec[name]?.procAttrCurrent),
    evidence,
  });
}

function decided(observation: Observation): Classification {
  return { kind: 'decided', observation };
}

function allStatuses(pod: NonNullable<RawObservation['pod']>): Map<string, ContainerStatusObserved> {
  const map = new Map<string, ContainerStatusObserved>();
  for (const status of [...(pod.initContainerStatuses ?? []), ...(pod.containerStatuses ?? []), ...(pod.ephemeralContainerStatuses ?? [])]) {
    map.set(status.name, status);
  }
  return map;
}

/** Init containers first, then regular ones: the order the kubelet creates them in. */
function visitOrder(raw: RawObservation): RawObservation['containers'] {
  return [...raw.containers.filter((c) => c.kind === 'initContainers'), ...raw.containers.filter((c) => c.kind !== 'initContainers')];
}

function runtimeFailure(status: ContainerStatusObserved | undefined): { reason: string; message: string | undefined; where: string } | undefined {
  const waiting = status?.state?.waiting;
  if (waiting?.reason && RUNTIME_FAILURE_WAITING.has(waiting.reason)) return { reason: waiting.reason, message: waiting.message, where: 'waiting' };
  for (const [where, state] of [['terminated', status?.state], ['last terminated', status?.lastState]] as const) {
    const terminated = state?.terminated;
    if (terminated?.reason && START_FAILURE_TERMINATED.has(terminated.reason)) return { reason: terminated.reason, message: terminated.message, where };
  }
  return undefined;
}

function started(status: ContainerStatusObserved | undefined): boolean {
  if (!status) return false;
  const ran = (state: ContainerStateObserved | undefined) =>
    state?.running !== undefined || (state?.terminated !== undefined && !START_FAILURE_TERMINATED.has(state.terminated.reason ?? ''));
  return ran(status.state) || ran(status.lastState);
}

/** The kubelet's `Warning Failed` event for a container's creation, "Error: <runtime message>". */
function failedEvent(events: readonly EventObserved[], container: string): string | undefined {
  const event = events.find(
    (e) => e.reason === 'Failed' && e.message?.startsWith('Error: ') && !IMAGE_EVENT.test(e.message) && (e.fieldPath === undefined || e.fieldPath.includes(`{${container}}`)),
  );
  return event?.message;
}

function containersOf(
  raw: RawObservation,
  statuses: Map<string, ContainerStatusObserved>,
  kindOf: Map<string, ContainerKind>,
  profileOf: (name: string) => string | null | undefined,
): ObservedContainer[] {
  return raw.containers.map((c) => {
    const status = statuses.get(c.name);
    const state = status?.state;
    const probe = raw.exec[c.name];
    const observed: ObservedContainer = {
      name: c.name,
      kind: kindOf.get(c.name) ?? c.kind,
      state: state?.running ? 'Running' : state?.terminated ? 'Terminated' : state?.waiting ? 'Waiting' : 'Unknown',
      profile: profileOf(c.name),
    };
    if (state?.waiting?.reason) observed.waitingReason = state.waiting.reason;
    const exitCode = state?.terminated?.exitCode ?? status?.lastState?.terminated?.exitCode;
    if (exitCode !== undefined) observed.exitCode = exitCode;
    if (probe?.writeDenied !== undefined) observed.writeDenied = probe.writeDenied;
    return observed;
  });
}

function waitingReasons(statuses: Map<string, ContainerStatusObserved>): string {
  return [...statuses.values()].map((s) => `${s.name} ${s.state?.waiting?.reason ?? describeState(s.state)}`).join(', ');
}

function describeState(state: ContainerStateObserved | undefined): string {
  if (!state) return 'no status';
  if (state.running) return 'running';
  if (state.terminated) return `terminated ${state.terminated.reason ?? ''} exit ${state.terminated.exitCode}`.replace('  ', ' ');
  return `waiting ${state.waiting?.reason ?? ''}`.trim();
}
