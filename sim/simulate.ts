import type { FieldError } from './apierrors.js';
import { invalidPodMessage } from './apierrors.js';
import type { Check, CheckContext, CheckResult, Refusal } from './check.js';
import { apiDropDisabled } from './checks/api-drop-disabled.js';
import { apiPreAppArmor } from './checks/api-pre-apparmor.js';
import { apiAppArmorVersionSkew } from './checks/api-sync.js';
import { apiUnknownFields, apiUnknownInitContainers } from './checks/api-unknown-fields.js';
import { apiValidateAnnotations } from './checks/api-validate-annotations.js';
import { apiValidateFields } from './checks/api-validate-fields.js';
import { apiValidateAnnotationFieldMatch } from './checks/api-validate-match.js';
import { apiValidateWindows } from './checks/api-validate-windows.js';
import { apiContainersRequired, apiEphemeralOnCreate, apiValidateEphemeralFields, EPHEMERAL_FIELD_FROM, runtimeStartEphemeral } from './checks/ephemeral.js';
import { appArmorRequired, kubeletProfileRequest } from './checks/kubelet-common.js';
import { kubeletFeatureGate, kubeletKernelEnabled, kubeletLinuxBuild, kubeletRuntimeSupport } from './checks/kubelet-host.js';
import { kubeletEmptyLocalhost, kubeletProfileFormat, kubeletProfileLoaded } from './checks/kubelet-profiles.js';
import { alphaAnnotationNote, versionSkewNote } from './checks/notes.js';
import { podSecurityAdmission } from './checks/psa.js';
import { podSecurityPolicy } from './checks/psp.js';
import { runtimeApplyProfile } from './checks/runtime-apply.js';
import { gateEnabled } from './feature-gates.js';
import { podDisplayName } from './pod.js';
import type { ContainerResult, Decision, Pod, SimInput, Stage, TraceEntry } from './types.js';
import { createWorkload, workloadKindInfo } from './workload.js';
import { formatRange, inRange } from './version.js';

/**
 * The order the real components run in: mutating admission (PodSecurityPolicy), the pod strategy's PrepareForCreate
 * (field drops, annotation/field sync), validation, validating admission (Pod Security Admission), kubelet admission
 * (host checks in validateHost order, then per-container checks), and the runtime.
 */
export const CREATE_PIPELINE: readonly Check[] = [
  versionSkewNote,
  alphaAnnotationNote,
  apiPreAppArmor,
  apiUnknownInitContainers,
  podSecurityPolicy,
  apiUnknownFields,
  apiDropDisabled,
  apiAppArmorVersionSkew,
  apiValidateAnnotations,
  apiContainersRequired,
  apiValidateFields,
  apiValidateWindows,
  apiEphemeralOnCreate,
  apiValidateAnnotationFieldMatch,
  podSecurityAdmission,
  kubeletFeatureGate,
  kubeletLinuxBuild,
  kubeletKernelEnabled,
  kubeletRuntimeSupport,
  kubeletProfileFormat,
  kubeletProfileLoaded,
  kubeletEmptyLocalhost,
  runtimeApplyProfile,
];

/** Ephemeral containers join a running pod through the ephemeralcontainers subresource. */
export const EPHEMERAL_PIPELINE: readonly Check[] = [apiValidateEphemeralFields, podSecurityAdmission, runtimeStartEphemeral];

export const MODEL_NOTE = 'apparmor-sim: ';

export interface RunState {
  pod: Pod;
  warnings: string[];
  notes: string[];
  trace: TraceEntry[];
  containers: ContainerResult[];
  storedPod: Pod | null;
}

export interface RunOptions {
  /** The 422 message for the aggregated validation errors (a Pod's by default). */
  invalidMessage?: (errors: readonly FieldError[]) => string;
  /** The context a check sees besides the pod. */
  context?: Partial<Pick<CheckContext, 'fieldValidation' | 'ephemeralOnCreate' | 'workload' | 'workloadApiVersion'>>;
}

export function runChecks(checks: readonly Check[], input: SimInput, state: RunState, submitted: Pod, phase: string, options: RunOptions = {}): { refusal: Refusal; stage: Stage } | undefined {
  let pendingErrors: FieldError[] = [];
  let pendingSources: string[] = [];
  const flushValidation = (): { refusal: Refusal; stage: Stage } | undefined => {
    if (pendingErrors.length === 0) return undefined;
    const message = options.invalidMessage ? options.invalidMessage(pendingErrors) : invalidPodMessage(podDisplayName(state.pod), pendingErrors, input.cluster.version);
    state.trace.push({ check: 'api-validation-result', stage: 'apiserver', component: `apiserver 1.${input.cluster.version}`, verdict: 'fail', detail: `422 Invalid from ${pendingSources.join(', ')}`, source: 'k8s.io/apimachinery pkg/api/errors errors.NewInvalid' });
    pendingErrors = [];
    pendingSources = [];
    return { refusal: { outcome: 'Forbidden', reason: 'Invalid', message }, stage: 'apiserver' };
  };

  // One context per pod state: a check that replaces the pod gets the checks after it a new one.
  let ctx: CheckContext = { cluster: input.cluster, node: input.node, pod: state.pod, submitted, ...options.context };
  for (const check of checks) {
    if (!check.validation) {
      const refused = flushValidation();
      if (refused) return refused;
    }
    const version = check.component === 'apiserver' ? input.cluster.version : input.node.kubeletVersion;
    const component = componentLabel(check.component, version);
    if (!inRange(version, check.versions)) {
      state.trace.push({ check: check.id, stage: check.stage, component, verdict: 'skip', detail: `${phase}not in 1.${version} (exists in ${rangeText(check)})`, source: check.source });
      continue;
    }
    if (ctx.pod !== state.pod) ctx = { ...ctx, pod: state.pod };
    let result: CheckResult;
    try {
      result = check.run(ctx, version);
    } catch (error) {
      // A check that throws is a model bug; surface it as a decision rather than crash the caller.
      result = { verdict: 'info', detail: `internal error in ${check.id}: ${error instanceof Error ? error.message : String(error)}`, notes: [`internal error in check ${check.id}; please report it`] };
    }
    state.trace.push({ check: check.id, stage: check.stage, component, verdict: result.verdict, detail: phase + result.detail, source: result.source ?? check.source });
    if (result.pod) state.pod = result.pod;
    if (result.warnings) state.warnings.push(...result.warnings);
    if (result.notes) state.notes.push(...result.notes);
    if (result.containers) state.containers.push(...result.containers);
    if (result.fieldErrors?.length) {
      pendingErrors.push(...result.fieldErrors);
      pendingSources.push(check.id);
    }
    if (result.refusal) return { refusal: result.refusal, stage: check.stage };
    if (check.stage === 'admission' || check.stage === 'kubelet') state.storedPod ??= state.pod;
  }
  return flushValidation();
}

/** `apiserver 1.30`, built once per component and version (every check of every simulation names one). */
const COMPONENT_LABELS: Record<Check['component'], string[]> = { apiserver: [], kubelet: [] };

function componentLabel(component: Check['component'], version: number): string {
  const labels = COMPONENT_LABELS[component];
  return (labels[version] ??= `${component} 1.${version}`);
}

/** formatRange of a check's versions, once per check. */
const RANGE_TEXTS = new WeakMap<Check, string>();

function rangeText(check: Check): string {
  let text = RANGE_TEXTS.get(check);
  if (text === undefined) {
    text = formatRange(check.versions);
    RANGE_TEXTS.set(check, text);
  }
  return text;
}

/**
 * Decides what happens to one pod on one node of one cluster. Total: every input gets exactly one decision. With
 * `input.workload`, the workload is created first (sim/workload.ts) and the pod is the one its controller creates.
 */
export function simulate(input: SimInput): Decision {
  if (input.workload) return createWorkload(input, workloadKindInfo(input.workload), simulatePod);
  return simulatePod(input);
}

function simulatePod(input: SimInput): Decision {
  const submitted = input.pod;
  let ephemeralOnCreate = input.ephemeralOnCreate === true && submitted.containers.some((c) => c.kind === 'ephemeralContainers');
  const earlyNotes: string[] = [];
  if (ephemeralOnCreate && (input.cluster.version < EPHEMERAL_FIELD_FROM || !gateEnabled(input.cluster.featureGates, 'EphemeralContainers', input.cluster.version))) {
    // Before 1.16 the decoder does not know spec.ephemeralContainers; while the EphemeralContainers gate is off
    // (1.16-1.22 by default) pkg/api/pod/util.go dropDisabledFields sets it to nil. Either way nothing is left of them.
    earlyNotes.push(
      input.cluster.version < EPHEMERAL_FIELD_FROM
        ? `spec.ephemeralContainers is unknown to a 1.${input.cluster.version} API server and is dropped`
        : `the EphemeralContainers feature gate is off in 1.${input.cluster.version}: the API server drops spec.ephemeralContainers`,
    );
    ephemeralOnCreate = false;
  }
  const createdPod: Pod = ephemeralOnCreate ? submitted : { ...submitted, containers: submitted.containers.filter((c) => c.kind !== 'ephemeralContainers') };
  // Ephemeral containers of a manifest's spec never reach the subresource: they are refused or dropped with the create.
  let ephemeral = [...(input.ephemeralOnCreate ? [] : submitted.containers.filter((c) => c.kind === 'ephemeralContainers')), ...(input.addEphemeralContainers ?? [])];
  if ((input.addEphemeralContainers?.length ?? 0) > 0 && (input.cluster.version < EPHEMERAL_FIELD_FROM || !gateEnabled(input.cluster.featureGates, 'EphemeralContainers', input.cluster.version))) {
    // KEP-277: ephemeral containers are alpha behind the EphemeralContainers gate (off) in 1.16-1.22 and absent before.
    earlyNotes.push(`ephemeral containers cannot be added on a 1.${input.cluster.version} API server (${input.cluster.version < EPHEMERAL_FIELD_FROM ? 'they arrived in 1.16' : 'the EphemeralContainers feature gate is off'}); the model leaves them out`);
    ephemeral = ephemeral.filter((c) => !input.addEphemeralContainers?.includes(c));
  }
  const state: RunState = { pod: createdPod, warnings: [], notes: earlyNotes, trace: [], containers: [], storedPod: null };

  const createRefused = runChecks(CREATE_PIPELINE, input, state, submitted, '', { context: { fieldValidation: input.fieldValidation, ephemeralOnCreate } });
  let refused = createRefused;
  if (!refused && ephemeral.length > 0) {
    state.storedPod = state.pod;
    state.pod = { ...state.pod, containers: [...state.pod.containers, ...ephemeral] };
    refused = runChecks(EPHEMERAL_PIPELINE, input, state, submitted, 'ephemeral containers: ');
    if (refused?.stage === 'apiserver' || refused?.stage === 'admission') {
      state.notes.push('the ephemeral containers were refused; the pod itself runs');
    }
  }
  const requirement = appArmorRequired({ cluster: input.cluster, node: input.node, pod: state.pod, submitted }, input.node.kubeletVersion);
  if (requirement.orderDependent && input.node.kubeletVersion >= 9) {
    state.notes.push('the pod mixes "unconfined" with other AppArmor annotations; a real kubelet decides whether it requires AppArmor from the first annotation in Go map order (random), the model assumes it does');
  }

  const containers = refused && refused.stage !== 'runtime' ? unstartedContainers(state, input, refused.refusal.outcome) : state.containers;
  // Containers the API server dropped while decoding (spec.initContainers before 1.6) never exist: report them as not created.
  const reported = new Set(containers.map((r) => `${r.kind}\u0000${r.name}`));
  for (const container of [...submitted.containers, ...ephemeral]) {
    const key = `${container.kind}\u0000${container.name}`;
    if (reported.has(key)) continue;
    reported.add(key);
    containers.push({ name: container.name, kind: container.kind, requested: null, requestedBy: 'none', appliedProfile: null, procAttrCurrent: null, state: 'NotCreated' });
  }
  // A create the API server or admission refuses stores nothing (errors.NewInvalid / NewForbidden are returned before
  // the registry writes), whether or not the manifest also lists ephemeral containers; a refused ephemeral-containers
  // update leaves the created pod stored.
  const storedPod = createRefused && (createRefused.stage === 'apiserver' || createRefused.stage === 'admission') ? null : (state.storedPod ?? state.pod);
  return {
    outcome: refused ? refused.refusal.outcome : 'Run',
    stage: refused ? refused.stage : 'runtime',
    reason: refused ? refused.refusal.reason : '',
    message: refused ? refused.refusal.message : '',
    warnings: [...state.warnings, ...state.notes.map((note) => MODEL_NOTE + note)],
    storedPod,
    containers,
    trace: state.trace,
  };
}

function unstartedContainers(state: RunState, input: SimInput, outcome: Decision['outcome']): ContainerResult[] {
  const pod = state.pod;
  const started = new Set(state.containers.map((r) => r.name));
  return [...state.containers, ...pod.containers.filter((c) => !started.has(c.name)).map((container): ContainerResult => {
    const request = kubeletProfileRequest(pod, container, input.node.kubeletVersion);
    const blocked = outcome === 'Blocked' && container.kind !== 'ephemeralContainers';
    return {
      name: container.name,
      kind: container.kind,
      requested: request?.value ?? null,
      requestedBy: request?.by ?? 'none',
      appliedProfile: null,
      procAttrCurrent: null,
      state: blocked ? 'Waiting' : 'NotCreated',
      waitingReason: blocked ? 'Blocked' : undefined,
    };
  })];
}
