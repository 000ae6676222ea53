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

export interface SimInput {
  cluster: ClusterFacts;
  node: NodeFacts;
  pod: Pod;
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
}
