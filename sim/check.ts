import type { FieldError } from './apierrors.js';
import type { CheckVerdict, ClusterFacts, ContainerResult, FieldValidation, Minor, NodeFacts, Outcome, Pod, Stage } from './types.js';
import type { VersionRange } from './version.js';

/** Which component's version selects a check's behaviour. */
export type Component = 'apiserver' | 'kubelet';

export interface CheckContext {
  readonly cluster: ClusterFacts;
  readonly node: NodeFacts;
  /** The pod as it stands at this point of the pipeline (mutations of earlier checks applied). */
  readonly pod: Pod;
  /** The pod as submitted. */
  readonly submitted: Pod;
  /** fieldValidation of the create request; undefined means the server's default. */
  readonly fieldValidation?: FieldValidation | undefined;
  /** The create request itself carried spec.ephemeralContainers. */
  readonly ephemeralOnCreate?: boolean | undefined;
  /** Set while the workload itself is created (sim/workload.ts); `pod` is then its pod template. */
  readonly workload?: WorkloadKindInfo | undefined;
  /** The workload manifest's apiVersion as written (e.g. "apps/v1"). */
  readonly workloadApiVersion?: string | undefined;
}

/** A workload kind as the API server sees it. */
export interface WorkloadKindInfo {
  kind: string;
  name: string;
  /** "Deployment.apps", "ReplicationController". */
  groupKind: string;
  /** The version part of the manifest's apiVersion ("v1" for apps/v1). */
  version: string;
  /** Where the pod template sits, e.g. "spec.template", "spec.jobTemplate.spec.template", "template". */
  templatePath: string;
}

export interface Refusal {
  outcome: Exclude<Outcome, 'Run'>;
  reason: string;
  message: string;
}

export interface CheckResult {
  verdict: CheckVerdict;
  detail: string;
  /** A replacement pod (mutating checks). */
  pod?: Pod;
  warnings?: string[];
  /** Model notes, shown as warnings prefixed "apparmor-sim: ". */
  notes?: string[];
  /** API validation errors; the validation checks' errors are aggregated into one Invalid refusal. */
  fieldErrors?: FieldError[];
  /** Stops the pipeline. */
  refusal?: Refusal;
  /** Per-container results the runtime stage fills in. */
  containers?: ContainerResult[];
  /** Overrides the check's declared source for this result (e.g. the era-specific file). */
  source?: string;
}

/**
 * One upstream check, modelled the way pod-security-admission models its checks: an id, the versions of the
 * component it exists in, its upstream source, and a pure function of the context.
 */
export interface Check {
  id: string;
  stage: Stage;
  component: Component;
  versions: VersionRange;
  /** Validation checks contribute field errors to one aggregated 422 instead of refusing on their own. */
  validation?: boolean;
  source: string;
  run(ctx: CheckContext, version: Minor): CheckResult;
}

export const pass = (detail: string, extra: Omit<CheckResult, 'verdict' | 'detail'> = {}): CheckResult => ({ verdict: 'pass', detail, ...extra });
export const skip = (detail: string): CheckResult => ({ verdict: 'skip', detail });
