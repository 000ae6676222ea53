// fast-check arbitraries for everything the model takes, written as the CLI's readers take it: versions as text,
// scenario-shaped cluster and node maps, and Pod manifests (read by readPod, never built as model objects).
//
// Kubernetes facts the generators lean on (each consumer re-states the ones its property needs):
// - versions: the model covers 1.4-1.35; 1.3 is accepted (annotations silently ignored, CHANGELOG-1.4 introduces
//   AppArmor), 1.36 is refused by the version reader ("unknown Kubernetes version").
// - version skew: kubelets are at most three minors older than the API server and never newer
//   (kubernetes.io/releases/version-skew-policy, n-3 since 1.28, n-2 before; n-3 is used for every release here).
// - runtimes: dockershim until 1.23 (#97252), rkt until 1.10 (removed in 1.11); containerd, CRI-O, "remote" always.
// - gates: AppArmor beta 1.4-1.30, locked 1.31-1.32, removed 1.33; AppArmorFields beta 1.30, locked 1.31-1.32;
//   PodSecurity alpha 1.22, beta 1.23-1.24, locked 1.25-1.27, removed 1.28 (pkg/features/kube_features.go).
// - PodSecurityPolicy exists until 1.24 (#109798 removed it in 1.25).
import fc from 'fast-check';
import type { ContainerKind, ProfileMode, RuntimeName } from '../../sim/types.js';

/** Profile names used by pods and nodes; a small pool so that requests and loaded profiles meet. */
export const PROFILE_POOL = ['k8s-apparmor-example-deny-write', 'prof-a', 'prof-b'] as const;
/** Names the API server or kubelet treat specially: empty, padded, over PATH_MAX-1 bytes (4095), non-ASCII. */
export const ODD_PROFILE_NAMES = ['', ' prof-a', 'prof-a ', '   ', 'x'.repeat(4096), 'prøfil-ü', 'ns://prof-a'] as const;

export const ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

export const REGULAR_NAMES = ['app', 'web', 'side'] as const;
export const INIT_NAMES = ['init-a', 'init-b'] as const;
export const EPHEMERAL_NAMES = ['debugger'] as const;

export interface GenProfile {
  name: string;
  mode: ProfileMode;
}

/** A scenario `nodes[]` entry (also the shape of a `--node` file). */
export interface GenNode {
  name: string;
  kubeletVersion: string;
  featureGates: Record<string, boolean>;
  os: 'linux' | 'windows';
  appArmorEnabled: boolean;
  runtime: RuntimeName;
  profiles: GenProfile[];
}

export interface GenPsp {
  name: string;
  defaultProfileName?: string | undefined;
  allowedProfileNames?: string | undefined;
}

/** A scenario `cluster` entry. */
export interface GenCluster {
  version: string;
  featureGates: Record<string, boolean>;
  namespace: { name: string; labels: Record<string, string> };
  podSecurityPolicies: GenPsp[];
}

/** `securityContext.appArmorProfile` as written in a manifest. */
export interface GenField {
  type: string;
  localhostProfile?: string | undefined;
}

export interface GenContainer {
  kind: ContainerKind;
  name: string;
  privileged: boolean;
  /** The beta annotation for this container, or undefined for none. */
  annotation?: string | undefined;
  field?: GenField | undefined;
}

/** The abstract pod; `podManifest` turns it into the manifest the readers take. */
export interface GenPod {
  name: string;
  os?: 'linux' | 'windows' | undefined;
  podField?: GenField | undefined;
  /** Annotations beside the per-container ones: for containers that do not exist, or unrelated keys. */
  extraAnnotations: Record<string, string>;
  containers: GenContainer[];
  /** Write the annotations in reverse order (Go maps have none; the readers must not care). */
  reverseAnnotations?: boolean | undefined;
}

export interface GenCase {
  cluster: GenCluster;
  node: GenNode;
  pod: GenPod;
}

// ---- versions ----

/** Minors whose handling the model encodes. */
export const MODELLED = { from: 4, to: 35 } as const;

/** How a version may be written: "1.17", "v1.17", "v1.17.3", "1.17.0-rc.1" (parseVersion accepts all of them). */
export function versionText(minor: number): fc.Arbitrary<string> {
  return fc.constantFrom(`1.${minor}`, `v1.${minor}`, `v1.${minor}.3`, `1.${minor}.0-rc.1`);
}

/** The minor of a version text written by `versionText`. */
export function minorOf(text: string): number {
  const match = /^v?1\.(\d+)/.exec(text);
  if (!match?.[1]) throw new Error(`not a version: ${text}`);
  return Number(match[1]);
}

/**
 * Minors on either side of a change in AppArmor handling (scenarios.test.ts ERA_BOUNDARIES and the reference's
 * decision table): drawn as often as all others together, since that is where version mistakes live.
 */
export const ERA_EDGES = [4, 5, 6, 8, 9, 13, 14, 16, 17, 19, 20, 22, 23, 24, 25, 29, 30, 31, 33, 34] as const;

/** A minor in [min, max], half the time one of ERA_EDGES. */
export function minorArb(min: number, max: number): fc.Arbitrary<number> {
  const edges = ERA_EDGES.filter((v) => v >= min && v <= max);
  const all = fc.integer({ min, max });
  return edges.length === 0 ? all : fc.oneof(all, fc.constantFrom(...edges));
}

/** An API server minor the readers accept: modelled versions, sometimes 1.3 (before AppArmor, accepted and ignored). */
export const apiMinorArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 20, arbitrary: minorArb(MODELLED.from, MODELLED.to) },
  { weight: 1, arbitrary: fc.constant(3) },
);

/** Also 1.36, which the version reader refuses ("unknown Kubernetes version"): for properties about the readers. */
export const anyApiMinorArb: fc.Arbitrary<number> = fc.oneof({ weight: 20, arbitrary: apiMinorArb }, { weight: 1, arbitrary: fc.constant(36) });

/**
 * Ephemeral containers: alpha behind a gate (off) in 1.16-1.22, beta and on in 1.23, GA in 1.25 (KEP-277); the
 * generators add them only where a default cluster has them.
 */
export const EPHEMERAL_FROM = 23;
/** spec.initContainers exists from 1.6 (1.3-1.5 used the pod.beta.kubernetes.io/init-containers annotation). */
export const INIT_FROM = 6;

/** A kubelet minor for an API server minor: equal or up to three older, never below 1.3. */
export function kubeletMinorArb(api: number): fc.Arbitrary<number> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(api) }, { weight: 2, arbitrary: fc.integer({ min: Math.max(3, api - 3), max: api }) });
}

// ---- feature gates ----

/** Gate settings a component of that version starts with (the readers refuse the others; see `invalidGatesArb`). */
function validGates(component: 'apiserver' | 'kubelet', minor: number): fc.Arbitrary<Record<string, boolean>> {
  const options: fc.Arbitrary<Record<string, boolean>>[] = [fc.constant({})];
  if (minor >= 4 && minor <= 30) options.push(fc.constant({ AppArmor: false }), fc.constant({ AppArmor: true }));
  if (component === 'apiserver' && minor === 30) options.push(fc.constant({ AppArmorFields: false }));
  if (component === 'apiserver' && minor >= 22 && minor <= 24) options.push(fc.constant({ PodSecurity: minor === 22 }));
  return fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 2, arbitrary: fc.oneof(...options) });
}

/** Gates no component of that version starts with: unknown to it, or locked. */
function invalidGates(minor: number): Record<string, boolean> | undefined {
  if (minor >= 31 && minor <= 32) return { AppArmor: false };
  if (minor >= 33) return { AppArmor: true };
  if (minor < 4) return { AppArmor: true };
  if (minor < 30) return { AppArmorFields: true };
  return undefined;
}

// ---- nodes ----

const MODES: readonly ProfileMode[] = ['enforce', 'enforce', 'enforce', 'complain', 'kill', 'unconfined', 'prompt'];

export const profileArb: fc.Arbitrary<GenProfile> = fc.record({
  name: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...PROFILE_POOL) }, { weight: 1, arbitrary: fc.constantFrom('unrelated', 'docker-default', 'cri-containerd.apparmor.d') }),
  mode: fc.constantFrom(...MODES),
});

/** Loaded profiles, each name once (the kernel lists a profile once). */
export const profilesArb: fc.Arbitrary<GenProfile[]> = fc.uniqueArray(profileArb, { maxLength: 4, selector: (p) => p.name });

/** Runtimes a kubelet of that version can run with: docker (dockershim) until 1.23, rkt until 1.10. */
export function validRuntimes(kubelet: number): RuntimeName[] {
  const runtimes: RuntimeName[] = ['containerd', 'cri-o', 'remote'];
  if (kubelet <= 23) runtimes.push('docker', 'docker');
  if (kubelet <= 10) runtimes.push('rkt');
  return runtimes;
}

export interface NodeOptions {
  /** Fraction (out of 100) of nodes given settings no kubelet starts with; default 3. */
  invalidPercent?: number;
  os?: fc.Arbitrary<'linux' | 'windows'>;
  appArmorEnabled?: fc.Arbitrary<boolean>;
  profiles?: fc.Arbitrary<GenProfile[]>;
}

export function nodeArb(kubelet: number, options: NodeOptions = {}): fc.Arbitrary<GenNode> {
  const invalid = options.invalidPercent ?? 3;
  return fc
    .record({
      version: versionText(kubelet),
      gates: validGates('kubelet', kubelet),
      os: options.os ?? fc.oneof({ weight: 12, arbitrary: fc.constant('linux' as const) }, { weight: 1, arbitrary: fc.constant('windows' as const) }),
      appArmorEnabled: options.appArmorEnabled ?? fc.boolean(),
      runtime: fc.constantFrom(...validRuntimes(kubelet)),
      profiles: options.profiles ?? profilesArb,
      breakage: fc.integer({ min: 1, max: 100 }),
    })
    .map(({ version, gates, os, appArmorEnabled, runtime, profiles, breakage }): GenNode => {
      const node: GenNode = { name: 'node-1', kubeletVersion: version, featureGates: gates, os, appArmorEnabled: os === 'windows' ? false : appArmorEnabled, runtime, profiles };
      if (breakage <= invalid) {
        // Settings the kubelet refuses at start: the readers must say so rather than simulate.
        const gatesBroken = invalidGates(kubelet);
        if (breakage % 2 === 0 && gatesBroken) return { ...node, featureGates: gatesBroken };
        return { ...node, runtime: kubelet >= 24 ? 'docker' : kubelet >= 11 ? 'rkt' : 'docker' };
      }
      return node;
    });
}

// ---- cluster ----

const PSA_LEVELS = ['privileged', 'baseline', 'restricted'] as const;

/** Namespace labels for Pod Security Admission (read by API servers 1.22+; any namespace may carry them). */
export function psaLabelsArb(): fc.Arbitrary<Record<string, string>> {
  const level = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...PSA_LEVELS) }, { weight: 1, arbitrary: fc.constant('bogus') });
  const version = fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constant('latest') },
    { weight: 2, arbitrary: fc.integer({ min: 22, max: 36 }).map((m) => `v1.${m}`) },
    { weight: 1, arbitrary: fc.constant('one-point-x') },
  );
  return fc
    .record({ enforce: fc.option(level, { nil: undefined }), enforceVersion: version, warn: fc.option(fc.constantFrom(...PSA_LEVELS), { nil: undefined }) })
    .map(({ enforce, enforceVersion, warn }) => {
      const labels: Record<string, string> = {};
      if (enforce !== undefined) labels['pod-security.kubernetes.io/enforce'] = enforce;
      if (enforce !== undefined && enforceVersion !== undefined) labels['pod-security.kubernetes.io/enforce-version'] = enforceVersion;
      if (warn !== undefined) labels['pod-security.kubernetes.io/warn'] = warn;
      return labels;
    });
}

/** PodSecurityPolicies with the AppArmor annotations of PR #30183 (1.4-1.24). */
export const pspsArb: fc.Arbitrary<GenPsp[]> = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom('psp-a', 'psp-b', 'psp-c'),
    defaultProfileName: fc.option(fc.constantFrom('runtime/default', 'localhost/prof-a', 'unconfined'), { nil: undefined }),
    allowedProfileNames: fc.option(fc.constantFrom('runtime/default', 'runtime/default,localhost/prof-a', 'localhost/prof-b', 'unconfined,runtime/default'), { nil: undefined }),
  }),
  { maxLength: 2, selector: (p) => p.name },
);

export function clusterArb(api: number, options: { psps?: boolean; labels?: boolean } = {}): fc.Arbitrary<GenCluster> {
  const none = fc.constant<GenPsp[]>([]);
  const psps = options.psps === false || api > 24 ? none : fc.oneof({ weight: 3, arbitrary: none }, { weight: 1, arbitrary: pspsArb });
  const labels = options.labels === false ? fc.constant({}) : fc.oneof({ weight: 2, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: psaLabelsArb() });
  return fc.record({
    version: versionText(api),
    featureGates: validGates('apiserver', api),
    namespace: labels.map((l) => ({ name: 'default', labels: l })),
    podSecurityPolicies: psps,
  });
}

// ---- requests ----

/** A beta annotation value: valid ones (runtime/default, unconfined, localhost/NAME, "") and invalid ones. */
export const annotationValueArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('runtime/default') },
  { weight: 3, arbitrary: fc.constant('unconfined') },
  { weight: 4, arbitrary: fc.constantFrom(...PROFILE_POOL).map((n) => `localhost/${n}`) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('docker-default', 'runtime/foo', 'localhost', 'Unconfined', 'LOCALHOST/prof-a') },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_PROFILE_NAMES).map((n) => `localhost/${n}`) },
);

/** An appArmorProfile field: valid types, and the invalid shapes validateAppArmorProfileField names. */
export const fieldArb: fc.Arbitrary<GenField> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ type: 'RuntimeDefault' }) },
  { weight: 3, arbitrary: fc.constant({ type: 'Unconfined' }) },
  { weight: 4, arbitrary: fc.constantFrom(...PROFILE_POOL).map((n) => ({ type: 'Localhost', localhostProfile: n })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<GenField>(
      { type: 'Bogus' },
      { type: '' },
      { type: 'Localhost' },
      { type: 'RuntimeDefault', localhostProfile: 'prof-a' },
      { type: 'unconfined' },
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_PROFILE_NAMES).map((n) => ({ type: 'Localhost', localhostProfile: n })) },
);

export interface PodOptions {
  /** Annotation values to draw from; undefined for the default mix. Use fc.constant(undefined) for none. */
  annotation?: fc.Arbitrary<string | undefined>;
  field?: fc.Arbitrary<GenField | undefined>;
  podField?: fc.Arbitrary<GenField | undefined>;
  ephemeral?: boolean;
  init?: boolean;
  extraAnnotations?: boolean;
  os?: fc.Arbitrary<'linux' | 'windows' | undefined>;
  privileged?: fc.Arbitrary<boolean>;
}

function containersArb(options: PodOptions): fc.Arbitrary<GenContainer[]> {
  const annotation = options.annotation ?? fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 4, arbitrary: annotationValueArb });
  const field = options.field ?? fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fieldArb });
  const privileged = options.privileged ?? fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });
  const container = (kind: ContainerKind, name: string): fc.Arbitrary<GenContainer> => fc.record({ kind: fc.constant(kind), name: fc.constant(name), privileged, annotation, field });
  const named = (kind: ContainerKind, names: readonly string[], min: number): fc.Arbitrary<GenContainer[]> =>
    fc.shuffledSubarray([...names], { minLength: min }).chain((picked) => (picked.length === 0 ? fc.constant<GenContainer[]>([]) : fc.tuple(...picked.map((n) => container(kind, n)))));
  return fc
    .tuple(options.init === false ? fc.constant<GenContainer[]>([]) : named('initContainers', INIT_NAMES, 0), named('containers', REGULAR_NAMES, 1), options.ephemeral === false ? fc.constant<GenContainer[]>([]) : fc.oneof({ weight: 4, arbitrary: fc.constant<GenContainer[]>([]) }, { weight: 1, arbitrary: named('ephemeralContainers', EPHEMERAL_NAMES, 1) }))
    .map(([init, regular, ephemeral]) => [...init, ...regular, ...ephemeral]);
}

export function podArb(options: PodOptions = {}, api: number = MODELLED.to): fc.Arbitrary<GenPod> {
  if (api < EPHEMERAL_FROM) options = { ...options, ephemeral: false };
  if (api < INIT_FROM) options = { ...options, init: false };
  const extra =
    options.extraAnnotations === false
      ? fc.constant({})
      : fc.oneof(
          { weight: 6, arbitrary: fc.constant({}) },
          { weight: 1, arbitrary: annotationValueArb.map((v) => ({ [`${ANNOTATION_PREFIX}ghost`]: v })) },
          { weight: 1, arbitrary: fc.constant({ 'example.com/team': 'payments' }) },
        );
  return fc.record({
    name: fc.constantFrom('hello-apparmor', 'p', 'pod-1'),
    os: options.os ?? fc.oneof({ weight: 10, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('linux' as const, 'windows' as const) }),
    podField: options.podField ?? fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fieldArb }),
    extraAnnotations: extra,
    containers: containersArb(options),
  });
}

// ---- whole inputs ----

export interface CaseOptions {
  pod?: PodOptions;
  api?: fc.Arbitrary<number>;
  node?: NodeOptions;
  cluster?: { psps?: boolean; labels?: boolean };
  kubelet?: (api: number) => fc.Arbitrary<number>;
}

/** One cluster, one node, one pod: everything `simulate` takes, in the readers' shapes. */
export function caseArb(options: CaseOptions = {}): fc.Arbitrary<GenCase> {
  return (options.api ?? apiMinorArb).chain((api) =>
    (options.kubelet ?? kubeletMinorArb)(api).chain((kubelet) =>
      fc.record({ cluster: clusterArb(api, options.cluster), node: nodeArb(kubelet, options.node), pod: podArb(options.pod, api) }),
    ),
  );
}

// ---- manifests ----

function fieldManifest(field: GenField): Record<string, unknown> {
  return field.localhostProfile === undefined ? { type: field.type } : { type: field.type, localhostProfile: field.localhostProfile };
}

/** The Pod manifest of an abstract pod, as a user would write it. */
export function podManifest(pod: GenPod): Record<string, unknown> {
  const annotations: Record<string, string> = { ...pod.extraAnnotations };
  for (const c of pod.containers) if (c.annotation !== undefined) annotations[ANNOTATION_PREFIX + c.name] = c.annotation;
  const spec: Record<string, unknown> = {};
  if (pod.os !== undefined) spec['os'] = { name: pod.os };
  if (pod.podField !== undefined) spec['securityContext'] = { appArmorProfile: fieldManifest(pod.podField) };
  for (const kind of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    const list = pod.containers.filter((c) => c.kind === kind);
    if (list.length === 0) continue;
    spec[kind] = list.map((c) => {
      const entry: Record<string, unknown> = { name: c.name, image: 'busybox:1.36' };
      const securityContext: Record<string, unknown> = {};
      if (c.privileged) securityContext['privileged'] = true;
      if (c.field !== undefined) securityContext['appArmorProfile'] = fieldManifest(c.field);
      if (Object.keys(securityContext).length > 0) entry['securityContext'] = securityContext;
      if (kind === 'ephemeralContainers') entry['targetContainerName'] = pod.containers.find((x) => x.kind === 'containers')?.name;
      return entry;
    });
  }
  const metadata: Record<string, unknown> = { name: pod.name };
  const entries = Object.entries(annotations);
  if (entries.length > 0) metadata['annotations'] = Object.fromEntries(pod.reverseAnnotations ? entries.reverse() : entries);
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
}

/** Whether the pod asks for any AppArmor profile: a beta annotation (for any name) or an appArmorProfile field. */
export function asksForAppArmor(pod: GenPod): boolean {
  return (
    pod.podField !== undefined ||
    pod.containers.some((c) => c.annotation !== undefined || c.field !== undefined) ||
    Object.keys(pod.extraAnnotations).some((k) => k.startsWith(ANNOTATION_PREFIX))
  );
}

/** Run counts: a fixed default so the suite stays well under two minutes on two cores; APPARMOR_SIM_PROPERTY_RUNS overrides it. */
export function runs(defaultRuns: number): number {
  const env = process.env['APPARMOR_SIM_PROPERTY_RUNS'];
  const parsed = env === undefined ? NaN : Number(env);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : defaultRuns;
}
