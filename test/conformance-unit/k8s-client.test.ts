// The real @kubernetes/client-node code path of k8s-client.ts (kubeconfig loading, raw pod POST, Status and Warning
// parsing, status mapping) against a local HTTP server that answers like an API server would. The server is a
// stand-in with canned answers, not a cluster.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../sim/classify.js';
import type { Connection } from '../../conformance/k8s-client.js';
import { connect } from '../../conformance/k8s-client.js';

const requests: Array<{ method: string; url: string; body: string; auth: string | undefined }> = [];
const STATUS_422 = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Pod "bad" is invalid: spec.containers[0].securityContext.appArmorProfile.type: Unsupported value: "Foo": supported values: "Localhost", "RuntimeDefault", "Unconfined"', reason: 'Invalid', code: 422 };

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  const send = (code: number, value: unknown, headers: Record<string, string | string[]> = {}) => {
    res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
  };
  if (req.url === '/version') return send(200, { major: '1', minor: '35', gitVersion: 'v1.35.0', gitCommit: 'x', gitTreeState: 'clean', buildDate: '2025-12-17T00:00:00Z', goVersion: 'go1.25', compiler: 'gc', platform: 'linux/amd64' });
  if (req.method === 'POST' && req.url === '/api/v1/namespaces/ns/pods') {
    const pod = JSON.parse(body) as { metadata: { name: string } };
    if (pod.metadata.name === 'bad') return send(422, STATUS_422, { Warning: '299 - "spec.containers[0]: a warning"' });
    // Two Warning headers, as the API server sends them.
    return send(201, { ...pod, metadata: { ...pod.metadata, namespace: 'ns' } }, { Warning: ['299 - "metadata.annotations[container.apparmor.security.beta.kubernetes.io/hello]: deprecated since v1.30; use the \\"appArmorProfile\\" field instead"', '299 - "second"'] });
  }
  if (req.method === 'GET' && req.url === '/api/v1/namespaces/ns/pods/hello') {
    return send(200, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hello', namespace: 'ns' },
      spec: { nodeName: 'node-1', containers: [{ name: 'hello', image: 'busybox' }] },
      status: {
        phase: 'Pending',
        containerStatuses: [{ name: 'hello', image: 'busybox', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'CreateContainerError', message: 'failed to get container spec opts: failed to generate apparmor spec opts: apparmor profile not found x' } } }],
        conditions: [{ type: 'PodScheduled', status: 'True' }],
      },
    });
  }
  if (req.method === 'GET' && req.url === '/api/v1/namespaces/ns/pods/gone') return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'pods "gone" not found', reason: 'NotFound', code: 404 });
  if (req.method === 'DELETE' && req.url?.startsWith('/api/v1/namespaces/gone')) return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'namespaces "gone" not found', reason: 'NotFound', code: 404 });
  send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `unexpected ${req.method} ${req.url}`, reason: 'NotFound', code: 404 });
}

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', body, auth: req.headers.authorization });
    answer(req, res, body);
  });
});
const dir = mkdtempSync(join(tmpdir(), 'k8s-client-'));
let connection: Connection;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const file = join(dir, 'config');
  writeFileSync(file, ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: local', '  cluster:', `    server: http://127.0.0.1:${port}`, '    insecure-skip-tls-verify: true', 'users:', '- name: u', '  user:', '    token: secret-token', 'contexts:', '- name: local', '  context: {cluster: local, user: u}', 'current-context: local', ''].join('\n'));
  connection = await connect({ kubeconfig: file, timeoutMs: 10_000 });
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('k8s-client against a canned HTTP API server', () => {
  it('reads the server version', async () => {
    expect(await connection.api.serverVersion()).toEqual({ gitVersion: 'v1.35.0', minor: 35 });
    expect(connection.context).toBe('local');
  });

  it('POSTs the manifest byte for byte (unknown fields included) with the kubeconfig credentials', async () => {
    const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hello', annotations: { 'container.apparmor.security.beta.kubernetes.io/hello': 'localhost/x' } }, spec: { containers: [{ name: 'hello', image: 'busybox', futureField: { a: 1 } }] } };
    const created = await connection.api.createPod('ns', manifest);
    expect(created).toEqual({ result: { accepted: true, warnings: ['metadata.annotations[container.apparmor.security.beta.kubernetes.io/hello]: deprecated since v1.30; use the "appArmorProfile" field instead', 'second'] }, name: 'hello' });
    const post = requests.find((r) => r.method === 'POST');
    expect(JSON.parse(post?.body ?? '{}')).toEqual(manifest);
    expect(post?.auth).toBe('Bearer secret-token');
  });

  it('turns a 422 into a refusal with the Status reason and message, which classifies as Forbidden at the API server', async () => {
    const created = await connection.api.createPod('ns', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad' }, spec: { containers: [] } });
    expect(created.result).toEqual({ accepted: false, code: 422, reason: 'Invalid', message: STATUS_422.message, warnings: ['spec.containers[0]: a warning'] });
    const verdict = classify({ api: created.result, pod: null, events: [], exec: {}, containers: [{ name: 'c', kind: 'containers' }], warningsKnown: true });
    expect(verdict).toMatchObject({ kind: 'decided', observation: { outcome: 'Forbidden', stage: 'apiserver', reason: 'Invalid', message: STATUS_422.message } });
  });

  it('maps a pod status read through the generated client', async () => {
    const pod = await connection.api.readPod('ns', 'hello');
    expect(pod).toEqual({
      name: 'hello',
      nodeName: 'node-1',
      status: {
        phase: 'Pending',
        reason: undefined,
        message: undefined,
        initContainerStatuses: undefined,
        containerStatuses: [{ name: 'hello', state: { waiting: { reason: 'CreateContainerError', message: 'failed to get container spec opts: failed to generate apparmor spec opts: apparmor profile not found x' }, running: undefined, terminated: undefined }, lastState: undefined }],
        ephemeralContainerStatuses: undefined,
        conditions: [{ type: 'PodScheduled', status: 'True', reason: undefined, message: undefined }],
      },
    });
  });

  it('treats 404 as "gone" for reads and deletes', async () => {
    expect(await connection.api.readPod('ns', 'gone')).toBeNull();
    await expect(connection.api.deleteNamespace('gone')).resolves.toBeUndefined();
  });
});
