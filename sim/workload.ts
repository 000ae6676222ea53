// A workload's create, then the pod its controller creates from the template. Pure.
import { invalidMessage } from './apierrors.js';
import type { Check, WorkloadKindInfo } from './check.js';
import { apiDropDisabled } from './checks/api-drop-disabled.js';
import { podSecurityAdmissionWorkload } from './checks/psa.js';
import { workloadServed } from './checks/workload-served.js';
import { workloadDecode, workloadTemplateWarnings, workloadValidateTemplate } from './checks/workload-template.js';
import { podDisplayName } from './pod.js';
import type { RunState } from './simulate.js';
import { MODEL_NOTE, runChecks } from './simulate.js';
import type { Decision, Minor, SimInput, WorkloadDecision, WorkloadRequest } from './types.js';

/**
 * The API group each kind is served and validated in, and where it keeps its pod template. The group is the internal
 * type's (pkg/apis/apps, pkg/apis/batch, pkg/apis/core), which errors.NewInvalid prints as "Kind.group".
 */
export const WORKLOAD_KINDS: Readonly<Record<string, { group: string; templatePath: string }>> = {
  Deployment: { group: 'apps', templatePath: 'spec.template' },
  StatefulSet: { group: 'apps', templatePath: 'spec.template' },
  DaemonSet: { group: 'apps', templatePath: 'spec.template' },
  ReplicaSet: { group: 'apps', templatePath: 'spec.template' },
  ReplicationController: { group: '', templatePath: 'spec.template' },
  Job: { group: 'batch', templatePath: 'spec.template' },
  CronJob: { group: 'batch', templatePath: 'spec.jobTemplate.spec.template' },
  PodTemplate: { group: '', templatePath: 'template' },
};

/**
 * Before 1.16 Deployments, DaemonSets and ReplicaSets were also served from extensions/v1beta1 and their internal types
 * moved between the extensions and apps groups over the releases; the model does not pin which group those versions
 * print, and says so.
 */
const GROUP_PINNED_FROM: Minor = 16;

/** The workload's create: decoding, drops of disabled fields, template validation, warnings, Pod Security warn. */
export const WORKLOAD_PIPELINE: readonly Check[] = [workloadServed, workloadDecode, apiDropDisabled, workloadValidateTemplate, workloadTemplateWarnings, podSecurityAdmissionWorkload];

export function workloadKindInfo(request: WorkloadRequest): WorkloadKindInfo {
  const known = WORKLOAD_KINDS[request.kind] ?? { group: '', templatePath: 'spec.template' };
  const slash = request.apiVersion.lastIndexOf('/');
  return {
    kind: request.kind,
    name: request.name,
    groupKind: known.group ? `${request.kind}.${known.group}` : request.kind,
    version: slash >= 0 ? request.apiVersion.slice(slash + 1) : request.apiVersion,
    templatePath: known.templatePath,
  };
}

/**
 * The object a controller's FailedCreate event is recorded on: the Deployment's ReplicaSet
 * (<name>-<pod-template-hash>), the CronJob's Job (<name>-<scheduled time>), else the workload itself.
 */
function eventObject(workload: WorkloadKindInfo): string {
  if (workload.kind === 'Deployment') return `ReplicaSet/${workload.name}-<random>`;
  if (workload.kind === 'CronJob') return `Job/${workload.name}-<random>`;
  return `${workload.kind}/${workload.name}`;
}

/**
 * The event text when the API server refuses the pod. pkg/controller/controller_utils.go (RealPodControl.createPods):
 * Eventf(object, Warning, FailedCreatePodReason, "Error creating: %v", err) for ReplicaSets, ReplicationControllers,
 * DaemonSets and Jobs; pkg/controller/statefulset/stateful_pod_control.go recordPodEvent: "%s Pod %s in StatefulSet %s
 * failed error: %s" with reason "Failed" + Title(verb), i.e. FailedCreate (kubernetes/kubernetes#81147 shows one).
 */
function failedCreateEvent(workload: WorkloadKindInfo, podName: string, message: string): NonNullable<WorkloadDecision['event']> {
  if (workload.kind === 'StatefulSet') {
    return { object: eventObject(workload), reason: 'FailedCreate', message: `create Pod ${podName} in StatefulSet ${workload.name} failed error: ${message}` };
  }
  return { object: eventObject(workload), reason: 'FailedCreate', message: `Error creating: ${message}` };
}

/**
 * Creates the workload; when the API server accepts it, the pod its controller creates (from the template as stored)
 * goes through `simulatePod`. The returned decision is the pod's, with `workload` set; a refused workload has no pod.
 */
export function createWorkload(input: SimInput, workload: WorkloadKindInfo, simulatePod: (input: SimInput) => Decision): Decision {
  const state: RunState = { pod: input.pod, warnings: [], notes: [], trace: [], containers: [], storedPod: null };
  const apiserver = input.cluster.version;
  const refused = runChecks(WORKLOAD_PIPELINE, input, state, input.pod, `${workload.kind}: `, {
    invalidMessage: (errors) => invalidMessage(workload.groupKind, workload.name, errors, apiserver),
    context: { fieldValidation: input.fieldValidation, workload, workloadApiVersion: input.workload?.apiVersion },
  });
  if (refused && apiserver < GROUP_PINNED_FROM && refused.refusal.reason === 'Invalid' && WORKLOAD_KINDS[workload.kind]?.group === 'apps') {
    state.notes.push(`the group a 1.${apiserver} API server prints in "${workload.groupKind}" is not pinned (extensions or apps)`);
  }
  if (workload.kind === 'PodTemplate' && !refused) {
    state.notes.push('a PodTemplate has no controller: the pod shown is what a pod created from it would get');
  }
  const decisionOf = (): WorkloadDecision => ({
    kind: workload.kind,
    name: workload.name,
    groupKind: workload.groupKind,
    outcome: refused ? 'Forbidden' : 'Created',
    reason: refused ? refused.refusal.reason : '',
    message: refused ? refused.refusal.message : '',
    warnings: [...state.warnings, ...state.notes.map((note) => MODEL_NOTE + note)],
    trace: state.trace,
  });
  if (refused) {
    const result = decisionOf();
    return {
      outcome: 'Forbidden',
      stage: refused.stage,
      reason: refused.refusal.reason,
      message: refused.refusal.message,
      warnings: [],
      storedPod: null,
      containers: input.pod.containers.map((c) => ({ name: c.name, kind: c.kind, requested: null, requestedBy: 'none', appliedProfile: null, procAttrCurrent: null, state: 'NotCreated' })),
      trace: [],
      workload: result,
    };
  }
  // The controller copies the stored template into the pod (its ephemeral containers too) and creates it without a
  // fieldValidation parameter: fields the workload decoder dropped are already gone.
  const pod = simulatePod({ cluster: input.cluster, node: input.node, pod: state.pod, ephemeralOnCreate: true, addEphemeralContainers: input.addEphemeralContainers });
  const result = decisionOf();
  if (pod.outcome === 'Forbidden' && (pod.stage === 'apiserver' || pod.stage === 'admission') && workload.kind !== 'PodTemplate') {
    result.event = failedCreateEvent(workload, podDisplayName(state.pod), pod.message);
  }
  // The pod's decision is new to this call: add the workload to it rather than copy it.
  pod.workload = result;
  return pod;
}
