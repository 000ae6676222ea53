// Shared vocabulary of the model. Everything in sim/ is pure: no file, process or network access.

/** A Kubernetes minor version of the 1.x line, e.g. 17 for "1.17". */
export type Minor = number;

export type Outcome = 'Run' | 'Forbidden' | 'Blocked' | 'Rejected' | 'CreateContainerError';
export type Stage = 'apiserver' | 'admission' | 'kubelet' | 'runtime';

/** Runtimes as the kubelet knew them: `--container-runtime` values before 1.24, CRI implementations after. */
export type RuntimeName = 'containerd' | 'cri-o' | 'docker' | 'remote' | 'rkt';
export const RUNTIME_NAMES: readonly RuntimeName[] = ['containerd', 'cri-o', 'docker', 'remote', 'rkt'];

/** Modes the kernel prints after a profile name in /sys/kernel/security/apparmor/profiles. */
export type ProfileMode = 'enforce' | 'complain' | 'kill' | 'unconfined' | 'prompt';
export const PROFILE_MODES: readonly ProfileMode[] = ['enforce', 'complain', 'kill', 'unconfined', 'prompt'];

export interface LoadedProfile {
  name: string;
  mode: ProfileMode;
}

export type FeatureGates = Readonly<Record<string, boolean>>;

export interface NodeFacts {
  name: string;
  kubeletVersion: Minor;
  featureGates: FeatureGates;
  os: 'linux' | 'windows';
  /** Whether the kernel AppArmor module is enabled (/sys/module/apparmor/parameters/enabled is Y and securityfs is mounted). */
  appArmorEnabled: boolean;
  runtime: RuntimeName;
  profiles: readonly LoadedProfile[];
}

export interface PodSecurityPolicyFacts {
  name: string;
  /** Value of apparmor.security.beta.kubernetes.io/defaultProfileName. */
  defaultProfileName?: string | undefined;
  /** Value of apparmor.security.beta.kubernetes.io/allowedProfileNames as written (comma separated). */
  allowedProfileNames?: string | undefined;
}

export interface NamespaceFacts {
  name: string;
  labels: Readonly<Record<string, string>>;
}

export interface ClusterFacts {
  /** API server minor version. */
  version: Minor;
  featureGates: FeatureGates;
  namespace: NamespaceFacts;
  podSecurityPolicies: readonly PodSecurityPolicyFacts[];
}

// ---- The Pod, as much of it as AppArmor handling reads ----

export type AppArmorProfileType = 'Unconfined' | 'RuntimeDefault' | 'Localhost';

/** `securityContext.appArmorProfile` as written; `type` stays a string so invalid values reach validation. */
export interface AppArmorProfileField {
  type: string;
  localhostProfile?: string | undefined;
}

export type ContainerKind = 'initContainers' | 'containers' | 'ephemeralContainers';

export interface Container {
  kind: ContainerKind;
  name: string;
  privileged: boolean;
  appArmorProfile?: AppArmorProfileField | undefined;
}

export interface Pod {
  name: string;
  generateName?: string | undefined;
  namespace?: string | undefined;
  annotations: Readonly<Record<string, string>>;
  os?: string | undefined;
  appArmorProfile?: AppArmorProfileField | undefined;
  /** Init, regular and ephemeral containers, in the order Kubernetes visits them. */
  containers: readonly Container[];
}

/**
 * The fieldValidation query parameter of the create (KEP-2885): what the API server does with fields it does not know.
 * Absent: the server's default (Warn from 1.25, when server-side field validation went beta; nothing before).
 */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export const FIELD_VALIDATIONS: readonly FieldValidation[] = ['Strict', 'Warn', 'Ignore'];

/** A workload whose pod template the pod comes from: created first, then its controller creates the pod. */
export interface WorkloadRequest {
  kind: string;
  /** As written in the manifest, e.g. "apps/v1" (the version appears in decoding errors). */
  apiVersion: string;
  name: string;
}

export interface SimInput {
  cluster: ClusterFacts;
  node: NodeFacts;
  /**
   * The pod. Its `ephemeralContainers` join the running pod through the pods/ephemeralcontainers subresource after the
   * create, unless `ephemeralOnCreate` says the create request itself carried them in spec.ephemeralContainers.
   */
  pod: Pod;
  /** The create request carried spec.ephemeralContainers (a manifest as written), which ValidatePodCreate refuses. */
  ephemeralOnCreate?: boolean | undefined;
  /** Ephemeral containers added after the create through pods/ephemeralcontainers (kubectl debug). */
  addEphemeralContainers?: readonly Container[] | undefined;
  /** fieldValidation of the user's create (of the pod, or of the workload when there is one). */
  fieldValidation?: FieldValidation | undefined;
  /** Set when the pod is built from this workload's template: the workload is created first (sim/workload.ts). */
  workload?: WorkloadRequest | undefined;
}

// ---- The decision ----

export type CheckVerdict = 'pass' | 'fail' | 'mutate' | 'skip' | 'info';

export interface TraceEntry {
  check: string;
  stage: Stage;
  /** Which component's version the check was selected by, and that version, e.g. "kubelet 1.17". */
  component: string;
  verdict: CheckVerdict;
  detail: string;
  source: string;
}

export interface ContainerResult {
  name: string;
  kind: ContainerKind;
  /** The AppArmor request the kubelet acts on, in annotation syntax (`runtime/default`, `localhost/x`, `unconfined`), or null for none. */
  requested: string | null;
  /** Where the request came from. */
  requestedBy: 'container-field' | 'annotation' | 'pod-field' | 'psp-default' | 'none';
  /** The profile the runtime applies, or null when the container does not start. */
  appliedProfile: string | null;
  /** What `cat /proc/1/attr/current` prints inside the container, or null when it does not start or AppArmor is off. */
  procAttrCurrent: string | null;
  state: 'Running' | 'Waiting' | 'NotCreated';
  waitingReason?: string | undefined;
}

/** What the API server answered to the create of the workload itself, and what its controller then records. */
export interface WorkloadDecision {
  kind: string;
  name: string;
  /** `Kind.group` as the API server names it in errors (core kinds have no group). */
  groupKind: string;
  outcome: 'Created' | 'Forbidden';
  /** Invalid (422), BadRequest (400), or empty when created. */
  reason: string;
  message: string;
  /** Warning headers of the workload create (what kubectl prints as "Warning: ..."), then model notes. */
  warnings: string[];
  /**
   * The event the controller records when the API server refuses the pod it creates (reason FailedCreate), with the
   * object it is recorded on (the ReplicaSet of a Deployment, the Job of a CronJob); absent when the pod is created.
   */
  event?: { object: string; reason: string; message: string } | undefined;
  trace: TraceEntry[];
}

export interface Decision {
  outcome: Outcome;
  stage: Stage;
  /** API status reason (Invalid, Forbidden), pod status reason (AppArmor) or container waiting reason. Empty for Run. */
  reason: string;
  /** The exact text a cluster of that version shows; empty for Run. */
  message: string;
  /** API warnings returned with the create (Warning headers), then model warnings prefixed "apparmor-sim: ". */
  warnings: string[];
  /** The pod as the API server stored it (after create-time mutation), or null when the API refused it. */
  storedPod: Pod | null;
  containers: ContainerResult[];
  trace: TraceEntry[];
  /** Only when the input named a workload: the workload-level outcome. The rest of the decision is the pod's. */
  workload?: WorkloadDecision | undefined;
}
