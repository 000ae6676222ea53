// ClusterApi on a real API server, through @kubernetes/client-node 1.x (imported on demand: `dry-run` never loads it).
//
// Pods are created with a raw POST of the manifest as written rather than through the generated client, whose
// serializer keeps only the fields its model knows and would silently change what the API server is asked to store
// (the point of the harness is to send exactly the scenario's pod).
import { existsSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { RequestOptions } from 'node:https';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Writable } from 'node:stream';
import type { ClusterApi, CommandOutput, NamespaceInfo, NodeInfo, PodRead } from './cluster-api.js';
import { ApiStatusError, ClusterUnreachable, isUnreachable, parseWarningHeader, statusOfError } from './cluster-api.js';
import type { ApiResult, ContainerStateObserved, ContainerStatusObserved, EventObserved } from '../sim/observation.js';

export interface ConnectOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  /** Per API call. */
  timeoutMs?: number | undefined;
  /** How long the kubeconfig's credential plugin (users[].user.exec) may take. */
  credentialTimeoutMs?: number | undefined;
}

/** Why there is no kubeconfig at all, as one line naming what is missing and how to get it (exit 4: no cluster). */
export class NoKubeconfig extends Error {}

/**
 * A kubeconfig that was asked for but cannot be used: a --kubeconfig that does not exist, is not a regular file, is
 * too large or does not parse, a --context it does not have, a credential plugin that fails or hangs. An input error
 * (exit 2), never "no cluster".
 */
export class KubeconfigError extends Error {}

/** Kubeconfigs are a few KiB (tens with many contexts and embedded certificates); anything larger is not one. */
export const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;
export const CREDENTIAL_PLUGIN_TIMEOUT_MS = 30_000;

/**
 * Refuses what must not be read: devices (/dev/zero never ends), FIFOs (a read blocks forever), directories, and
 * files over the size cap. Only regular files of bounded size reach the YAML parser.
 */
export function checkKubeconfigFile(file: string, label: string): void {
  let stat;
  try {
    stat = statSync(file);
  } catch (error) {
    const code = error && typeof error === 'object' && 'code' in error ? String(error.code) : '';
    throw new KubeconfigError(code === 'ENOENT' ? `${label}: no such file` : `${label}: cannot read: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!stat.isFile()) throw new KubeconfigError(`${label}: not a regular file (${stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO' : stat.isCharacterDevice() ? 'a character device' : 'a special file'})`);
  if (stat.size > MAX_KUBECONFIG_BYTES) throw new KubeconfigError(`${label}: ${stat.size} bytes, over the ${MAX_KUBECONFIG_BYTES}-byte limit for a kubeconfig`);
}

interface CredentialPlugin {
  command: string;
  args?: string[] | undefined;
  env?: Array<{ name: string; value: string }> | undefined;
}

/**
 * Runs the current user's credential plugin once, bounded, before the client does: a plugin that hangs would
 * otherwise hold every API call until its timeout, which then blames the API server. The client runs it again (and
 * caches the credential); this run only proves that it answers.
 */
export async function checkCredentialPlugin(plugin: CredentialPlugin, user: string, timeoutMs: number): Promise<void> {
  const { execa } = await import('execa');
  const env: Record<string, string> = {};
  for (const entry of plugin.env ?? []) env[entry.name] = entry.value;
  const shown = JSON.stringify([plugin.command, ...(plugin.args ?? [])].join(' '));
  const what = `credential plugin ${shown} of kubeconfig user ${JSON.stringify(user)}`;
  const result = await execa(plugin.command, plugin.args ?? [], { env, reject: false, timeout: timeoutMs, forceKillAfterDelay: 1000, input: '', maxBuffer: 1024 * 1024, stripFinalNewline: true });
  if (result.timedOut) throw new KubeconfigError(`${what} did not finish within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}`);
  if (result.code === 'ENOENT') throw new KubeconfigError(`${what}: command not found`);
  if (result.exitCode !== 0) {
    const stderr = typeof result.stderr === 'string' ? result.stderr.trim().split('\n')[0] ?? '' : '';
    throw new KubeconfigError(`${what} failed (exit code ${result.exitCode ?? '?'})${stderr ? `: ${stderr}` : ''}`);
  }
}

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
  let source: string;
  if (options.kubeconfig !== undefined) {
    source = `--kubeconfig ${options.kubeconfig}`;
    checkKubeconfigFile(options.kubeconfig, source);
    try {
      kc.loadFromFile(options.kubeconfig);
    } catch (error) {
      throw new KubeconfigError(`${source}: not a usable kubeconfig: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  } else {
    const files = findKubeconfig();
    if (!files) {
      throw new NoKubeconfig('no kubeconfig: KUBECONFIG is unset or names no existing file, and ~/.kube/config does not exist; pass --kubeconfig FILE, or --kind to create a cluster');
    }
    const fromEnv = (process.env['KUBECONFIG'] ?? '') !== '';
    source = fromEnv ? `KUBECONFIG ${files.join(delimiter)}` : `kubeconfig ${files[0] ?? ''}`;
    for (const file of files) if (!fromEnv || existsSync(file)) checkKubeconfigFile(file, fromEnv ? `KUBECONFIG file ${file}` : file);
    try {
      kc.loadFromDefault();
    } catch (error) {
      throw new KubeconfigError(`${source}: not a usable kubeconfig: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  if (options.context !== undefined) {
    if (!kc.getContextObject(options.context)) throw new KubeconfigError(`--context ${options.context}: no such context in ${source} (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) throw new KubeconfigError(`${source} has no current context (set one with \`kubectl config use-context NAME\` or pass --context)`);
  const user = kc.getCurrentUser();
  const plugin = user?.exec ?? (user?.authProvider?.config?.['exec'] as CredentialPlugin | undefined);
  // The client runs the credential plugin again before requests (each one, when its credential has no expiry): a call
  // that times out may be waiting for the plugin rather than the API server, and says so.
  let timeoutNote = '';
  if (user && plugin && typeof plugin === 'object' && typeof plugin.command === 'string') {
    await checkCredentialPlugin(plugin, user.name, options.credentialTimeoutMs ?? CREDENTIAL_PLUGIN_TIMEOUT_MS);
    timeoutNote = ` (from the API server, or the kubeconfig's credential plugin ${JSON.stringify(plugin.command)})`;
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeconfigError(`${source} has no current cluster`);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const versionApi = kc.makeApiClient(k8s.VersionApi);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const call = <T>(what: string, run: () => Promise<T>) => withTimeout(run(), timeoutMs, what, timeoutNote);

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
      timeoutNote,
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
    async serviceAccountExists(namespace, name) {
      try {
        await call(`read serviceaccount ${namespace}/${name}`, () => core.readNamespacedServiceAccount({ namespace, name }));
        return true;
      } catch (error) {
        if (statusOfError(error)?.code === 404) return false;
        throw error;
      }
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

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, note = ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClusterUnreachable(`${what}: no answer within ${Math.round(ms / 1000)} s${note}`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
