// The Kubernetes API as the harness uses it. Replay, node probes and profile loading talk to this interface only, so
// that their logic can be tested with an in-memory fake (which is a test double, never a cluster); the real
// implementation is k8s-client.ts (@kubernetes/client-node).
import type { ApiResult, EventObserved, PodStatusObserved } from '../sim/observation.js';

export interface NodeInfo {
  name: string;
  ready: boolean;
  labels: Record<string, string>;
  /** status.nodeInfo */
  kubeletVersion: string;
  operatingSystem: string;
  osImage: string;
  kernelVersion: string;
  /** e.g. `containerd://1.7.13`, `cri-o://1.29.1`, `docker://20.10.7` */
  containerRuntimeVersion: string;
}

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
  createdAt: Date | undefined;
}

export interface PodRead {
  name: string;
  nodeName?: string | undefined;
  status: PodStatusObserved;
}

export interface CommandOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ClusterApi {
  /** GET /version */
  serverVersion(): Promise<{ gitVersion: string; minor: number }>;
  listNodes(): Promise<NodeInfo[]>;
  createNamespace(name: string, labels: Record<string, string>): Promise<void>;
  /** Deletes a namespace; a namespace that is already gone is not an error. */
  deleteNamespace(name: string): Promise<void>;
  listNamespaces(labelSelector: string): Promise<NamespaceInfo[]>;
  /** Whether a ServiceAccount exists (the namespace's `default` one is created asynchronously after the namespace). */
  serviceAccountExists(namespace: string, name: string): Promise<boolean>;
  /** Creates a pod; an API refusal is a result (with the Status body), not an exception. */
  createPod(namespace: string, manifest: Record<string, unknown>): Promise<{ result: ApiResult; name?: string | undefined }>;
  /** null when the pod does not exist. */
  readPod(namespace: string, name: string): Promise<PodRead | null>;
  deletePod(namespace: string, name: string): Promise<void>;
  listEvents(namespace: string, podName: string): Promise<EventObserved[]>;
  /** Runs a command in a container (the exec subresource). */
  execInPod(namespace: string, pod: string, container: string, command: readonly string[]): Promise<CommandOutput>;
  podLogs(namespace: string, pod: string, container?: string | undefined): Promise<string>;
  /** GET /api/v1/nodes/{node}/proxy/{path}: the kubelet's own endpoints (logs/...). */
  nodeProxy(node: string, path: string): Promise<string>;
}

/** The API server could not be reached at all (connection refused, DNS, TLS, timeout). */
export class ClusterUnreachable extends Error {}

/** An HTTP error from the API server, with the Status body's reason and message. */
export class ApiStatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly statusMessage: string,
  ) {
    super(`HTTP ${code} ${reason}: ${statusMessage}`);
  }
}

/**
 * Reads metav1.Status out of an error of @kubernetes/client-node 1.x (ApiException: `code`, `body` holding the
 * response text, `headers`). Returns undefined for anything that is not an HTTP error.
 */
export function statusOfError(error: unknown): { code: number; reason: string; message: string; warnings: string[] } | undefined {
  if (error instanceof ApiStatusError) return { code: error.code, reason: error.reason, message: error.statusMessage, warnings: [] };
  if (!error || typeof error !== 'object' || !('code' in error) || typeof error.code !== 'number') return undefined;
  const code = error.code;
  const body = 'body' in error ? error.body : undefined;
  let status: Record<string, unknown> = {};
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      if (parsed && typeof parsed === 'object') status = parsed as Record<string, unknown>;
    } catch {
      status = { message: body.trim() };
    }
  } else if (body && typeof body === 'object') {
    status = body as Record<string, unknown>;
  }
  const headers = 'headers' in error && error.headers && typeof error.headers === 'object' ? (error.headers as Record<string, unknown>) : {};
  const warning = headers['warning'];
  return {
    code,
    reason: typeof status['reason'] === 'string' ? status['reason'] : defaultReason(code),
    message: typeof status['message'] === 'string' ? status['message'] : '',
    warnings: typeof warning === 'string' ? parseWarningHeader(warning) : [],
  };
}

/** metav1.StatusReason for codes whose Status body is missing (apimachinery pkg/api/errors). */
function defaultReason(code: number): string {
  const reasons: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'AlreadyExists', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };
  return reasons[code] ?? 'Unknown';
}

/**
 * Warning headers (RFC 7234 warn-code warn-agent "warn-text", the format of k8s.io/apiserver pkg/warning); fetch joins
 * repeated headers with ", ". Returns the texts.
 */
export function parseWarningHeader(value: string): string[] {
  const warnings: string[] = [];
  const pattern = /\d{3} \S+ "((?:[^"\\]|\\.)*)"/g;
  for (let match = pattern.exec(value); match; match = pattern.exec(value)) {
    warnings.push((match[1] ?? '').replace(/\\(.)/g, '$1'));
  }
  return warnings;
}

/** Network-level failures (node-fetch FetchError codes, TLS) that mean "no cluster here", not "the cluster said no". */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_TLS_CERT_ALTNAME_INVALID']);

export function isUnreachable(error: unknown): boolean {
  if (error instanceof ClusterUnreachable) return true;
  if (!error || typeof error !== 'object') return false;
  const code = 'code' in error ? error.code : undefined;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true;
  const name = 'name' in error ? error.name : undefined;
  return name === 'FetchError' || name === 'AbortError';
}

/** One line for any error the client may throw. */
export function describeApiError(error: unknown): string {
  const status = statusOfError(error);
  if (status) return `HTTP ${status.code} ${status.reason}${status.message ? `: ${status.message}` : ''}`;
  if (error instanceof Error) return (error.message.split('\n')[0] ?? '').trim();
  return String(error);
}
