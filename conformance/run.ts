// `conformance run`: brings up (or connects to) a cluster, learns its nodes, replays the scenarios, reports, and
// cleans up whatever happens. Its dependencies (host commands, API connection, clock, output, signals) are passed in.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../io/args.js';
import type { Scenario } from '../io/load/scenario.js';
import type { FeatureGates, Minor } from '../sim/types.js';
import type { ResourceKind } from './cleanup.js';
import { CleanupRegistry } from './cleanup.js';
import type { ClusterApi } from './cluster-api.js';
import { ClusterUnreachable, describeApiError } from './cluster-api.js';
import type { Exec } from './exec.js';
import { helperPodManifest, parserScript, RUN_LABEL } from './helper-pods.js';
import type { ConnectOptions, Connection } from './k8s-client.js';
import { KubeconfigError, NoKubeconfig } from './k8s-client.js';
import { prepareKindNodes } from './node-prep.js';
import { runOlderThan } from './run-id.js';
import { KindCluster, kindConfig, kindPreflight } from './kind.js';
import type { ClusterDescription, ClusterNode } from './nodefacts.js';
import { clusterNodeFromInfo, parseMinor, placeScenario } from './nodefacts.js';
import { writeRecording } from './recordings.js';
import type { Clock, ReplayEnv, ScenarioPlan, ScenarioReport } from './replay.js';
import { probeNode, probeRuntime, ReplayAborted, replayScenario, runHelperPod, scenarioToken, skippedReport, STALE_PROFILE, waitForServiceAccount } from './replay.js';
import type { RunSummary } from './report.js';
import { counts, describeNode, renderConformance, summaryLine } from './report.js';

/** Exit codes of `conformance`: the CLI's (io/args.ts EXIT), plus "skipped" and the conventional signal codes. */
export const CONFORMANCE_EXIT = {
  ...EXIT,
  /** No cluster to run on at all: kind or a container engine missing, no kubeconfig, or the default kubeconfig's API server unreachable. */
  skipped: 4,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export type Target =
  | { kind: 'kind'; minor: Minor; image: string; imageKind: string | undefined; name: string; workers: number }
  | { kind: 'kubeconfig'; kubeconfig: string | undefined; context: string | undefined };

export interface ConformanceOptions {
  scenarios: Scenario[];
  target: Target;
  featureGates: FeatureGates;
  keep: boolean;
  parallel: number;
  timeoutSec: number;
  output: 'table' | 'json' | 'junit';
  recordDir: string | undefined;
  logsDir: string;
  helperImage: string;
  sweepAgeSec: number;
  runId: string;
  pollMs?: number | undefined;
  /** How long to wait for every node to be Ready after `kind create cluster`. */
  nodesReadySec?: number | undefined;
}

export type Signal = 'SIGINT' | 'SIGTERM';

export interface ConformanceDeps {
  exec: Exec;
  connect(options: ConnectOptions): Promise<Connection>;
  clock: Clock;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Installs an interrupt handler; returns its remover. */
  onSignal(handler: (signal: Signal) => void): () => void;
  /** Ends the process at once (a third interrupt abandons the cleanup); tests leave it out. */
  forceExit?: ((code: number) => void) | undefined;
}

class Skip extends Error {}
/** A failure of the run as a whole (not of one scenario), with its cause: exit 1. */
class RunFailed extends Error {}

export async function runConformance(options: ConformanceOptions, deps: ConformanceDeps): Promise<number> {
  const keep: ReadonlySet<ResourceKind> = options.keep ? new Set<ResourceKind>(['cluster', 'namespace', 'profile', 'pod']) : new Set();
  const cleanup = new CleanupRegistry({ keep });
  const interrupt = new AbortController();
  let interruptedBy: Signal | undefined;
  let signals = 0;
  const log = (line: string) => deps.stderr(`apparmor-sim: ${line}\n`);
  const dispose = deps.onSignal((signal) => {
    signals++;
    const pending = cleanup.pending().map((s) => s.description).join('; ') || 'nothing';
    if (signals >= 3 && deps.forceExit) {
      log(`${signal} a third time: giving up the cleanup; left behind: ${pending}`);
      deps.forceExit(CONFORMANCE_EXIT[signal]);
      return;
    }
    if (interruptedBy) {
      log(`${signal} again: still cleaning up (${pending}); a third time gives up`);
      return;
    }
    interruptedBy = signal;
    log(`${signal}: stopping; cleaning up`);
    interrupt.abort(new ReplayAborted(`interrupted by ${signal}`));
  });

  const summary: RunSummary = { runId: options.runId, target: describeTarget(options.target), cluster: null, results: [], cleanup: null, logsDir: options.logsDir };
  let failedHard = false;
  let inputError: string | undefined;
  let kindCluster: KindCluster | undefined;
  try {
    const { api, kind } = await bringUp(options, deps, cleanup, summary, log, interrupt.signal, (created) => (kindCluster = created));
    const env: ReplayEnv = {
      api,
      runId: options.runId,
      systemNamespace: `aasim-${options.runId}-sys`,
      helperImage: options.helperImage,
      pollMs: options.pollMs ?? 2000,
      clock: deps.clock,
      log,
    };
    const cluster = await describeCluster(env, options, cleanup, log, interrupt.signal);
    summary.cluster = cluster;
    for (const node of cluster.nodes) log(`node ${describeNode(node)}`);
    checkNodes(cluster, options.target);
    summary.results = await replayAll(env, options, cluster, cleanup, log, interrupt.signal);
    const c = counts(summary.results);
    if (c.agree + c.mismatch === 0 && c.error === 0 && !interruptedBy) {
      throw new RunFailed(`nothing replayed: none of the ${c.total} scenario(s) could run on this cluster (see the SKIP reasons)`);
    }
    if (kind && summary.results.some((r) => r.status === 'mismatch' || r.status === 'error')) await exportKindLogs(kind, options, log);
    if (options.recordDir) {
      for (const result of summary.results) if (result.recording) writeRecording(options.recordDir, result.recording);
    }
  } catch (error) {
    if (error instanceof Skip) summary.skipped = error.message;
    else if (error instanceof KubeconfigError) inputError = error.message;
    else if (interruptedBy) summary.interrupted = interruptedBy;
    else {
      // The cluster went away, could not be set up, or cannot be trusted: one line, then cleanup; never a stack trace.
      failedHard = true;
      summary.error = describeApiError(error);
      log(`conformance run failed: ${summary.error}`);
      // Before the cluster is deleted: the nodes' journals (containerd, kubelet) say why.
      if (kindCluster && !options.keep) await exportKindLogs(kindCluster, options, log);
    }
  } finally {
    summary.cleanup = await cleanup.run();
    dispose();
  }
  if (interruptedBy) summary.interrupted = interruptedBy;
  if (inputError !== undefined && !interruptedBy) {
    // A kubeconfig or context that was asked for and cannot be used: an input error, like a bad flag.
    deps.stderr(`apparmor-sim: ${inputError}\n`);
    return CONFORMANCE_EXIT.usage;
  }

  // A skipped run is one line on stderr (plus the document for machine formats); otherwise the table is the output.
  if (!summary.skipped || options.output !== 'table') deps.stdout(renderConformance(summary, options.output));
  if (summary.skipped || options.output !== 'table') deps.stderr(`apparmor-sim: ${summaryLine(summary)}\n`);
  return exitCode(summary, failedHard, interruptedBy);
}

export function exitCode(summary: RunSummary, failedHard: boolean, interruptedBy: Signal | undefined): number {
  if (interruptedBy) return CONFORMANCE_EXIT[interruptedBy];
  if (failedHard) return CONFORMANCE_EXIT.refusedOrFailed;
  if (summary.skipped) return CONFORMANCE_EXIT.skipped;
  const c = counts(summary.results);
  if (c.mismatch > 0 || c.error > 0 || (summary.cleanup?.failed.length ?? 0) > 0) return CONFORMANCE_EXIT.refusedOrFailed;
  // A cluster that replayed nothing is a failure, never a skip: CI must not turn it green.
  if (c.agree === 0) return CONFORMANCE_EXIT.refusedOrFailed;
  return CONFORMANCE_EXIT.ok;
}

function describeTarget(target: Target): string {
  return target.kind === 'kind' ? `kind cluster ${target.name} (${target.image})` : `kubeconfig ${target.kubeconfig ?? '(default)'}${target.context ? ` context ${target.context}` : ''}`;
}

/** Creates or connects to the cluster; throws Skip with a one-line reason when there is none to be had. */
async function bringUp(options: ConformanceOptions, deps: ConformanceDeps, cleanup: CleanupRegistry, summary: RunSummary, log: (line: string) => void, signal: AbortSignal, onKind: (cluster: KindCluster) => void): Promise<{ api: ClusterApi; kind?: KindCluster | undefined }> {
  const target = options.target;
  let connection: Connection;
  let kind: KindCluster | undefined;
  if (target.kind === 'kind') {
    const preflight = await kindPreflight(deps.exec);
    if (!preflight.ok || !preflight.engine) throw new Skip(preflight.message);
    if (target.imageKind && preflight.kindVersion && preflight.kindVersion !== target.imageKind) {
      log(`note: ${target.image} is the default image of kind ${target.imageKind}; this is kind ${preflight.kindVersion} (kind supports other images on a best-effort basis)`);
    }
    mkdirSync(options.logsDir, { recursive: true });
    const configPath = join(options.logsDir, 'kind-config.yaml');
    const kubeconfigPath = join(options.logsDir, 'kubeconfig');
    const spec = { name: target.name, image: target.image, workers: target.workers, featureGates: options.featureGates };
    writeFileSync(configPath, kindConfig(spec));
    const cluster = new KindCluster(deps.exec, spec, preflight.engine, kubeconfigPath);
    kind = cluster;
    onKind(cluster);
    // Registered before creating: a half-created cluster is deleted too.
    cleanup.add('cluster', `kind cluster ${target.name}`, () => cluster.delete());
    log(`creating kind cluster ${target.name} (${target.image}, ${preflight.message})`);
    try {
      await cluster.create(configPath, 15 * 60_000, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw error;
    }
    log(`preparing the kind nodes for AppArmor (apparmor_parser from Debian's apparmor package, containerd restarted)`);
    try {
      for (const prepared of await prepareKindNodes(deps.exec, preflight.engine, target.name, signal)) log(`node ${prepared.node}: ${prepared.detail}`);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw error;
    }
    connection = await deps.connect({ kubeconfig: kubeconfigPath });
    summary.target = `kind cluster ${target.name} (${target.image})`;
  } else {
    try {
      connection = await deps.connect({ kubeconfig: target.kubeconfig, context: target.context });
    } catch (error) {
      // Only "there is no kubeconfig at all" is a skip; a kubeconfig that was named and fails is a KubeconfigError (exit 2).
      if (error instanceof NoKubeconfig) throw new Skip(error.message);
      throw error;
    }
    summary.target = `kubeconfig context ${connection.context} (${connection.server})`;
  }
  try {
    await connection.api.serverVersion();
  } catch (error) {
    if (!(error instanceof ClusterUnreachable)) throw error;
    const why = `API server ${connection.server} unreachable: ${error.message.replace(/^API server unreachable: /, '')}`;
    // The default kubeconfig naming a stopped cluster means there is no cluster here; a cluster that was named (or one
    // kind just created) not answering is a failure.
    if (target.kind === 'kubeconfig' && target.kubeconfig === undefined && target.context === undefined) {
      throw new Skip(`${why}; start the cluster or pass --kubeconfig/--context for one that runs (or --kind)`);
    }
    throw new RunFailed(why);
  }
  return { api: connection.api, kind };
}

async function describeCluster(env: ReplayEnv, options: ConformanceOptions, cleanup: CleanupRegistry, log: (line: string) => void, signal: AbortSignal): Promise<ClusterDescription> {
  const version = await env.api.serverVersion();
  const nodes = await waitForNodes(env, options, signal);
  const aliveRuns = await sweepNamespaces(env, options, log);
  await env.api.createNamespace(env.systemNamespace, { [RUN_LABEL]: env.runId, 'pod-security.kubernetes.io/enforce': 'privileged' });
  cleanup.add('namespace', `namespace ${env.systemNamespace}`, () => env.api.deleteNamespace(env.systemNamespace));
  await waitForServiceAccount(env, env.systemNamespace, signal);
  await Promise.all(
    nodes.map(async (node, index) => {
      if (!node.ready) return;
      // The helper image and its shell script are Linux-only; a Windows node is described by its nodeInfo alone.
      if (node.os !== 'linux') {
        node.problems.push(`not probed: ${node.os} node (probe pods run on Linux nodes only)`);
        return;
      }
      await probeNode(env, node, index, signal);
      await probeRuntime(env, node, index, signal);
      await sweepProfiles(env, node, index, aliveRuns, options.sweepAgeSec, log, signal);
    }),
  );
  return { serverVersion: version.gitVersion, serverMinor: parseMinor(version.gitVersion) ?? version.minor, featureGates: options.featureGates, nodes };
}

/**
 * Infrastructure failures on a node (probe or canary pod that failed, an exec that broke) leave its facts unknown: the
 * run fails with them rather than skip scenarios on made-up facts. Under --kind the harness prepared the nodes, so a
 * runtime that still refuses AppArmor on a kernel that has it is a failure too, with the canary's message.
 */
export function checkNodes(cluster: ClusterDescription, target: Target): void {
  const ready = cluster.nodes.filter((n) => n.ready && n.os === 'linux');
  const failures = ready.flatMap((n) => n.failures.map((f) => `${n.name}: ${f}`));
  if (failures.length > 0) throw new RunFailed(`node facts unknown: ${failures.join('; ')}`);
  if (target.kind !== 'kind') return;
  const refusing = ready.filter((n) => n.appArmorEnabled === true && n.runtimeAppArmor !== 'applies');
  if (refusing.length > 0) {
    throw new RunFailed(
      `${refusing.map((n) => `${n.name}: ${n.runtime ?? 'the runtime'} does not apply AppArmor profiles after the harness prepared the node (canary: ${n.runtimeNote || n.runtimeAppArmor})`).join('; ')}`,
    );
  }
}

async function waitForNodes(env: ReplayEnv, options: ConformanceOptions, signal: AbortSignal): Promise<ClusterNode[]> {
  // kind's --wait covers the control plane only; a fresh cluster's workers join later. An existing cluster is taken as
  // it is: nodes that are not Ready are reported and not used.
  const waitMs = options.target.kind === 'kind' ? (options.nodesReadySec ?? 300) * 1000 : 0;
  const deadline = env.clock.now() + waitMs;
  const expected = options.target.kind === 'kind' ? options.target.workers + 1 : 1;
  for (;;) {
    const nodes = (await env.api.listNodes()).map(clusterNodeFromInfo);
    const ready = nodes.filter((n) => n.ready);
    if (ready.length === nodes.length && nodes.length >= expected) return nodes;
    if (env.clock.now() >= deadline) {
      if (ready.length > 0 && options.target.kind === 'kubeconfig') return nodes;
      throw new Error(`nodes not Ready after ${Math.round(waitMs / 1000)} s: ${nodes.map((n) => `${n.name} ${n.ready ? 'Ready' : 'NotReady'}`).join(', ') || 'no nodes'}`);
    }
    await env.clock.sleep(options.pollMs ?? 2000, signal);
  }
}

/** Deletes namespaces of earlier runs (label apparmor-sim/run) older than the sweep age; returns the runs still alive. */
async function sweepNamespaces(env: ReplayEnv, options: ConformanceOptions, log: (line: string) => void): Promise<Set<string>> {
  const alive = new Set([env.runId]);
  const namespaces = await env.api.listNamespaces(RUN_LABEL);
  for (const ns of namespaces) {
    const run = ns.labels[RUN_LABEL] ?? '';
    const ageSec = ns.createdAt ? (env.clock.now() - ns.createdAt.getTime()) / 1000 : Number.POSITIVE_INFINITY;
    if (run === env.runId || ageSec < options.sweepAgeSec) {
      alive.add(run);
      continue;
    }
    log(`sweeping namespace ${ns.name} of run ${run || '?'} (${Math.round(ageSec / 60)} min old)`);
    await env.api.deleteNamespace(ns.name).catch((error: unknown) => log(`could not delete ${ns.name}: ${describeApiError(error)}`));
  }
  return alive;
}

/**
 * Unloads profiles an earlier run loaded (run-unique suffix) when that run has no namespace left here and started
 * longer than the sweep age ago. The age comes from the run id: a concurrent run on another kind cluster of this host
 * shares the kernel (its profiles are listed here) but not the API server (its namespaces are not).
 */
async function sweepProfiles(env: ReplayEnv, node: ClusterNode, index: number, aliveRuns: ReadonlySet<string>, sweepAgeSec: number, log: (line: string) => void, signal: AbortSignal): Promise<void> {
  const stale = (node.profiles ?? []).filter((p) => {
    const run = STALE_PROFILE.exec(p.name)?.[1];
    return run !== undefined && !aliveRuns.has(run) && runOlderThan(run, sweepAgeSec, env.clock.now());
  });
  if (stale.length === 0) return;
  log(`unloading ${stale.length} stale profile(s) from ${node.name}: ${stale.map((p) => p.name).join(', ')}`);
  // apparmor_parser -R removes by name; the body does not matter.
  const text = stale.map((p) => `profile ${p.name} {}\n`).join('');
  const manifest = helperPodManifest({ name: `sweep-${index}`, namespace: env.systemNamespace, node: node.name, image: env.helperImage, runId: env.runId, role: 'unload', script: parserScript('unload'), env: { PROFILES: text } });
  const run = await runHelperPod(env, manifest, 120_000, signal);
  if (!run.ok) log(`could not unload stale profiles on ${node.name}: ${run.why}`);
  else node.profiles = (node.profiles ?? []).filter((p) => !stale.includes(p));
}

async function replayAll(env: ReplayEnv, options: ConformanceOptions, cluster: ClusterDescription, cleanup: CleanupRegistry, log: (line: string) => void, interrupt: AbortSignal): Promise<ScenarioReport[]> {
  const results: ScenarioReport[] = new Array<ScenarioReport>(options.scenarios.length);
  const queue: ScenarioPlan[] = [];
  options.scenarios.forEach((scenario, index) => {
    const placement = placeScenario(scenario, cluster);
    if (placement.ok) queue.push({ scenario, node: placement.node, index, notes: placement.notes, loadProfiles: placement.loadProfiles });
    else results[index] = skippedReport(scenario, placement.reason);
  });
  if (queue.length > 0) log(`replaying ${queue.length} of ${options.scenarios.length} scenarios (${options.parallel} at a time)`);
  const worker = async () => {
    for (let plan = queue.shift(); plan; plan = queue.shift()) {
      if (interrupt.aborted) {
        results[plan.index] = { ...skippedReport(plan.scenario, `not run: ${reasonText(interrupt.reason)}`), status: 'error' };
        continue;
      }
      results[plan.index] = await replayOne(env, options, plan, cluster, cleanup, log, interrupt);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, worker));
  return results;
}

async function replayOne(env: ReplayEnv, options: ConformanceOptions, plan: ScenarioPlan, cluster: ClusterDescription, cleanup: CleanupRegistry, log: (line: string) => void, interrupt: AbortSignal): Promise<ScenarioReport> {
  const scope = cleanup.scope(`scenario ${plan.scenario.name}`);
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new ReplayAborted(`timed out after ${options.timeoutSec} s`)), options.timeoutSec * 1000);
  timer.unref();
  const signal = AbortSignal.any([interrupt, timeout.signal]);
  const started = env.clock.now();
  let result: ScenarioReport;
  try {
    result = await abortable(replayScenario(env, plan, cluster, scope, signal), signal);
  } catch (error) {
    const reason = error instanceof ReplayAborted || error instanceof ClusterUnreachable ? error.message : `harness error: ${describeApiError(error)}`;
    result = { ...skippedReport(plan.scenario, reason), status: 'error', node: plan.node.name, durationMs: env.clock.now() - started, diagnostics: await lastState(env, plan) };
  } finally {
    clearTimeout(timer);
  }
  log(`${result.status} ${plan.scenario.name}${result.reason ? `: ${result.reason}` : ''}`);
  // Diagnostics before cleanup removes the evidence.
  if (result.status === 'mismatch' || result.status === 'error') writeDiagnostics(options, result, await nodeLogs(env, options, plan.node.name));
  await scope.run();
  return result;
}

/**
 * Settles soon after the signal aborts even if the replay is stuck in an API call. The replay gets a moment to stop by
 * itself first, since its own error says what the pod was doing.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal, graceMs = 5000): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => setTimeout(() => reject(signal.reason), graceMs).unref();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

async function lastState(env: ReplayEnv, plan: ScenarioPlan): Promise<Record<string, unknown>> {
  const namespace = scenarioToken(env.runId, plan.index);
  const metadata = plan.scenario.podManifest['metadata'];
  const name = metadata && typeof metadata === 'object' && 'name' in metadata && typeof metadata.name === 'string' ? metadata.name : '';
  if (!name) return {};
  const pod = await env.api.readPod(namespace, name).catch(() => null);
  const events = await env.api.listEvents(namespace, name).catch(() => []);
  return { pod: pod?.status ?? null, events };
}

/** The kubelet's and runtime's logs through the node proxy, where the node serves them (best effort). */
async function nodeLogs(env: ReplayEnv, options: ConformanceOptions, node: string): Promise<Record<string, string>> {
  if (options.target.kind === 'kind') return {}; // `kind export logs` collects them, journal included.
  const logs: Record<string, string> = {};
  for (const path of ['logs/kubelet.log', 'logs/containerd.log', 'logs/crio.log']) {
    try {
      const text = await env.api.nodeProxy(node, path);
      logs[path] = text.slice(-64 * 1024);
    } catch (error) {
      logs[path] = `(unavailable: ${describeApiError(error)})`;
    }
  }
  return logs;
}

function writeDiagnostics(options: ConformanceOptions, result: ScenarioReport, logs: Record<string, string>): void {
  try {
    const dir = join(options.logsDir, 'scenarios');
    mkdirSync(dir, { recursive: true });
    const body = { name: result.name, status: result.status, reason: result.reason, node: result.node, mismatches: result.mismatches, model: result.model, observed: result.observed, diagnostics: result.diagnostics, nodeLogs: logs };
    writeFileSync(join(dir, `${result.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`), `${JSON.stringify(body, null, 2)}\n`);
  } catch {
    // Diagnostics are a courtesy; a full disk must not hide the result.
  }
}

async function exportKindLogs(kind: KindCluster, options: ConformanceOptions, log: (line: string) => void): Promise<void> {
  const dir = join(options.logsDir, 'kind-logs');
  try {
    await kind.exportLogs(dir);
    log(`kind logs (kubelet, containerd, journal) in ${dir}`);
  } catch (error) {
    log(`could not export kind logs: ${describeApiError(error)}`);
  }
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

