// Replaying one scenario on a real cluster: namespace, profiles, pod, wait, look inside, compare. Everything goes
// through ClusterApi, so the logic runs against an in-memory fake in the unit tests (a test double, not a cluster).
import type { Scenario } from '../io/load/scenario.js';
import { nodeForPod, scenarioRequest } from '../io/load/scenario.js';
import type { Expectation, Mismatch } from '../sim/expect.js';
import { isMap } from '../sim/pod.js';
import { simulate } from '../sim/simulate.js';
import type { ContainerKind, Decision, LoadedProfile } from '../sim/types.js';
import type { Observation } from '../sim/classify.js';
import { classify } from '../sim/classify.js';
import type { CleanupRegistry } from './cleanup.js';
import type { ClusterApi } from './cluster-api.js';
import { describeApiError } from './cluster-api.js';
import { compareWithExpectation, compareWithModel } from '../sim/compare.js';
import { helperPodManifest, missingAfterLoad, parserFailure, parserScript, parseProbeOutput, PROBE_SCRIPT, RUN_LABEL } from './helper-pods.js';
import type { ClusterDescription, ClusterNode, RuntimeAppArmor } from './nodefacts.js';
import { modelCluster, modelNode } from './nodefacts.js';
import type { ApiResult, ContainerProbe, EventObserved, PodStatusObserved, RawObservation } from '../sim/observation.js';
import { deniesWrites, generatedProfile, restoreNames, rewritePodProfiles, runUniqueName } from './profiles.js';
import type { Recording } from './recordings.js';
import { RECORDING_FORMAT, RECORDING_VERSION } from './recordings.js';

export interface Clock {
  now(): number;
  /** Rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface ReplayEnv {
  api: ClusterApi;
  runId: string;
  /** Namespace (privileged) for helper pods: probes, profile loaders, the runtime canary. */
  systemNamespace: string;
  helperImage: string;
  pollMs: number;
  clock: Clock;
  log(line: string): void;
}

export class ReplayAborted extends Error {}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new ReplayAborted(typeof reason === 'string' ? reason : 'aborted');
}

// ---- Namespaces and their ServiceAccount ----

/**
 * The ServiceAccount admission plugin refuses pods of a namespace whose `default` ServiceAccount the controller
 * manager has not created yet (kubernetes plugin/pkg/admission/serviceaccount/admission.go: "error looking up service
 * account %s/%s: %v" from 1.13, "Error looking up service account %s/%s: %v" before; "service account %s/%s was not
 * found, retry after the service account is created" in older releases; before 1.24 also
 * "no API token found for service account %q, retry after the token is automatically created and added to the service
 * account"). Such a refusal says nothing about AppArmor.
 */
const SERVICE_ACCOUNT_NOT_READY =
  /[Ee]rror looking up service account [^ ]+: serviceaccounts? "[^"]*" not found|service account [^ ]+ was not found, retry after the service account is created|no API token found for service account/;

export function refusedForServiceAccount(result: ApiResult): boolean {
  return !result.accepted && result.code === 403 && SERVICE_ACCOUNT_NOT_READY.test(result.message);
}

/** How long a new namespace's default ServiceAccount may take, and how often a refused create is tried again. */
export const SERVICE_ACCOUNT_WAIT_MS = 60_000;
export const SERVICE_ACCOUNT_RETRIES = 5;

/** Waits until the namespace's default ServiceAccount exists; throws (an infrastructure error) when it does not come. */
export async function waitForServiceAccount(env: ReplayEnv, namespace: string, signal?: AbortSignal): Promise<void> {
  const deadline = env.clock.now() + SERVICE_ACCOUNT_WAIT_MS;
  while (!(await env.api.serviceAccountExists(namespace, 'default'))) {
    if (env.clock.now() >= deadline) throw new ServiceAccountMissing(`the default ServiceAccount of namespace ${namespace} did not appear within ${SERVICE_ACCOUNT_WAIT_MS / 1000} s (is the controller manager running?)`);
    await env.clock.sleep(env.pollMs, signal);
  }
}

export class ServiceAccountMissing extends Error {}

/**
 * Creates a pod; a refusal for a ServiceAccount that is not there yet is retried (bounded) and, if it persists,
 * thrown as ServiceAccountMissing: it is never returned as the scenario's Forbidden outcome.
 */
export async function createPodWhenServiceAccountReady(env: ReplayEnv, namespace: string, manifest: Record<string, unknown>, signal?: AbortSignal): Promise<{ result: ApiResult; name?: string | undefined }> {
  for (let attempt = 1; ; attempt++) {
    const created = await env.api.createPod(namespace, manifest);
    if (!refusedForServiceAccount(created.result)) return created;
    if (attempt >= SERVICE_ACCOUNT_RETRIES) throw new ServiceAccountMissing(`pod create still refused after ${attempt} tries: ${created.result.accepted ? '' : created.result.message}`);
    await env.clock.sleep(env.pollMs * attempt, signal);
  }
}

// ---- Helper pods ----

export interface HelperRun {
  ok: boolean;
  log: string;
  why: string;
}

/** Runs a helper pod to completion (Succeeded or Failed) and returns its log; the pod is deleted afterwards. */
export async function runHelperPod(env: ReplayEnv, manifest: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<HelperRun> {
  const metadata = manifest['metadata'];
  const namespace = isMap(metadata) && typeof metadata['namespace'] === 'string' ? metadata['namespace'] : env.systemNamespace;
  let created;
  try {
    created = await createPodWhenServiceAccountReady(env, namespace, manifest, signal);
  } catch (error) {
    if (error instanceof ServiceAccountMissing) return { ok: false, log: '', why: `helper pod: ${error.message}` };
    throw error;
  }
  if (!created.result.accepted) return { ok: false, log: '', why: `helper pod refused: HTTP ${created.result.code} ${created.result.reason}: ${created.result.message}` };
  const name = created.name ?? (isMap(metadata) && typeof metadata['name'] === 'string' ? metadata['name'] : '');
  try {
    const deadline = env.clock.now() + timeoutMs;
    for (;;) {
      const pod = await env.api.readPod(namespace, name);
      const phase = pod?.status.phase;
      if (phase === 'Succeeded' || phase === 'Failed') {
        const log = await env.api.podLogs(namespace, name).catch((error: unknown) => `(no log: ${describeApiError(error)})`);
        return { ok: phase === 'Succeeded', log, why: phase === 'Succeeded' ? '' : parserFailure(log) };
      }
      const waiting = pod?.status.containerStatuses?.[0]?.state?.waiting;
      // ErrImagePull may still resolve; these will not.
      if (waiting?.reason && ['ImagePullBackOff', 'InvalidImageName', 'CreateContainerError', 'CreateContainerConfigError'].includes(waiting.reason)) {
        return { ok: false, log: '', why: `helper pod ${waiting.reason}: ${waiting.message ?? ''}`.trim() };
      }
      if (env.clock.now() >= deadline) return { ok: false, log: '', why: `helper pod not finished after ${Math.round(timeoutMs / 1000)} s (phase ${phase ?? 'unknown'}${waiting?.reason ? `, ${waiting.reason}` : ''})` };
      await env.clock.sleep(env.pollMs, signal);
    }
  } finally {
    await env.api.deletePod(namespace, name).catch(() => undefined);
  }
}

export async function probeNode(env: ReplayEnv, node: ClusterNode, index: number, signal?: AbortSignal): Promise<void> {
  const manifest = helperPodManifest({ name: `probe-${index}`, namespace: env.systemNamespace, node: node.name, image: env.helperImage, runId: env.runId, role: 'probe', script: PROBE_SCRIPT });
  const run = await runHelperPod(env, manifest, 180_000, signal);
  if (!run.ok) {
    node.failures.push(`AppArmor probe pod failed: ${run.why}`);
    return;
  }
  const probe = parseProbeOutput(run.log);
  node.appArmorEnabled = probe.enabled;
  node.profiles = probe.profiles;
  node.problems.push(...probe.problems);
}

/**
 * Whether the runtime applies AppArmor: a pod asking for runtime/default (the annotation, understood by every
 * kubelet from 1.4). containerd refuses profiles when it finds no apparmor_parser on the node or runs in a container
 * (containerd pkg/apparmor hostSupports: /sys/kernel/security/apparmor, `container` env unset, /sbin/apparmor_parser,
 * enabled=Y), even though the kernel and the kubelet have AppArmor on.
 */
export async function probeRuntime(env: ReplayEnv, node: ClusterNode, index: number, signal?: AbortSignal): Promise<void> {
  if (node.appArmorEnabled !== true) return;
  const name = `canary-${index}`;
  const manifest: Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: env.systemNamespace, labels: { [RUN_LABEL]: env.runId }, annotations: { 'container.apparmor.security.beta.kubernetes.io/canary': 'runtime/default' } },
    spec: { nodeName: node.name, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'canary', image: env.helperImage, command: ['sleep', '3600'] }] },
  };
  let created;
  try {
    created = await createPodWhenServiceAccountReady(env, env.systemNamespace, manifest, signal);
  } catch (error) {
    if (!(error instanceof ServiceAccountMissing)) throw error;
    node.failures.push(`runtime canary pod: ${error.message}`);
    return;
  }
  if (!created.result.accepted) {
    node.failures.push(`runtime canary pod refused by the API server: HTTP ${created.result.code} ${created.result.reason}: ${created.result.message}`);
    return;
  }
  try {
    const deadline = env.clock.now() + 180_000;
    for (;;) {
      const pod = await env.api.readPod(env.systemNamespace, name);
      const raw: RawObservation = { api: created.result, pod: pod?.status ?? null, events: [], exec: {}, containers: [{ name: 'canary', kind: 'containers' }], warningsKnown: true };
      const verdict = classify(raw);
      if (verdict.kind === 'decided') {
        const result = verdict.observation;
        if (result.outcome === 'Run') {
          let read: ProcAttrRead;
          try {
            read = await readProcAttr(env.api, env.systemNamespace, name, 'canary');
          } catch (error) {
            if (!(error instanceof ExecFailed)) throw error;
            node.failures.push(`runtime canary: ${error.message}`);
            return;
          }
          if (!read.ok) {
            node.failures.push(`runtime canary: ${read.why}`);
            return;
          }
          const applies = /\((enforce|complain)\)$/.test(read.value);
          setRuntime(node, applies ? 'applies' : 'refuses', applies ? `RuntimeDefault runs as ${read.value}` : `RuntimeDefault ran as ${JSON.stringify(read.value)}`);
        } else {
          setRuntime(node, 'refuses', `RuntimeDefault: ${result.outcome}: ${result.message}`);
        }
        return;
      }
      if (verdict.kind === 'inconclusive') {
        node.failures.push(`runtime canary inconclusive: ${verdict.why}`);
        return;
      }
      if (env.clock.now() >= deadline) {
        node.failures.push(`runtime canary undecided after 180 s: ${verdict.why}`);
        return;
      }
      await env.clock.sleep(env.pollMs, signal);
    }
  } finally {
    await env.api.deletePod(env.systemNamespace, name).catch(() => undefined);
  }
}

function setRuntime(node: ClusterNode, value: RuntimeAppArmor, note: string): void {
  node.runtimeAppArmor = value;
  node.runtimeNote = note;
}

export type ProcAttrRead = { ok: true; value: string } | { ok: false; why: string };

/** The exec itself failed (transport, websocket, timeout): an infrastructure failure, not an observation. */
export class ExecFailed extends Error {}

/**
 * `cat /proc/1/attr/apparmor/current`, falling back to /proc/1/attr/current (kernels before LSM stacking). A read that
 * fails on both paths is "not observed" (never "unconfined" or null); an exec that fails is thrown as ExecFailed.
 */
export async function readProcAttr(api: ClusterApi, namespace: string, pod: string, container: string): Promise<ProcAttrRead> {
  const failures: string[] = [];
  for (const path of ['/proc/1/attr/apparmor/current', '/proc/1/attr/current']) {
    let result;
    try {
      result = await api.execInPod(namespace, pod, container, ['cat', path]);
    } catch (error) {
      throw new ExecFailed(`exec into ${namespace}/${pod} container ${container} failed: ${describeApiError(error)}`);
    }
    // The kernel terminates the value with a newline (and sometimes a NUL).
    if (result.exitCode === 0) return { ok: true, value: result.stdout.replace(/\0/g, '').trim() };
    failures.push(`cat ${path}: exit code ${result.exitCode}${result.stderr.trim() ? `: ${result.stderr.trim().split('\n')[0] ?? ''}` : ''}`);
  }
  return { ok: false, why: `could not read the profile of container ${container}: ${failures.join('; ')}` };
}

// ---- Scenarios ----

export interface ScenarioPlan {
  scenario: Scenario;
  node: ClusterNode;
  index: number;
  notes: string[];
  /** Load the profiles the scenario's node lists (false for an API-decided scenario on a node unlike its own). */
  loadProfiles?: boolean | undefined;
}

export type ScenarioStatus = 'agree' | 'mismatch' | 'skipped' | 'error';

export interface Prediction {
  outcome: Decision['outcome'];
  stage: Decision['stage'];
  reason: string;
  message: string;
  containers: Record<string, string | null>;
  warnings: string[];
}

export interface ScenarioReport {
  name: string;
  file: string;
  line: number;
  status: ScenarioStatus;
  /** Why it was skipped, or what went wrong. */
  reason: string;
  node?: string | undefined;
  expectation: Expectation;
  /** The model's decision for the cluster's real node. */
  model?: Prediction | undefined;
  observed?: Observation | undefined;
  mismatches: Mismatch[];
  notes: string[];
  durationMs: number;
  recording?: Recording | undefined;
  /** Raw material for diagnostics (pod status, events, helper logs). */
  diagnostics?: Record<string, unknown> | undefined;
}

export function skippedReport(scenario: Scenario, reason: string): ScenarioReport {
  return { name: scenario.name, file: scenario.file, line: scenario.line, status: 'skipped', reason, expectation: scenario.expect, mismatches: [], notes: [], durationMs: 0 };
}

/** Names of the namespace and profile suffix of one scenario of a run. */
export function scenarioToken(runId: string, index: number): string {
  return `aasim-${runId}-${index}`;
}

export const STALE_PROFILE = /-aasim-([a-z0-9]{8})-\d+$/;

const KEEP_ALIVE = ['sh', '-c', 'sleep 3600'];

/**
 * Replays one scenario. Every resource it creates is registered in `cleanup` (the scenario's scope) before it can
 * leak; the caller runs that scope when this returns or throws. Throws only ReplayAborted (timeout or interrupt) and
 * ClusterUnreachable; other failures become an `error` report.
 */
export async function replayScenario(env: ReplayEnv, plan: ScenarioPlan, cluster: ClusterDescription, cleanup: CleanupRegistry, signal: AbortSignal): Promise<ScenarioReport> {
  const { scenario, node, index } = plan;
  const started = env.clock.now();
  const token = scenarioToken(env.runId, index);
  const namespace = token;
  const notes = [...plan.notes];
  const report = (status: ScenarioStatus, reason: string, extra: Partial<ScenarioReport> = {}): ScenarioReport => ({
    name: scenario.name,
    file: scenario.file,
    line: scenario.line,
    status,
    reason,
    node: node.name,
    expectation: scenario.expect,
    mismatches: [],
    notes,
    durationMs: env.clock.now() - started,
    ...extra,
  });

  // Namespace: the scenario's labels (Pod Security Admission), plus the run label the sweeper looks for.
  signal.throwIfAborted();
  await env.api.createNamespace(namespace, { ...scenario.cluster.namespace.labels, [RUN_LABEL]: env.runId });
  cleanup.add('namespace', `namespace ${namespace}`, () => env.api.deleteNamespace(namespace));
  try {
    await waitForServiceAccount(env, namespace, signal);
  } catch (error) {
    if (error instanceof ServiceAccountMissing) return report('error', error.message);
    throw error;
  }

  // Profiles the scenario's node has loaded, under run-unique names.
  const wanted = plan.loadProfiles === false ? [] : nodeForPod(scenario).profiles;
  const renamedProfiles: LoadedProfile[] = wanted.map((p) => ({ name: runUniqueName(p.name, token), mode: p.mode }));
  const diagnostics: Record<string, unknown> = {};
  if (renamedProfiles.length > 0) {
    const text = renamedProfiles.map(generatedProfile).join('\n');
    const helper = (mode: 'load' | 'unload') =>
      helperPodManifest({ name: `${mode}-${index}-${env.clock.now().toString(36)}`, namespace: env.systemNamespace, node: node.name, image: env.helperImage, runId: env.runId, role: mode, script: parserScript(mode), env: { PROFILES: text } });
    // Registered before loading: a half-done load is undone too.
    cleanup.add('profile', `profiles ${renamedProfiles.map((p) => p.name).join(', ')} on ${node.name}`, async () => {
      const run = await runHelperPod(env, helper('unload'), 120_000);
      if (!run.ok) throw new Error(`unloading profiles on ${node.name}: ${run.why}`);
    });
    signal.throwIfAborted();
    const load = await runHelperPod(env, helper('load'), 180_000, signal);
    diagnostics['profileLoad'] = { ok: load.ok, log: load.log, profiles: text };
    if (!load.ok) return report('error', `loading profiles on ${node.name} failed: ${load.why}`, { diagnostics });
    const missing = missingAfterLoad(load.log, renamedProfiles);
    if (missing.length > 0) return report('error', `profiles not in place on ${node.name} after loading: ${missing.join('; ')}`, { diagnostics });
  }

  // The pod: run-unique profile names, the run's namespace, pinned to the chosen node.
  const rewritten = rewritePodProfiles(scenario.podManifest, token, wanted.map((p) => p.name));
  const manifest = rewritten.manifest;
  const metadata = isMap(manifest['metadata']) ? manifest['metadata'] : (manifest['metadata'] = {});
  metadata['namespace'] = namespace;
  const spec = isMap(manifest['spec']) ? manifest['spec'] : (manifest['spec'] = {});
  spec['nodeName'] = node.name;
  for (const name of keepAlive(spec)) notes.push(`container ${name} had no command; it runs \`sleep 3600\` so that its profile can be read`);
  const replacements = new Map<string, string>([...rewritten.renames, [scenario.cluster.namespace.name, namespace]]);

  signal.throwIfAborted();
  let created;
  try {
    created = await createPodWhenServiceAccountReady(env, namespace, manifest, signal);
  } catch (error) {
    if (error instanceof ServiceAccountMissing) return report('error', error.message, { diagnostics });
    throw error;
  }
  const podName = created.name ?? (typeof metadata['name'] === 'string' ? metadata['name'] : '');
  const containers = scenario.pod.containers.filter((c) => c.kind !== 'ephemeralContainers').map((c) => ({ name: c.name, kind: c.kind as ContainerKind }));
  let raw: RawObservation = { api: created.result, pod: null, events: [], exec: {}, containers, warningsKnown: true };
  if (created.result.accepted) {
    cleanup.add('pod', `pod ${namespace}/${podName}`, () => env.api.deletePod(namespace, podName));
    const waited = await waitForDecision(env, namespace, podName, raw, signal);
    raw = waited.raw;
    if (waited.verdict.kind !== 'decided') {
      diagnostics['pod'] = raw.pod;
      diagnostics['events'] = raw.events;
      return report('error', waited.verdict.kind === 'inconclusive' ? `inconclusive: ${waited.verdict.why}` : `undecided: ${waited.verdict.why}`, { diagnostics });
    }
    if (waited.verdict.observation.outcome === 'Run') {
      try {
        raw = { ...raw, exec: await probeContainers(env, namespace, podName, raw, renamedProfiles, notes) };
      } catch (error) {
        if (!(error instanceof ExecFailed)) throw error;
        diagnostics['pod'] = raw.pod;
        return report('error', error.message, { diagnostics });
      }
    }
    raw = { ...raw, events: await env.api.listEvents(namespace, podName).catch(() => raw.events) };
  }

  const restored = restoreObservation(raw, replacements);
  const verdict = classify(restored);
  if (verdict.kind !== 'decided') return report('error', `classification changed after probing: ${verdict.why}`, { diagnostics });
  const observed = verdict.observation;

  const decision = simulate({ ...scenarioRequest(scenario), cluster: modelCluster(scenario, cluster), node: modelNode(node, cluster.featureGates, wanted, nodeForPod(scenario).name) });
  const mismatches = [...compareWithModel(observed, decision), ...compareWithExpectation(observed, scenario.expect), ...enforcementMismatches(observed, wanted)];
  diagnostics['pod'] = restored.pod;
  diagnostics['events'] = restored.events;
  const recording: Recording = {
    format: RECORDING_FORMAT,
    version: RECORDING_VERSION,
    scenario: scenario.name,
    source: { kind: 'cluster', citation: `apparmor-sim conformance run ${env.runId} on ${cluster.serverVersion}, node ${node.name} (${node.osImage}, kernel ${node.kernelVersion}, ${node.containerRuntimeVersion})` },
    recordedAt: new Date(env.clock.now()).toISOString(),
    cluster: { version: cluster.serverVersion, versionFrom: 'cluster', featureGates: { ...cluster.featureGates } },
    node: {
      name: nodeForPod(scenario).name,
      kubeletVersion: node.kubeletVersion,
      os: node.os === 'windows' ? 'windows' : 'linux',
      runtime: node.runtime ?? 'remote',
      runtimeVersion: node.containerRuntimeVersion,
      appArmorEnabled: node.appArmorEnabled === true,
      runtimeAppArmor: node.runtimeAppArmor,
      profiles: [...(node.profiles ?? []), ...wanted],
    },
    pod: restoreManifest(manifest, replacements),
    observation: restored,
    classified: { outcome: observed.outcome, stage: observed.stage, reason: observed.reason, message: observed.message },
  };
  return report(mismatches.length > 0 ? 'mismatch' : 'agree', '', {
    model: prediction(decision),
    observed,
    mismatches,
    recording,
    diagnostics,
  });
}

async function waitForDecision(env: ReplayEnv, namespace: string, podName: string, initial: RawObservation, signal: AbortSignal): Promise<{ raw: RawObservation; verdict: ReturnType<typeof classify> }> {
  let raw = initial;
  let polls = 0;
  for (;;) {
    const pod = await env.api.readPod(namespace, podName);
    raw = { ...raw, pod: pod?.status ?? null };
    // Events only matter when the status lacks the runtime's message; read them now and then, not on every poll.
    if (polls++ % 5 === 4) raw = { ...raw, events: await env.api.listEvents(namespace, podName).catch(() => raw.events) };
    const verdict = classify(raw);
    if (verdict.kind !== 'waiting') return { raw, verdict };
    try {
      await env.clock.sleep(env.pollMs, signal);
    } catch (error) {
      // Timed out or interrupted while waiting: say what the pod was doing.
      throw new ReplayAborted(`${error instanceof Error ? error.message : String(error)} (last state: ${verdict.why})`);
    }
  }
}

/** Reads each running container's profile; checks that generated enforce-mode (deny-write) profiles deny writes. */
async function probeContainers(env: ReplayEnv, namespace: string, pod: string, raw: RawObservation, loaded: readonly LoadedProfile[], notes: string[]): Promise<Record<string, ContainerProbe>> {
  const probes: Record<string, ContainerProbe> = {};
  const statuses = [...(raw.pod?.containerStatuses ?? [])];
  for (const status of statuses) {
    if (!status.state?.running) continue;
    const read = await readProcAttr(env.api, namespace, pod, status.name);
    if (!read.ok) {
      // Not observed: the comparison leaves this container's profile out, and the report says why.
      notes.push(read.why);
      continue;
    }
    const probe: ContainerProbe = { procAttrCurrent: read.value };
    const profileName = read.value.replace(/ \([a-z]+\)$/, '');
    const generated = loaded.find((p) => p.name === profileName);
    if (generated && deniesWrites(generated)) {
      let touch;
      try {
        touch = await env.api.execInPod(namespace, pod, status.name, ['touch', '/tmp/apparmor-sim-write-check']);
      } catch (error) {
        throw new ExecFailed(`exec into ${namespace}/${pod} container ${status.name} failed: ${describeApiError(error)}`);
      }
      probe.writeDenied = touch.exitCode !== 0;
    }
    probes[status.name] = probe;
  }
  return probes;
}

/** A container under one of the run's enforce-mode deny-write profiles must not be able to write. */
function enforcementMismatches(observed: Observation, wanted: readonly LoadedProfile[]): Mismatch[] {
  const mismatches: Mismatch[] = [];
  for (const container of observed.containers) {
    if (container.writeDenied !== false) continue;
    const name = container.profile?.replace(/ \([a-z]+\)$/, '');
    const profile = wanted.find((p) => p.name === name);
    if (profile && deniesWrites(profile)) {
      mismatches.push({ field: `enforcement.${container.name}.writeDenied`, expected: 'true (the profile denies writes)', actual: 'false (touch succeeded)' });
    }
  }
  return mismatches;
}

/** Busybox containers without a command exit at once; give them one that keeps them running for the exec. */
function keepAlive(spec: Record<string, unknown>): string[] {
  const changed: string[] = [];
  const list = spec['containers'];
  if (!Array.isArray(list)) return changed;
  for (const container of list) {
    if (!isMap(container) || container['command'] !== undefined || container['args'] !== undefined) continue;
    if (typeof container['image'] !== 'string' || !/(^|\/)busybox(:|@|$)/.test(container['image'])) continue;
    container['command'] = [...KEEP_ALIVE];
    changed.push(String(container['name']));
  }
  return changed;
}

function restoreObservation(raw: RawObservation, replacements: ReadonlyMap<string, string>): RawObservation {
  const text = (value: string | undefined) => (value === undefined ? undefined : restoreNames(value, replacements));
  const state = (s: NonNullable<NonNullable<PodStatusObserved['containerStatuses']>[number]['state']> | undefined) =>
    s && {
      ...s,
      waiting: s.waiting && { ...s.waiting, message: text(s.waiting.message) },
      terminated: s.terminated && { ...s.terminated, message: text(s.terminated.message) },
    };
  const statuses = (list: PodStatusObserved['containerStatuses']) => list?.map((c) => ({ ...c, state: state(c.state), lastState: state(c.lastState) }));
  const api = raw.api.accepted
    ? { ...raw.api, warnings: raw.api.warnings.map((w) => restoreNames(w, replacements)) }
    : { ...raw.api, message: restoreNames(raw.api.message, replacements), warnings: raw.api.warnings.map((w) => restoreNames(w, replacements)) };
  return {
    ...raw,
    api,
    pod: raw.pod && {
      ...raw.pod,
      message: text(raw.pod.message),
      initContainerStatuses: statuses(raw.pod.initContainerStatuses),
      containerStatuses: statuses(raw.pod.containerStatuses),
      ephemeralContainerStatuses: statuses(raw.pod.ephemeralContainerStatuses),
    },
    events: raw.events.map((e: EventObserved) => ({ ...e, message: text(e.message) })),
    exec: Object.fromEntries(Object.entries(raw.exec).map(([name, probe]) => [name, { ...probe, procAttrCurrent: typeof probe.procAttrCurrent === 'string' ? restoreNames(probe.procAttrCurrent, replacements) : probe.procAttrCurrent }])),
  };
}

function restoreManifest(manifest: Record<string, unknown>, replacements: ReadonlyMap<string, string>): Record<string, unknown> {
  return JSON.parse(restoreNames(JSON.stringify(manifest), replacements)) as Record<string, unknown>;
}

function prediction(decision: Decision): Prediction {
  return {
    outcome: decision.outcome,
    stage: decision.stage,
    reason: decision.reason,
    message: decision.message,
    containers: Object.fromEntries(decision.containers.map((c) => [c.name, c.procAttrCurrent])),
    warnings: decision.warnings,
  };
}
