// Model-based test of one node over time: profiles are loaded and unloaded, the kernel module is toggled, the kubelet
// restarts, pods are created. The model (simulate) is driven the way a kubelet sees the node and compared with a small
// independent state model of the outcomes Kubernetes documents.
//
// Upstream facts the state model encodes:
// - The kubelet reads the host's AppArmor state once, at start: NewMainKubelet creates `apparmor.NewValidator()`
//   (pkg/kubelet/kubelet.go), which runs validateHost and caches its error; validate.go says "this is intentionally
//   only check the host at kubelet startup and never re-evaluates the host as the expectation is that the kubelet
//   restart will be needed to enable or disable AppArmor support". Toggling the module without a restart changes
//   nothing the kubelet decides.
// - Loaded profiles, by contrast, are read per pod: validator.Validate calls getLoadedProfiles (<securityfs>/apparmor/
//   profiles) for every pod until 1.23; from 1.24 the kubelet no longer checks (#97966) and the runtime looks the
//   profile up when it creates the container (containerd "apparmor profile not found <name>").
// - 1.5-1.30 register the AppArmor handler as a soft admit handler: syncPod calls canRunPod on every sync and a pod
//   that fails stays Pending ("Blocked") and is retried "if soft admission allows it later" (kubelet.go SyncPod), so a
//   Blocked pod runs once the profile is loaded, or once a restarted kubelet sees AppArmor. 1.4 and 1.31+ reject
//   through rejectPod: phase Failed, terminal.
// - The AppArmor module cannot be unloaded with policy kept: turning it off drops every loaded profile.
//
// The model has one `appArmorEnabled` for the whole node, so it cannot hold a kubelet whose start-time view differs
// from the kernel. The harness gives the model the kubelet's view; in states where that view is stale the runtime's
// behaviour (which reads the kernel) is not compared, only the kubelet's admission decision.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readPod } from '../../sim/pod.js';
import { simulate } from '../../sim/simulate.js';
import type { ClusterFacts, Decision, NodeFacts, Outcome, Pod, ProfileMode, Stage } from '../../sim/types.js';
import type { GenCase } from './arbitraries.js';
import { ANNOTATION_PREFIX, minorArb, PROFILE_POOL, runs } from './arbitraries.js';
import { propertyParameters, scenarioYamlOf } from './harness.js';

type Request = 'none' | 'runtime/default' | 'unconfined' | `localhost/${string}`;

interface Expected {
  outcome: Outcome;
  stage: Stage;
}

/** The independent state model: what the node looks like and what each pod should have become. */
interface StateModel {
  version: number;
  kernelEnabled: boolean;
  /** What the kubelet saw when it last started. */
  kubeletSawAppArmor: boolean;
  profiles: Set<string>;
  pods: { name: string; request: Request; expected: Expected }[];
}

/** The system under test: the node facts handed to `simulate`, and its decisions. */
interface Real {
  cluster: ClusterFacts;
  node: NodeFacts;
  kernelEnabled: boolean;
  pods: { name: string; pod: Pod; decision: Decision }[];
}

function kubeletRefusal(version: number): Expected {
  // CHANGELOG-1.5 #35342 (soft, Pending "Blocked") and CHANGELOG-1.31 #125776 (hard again, Failed).
  return { outcome: version >= 5 && version <= 30 ? 'Blocked' : 'Rejected', stage: 'kubelet' };
}

/** What Kubernetes does with a one-container pod on this node, written from the facts above, not from sim/. */
function expectedOutcome(m: StateModel, request: Request): Expected {
  const run: Expected = { outcome: 'Run', stage: 'runtime' };
  // isRequired: no annotation, or (1.9+) "unconfined", does not need AppArmor on the node.
  if (request === 'none' || request === 'unconfined') return run;
  if (!m.kubeletSawAppArmor) return kubeletRefusal(m.version);
  const name = request.startsWith('localhost/') ? request.slice('localhost/'.length) : undefined;
  if (name !== undefined && m.version <= 23 && !m.profiles.has(name)) return kubeletRefusal(m.version);
  if (m.version <= 23) return run; // dockershim: Docker applies what it is given (or nothing without AppArmor)
  // containerd (1.24+): generateApparmorSpecOpts fails without kernel support, and for a profile that is not loaded.
  if (!m.kernelEnabled) return { outcome: 'CreateContainerError', stage: 'runtime' };
  if (name !== undefined && !m.profiles.has(name)) return { outcome: 'CreateContainerError', stage: 'runtime' };
  return run;
}

function podFor(name: string, request: Request): Pod {
  const manifest = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(request === 'none' ? {} : { annotations: { [`${ANNOTATION_PREFIX}app`]: request } }) },
    spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] },
  };
  const read = readPod(manifest);
  if (!read.ok) throw new Error(read.issues.map((i) => i.message).join('; '));
  return read.pod;
}

function decide(r: Real, pod: Pod): Decision {
  return simulate({ cluster: r.cluster, node: r.node, pod });
}

/** The pod and node as a scenario, so that a failure can be replayed with `apparmor-sim scenarios run`. */
function asScenario(r: Real, name: string, request: Request, decision: Decision, note: string): string {
  const c: GenCase = {
    cluster: { version: `1.${r.cluster.version}`, featureGates: {}, namespace: { name: 'default', labels: {} }, podSecurityPolicies: [] },
    node: { name: r.node.name, kubeletVersion: `1.${r.node.kubeletVersion}`, featureGates: {}, os: r.node.os, appArmorEnabled: r.node.appArmorEnabled, runtime: r.node.runtime, profiles: [...r.node.profiles] },
    pod: { name, extraAnnotations: {}, containers: [{ kind: 'containers', name: 'app', privileged: false, annotation: request === 'none' ? undefined : request }] },
  };
  return scenarioYamlOf(name, c, decision, [note, 'appArmorEnabled is what the kubelet saw at its last start']);
}

/** Compares one decision with the state model; in a stale-kubelet state only the kubelet's admission counts. */
function compare(m: StateModel, r: Real, decision: Decision, expected: Expected, pod: { name: string; request: Request }, what: string): void {
  const stale = m.kubeletSawAppArmor !== m.kernelEnabled;
  const context = `${what} (1.${m.version}, kernel ${m.kernelEnabled ? 'on' : 'off'}, kubelet saw ${m.kubeletSawAppArmor ? 'on' : 'off'}, profiles [${[...m.profiles].join(', ')}])`;
  try {
    if (!stale) {
      expect([decision.outcome, decision.stage], context).toEqual([expected.outcome, expected.stage]);
      return;
    }
    expect(decision.stage === 'kubelet', `${context}: refused by the kubelet?`).toBe(expected.stage === 'kubelet');
    if (expected.stage === 'kubelet') expect(decision.outcome, context).toBe(expected.outcome);
  } catch (error) {
    const yaml = asScenario(r, pod.name, pod.request, decision, `state model expected ${expected.outcome} at ${expected.stage}${stale ? ' (stale kubelet: admission only)' : ''}`);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nThe pod on the node as the model saw it (expect: is the model's decision):\n${yaml}`);
  }
}

/** Soft admission (1.5-1.30): every sync re-runs canRunPod for Blocked pods. */
function resync(m: StateModel, r: Real): void {
  for (const [index, pod] of m.pods.entries()) {
    if (pod.expected.outcome !== 'Blocked') continue;
    const real = r.pods[index];
    if (!real) throw new Error('pod lists out of step');
    pod.expected = expectedOutcome(m, pod.request);
    real.decision = decide(r, real.pod);
    compare(m, r, real.decision, pod.expected, pod, `resync of ${pod.name} (${pod.request})`);
  }
}

function setProfiles(r: Real, profiles: Map<string, ProfileMode>): void {
  r.node = { ...r.node, profiles: [...profiles].map(([name, mode]) => ({ name, mode })) };
}

const loaded = new WeakMap<Real, Map<string, ProfileMode>>();
function profilesOf(r: Real): Map<string, ProfileMode> {
  let map = loaded.get(r);
  if (!map) {
    map = new Map(r.node.profiles.map((p) => [p.name, p.mode]));
    loaded.set(r, map);
  }
  return map;
}

class LoadProfile implements fc.Command<StateModel, Real> {
  constructor(readonly name: string, readonly mode: ProfileMode) {}
  check(m: Readonly<StateModel>): boolean {
    return m.kernelEnabled; // apparmor_parser cannot load policy into a kernel without AppArmor
  }
  run(m: StateModel, r: Real): void {
    m.profiles.add(this.name);
    profilesOf(r).set(this.name, this.mode);
    setProfiles(r, profilesOf(r));
    resync(m, r);
  }
  toString(): string {
    return `load ${this.name} (${this.mode})`;
  }
}

class UnloadProfile implements fc.Command<StateModel, Real> {
  constructor(readonly name: string) {}
  check(m: Readonly<StateModel>): boolean {
    return m.profiles.has(this.name);
  }
  run(m: StateModel, r: Real): void {
    m.profiles.delete(this.name);
    profilesOf(r).delete(this.name);
    setProfiles(r, profilesOf(r));
    resync(m, r);
  }
  toString(): string {
    return `unload ${this.name}`;
  }
}

class ToggleModule implements fc.Command<StateModel, Real> {
  check(): boolean {
    return true;
  }
  run(m: StateModel, r: Real): void {
    m.kernelEnabled = !m.kernelEnabled;
    r.kernelEnabled = !r.kernelEnabled;
    if (!m.kernelEnabled) {
      m.profiles.clear();
      profilesOf(r).clear();
      setProfiles(r, profilesOf(r));
    }
    // The kubelet keeps its start-time view: r.node.appArmorEnabled is not touched.
    resync(m, r);
  }
  toString(): string {
    return 'toggle the AppArmor module';
  }
}

class RestartKubelet implements fc.Command<StateModel, Real> {
  check(): boolean {
    return true;
  }
  run(m: StateModel, r: Real): void {
    m.kubeletSawAppArmor = m.kernelEnabled;
    r.node = { ...r.node, appArmorEnabled: r.kernelEnabled };
    resync(m, r);
  }
  toString(): string {
    return 'restart the kubelet';
  }
}

class CreatePod implements fc.Command<StateModel, Real> {
  constructor(readonly request: Request) {}
  check(m: Readonly<StateModel>): boolean {
    return this.request !== 'unconfined' || m.version >= 9; // "unconfined" is an invalid value before 1.9 (#52395)
  }
  run(m: StateModel, r: Real): void {
    const name = `pod-${m.pods.length}`;
    const expected = expectedOutcome(m, this.request);
    const pod = podFor(name, this.request);
    const decision = decide(r, pod);
    compare(m, r, decision, expected, { name, request: this.request }, `create ${name} (${this.request})`);
    m.pods.push({ name, request: this.request, expected });
    r.pods.push({ name, pod, decision });
  }
  toString(): string {
    return `create a pod asking for ${this.request}`;
  }
}

const profileName = fc.constantFrom(...PROFILE_POOL);
const commands = [
  fc.tuple(profileName, fc.constantFrom<ProfileMode>('enforce', 'complain')).map(([name, mode]) => new LoadProfile(name, mode)),
  profileName.map((name) => new UnloadProfile(name)),
  fc.constant(new ToggleModule()),
  fc.constant(new RestartKubelet()),
  fc.constantFrom<Request>('none', 'runtime/default', 'unconfined', ...PROFILE_POOL.map((n): Request => `localhost/${n}`)).map((request) => new CreatePod(request)),
];

describe('a node over time', () => {
  it('profiles, module toggles, kubelet restarts and pod creations match the state model (kubelet reads the host only at start)', () => {
    const setup = fc.record({ version: minorArb(4, 35), kernelEnabled: fc.boolean(), profiles: fc.subarray([...PROFILE_POOL]) });
    fc.assert(
      fc.property(setup, fc.commands(commands, { maxCommands: 40 }), ({ version, kernelEnabled, profiles }, cmds) => {
        const initial = kernelEnabled ? profiles : [];
        const model: StateModel = { version, kernelEnabled, kubeletSawAppArmor: kernelEnabled, profiles: new Set(initial), pods: [] };
        const real: Real = {
          cluster: { version, featureGates: {}, namespace: { name: 'default', labels: {} }, podSecurityPolicies: [] },
          node: {
            name: 'node-1',
            kubeletVersion: version,
            featureGates: {},
            os: 'linux',
            appArmorEnabled: kernelEnabled,
            runtime: version <= 23 ? 'docker' : 'containerd',
            profiles: initial.map((name) => ({ name, mode: 'enforce' })),
          },
          kernelEnabled,
          pods: [],
        };
        fc.modelRun(() => ({ model, real }), cmds);
      }),
      propertyParameters(runs(400)),
    );
  });

  it('the state model itself tells a stale kubelet from a restarted one (so the comparison can fail)', () => {
    const m: StateModel = { version: 31, kernelEnabled: true, kubeletSawAppArmor: true, profiles: new Set(), pods: [] };
    expect(expectedOutcome(m, 'runtime/default')).toEqual({ outcome: 'Run', stage: 'runtime' });
    m.kernelEnabled = false; // toggled, no restart: the kubelet still admits
    expect(expectedOutcome(m, 'runtime/default').stage).toBe('runtime');
    m.kubeletSawAppArmor = false; // restarted
    expect(expectedOutcome(m, 'runtime/default')).toEqual({ outcome: 'Rejected', stage: 'kubelet' });
    expect(expectedOutcome({ ...m, version: 30 }, 'runtime/default')).toEqual({ outcome: 'Blocked', stage: 'kubelet' });
    expect(expectedOutcome({ ...m, version: 30 }, 'unconfined')).toEqual({ outcome: 'Run', stage: 'runtime' });
  });
});
