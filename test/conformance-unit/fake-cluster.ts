// An in-memory stand-in for the Kubernetes API, for testing the harness's own logic (bookkeeping, renaming, waiting,
// classification, cleanup). It is a test double with a crude containerd-like node behind it: it is not a cluster
// and proves nothing about how a real one behaves.
import type { ClusterApi, CommandOutput, NamespaceInfo, NodeInfo, PodRead } from '../../conformance/cluster-api.js';
import { ClusterUnreachable } from '../../conformance/cluster-api.js';
import { PROFILES_BEGIN, PROFILES_END } from '../../conformance/helper-pods.js';
import type { ApiResult, ContainerStatusObserved, EventObserved, PodStatusObserved } from '../../sim/observation.js';
import type { Clock } from '../../conformance/replay.js';
import type { ConformanceOptions } from '../../conformance/run.js';
import type { LoadedProfile } from '../../sim/types.js';

interface FakePod {
  namespace: string;
  name: string;
  manifest: Record<string, unknown>;
  polls: number;
  /** Profile each regular container runs under, or the runtime's error. */
  containers: Array<{ name: string; profile?: string; error?: string }>;
  helperLog?: string;
  helperOk?: boolean;
  pullFails?: boolean;
}

export interface FakeNodeOptions {
  name?: string;
  kubeletVersion?: string;
  appArmor?: 'Y' | 'N';
  /** containerd on this node refuses AppArmor (as when /sbin/apparmor_parser is missing). */
  runtimeRefuses?: boolean;
  profiles?: LoadedProfile[];
}

export interface FakeOptions {
  serverVersion?: string;
  node?: FakeNodeOptions;
  /** Polls of a scenario pod before its status shows the outcome. */
  settleAfter?: number;
  /** Rewrites the runtime's error message (to make the fake disagree with the model). */
  runtimeMessage?: (message: string) => string;
  /** Scenario pods never leave ContainerCreating. */
  stuck?: boolean;
  /** Called on every readPod of a scenario pod (tests use it to interrupt mid-run). */
  onScenarioPoll?: (pod: string) => void;
  unreachable?: boolean;
  /** More nodes besides the fake's own (listed only; helper pods on them behave like on the main node). */
  extraNodes?: NodeInfo[];
  /** apparmor_parser succeeds but the kernel list does not show the profiles afterwards. */
  loadDrops?: boolean;
  /** Helper pods of these roles never start (ImagePullBackOff). */
  helperPullFails?: Array<'probe' | 'load' | 'unload'>;
  /** execInPod rejects (a broken websocket), or `cat` of /proc/1/attr fails with exit code 1. */
  exec?: 'throws' | 'cat-fails' | 'throws-in-scenarios' | 'cat-fails-in-scenarios';
  /** The first creates of scenario pods in a new namespace are refused: the default ServiceAccount is not there yet. */
  serviceAccountDelay?: number;
}

const ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';

export class FakeCluster implements ClusterApi {
  readonly namespaces = new Map<string, { labels: Record<string, string>; createdAt: Date }>();
  readonly pods = new Map<string, FakePod>();
  readonly events: Array<EventObserved & { namespace: string; pod: string }> = [];
  readonly nodeProfiles: LoadedProfile[];
  readonly log: string[] = [];
  /** Every pod created: namespace, name and the node it was pinned to. */
  readonly created: Array<{ namespace: string; name: string; node: string | undefined }> = [];
  /** Namespace -> scenario pod creates still to refuse for a missing ServiceAccount. */
  private readonly saPending = new Map<string, number>();
  private readonly node: Required<Omit<FakeNodeOptions, 'profiles'>>;

  constructor(readonly options: FakeOptions = {}) {
    this.node = { name: 'kind-control-plane', kubeletVersion: 'v1.35.0', appArmor: 'Y', runtimeRefuses: false, ...options.node };
    this.nodeProfiles = [...(options.node?.profiles ?? [{ name: 'cri-containerd.apparmor.d', mode: 'enforce' }])];
  }

  private check(): void {
    if (this.options.unreachable) throw new ClusterUnreachable('API server unreachable: connect ECONNREFUSED 127.0.0.1:6443');
  }

  async serverVersion() {
    this.check();
    const gitVersion = this.options.serverVersion ?? 'v1.35.0';
    return { gitVersion, minor: Number(/^v1\.(\d+)/.exec(gitVersion)?.[1]) };
  }

  async listNodes(): Promise<NodeInfo[]> {
    this.check();
    return [{ name: this.node.name, ready: true, labels: {}, kubeletVersion: this.node.kubeletVersion, operatingSystem: 'linux', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.8.0', containerRuntimeVersion: 'containerd://2.1.1' }, ...(this.options.extraNodes ?? [])];
  }

  async serviceAccountExists(namespace: string, name: string): Promise<boolean> {
    this.check();
    if (name !== 'default' || !this.namespaces.has(namespace)) return false;
    const pending = this.saPending.get(namespace) ?? 0;
    if (pending > 0) this.saPending.set(namespace, pending - 1);
    return pending === 0;
  }

  async createNamespace(name: string, labels: Record<string, string>): Promise<void> {
    this.check();
    if (this.namespaces.has(name)) throw Object.assign(new Error(`namespaces "${name}" already exists`), { code: 409 });
    this.namespaces.set(name, { labels, createdAt: new Date() });
    if (this.options.serviceAccountDelay) this.saPending.set(name, this.options.serviceAccountDelay);
    this.log.push(`create namespace ${name}`);
  }

  async deleteNamespace(name: string): Promise<void> {
    this.check();
    this.namespaces.delete(name);
    for (const [key, pod] of this.pods) if (pod.namespace === name) this.pods.delete(key);
    this.log.push(`delete namespace ${name}`);
  }

  async listNamespaces(labelSelector: string): Promise<NamespaceInfo[]> {
    this.check();
    return [...this.namespaces].filter(([, ns]) => labelSelector in ns.labels).map(([name, ns]) => ({ name, labels: ns.labels, createdAt: ns.createdAt }));
  }

  async createPod(namespace: string, manifest: Record<string, unknown>): Promise<{ result: ApiResult; name?: string }> {
    this.check();
    if (!this.namespaces.has(namespace)) return { result: { accepted: false, code: 404, reason: 'NotFound', message: `namespaces "${namespace}" not found`, warnings: [] } };
    const metadata = manifest['metadata'] as { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    const spec = manifest['spec'] as { nodeName?: string; containers: Array<Record<string, unknown>>; securityContext?: { appArmorProfile?: { type: string; localhostProfile?: string } }; volumes?: unknown };
    const pod: FakePod = { namespace, name: metadata.name, manifest: structuredClone(manifest), polls: 0, containers: [] };
    const role = metadata.labels?.['apparmor-sim/role'];
    // The ServiceAccount admission plugin refuses pods in a namespace whose default ServiceAccount is not created yet
    // (plugin/pkg/admission/serviceaccount: `error looking up service account <ns>/default: serviceaccount "default" not found`).
    if ((this.saPending.get(namespace) ?? 0) > 0) {
      this.saPending.set(namespace, (this.saPending.get(namespace) ?? 1) - 1);
      return { result: { accepted: false, code: 403, reason: 'Forbidden', message: `pods "${metadata.name}" is forbidden: error looking up service account ${namespace}/default: serviceaccount "default" not found`, warnings: [] } };
    }
    this.created.push({ namespace, name: metadata.name, node: spec.nodeName });
    if (role) this.runHelper(pod, role, spec);
    else pod.containers = spec.containers.map((c) => ({ name: String(c['name']), ...this.containerd(metadata.annotations ?? {}, spec.securityContext?.appArmorProfile, c) }));
    this.pods.set(`${namespace}/${metadata.name}`, pod);
    this.log.push(`create pod ${namespace}/${metadata.name}`);
    return { result: { accepted: true, warnings: [] }, name: metadata.name };
  }

  /** What a containerd node does with the pod's AppArmor request (the kubelet of 1.24+ passes it through). */
  private containerd(annotations: Record<string, string>, podField: { type: string; localhostProfile?: string } | undefined, container: Record<string, unknown>): { profile?: string; error?: string } {
    const field = (container['securityContext'] as { appArmorProfile?: { type: string; localhostProfile?: string } } | undefined)?.appArmorProfile ?? podField;
    const annotation = annotations[`${ANNOTATION}${String(container['name'])}`];
    const request = field ? (field.type === 'Localhost' ? `localhost/${field.localhostProfile ?? ''}` : field.type === 'Unconfined' ? 'unconfined' : 'runtime/default') : annotation;
    const error = (text: string) => ({ error: this.options.runtimeMessage ? this.options.runtimeMessage(text) : text });
    if (this.node.appArmor !== 'Y' || this.node.runtimeRefuses) {
      if (request === undefined || request === 'unconfined') return { profile: 'unconfined' };
      return error('failed to get container spec opts: failed to generate apparmor spec opts: apparmor is not supported');
    }
    if (request === 'unconfined') return { profile: 'unconfined' };
    if (request === undefined || request === 'runtime/default') return { profile: 'cri-containerd.apparmor.d (enforce)' };
    const name = request.slice('localhost/'.length);
    const loaded = this.nodeProfiles.find((p) => p.name === name);
    if (!loaded) return error(`failed to get container spec opts: failed to generate apparmor spec opts: apparmor profile not found ${name}`);
    return { profile: `${name} (${loaded.mode})` };
  }

  /** Helper pods: the probe prints the node's state; loaders change the node's profile list. */
  private runHelper(pod: FakePod, role: string, spec: { containers: Array<Record<string, unknown>> }): void {
    const env = (spec.containers[0]?.['env'] as Array<{ name: string; value: string }> | undefined) ?? [];
    const text = env.find((e) => e.name === 'PROFILES')?.value ?? '';
    const names = [...text.matchAll(/^profile (\S+) flags=\(([^)]*)\)|^profile (\S+) \{/gm)].map((m) => ({ name: m[1] ?? m[3] ?? '', mode: (m[2] ?? '').includes('complain') ? ('complain' as const) : ('enforce' as const) }));
    pod.helperOk = true;
    if (this.options.helperPullFails?.includes(role as 'probe')) {
      pod.helperOk = false;
      pod.helperLog = undefined;
      pod.pullFails = true;
      return;
    }
    if (role === 'probe') {
      pod.helperLog = `enabled=${this.node.appArmor}\n${PROFILES_BEGIN}\n${this.nodeProfiles.map((p) => `${p.name} (${p.mode})`).join('\n')}\n${PROFILES_END}\n`;
    } else if (role === 'load') {
      if (!this.options.loadDrops) for (const p of names) if (!this.nodeProfiles.some((q) => q.name === p.name)) this.nodeProfiles.push(p);
      pod.helperLog = `apparmor-sim: load ok\n${PROFILES_BEGIN}\n${this.nodeProfiles.map((p) => `${p.name} (${p.mode})`).join('\n')}\n${PROFILES_END}\n`;
    } else if (role === 'unload') {
      for (const p of names) {
        const at = this.nodeProfiles.findIndex((q) => q.name === p.name);
        if (at !== -1) this.nodeProfiles.splice(at, 1);
      }
      pod.helperLog = 'apparmor-sim: unload ok\n';
    }
  }

  async readPod(namespace: string, name: string): Promise<PodRead | null> {
    this.check();
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) return null;
    pod.polls++;
    if (pod.pullFails) return { name, status: { phase: 'Pending', containerStatuses: [{ name: 'helper', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "helper:test"' } } }] } };
    if (pod.helperLog !== undefined) return { name, status: { phase: pod.helperOk ? 'Succeeded' : 'Failed' } };
    this.options.onScenarioPoll?.(name);
    return { name, nodeName: this.node.name, status: this.status(pod) };
  }

  private status(pod: FakePod): PodStatusObserved {
    // `stuck` holds scenario pods only: the runtime canary in the run's system namespace settles.
    const settled = !(this.options.stuck && !pod.namespace.endsWith('-sys')) && pod.polls > (this.options.settleAfter ?? 1);
    const containerStatuses: ContainerStatusObserved[] = pod.containers.map((c) => ({
      name: c.name,
      state: !settled ? { waiting: { reason: 'ContainerCreating' } } : c.error ? { waiting: { reason: 'CreateContainerError', message: c.error } } : { running: { startedAt: '2026-01-01T00:00:00Z' } },
    }));
    if (settled) for (const c of pod.containers) if (c.error && !this.events.some((e) => e.pod === pod.name && e.namespace === pod.namespace)) this.events.push({ namespace: pod.namespace, pod: pod.name, type: 'Warning', reason: 'Failed', message: `Error: ${c.error}`, source: 'kubelet', fieldPath: `spec.containers{${c.name}}` });
    return { phase: settled && pod.containers.every((c) => !c.error) ? 'Running' : 'Pending', containerStatuses };
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    this.check();
    this.pods.delete(`${namespace}/${name}`);
  }

  async listEvents(namespace: string, podName: string): Promise<EventObserved[]> {
    this.check();
    return this.events.filter((e) => e.namespace === namespace && e.pod === podName).map(({ namespace: _n, pod: _p, ...event }) => event);
  }

  async execInPod(namespace: string, podName: string, container: string, command: readonly string[]): Promise<CommandOutput> {
    this.check();
    const scenarioPod = !namespace.endsWith('-sys');
    if (this.options.exec === 'throws' || (this.options.exec === 'throws-in-scenarios' && scenarioPod)) throw new Error('websocket closed: 1006');
    const pod = this.pods.get(`${namespace}/${podName}`);
    const c = pod?.containers.find((x) => x.name === container);
    if ((this.options.exec === 'cat-fails' || (this.options.exec === 'cat-fails-in-scenarios' && scenarioPod)) && command[0] === 'cat') return { exitCode: 1, stdout: '', stderr: `cat: ${command[1] ?? ''}: Permission denied` };
    if (!c?.profile) return { exitCode: 1, stdout: '', stderr: 'container not running' };
    if (command[0] === 'cat') return { exitCode: 0, stdout: `${c.profile}\n`, stderr: '' };
    if (command[0] === 'touch') return c.profile.endsWith('(enforce)') && c.profile !== 'cri-containerd.apparmor.d (enforce)' ? { exitCode: 1, stdout: '', stderr: 'Permission denied' } : { exitCode: 0, stdout: '', stderr: '' };
    return { exitCode: 127, stdout: '', stderr: 'not found' };
  }

  async podLogs(namespace: string, pod: string): Promise<string> {
    this.check();
    return this.pods.get(`${namespace}/${pod}`)?.helperLog ?? '';
  }

  async nodeProxy(): Promise<string> {
    throw Object.assign(new Error('HTTP 404'), { code: 404, body: '{"reason":"NotFound","message":"not found"}' });
  }
}

/** Time that passes only when asked to: sleeps return at once (after letting real timers run). */
export function fakeClock(): Clock & { advanced: number } {
  const clock = {
    advanced: 0,
    now: () => 1_767_225_600_000 + clock.advanced,
    sleep: (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        clock.advanced += ms;
        setImmediate(() => (signal?.aborted ? reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason))) : resolve()));
      }),
  };
  return clock;
}

/** Run options of a harness test against the fake cluster: no kind, no recordings, a fast poll; `over` wins. */
export function testRunOptions(scenarios: ConformanceOptions['scenarios'], logsDir: string, over: Partial<ConformanceOptions> = {}): ConformanceOptions {
  return {
    scenarios,
    target: { kind: 'kubeconfig', kubeconfig: undefined, context: undefined },
    featureGates: {},
    keep: false,
    parallel: 1,
    timeoutSec: 30,
    output: 'table',
    recordDir: undefined,
    logsDir,
    helperImage: 'helper:test',
    sweepAgeSec: 3600,
    runId: 'k2j9x0ab',
    pollMs: 1,
    ...over,
  };
}
