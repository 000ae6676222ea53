// Properties of the model that follow from Kubernetes semantics, each checked on generated clusters, nodes and
// pods read through the CLI's readers. A failure prints the seed and the shrunk counterexample as scenario YAML.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../cli/commands/scenarios.js';
import { loadScenarioFile } from '../../io/load/scenario.js';
import { simulate } from '../../sim/simulate.js';
import type { ContainerResult, Decision, Outcome, Stage } from '../../sim/types.js';
import type { GenCase, GenContainer, GenField, GenPod, GenPsp } from './arbitraries.js';
import {
  ANNOTATION_PREFIX,
  anyApiMinorArb,
  asksForAppArmor,
  caseArb,
  clusterArb,
  fieldArb,
  kubeletMinorArb,
  minorArb,
  minorOf,
  nodeArb,
  podArb,
  PROFILE_POOL,
  profilesArb,
  runs,
} from './arbitraries.js';
import { checkProperty, loadCase, mustLoad, scenarioYaml } from './harness.js';
import { messageTemplates, warningTemplates } from './templates.js';

const RUNS = runs(400);
const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-properties-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const OUTCOMES: readonly Outcome[] = ['Run', 'Forbidden', 'Blocked', 'Rejected', 'CreateContainerError'];
const STAGES: readonly Stage[] = ['apiserver', 'admission', 'kubelet', 'runtime'];
const refused = (d: Decision) => d.outcome !== 'Run';
const one = (c: GenCase, name = 'counterexample') => [{ name, case: c }];

/** What a container ends up as, without the request bookkeeping (which differs between annotation and field). */
function containerOutcome(result: ContainerResult | undefined): string {
  if (!result) return 'missing';
  return JSON.stringify([result.kind, result.state, result.waitingReason ?? null, result.appliedProfile, result.procAttrCurrent]);
}

function byName(decision: Decision): Map<string, ContainerResult> {
  return new Map(decision.containers.map((c) => [c.name, c]));
}

describe('totality', () => {
  it('every input gets exactly one decision, or the readers refuse it with one-line errors; nothing throws', async () => {
    await checkProperty(
      caseArb({ api: anyApiMinorArb }),
      async (c) => {
        const loaded = await loadCase(c);
        if (!loaded.ok) {
          expect(loaded.errors.length).toBeGreaterThan(0);
          for (const error of loaded.errors) expect(error).not.toContain('\n');
          // 1.36 is not modelled: the version reader says so instead of guessing (sim/version.ts NEWEST_MODELLED_MINOR).
          if (minorOf(c.cluster.version) === 36) expect(loaded.errors.join('\n')).toContain('unknown Kubernetes version 1.36');
          return;
        }
        if (minorOf(c.cluster.version) === 36 || minorOf(c.node.kubeletVersion) === 36) throw new Error('a 1.36 component was accepted');
        const decision = simulate(loaded.input);
        expect(OUTCOMES).toContain(decision.outcome);
        expect(STAGES).toContain(decision.stage);
        expect(decision.outcome === 'Run', 'Run exactly when there is no reason and no message').toBe(decision.reason === '' && decision.message === '');
        if (decision.outcome === 'Run') expect(decision.stage).toBe('runtime');
        // Exactly one result per container of the manifest, whatever stage decided (a container that never starts
        // is reported as not created or waiting, never left out).
        const names = loaded.input.pod.containers.map((x) => `${x.kind}/${x.name}`).sort();
        expect(decision.containers.map((x) => `${x.kind}/${x.name}`).sort()).toEqual(names);
        expect(decision.trace.filter((t) => t.detail.includes('internal error'))).toEqual([]);
        // Deterministic: the same input decides the same way.
        expect(simulate(loaded.input)).toEqual(decision);
        // Before 1.4 the annotations are accepted and ignored; the model says so (CHANGELOG-1.4 introduces AppArmor).
        const annotated = Object.keys(loaded.input.pod.annotations).some((k) => k.startsWith(ANNOTATION_PREFIX));
        if (loaded.input.cluster.version < 4 && annotated) expect(decision.warnings.join('\n')).toMatch(/silently ignores the AppArmor annotations/);
      },
      { numRuns: RUNS, scenarios: (c) => one(c), statement: 'totality' },
    );
  });
});

describe('monotonicity in the loaded profiles (the kubelet and the runtimes only ever look a profile up)', () => {
  const withProfiles = caseArb({ node: { invalidPercent: 0 } }).chain((c) => profilesArb.map((extra) => ({ c, extra })));

  it('loading more profiles on a node never turns a Run into a refusal', async () => {
    await checkProperty(
      withProfiles,
      async ({ c, extra }) => {
        const more: GenCase = { ...c, node: { ...c.node, profiles: [...c.node.profiles, ...extra.filter((p) => !c.node.profiles.some((q) => q.name === p.name))] } };
        const before = simulate(await mustLoad(c));
        if (refused(before)) return;
        expect(simulate(await mustLoad(more)).outcome).toBe('Run');
      },
      { numRuns: RUNS, scenarios: ({ c, extra }) => [{ name: 'fewer-profiles', case: c }, { name: 'more-profiles', case: { ...c, node: { ...c.node, profiles: [...c.node.profiles, ...extra.filter((p) => !c.node.profiles.some((q) => q.name === p.name))] } } }], statement: 'loading profiles keeps Run' },
    );
  });

  it('removing profiles from a node never turns a refusal into a Run', async () => {
    const withRemoval = caseArb({ node: { invalidPercent: 0 } }).chain((c) => fc.subarray(c.node.profiles).map((kept) => ({ c, kept })));
    await checkProperty(
      withRemoval,
      async ({ c, kept }) => {
        const before = simulate(await mustLoad(c));
        if (!refused(before)) return;
        expect(simulate(await mustLoad({ ...c, node: { ...c.node, profiles: kept } })).outcome).not.toBe('Run');
      },
      { numRuns: RUNS, scenarios: ({ c, kept }) => [{ name: 'all-profiles', case: c }, { name: 'some-profiles-removed', case: { ...c, node: { ...c.node, profiles: kept } } }], statement: 'unloading profiles keeps a refusal' },
    );
  });
});

describe('pods that ask for no AppArmor profile', () => {
  // No beta annotation (for any container name), no appArmorProfile field, and no PodSecurityPolicy (whose
  // defaultProfileName adds a request and whose allowedProfileNames demands one, strategy.go PR #30183). The runtimes
  // still apply their default profile (docker-default, cri-containerd.apparmor.d, crio-default) to unprivileged
  // containers, and Pod Security Admission baseline still refuses privileged containers (check_privileged.go) — that
  // refusal is not about AppArmor. Nothing else may refuse the pod: the kubelet's isRequired is false
  // (helpers.go), so validateHost's result is never consulted (validate.go Validate).
  const noRequest = caseArb({
    node: { invalidPercent: 0 },
    cluster: { psps: false },
    pod: { annotation: fc.constant(undefined), field: fc.constant(undefined), podField: fc.constant(undefined), extraAnnotations: false },
  });

  it('are never refused for AppArmor, on any node: they run, or PSA refuses a privileged container', async () => {
    await checkProperty(
      noRequest,
      async (c) => {
        expect(asksForAppArmor(c.pod)).toBe(false);
        const decision = simulate(await mustLoad(c));
        for (const container of decision.containers) expect(container.requestedBy, container.name).toBe('none');
        if (decision.outcome === 'Run') return;
        expect(decision.stage).toBe('admission');
        // 1.22 (pod-security-admission v0.22.0) denies with the bare failure list; later versions wrap it.
        expect(decision.message).toMatch(/(^|violates PodSecurity "(baseline|restricted):[^"]+": )privileged \(containers? [^()]+ must not set securityContext\.privileged=true\)$/);
        expect(decision.message).not.toContain('AppArmor profile');
      },
      { numRuns: RUNS, scenarios: (c) => one(c), statement: 'no AppArmor request: never refused for AppArmor' },
    );
  });
});

describe('unconfined pods from 1.9', () => {
  // isRequired (pkg/security/apparmor/helpers.go) became `value != "unconfined"` for the beta annotation with
  // #52395 in 1.9 (before, any annotation made AppArmor required), and from 1.30 a field counts when its type is not
  // Unconfined. validator.Validate returns nil before consulting validateHost when AppArmor is not required, so the
  // node's kernel state, loaded profiles, kubelet gate and runtime cannot matter. The runtimes accept "unconfined"
  // on hosts without AppArmor (containerd generateApparmorSpecOpts only fails for a profile other than Unconfined).
  const unconfinedPod = (api: number): fc.Arbitrary<GenPod> =>
    podArb({
      // Before 1.30 the fields do not exist, so every container says unconfined through its annotation.
      annotation: api >= 30 ? fc.constantFrom('unconfined', undefined) : fc.constant('unconfined'),
      field: api >= 30 ? fc.constantFrom<GenField | undefined>({ type: 'Unconfined' }, undefined) : fc.constant(undefined),
      podField: api >= 30 ? fc.constantFrom<GenField | undefined>({ type: 'Unconfined' }, undefined) : fc.constant(undefined),
      extraAnnotations: false,
      os: fc.constant(undefined),
    }, api).map((pod) => ({
      ...pod,
      // Annotations cannot name ephemeral containers (they join later); give those the field or nothing.
      containers: pod.containers.map((x): GenContainer => (x.kind === 'ephemeralContainers' ? { ...x, annotation: undefined } : x)),
    }));

  const pairs = minorArb(9, 35)
    .chain((api) => fc.integer({ min: Math.max(9, api - 3), max: api }).map((kubelet) => ({ api, kubelet })))
    .chain(({ api, kubelet }) =>
      fc.record({
        cluster: clusterArb(api, { psps: false }),
        pod: unconfinedPod(api).filter((p) => p.podField !== undefined || p.containers.some((x) => x.annotation !== undefined || x.field !== undefined)),
        a: nodeArb(kubelet, { invalidPercent: 0 }),
        b: nodeArb(kubelet, { invalidPercent: 0 }),
      }),
    );

  it('the outcome does not depend on the node (kernel AppArmor, loaded profiles, kubelet gate, runtime)', async () => {
    await checkProperty(
      pairs,
      async ({ cluster, pod, a, b }) => {
        const first = simulate(await mustLoad({ cluster, node: a, pod }));
        const second = simulate(await mustLoad({ cluster, node: b, pod }));
        expect([second.outcome, second.stage]).toEqual([first.outcome, first.stage]);
        expect(first.stage).not.toBe('kubelet');
      },
      { numRuns: RUNS, scenarios: ({ cluster, pod, a, b }) => [{ name: 'node-a', case: { cluster, node: a, pod } }, { name: 'node-b', case: { cluster, node: b, pod } }], statement: 'unconfined-only pods (1.9+) do not depend on the node' },
    );
  });

  it('the boundary is the kubelet 1.9: a kubelet 1.5-1.8 (any annotation makes AppArmor required) holds it on a node without AppArmor', async () => {
    // Version skew of that era: a kubelet up to two minors older than the API server (which must be 1.9+ to accept
    // the value, ValidateAppArmorProfileFormat #52395).
    const arb = fc
      .integer({ min: 9, max: 10 })
      .chain((api) => fc.integer({ min: api - 2, max: 8 }).map((kubelet) => ({ api, kubelet })))
      .chain(({ api, kubelet }) =>
        fc.record({ api: fc.constant(api), cluster: clusterArb(api, { psps: false, labels: false }).map((x) => ({ ...x, featureGates: {} })), pod: unconfinedPod(api), node: nodeArb(kubelet, { invalidPercent: 0, appArmorEnabled: fc.constant(false), os: fc.constant('linux') }) }),
      );
    await checkProperty(
      arb,
      async ({ cluster, pod, node }) => {
        const decision = simulate(await mustLoad({ cluster, node: { ...node, featureGates: {} }, pod }));
        expect([decision.outcome, decision.stage]).toEqual(['Blocked', 'kubelet']);
      },
      { numRuns: Math.ceil(RUNS / 5), scenarios: ({ cluster, pod, node }) => one({ cluster, node: { ...node, featureGates: {} }, pod }), statement: 'kubelets before 1.9 require AppArmor for unconfined' },
    );
  });
});

describe('kubelet refusals', () => {
  // 1.4: a hard admit handler, rejectPod -> phase Failed (1.4-era e2e expects PodFailed); 1.5-1.30: soft admission,
  // pod Pending with containers waiting "Blocked" (CHANGELOG-1.5 #35342 "Hold bad AppArmor pods in pending rather
  // than rejecting"); 1.31+: hard admission again, Failed (CHANGELOG-1.31 #125776).
  const expected = (kubelet: number): Outcome => (kubelet >= 5 && kubelet <= 30 ? 'Blocked' : 'Rejected');

  it('are Blocked (Pending) exactly for kubelets 1.5-1.30 and Rejected (Failed) for 1.4 and 1.31+, on any input', async () => {
    await checkProperty(
      caseArb({ node: { invalidPercent: 0 } }),
      async (c) => {
        const loaded = await loadCase(c);
        if (!loaded.ok) return;
        const decision = simulate(loaded.input);
        if (decision.outcome === 'Blocked' || decision.outcome === 'Rejected') expect(decision.stage).toBe('kubelet');
        if (decision.stage !== 'kubelet') return;
        expect(decision.outcome).toBe(expected(loaded.input.node.kubeletVersion));
        const waiting = decision.containers.filter((x) => x.kind !== 'ephemeralContainers').map((x) => x.waitingReason ?? x.state);
        expect(waiting.every((w) => w === (decision.outcome === 'Blocked' ? 'Blocked' : 'NotCreated'))).toBe(true);
      },
      { numRuns: RUNS, scenarios: (c) => one(c), statement: 'Blocked exactly in 1.5-1.30' },
    );
  });

  it('hold for every kubelet version when the node has no AppArmor and a container asks for runtime/default', async () => {
    const arb = fc
      .integer({ min: 4, max: 35 })
      .chain((v) =>
        fc.record({
          cluster: clusterArb(v, { psps: false, labels: false }),
          node: nodeArb(v, { invalidPercent: 0, appArmorEnabled: fc.constant(false), os: fc.constant('linux') }),
          pod: podArb({ annotation: fc.constant('runtime/default'), field: fc.constant(undefined), podField: fc.constant(undefined), ephemeral: false, extraAnnotations: false, os: fc.constant(undefined) }, v),
        }),
      )
      .map((c) => ({ ...c, cluster: { ...c.cluster, featureGates: {} } }));
    await checkProperty(
      arb,
      async (c) => {
        const decision = simulate(await mustLoad(c));
        expect([decision.stage, decision.outcome]).toEqual(['kubelet', expected(minorOf(c.node.kubeletVersion))]);
      },
      { numRuns: RUNS, scenarios: (c) => one(c), statement: 'kubelet refusal status by version' },
    );
  });
});

describe('annotations and fields (1.30+)', () => {
  // From 1.30 the API server syncs the beta annotations and the fields on create (applyAppArmorVersionSkew,
  // pkg/registry/core/pod/strategy.go, #123435; fields no longer copied to annotations from 1.34, #131989) and the
  // kubelet reads container field > annotation > pod field (helpers.go GetProfile), so one request has one outcome
  // whichever way it is written. Exceptions the generator leaves out, because upstream treats them differently:
  //  - Windows pods: the fields are Forbidden there (validateWindows), the annotations are neither refused nor synced;
  //  - localhost names the field validation refuses (empty, whitespace-padded, over 4095 bytes) while the annotation
  //    passes API validation (any "localhost/" prefix) and is refused later by the kubelet (#108143) or runtime;
  //  - API server gates AppArmor=false / AppArmorFields=false on 1.30: dropDisabledFields drops annotations and
  //    fields by different gates;
  //  - ephemeral containers: an annotation cannot name one on create (annotations are immutable afterwards,
  //    "may not add AppArmor annotations"), while the pod-level field reaches it;
  //  - a pod-level field shadowed by a container request on every container (see the filter below);
  //  - a kubelet older than 1.30 under a 1.34+ API server (fields no longer copied to annotations) is outside the
  //    version-skew policy (n-3) and not generated.
  type Request = { kind: 'none' } | { kind: 'runtime-default' } | { kind: 'unconfined' } | { kind: 'localhost'; name: string } | { kind: 'invalid' };
  const requestArb: fc.Arbitrary<Request> = fc.oneof(
    { weight: 2, arbitrary: fc.constant({ kind: 'none' } as const) },
    { weight: 2, arbitrary: fc.constant({ kind: 'runtime-default' } as const) },
    { weight: 2, arbitrary: fc.constant({ kind: 'unconfined' } as const) },
    { weight: 3, arbitrary: fc.constantFrom(...PROFILE_POOL).map((name) => ({ kind: 'localhost', name }) as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'invalid' } as const) },
  );
  const asAnnotation = (r: Request): string | undefined =>
    r.kind === 'none' ? undefined : r.kind === 'runtime-default' ? 'runtime/default' : r.kind === 'unconfined' ? 'unconfined' : r.kind === 'localhost' ? `localhost/${r.name}` : 'docker-default';
  const asField = (r: Request): GenField | undefined =>
    r.kind === 'none' ? undefined : r.kind === 'runtime-default' ? { type: 'RuntimeDefault' } : r.kind === 'unconfined' ? { type: 'Unconfined' } : r.kind === 'localhost' ? { type: 'Localhost', localhostProfile: r.name } : { type: 'Bogus' };

  const arb = minorArb(30, 35)
    .chain((api) => kubeletMinorArb(api).map((kubelet) => ({ api, kubelet })))
    .chain(({ api, kubelet }) =>
      fc.record({
        cluster: clusterArb(api, { psps: false }).map((x) => ({ ...x, featureGates: {} })),
        node: nodeArb(kubelet, { invalidPercent: 0, os: fc.constant('linux') }),
        shape: podArb({ ephemeral: false, extraAnnotations: false, os: fc.constant(undefined), annotation: fc.constant(undefined), field: fc.constant(undefined), podField: fc.constant(undefined) }, api),
        podRequest: fc.oneof({ weight: 3, arbitrary: fc.constant<Request>({ kind: 'none' }) }, { weight: 1, arbitrary: requestArb.filter((r) => r.kind !== 'invalid') }),
        requests: fc.array(requestArb, { minLength: 5, maxLength: 5 }),
      }),
    )
    // Upstream exception: isRequired (helpers.go, 1.30+) returns true for a pod-level field that is not Unconfined
    // even when every container overrides it, so a pod-level request shadowed on every container still needs
    // AppArmor on the node, while the same containers written as annotations (no pod-level request) may not.
    .filter(({ shape, podRequest, requests }) => podRequest.kind === 'none' || shape.containers.some((_, i) => (requests[i]?.kind ?? 'none') === 'none'))
    .map(({ cluster, node, shape, podRequest, requests }) => {
      const containers = shape.containers.map((x, i) => ({ ...x, request: requests[i] ?? ({ kind: 'none' } as Request) }));
      const annotated: GenPod = {
        ...shape,
        podField: undefined,
        containers: containers.map(({ request, ...x }) => ({ ...x, annotation: asAnnotation(request.kind === 'none' ? podRequest : request), field: undefined })),
      };
      const fielded: GenPod = {
        ...shape,
        podField: asField(podRequest),
        containers: containers.map(({ request, ...x }) => ({ ...x, annotation: undefined, field: asField(request) })),
      };
      return { annotated: { cluster, node, pod: annotated }, fielded: { cluster, node, pod: fielded } };
    });

  it('the same request written as annotations or as fields gets the same outcome and the same containers', async () => {
    await checkProperty(
      arb,
      async ({ annotated, fielded }) => {
        const a = simulate(await mustLoad(annotated));
        const f = simulate(await mustLoad(fielded));
        expect([f.outcome, f.stage]).toEqual([a.outcome, a.stage]);
        const fields = byName(f);
        for (const container of a.containers) expect(containerOutcome(fields.get(container.name)), container.name).toBe(containerOutcome(container));
      },
      { numRuns: RUNS, scenarios: ({ annotated, fielded }) => [{ name: 'as-annotations', case: annotated }, { name: 'as-fields', case: fielded }], statement: 'annotations and fields agree (1.30+)' },
    );
  });
});

describe('Pod Security Admission (1.23+)', () => {
  // policy/check_appArmorProfile.go (pod-security-admission, every tag since v0.22.0): the baseline level (and so
  // restricted) forbids AppArmor annotations other than "", runtime/default and localhost/*, and from v0.30.0 also
  // appArmorProfile types other than RuntimeDefault and Localhost. PSA is a validating admission plugin, on by
  // default from 1.23 (beta) and GA in 1.25; it runs after validation, so the pods here are otherwise valid.
  const arb = minorArb(23, 35)
    .chain((api) =>
      fc.record({
        cluster: fc.record({
          version: fc.constant(`1.${api}`),
          featureGates: fc.constant({}),
          namespace: fc.record({
            name: fc.constant('default'),
            labels: fc.record({ 'pod-security.kubernetes.io/enforce': fc.constantFrom('baseline', 'restricted') }),
          }),
          podSecurityPolicies: fc.constant<GenPsp[]>([]),
        }),
        node: nodeArb(api, { invalidPercent: 0 }),
        pod: podArb(
          {
            annotation: fc.constantFrom(undefined, 'runtime/default', 'localhost/prof-a', ''),
            field: api >= 30 ? fc.constantFrom<GenField | undefined>(undefined, { type: 'RuntimeDefault' }, { type: 'Localhost', localhostProfile: 'prof-b' }) : fc.constant(undefined),
            podField: fc.constant(undefined),
            extraAnnotations: false,
            os: fc.constant(undefined),
          },
          api,
        ),
        unconfined: fc.nat(),
        asField: fc.boolean(),
      }),
    )
    .map(({ cluster, node, pod, unconfined, asField }) => {
      // One init or regular container asks for unconfined, by annotation or (1.30+) by field, and nothing else.
      const created = pod.containers.filter((x) => x.kind !== 'ephemeralContainers');
      const target = created[unconfined % created.length];
      const field = asField && minorOf(cluster.version) >= 30;
      // The others ask by annotation or by field, never both (which validation compares, and refuses when they differ).
      const containers = pod.containers.map((x): GenContainer =>
        x === target
          ? { ...x, annotation: field ? undefined : 'unconfined', field: field ? { type: 'Unconfined' } : undefined }
          : x.kind === 'ephemeralContainers'
            ? { ...x, annotation: undefined } // an annotation cannot name a container the created pod lacks
            : x.annotation !== undefined
              ? { ...x, field: undefined }
              : x,
      );
      return { cluster, node, pod: { ...pod, containers } } satisfies GenCase;
    });

  it('enforcing baseline or restricted refuses a pod that asks for unconfined, whatever the node', async () => {
    await checkProperty(
      arb,
      async (c) => {
        const decision = simulate(await mustLoad(c));
        expect([decision.outcome, decision.stage]).toEqual(['Forbidden', 'admission']);
        expect(decision.message).toMatch(/forbidden AppArmor profiles? \(/);
        expect(decision.storedPod).toBeNull();
      },
      { numRuns: RUNS, scenarios: (c) => one(c), statement: 'PSA baseline refuses unconfined' },
    );
  });
});

describe('the profile a running container gets (1.30+)', () => {
  // The kubelet's GetProfile (pkg/security/apparmor/helpers.go, 1.30+) takes the container's field, else its beta
  // annotation, else the pod's field; the API server's sync (strategy.go) copies an annotation into a container field
  // that is missing. Ephemeral containers cannot be named by annotations at create, so theirs is field > pod field.
  // The runtime then applies it: Localhost <name> as itself, Unconfined as none, RuntimeDefault or nothing as the
  // runtime's default (containerd "cri-containerd.apparmor.d", CRI-O "crio-default"), which neither applies to
  // privileged containers; CRI-O applies no AppArmor at all to privileged containers (container_create_linux.go).
  // /proc/1/attr/current shows "<profile> (<mode>)" or "unconfined".
  // Kubelet 1.30, the first to read the fields, is drawn often; so are ephemeral containers, whose fields the API
  // server never copies to annotations (a kubelet reading annotations only would miss them).
  const arb = minorArb(30, 35)
    .chain((api) => fc.oneof(fc.constant(Math.max(30, api - 3)), fc.integer({ min: Math.max(30, api - 3), max: api })).map((kubelet) => ({ api, kubelet })))
    .chain(({ api, kubelet }) =>
      fc.record({
        cluster: clusterArb(api, { psps: false, labels: false }).map((x) => ({ ...x, featureGates: {} })),
        node: nodeArb(kubelet, {
          invalidPercent: 0,
          os: fc.constant('linux'),
          appArmorEnabled: fc.constant(true),
          profiles: fc.tuple(...PROFILE_POOL.map((name) => fc.constantFrom('enforce', 'complain', 'kill').map((mode) => ({ name, mode }) as const))),
        }).filter((n) => n.runtime !== 'docker' && n.runtime !== 'rkt'),
        pod: podArb({ os: fc.constant(undefined), extraAnnotations: false, ephemeral: false }, api),
        debugProbe: fc.option(fc.record({ privileged: fc.boolean(), field: fc.option(fieldArb, { nil: undefined }) }), { nil: undefined }),
      }),
    )
    .map(({ cluster, node, pod, debugProbe }): GenCase => ({
      cluster,
      node,
      pod: debugProbe ? { ...pod, containers: [...pod.containers, { kind: 'ephemeralContainers', name: 'debugger', ...debugProbe }] } : pod,
    }));

  const requestOf = (pod: GenPod, container: GenContainer): GenField | undefined => {
    if (container.field) return container.field;
    if (container.kind !== 'ephemeralContainers' && container.annotation !== undefined && container.annotation !== '') {
      const a = container.annotation;
      return a === 'runtime/default' ? { type: 'RuntimeDefault' } : a === 'unconfined' ? { type: 'Unconfined' } : { type: 'Localhost', localhostProfile: a.slice('localhost/'.length) };
    }
    return pod.podField;
  };

  it('is the one it asked for, container field > annotation > pod field, shown with the loaded mode', async () => {
    await checkProperty(
      arb,
      async (c) => {
        const decision = simulate(await mustLoad(c));
        if (decision.outcome !== 'Run') return;
        const runtimeDefault = c.node.runtime === 'cri-o' ? 'crio-default' : 'cri-containerd.apparmor.d';
        const shown = (name: string) => `${name} (${c.node.profiles.find((p) => p.name === name)?.mode ?? 'enforce'})`;
        const results = byName(decision);
        for (const container of c.pod.containers) {
          const request = requestOf(c.pod, container);
          let expected: string;
          if (c.node.runtime === 'cri-o' && container.privileged) expected = 'unconfined';
          else if (request?.type === 'Localhost') expected = shown(request.localhostProfile ?? '');
          else if (request?.type === 'Unconfined' || container.privileged) expected = 'unconfined';
          else expected = shown(runtimeDefault);
          expect(results.get(container.name)?.procAttrCurrent, `${container.kind}/${container.name} asked for ${JSON.stringify(request ?? null)}`).toBe(expected);
        }
      },
      { numRuns: RUNS, scenarios: (c) => one(c), statement: 'running containers get the profile they asked for (1.30+)' },
    );
  });
});

describe('API server boundaries', () => {
  // ValidateAppArmorProfileFormat (pkg/apis/core/validation, pkg/security/apparmor before): "unconfined" became a
  // valid value with #52395 in 1.9; before, it is "invalid AppArmor profile name" and the create gets 422 Invalid.
  const unconfinedArb = minorArb(4, 12)
    .chain((api) =>
      fc.record({
        cluster: clusterArb(api, { psps: false, labels: false }),
        node: nodeArb(api, { invalidPercent: 0 }),
        pod: podArb({ annotation: fc.constantFrom(undefined, 'runtime/default', 'unconfined', 'localhost/prof-a'), extraAnnotations: false }, api),
      }),
    )
    .filter((c) => c.pod.containers.some((x) => x.kind !== 'ephemeralContainers' && x.annotation === 'unconfined'));

  it('an annotation "unconfined" is refused as Invalid by API servers 1.4-1.8 and accepted from 1.9', async () => {
    await checkProperty(
      unconfinedArb,
      async (c) => {
        const decision = simulate(await mustLoad(c));
        const rejected = /invalid AppArmor profile name: "unconfined"/.test(decision.message) && decision.stage === 'apiserver';
        if (minorOf(c.cluster.version) <= 8 && c.cluster.featureGates['AppArmor'] !== false) {
          expect([decision.stage, decision.reason]).toEqual(['apiserver', 'Invalid']);
          expect(decision.message).toContain('invalid AppArmor profile name: "unconfined"');
        } else expect(rejected).toBe(false);
      },
      { numRuns: RUNS, scenarios: (c) => one(c), statement: '"unconfined" is a valid annotation value from 1.9' },
    );
  });

  // applyAppArmorVersionSkew (strategy.go): 1.30-1.33 write the annotation of every container whose container field,
  // else pod field, is set (Localhost without a name writes none); 1.34 stopped copying fields to annotations
  // (#131989). Pods written with fields only, valid ones, on default gates.
  const fieldsOnly = minorArb(30, 35)
    .chain((api) =>
      fc.record({
        cluster: clusterArb(api, { psps: false, labels: false }).map((x) => ({ ...x, featureGates: {} })),
        node: nodeArb(api, { invalidPercent: 0, os: fc.constant('linux') }),
        pod: podArb(
          {
            annotation: fc.constant(undefined),
            extraAnnotations: false,
            os: fc.constant(undefined),
            field: fc.constantFrom<GenField | undefined>(undefined, { type: 'RuntimeDefault' }, { type: 'Unconfined' }, { type: 'Localhost', localhostProfile: 'prof-a' }),
            podField: fc.constantFrom<GenField | undefined>(undefined, { type: 'RuntimeDefault' }, { type: 'Localhost', localhostProfile: 'prof-b' }),
          },
          api,
        ),
      }),
    );

  it('fields are copied to annotations on create by 1.30-1.33 only', async () => {
    const value = (f: GenField) => (f.type === 'RuntimeDefault' ? 'runtime/default' : f.type === 'Unconfined' ? 'unconfined' : `localhost/${f.localhostProfile ?? ''}`);
    await checkProperty(
      fieldsOnly,
      async (c) => {
        const decision = simulate(await mustLoad(c));
        if (decision.storedPod === null) return;
        const expected: Record<string, string> = {};
        if (minorOf(c.cluster.version) <= 33) {
          for (const x of c.pod.containers) {
            // The created pod's containers; ephemeral ones join later through their own subresource, unsynced.
            if (x.kind === 'ephemeralContainers') continue;
            const field = x.field ?? c.pod.podField;
            if (field) expected[`${ANNOTATION_PREFIX}${x.name}`] = value(field);
          }
        }
        const stored = Object.fromEntries(Object.entries(decision.storedPod.annotations).filter(([k]) => k.startsWith(ANNOTATION_PREFIX)));
        expect(stored).toEqual(expected);
      },
      { numRuns: RUNS, scenarios: (c) => one(c), statement: 'fields are copied to annotations by 1.30-1.33 only' },
    );
  });
});

describe('order', () => {
  // Kubernetes treats containers (other than init containers, which run in order), loaded profiles, annotations
  // (a Go map), namespace labels and PodSecurityPolicies (sorted by name, admission.go) as unordered: no
  // container's result may depend on where something is listed. Only messages may name a different first culprit.
  const arb = caseArb({ node: { invalidPercent: 0 } }).chain((c) =>
    fc
      .record({
        regular: fc.shuffledSubarray(c.pod.containers.filter((x) => x.kind === 'containers'), { minLength: c.pod.containers.filter((x) => x.kind === 'containers').length }),
        profiles: fc.shuffledSubarray(c.node.profiles, { minLength: c.node.profiles.length }),
        psps: fc.shuffledSubarray(c.cluster.podSecurityPolicies, { minLength: c.cluster.podSecurityPolicies.length }),
      })
      .map(({ regular, profiles, psps }) => {
        const labels = Object.fromEntries(Object.entries(c.cluster.namespace.labels).reverse());
        const containers = [...c.pod.containers.filter((x) => x.kind === 'initContainers'), ...regular, ...c.pod.containers.filter((x) => x.kind === 'ephemeralContainers')];
        const reordered: GenCase = {
          cluster: { ...c.cluster, podSecurityPolicies: psps, namespace: { ...c.cluster.namespace, labels } },
          node: { ...c.node, profiles },
          pod: { ...c.pod, containers, reverseAnnotations: !c.pod.reverseAnnotations },
        };
        return { c, reordered };
      }),
  );

  it('reordering containers, profile lists, annotations, labels or policies changes no container result', async () => {
    await checkProperty(
      arb,
      async ({ c, reordered }) => {
        const a = simulate(await mustLoad(c));
        const b = simulate(await mustLoad(reordered));
        expect([b.outcome, b.stage, b.reason]).toEqual([a.outcome, a.stage, a.reason]);
        const after = byName(b);
        for (const container of a.containers) {
          expect(JSON.stringify(after.get(container.name)), container.name).toBe(JSON.stringify(container));
        }
      },
      { numRuns: RUNS, scenarios: ({ c, reordered }) => [{ name: 'as-listed', case: c }, { name: 'reordered', case: reordered }], statement: 'order does not matter' },
    );
  });
});

describe('messages', () => {
  it('every message and API warning matches the upstream template of its version', async () => {
    await checkProperty(
      caseArb({ api: anyApiMinorArb }),
      async (c) => {
        const loaded = await loadCase(c);
        if (!loaded.ok) return;
        const decision = simulate(loaded.input);
        const apiserver = loaded.input.cluster.version;
        const kubelet = loaded.input.node.kubeletVersion;
        if (decision.outcome === 'Run') expect(decision.message).toBe('');
        else {
          const templates = messageTemplates(decision, apiserver, kubelet);
          expect(templates.length, `a template for ${decision.stage}/${decision.reason}`).toBeGreaterThan(0);
          expect(templates.some((t) => t.test(decision.message)), `1.${apiserver}/kubelet 1.${kubelet} ${decision.stage}: ${decision.message}`).toBe(true);
        }
        const warnings = warningTemplates(apiserver);
        for (const warning of decision.warnings.filter((w) => !w.startsWith('apparmor-sim: '))) {
          expect(warnings.some((t) => t.test(warning)), `1.${apiserver} warning: ${warning}`).toBe(true);
        }
      },
      { numRuns: RUNS * 2, scenarios: (c) => one(c), statement: 'messages match upstream templates' },
    );
  });

  it('PSA lists the appArmorProfile failure before the privileged one (check-ID order, policy/registry.go)', async () => {
    const c: GenCase = {
      cluster: { version: '1.32', featureGates: {}, namespace: { name: 'default', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } }, podSecurityPolicies: [] },
      node: { name: 'node-1', kubeletVersion: '1.32', featureGates: {}, os: 'linux', appArmorEnabled: true, runtime: 'containerd', profiles: [] },
      pod: { name: 'p', extraAnnotations: {}, containers: [{ kind: 'containers', name: 'app', privileged: true, annotation: 'unconfined' }] },
    };
    const decision = simulate(await mustLoad(c));
    expect(messageTemplates(decision, 32, 32).some((t) => t.test(decision.message)), decision.message).toBe(true);
  });

  it('the templates themselves accept the upstream examples and refuse near misses (so that the property can fail)', () => {
    const kubelet = (v: number, m: string) => messageTemplates({ stage: 'kubelet', reason: 'AppArmor' }, v, v).some((t) => t.test(m));
    expect(kubelet(4, 'Pod Cannot enforce AppArmor: AppArmor is not enabled on the host')).toBe(true);
    expect(kubelet(5, 'Pod Cannot enforce AppArmor: AppArmor is not enabled on the host')).toBe(false);
    expect(kubelet(31, 'Pod was rejected: Cannot enforce AppArmor: AppArmor is not enabled on the host')).toBe(true);
    expect(kubelet(12, 'Cannot enforce AppArmor: Binary not compiled for linux')).toBe(true);
    expect(kubelet(12, 'Cannot enforce AppArmor: binary not compiled for linux')).toBe(false);
    expect(kubelet(18, `Cannot enforce AppArmor: AppArmor is only enabled for 'docker' and 'remote' runtimes. Found: "rkt"`)).toBe(true);
    expect(kubelet(18, `Cannot enforce AppArmor: AppArmor is only enabled for 'docker' and 'remote' runtimes. Found: "rkt".`)).toBe(false);
    expect(kubelet(24, 'Cannot enforce AppArmor: profile "x" is not loaded')).toBe(false);
    const psa = (v: number, m: string) => messageTemplates({ stage: 'admission', reason: 'Forbidden' }, v, v).some((t) => t.test(m));
    const apparmor = 'forbidden AppArmor profile (annotation must not set AppArmor profile type to "container.apparmor.security.beta.kubernetes.io/a="unconfined"")';
    const privileged = 'privileged (container "a" must not set securityContext.privileged=true)';
    expect(psa(31, `pods "p" is forbidden: violates PodSecurity "baseline:latest": ${apparmor}, ${privileged}`)).toBe(true);
    expect(psa(31, `pods "p" is forbidden: violates PodSecurity "baseline:latest": ${privileged}, ${apparmor}`)).toBe(false);
  });
});

describe('counterexample reports', () => {
  it('are scenario YAML that loadScenarioFile reads and that replays to the same decision', async () => {
    let index = 0;
    await checkProperty(
      caseArb({ node: { invalidPercent: 0 } }),
      async (c) => {
        const loaded = await loadCase(c);
        if (!loaded.ok) return;
        const decision = simulate(loaded.input);
        const file = join(TMP, `replay-${index++}.yaml`);
        writeFileSync(file, await scenarioYaml(one(c, 'replay')));
        const [scenario, ...rest] = await loadScenarioFile(file);
        expect(rest).toEqual([]);
        if (!scenario) throw new Error('no scenario loaded');
        const replayed = runScenario(scenario);
        expect(replayed.mismatches).toEqual([]);
        const { trace: _trace, ...shown } = decision;
        const { trace: _replayedTrace, ...replayedShown } = replayed.decision;
        expect(replayedShown).toEqual(shown);
      },
      { numRuns: Math.ceil(RUNS / 4), scenarios: (c) => one(c), statement: 'reports replay' },
    );
  });

  it('carry the seed and the shrunk counterexample when a property fails', async () => {
    const failing = checkProperty(caseArb({ node: { invalidPercent: 0 } }), async () => false, { numRuns: 5, scenarios: (c) => one(c), statement: 'always false' });
    await expect(failing).rejects.toThrow(/Seed -?\d+, path "[\d:]*": replay with APPARMOR_SIM_PROPERTY_SEED=/);
    const message = await failing.then(
      () => '',
      (error: unknown) => (error instanceof Error ? error.message : ''),
    );
    const file = /written to (\S+);/.exec(message)?.[1];
    expect(file).toBeDefined();
    const scenarios = await loadScenarioFile(file ?? '');
    expect(scenarios.map((s) => s.name)).toEqual(['counterexample']);
  });
});
