// ClusterApi on a real API server, through @kubernetes/client-node 1.x (imported on demand: `dry-run` never loads it).
//
// Pods are created with a raw POST of the manifest as written rather than through the generated client, whose
// serializer keeps only the fields its model knows and would silently change what the API server is asked to store
// (the point of the harness is to send exactly the scenario's pod).
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { RequestOptions } from 'node:https';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Writable } from 'node:stream';
import type { ClusterApi, CommandOutput, NamespaceInfo, NodeInfo, PodRead } from './cluster-api.js';
import { ApiStatusError, ClusterUnreachable, isUnreachable, parseWarningHeader, statusOfError } from './cluster-api.js';
import type { ApiResult, ContainerStateObserved, ContainerStatusObserved, EventObserved } from './observation.js';

export interface ConnectOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  /** Per API call. */
  timeoutMs?: number | undefined;
}

/** Why there is no usable kubeconfig, as one line naming what is missing and how to get it. */
export class NoKubeconfig extends Error {}

/** Finds the kubeconfig the way kubectl does ($KUBECONFIG, else ~/.kube/config); undefined when there is none. */
export function findKubeconfig(env: NodeJS.ProcessEnv = process.env, home = homedir()): string[] | undefined {
  const fromEnv = (env['KUBECONFIG'] ?? '').split(delimiter).filter(Boolean);
  if (fromEnv.length > 0) return fromEnv.filter((file) => existsSync(file)).length > 0 ? fromEnv : undefined;
  const file = join(home, '.kube', 'config');
  return existsSync(file) ? [file] : undefined;
}

export interface Connection {
  api: ClusterApi;
  server: string;
  context: string;
}

export async function connect(options: ConnectOptions = {}): Promise<Connection> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  try {
    if (options.kubeconfig !== undefined) {
      if (!existsSync(options.kubeconfig)) throw new NoKubeconfig(`kubeconfig ${options.kubeconfig} does not exist`);
      kc.loadFromFile(options.kubeconfig);
    } else {
      if (!findKubeconfig()) {
        throw new NoKubeconfig('no kubeconfig: KUBECONFIG is unset or names no existing file, and ~/.kube/config does not exist; pass --kubeconfig FILE, or --kind to create a cluster');
      }
      kc.loadFromDefault();
    }
  } catch (error) {
    if (error instanceof NoKubeconfig) throw error;
    throw new NoKubeconfig(`cannot read kubeconfig: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) throw new NoKubeconfig(`--context ${options.context}: no such context in the kubeconfig (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new NoKubeconfig('the kubeconfig has no current context (set one with `kubectl config use-context NAME` or pass --context)');
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const versionApi = kc.makeApiClient(k8s.VersionApi);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const call = <T>(what: string, run: () => Promise<T>) => withTimeout(run(), timeoutMs, what);

  const rawRequest = async (method: string, path: string, body: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> => {
    const url = new URL(path, cluster.server.endsWith('/') ? cluster.server : `${cluster.server}/`);
    const opts: RequestOptions = { method, headers: { 'Content-Type': 'application/json', Accept: 'application/json' } };
    await kc.applyToHTTPSOptions(opts);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return withTimeout(
      new Promise((resolve, reject) => {
        const req = send(url, opts, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(JSON.stringify(body));
      }),
      timeoutMs,
      `${method} ${url.pathname}`,
    );
  };

  const api: ClusterApi = {
    async serverVersion() {
      const info = await call('GET /version', () => versionApi.getCode());
      return { gitVersion: info.gitVersion, minor: Number.parseInt(info.minor, 10) };
    },
    async listNodes() {
      const list = await call('list nodes', () => core.listNode());
      return list.items.map((node): NodeInfo => ({
        name: node.metadata?.name ?? '',
        ready: node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        labels: node.metadata?.labels ?? {},
        kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? '',
        operatingSystem: node.status?.nodeInfo?.operatingSystem ?? '',
        osImage: node.status?.nodeInfo?.osImage ?? '',
        kernelVersion: node.status?.nodeInfo?.kernelVersion ?? '',
        containerRuntimeVersion: node.status?.nodeInfo?.containerRuntimeVersion ?? '',
      }));
    },
    async createNamespace(name, labels) {
      await call(`create namespace ${name}`, () => core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } }));
    },
    async deleteNamespace(name) {
      try {
        await call(`delete namespace ${name}`, () => core.deleteNamespace({ name, propagationPolicy: 'Background' }));
      } catch (error) {
        if (statusOfError(error)?.code !== 404) throw error;
      }
    },
    async listNamespaces(labelSelector) {
      const list = await call('list namespaces', () => core.listNamespace({ labelSelector }));
      return list.items.map((ns): NamespaceInfo => ({
        name: ns.metadata?.name ?? '',
        labels: ns.metadata?.labels ?? {},
        createdAt: ns.metadata?.creationTimestamp ? new Date(ns.metadata.creationTimestamp) : undefined,
      }));
    },
    async createPod(namespace, manifest) {
      const response = await rawRequest('POST', `api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, manifest);
      const warningHeader = response.headers['warning'];
      const warnings = parseWarningHeader(Array.isArray(warningHeader) ? warningHeader.join(', ') : (warningHeader ?? ''));
      let body: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(response.text);
        if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
      } catch {
        body = { message: response.text.trim() };
      }
      if (response.status >= 200 && response.status < 300) {
        const metadata = body['metadata'];
        const name = metadata && typeof metadata === 'object' && 'name' in metadata && typeof metadata.name === 'string' ? metadata.name : undefined;
        const result: ApiResult = { accepted: true, warnings };
        return { result, name };
      }
      const status = statusOfError({ code: response.status, body: response.text, headers: {} });
      if (!status) throw new ApiStatusError(response.status, 'Unknown', response.text.slice(0, 200));
      return { result: { accepted: false, code: status.code, reason: status.reason, message: status.message, warnings } };
    },
    async readPod(namespace, name) {
      try {
        const pod = await call(`read pod ${namespace}/${name}`, () => core.readNamespacedPod({ namespace, name }));
        const status = pod.status ?? {};
        const read: PodRead = {
          name: pod.metadata?.name ?? name,
          nodeName: pod.spec?.nodeName,
          status: {
            phase: status.phase,
            reason: status.reason,
            message: status.message,
            initContainerStatuses: status.initContainerStatuses?.map(containerStatus),
            containerStatuses: status.containerStatuses?.map(containerStatus),
            ephemeralContainerStatuses: status.ephemeralContainerStatuses?.map(containerStatus),
            conditions: status.conditions?.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
          },
        };
        return read;
      } catch (error) {
        if (statusOfError(error)?.code === 404) return null;
        throw error;
      }
    },
    async deletePod(namespace, name) {
      try {
        await call(`delete pod ${namespace}/${name}`, () => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }));
      } catch (error) {
        if (statusOfError(error)?.code !== 404) throw error;
      }
    },
    async listEvents(namespace, podName) {
      const list = await call(`list events in ${namespace}`, () => core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${podName}` }));
      return list.items.map((e): EventObserved => ({
        type: e.type,
        reason: e.reason,
        message: e.message,
        source: e.source?.component ?? e.reportingComponent,
        fieldPath: e.involvedObject.fieldPath,
        count: e.count,
      }));
    },
    async execInPod(namespace, pod, container, command) {
      const exec = new k8s.Exec(kc);
      let stdout = '';
      let stderr = '';
      const sink = (append: (text: string) => void) =>
        new Writable({
          write(chunk: Buffer | string, _encoding, done) {
            append(chunk.toString());
            done();
          },
        });
      const output = new Promise<CommandOutput>((resolve, reject) => {
        let exitCode = -1;
        exec
          .exec(namespace, pod, container, [...command], sink((t) => (stdout += t)), sink((t) => (stderr += t)), null, false, (status) => {
            // V1Status: Success, or Failure with details.causes [{reason: ExitCode, message: "<n>"}].
            if (status.status === 'Success') exitCode = 0;
            else exitCode = Number(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message ?? 1);
          })
          .then((socket) => {
            socket.on('close', () => resolve({ exitCode, stdout, stderr }));
            socket.on('error', (error: Error) => reject(error));
          }, reject);
      });
      return withTimeout(output, 30_000, `exec in ${namespace}/${pod}/${container}`);
    },
    async podLogs(namespace, pod, container) {
      return call(`logs of ${namespace}/${pod}`, () => core.readNamespacedPodLog({ namespace, name: pod, container }));
    },
    async nodeProxy(node, path) {
      return call(`node ${node} proxy ${path}`, () => core.connectGetNodeProxyWithPath({ name: node, path }));
    },
  };
  return { api: wrapUnreachable(api), server: cluster.server, context: kc.getCurrentContext() };
}

function containerStatus(status: {
  name: string;
  state?: { waiting?: { reason?: string; message?: string }; running?: { startedAt?: Date }; terminated?: { exitCode: number; reason?: string; message?: string } };
  lastState?: { waiting?: { reason?: string; message?: string }; running?: { startedAt?: Date }; terminated?: { exitCode: number; reason?: string; message?: string } };
}): ContainerStatusObserved {
  const state = (s: typeof status.state): ContainerStateObserved | undefined =>
    s
      ? {
          waiting: s.waiting ? { reason: s.waiting.reason, message: s.waiting.message } : undefined,
          running: s.running ? { startedAt: s.running.startedAt?.toISOString() } : undefined,
          terminated: s.terminated ? { exitCode: s.terminated.exitCode, reason: s.terminated.reason, message: s.terminated.message } : undefined,
        }
      : undefined;
  return { name: status.name, state: state(status.state), lastState: state(status.lastState) };
}

/** Network failures become ClusterUnreachable with one line; everything else passes through. */
function wrapUnreachable(api: ClusterApi): ClusterApi {
  const wrapped = {} as Record<keyof ClusterApi, unknown>;
  for (const key of Object.keys(api) as (keyof ClusterApi)[]) {
    const method = api[key] as (...args: unknown[]) => Promise<unknown>;
    wrapped[key] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (error) {
        if (isUnreachable(error) && !(error instanceof ClusterUnreachable)) {
          throw new ClusterUnreachable(`API server unreachable: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`);
        }
        throw error;
      }
    };
  }
  // Every key of ClusterApi was copied above with the same signature; TypeScript cannot follow that through the loop.
  return wrapped as unknown as ClusterApi;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterUnreachable(`${what}: no answer within ${Math.round(ms / 1000)} s`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
