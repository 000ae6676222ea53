// Error mapping: API errors to Status (403/422 -> Forbidden with the server's message), network failures to
// "unreachable", missing kubeconfig to a one-line skip reason.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { classify } from '../../sim/classify.js';
import { ClusterUnreachable, describeApiError, isUnreachable, parseWarningHeader, statusOfError } from '../../conformance/cluster-api.js';
import { connect, findKubeconfig, KubeconfigError, MAX_KUBECONFIG_BYTES } from '../../conformance/k8s-client.js';

const status422 = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Pod "hello" is invalid: spec.securityContext.appArmorProfile.localhostProfile: Required value: must be set when AppArmor type is Localhost', reason: 'Invalid', code: 422 });
const status403 = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'pods "hello" is forbidden: violates PodSecurity "baseline:latest": forbidden AppArmor profile (container "hello" must not set securityContext.appArmorProfile.type to "Unconfined")', reason: 'Forbidden', code: 403 });

describe('statusOfError', () => {
  it('reads the Status body of a client-node ApiException (422 Invalid)', () => {
    const error = new ApiException(422, 'Unknown API Status Code!', status422, { warning: '299 - "metadata.annotations[container.apparmor.security.beta.kubernetes.io/hello]: deprecated since v1.30; use the \\"appArmorProfile\\" field instead"' });
    expect(statusOfError(error)).toEqual({
      code: 422,
      reason: 'Invalid',
      message: 'Pod "hello" is invalid: spec.securityContext.appArmorProfile.localhostProfile: Required value: must be set when AppArmor type is Localhost',
      warnings: ['metadata.annotations[container.apparmor.security.beta.kubernetes.io/hello]: deprecated since v1.30; use the "appArmorProfile" field instead'],
    });
  });
  it('reads 403 Forbidden, and classify turns the refusal into Forbidden at admission with the server message', () => {
    const status = statusOfError(new ApiException(403, 'Unknown API Status Code!', status403, {}));
    expect(status?.reason).toBe('Forbidden');
    const verdict = classify({ api: { accepted: false, code: status?.code ?? 0, reason: status?.reason ?? '', message: status?.message ?? '', warnings: [] }, pod: null, events: [], exec: {}, containers: [{ name: 'hello', kind: 'containers' }], warningsKnown: true });
    expect(verdict).toMatchObject({ kind: 'decided', observation: { outcome: 'Forbidden', stage: 'admission', message: JSON.parse(status403).message } });
  });
  it('falls back to the reason for the code when there is no Status body (401 from the generated client)', () => {
    expect(statusOfError(new ApiException(401, 'Unauthorized', undefined, {}))).toEqual({ code: 401, reason: 'Unauthorized', message: '', warnings: [] });
    expect(statusOfError(new ApiException(500, 'x', 'plain text body', {}))).toMatchObject({ reason: 'InternalError', message: 'plain text body' });
  });
  it('is undefined for errors that are not HTTP errors', () => {
    expect(statusOfError(new Error('x'))).toBeUndefined();
    expect(statusOfError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBeUndefined();
  });
  it('describes any error on one line', () => {
    expect(describeApiError(new ApiException(422, 'Unknown API Status Code!', status422, {}))).toBe(`HTTP 422 Invalid: ${JSON.parse(status422).message}`);
    expect(describeApiError(new Error('first\nsecond'))).toBe('first');
  });
});

describe('parseWarningHeader', () => {
  it('splits the joined Warning headers and unquotes them', () => {
    expect(parseWarningHeader('299 - "one, with comma", 299 - "two \\"quoted\\""')).toEqual(['one, with comma', 'two "quoted"']);
    expect(parseWarningHeader('')).toEqual([]);
  });
});

describe('isUnreachable', () => {
  it('recognises connection failures and the client fetch errors', () => {
    expect(isUnreachable(Object.assign(new Error('request failed, reason: connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isUnreachable(Object.assign(new Error('x'), { name: 'FetchError' }))).toBe(true);
    expect(isUnreachable(new ClusterUnreachable('x'))).toBe(true);
    expect(isUnreachable(new ApiException(403, 'x', status403, {}))).toBe(false);
  });
});

describe('kubeconfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds none when KUBECONFIG names no file and ~/.kube/config is missing', () => {
    expect(findKubeconfig({ KUBECONFIG: join(dir, 'missing') }, dir)).toBeUndefined();
    expect(findKubeconfig({}, dir)).toBeUndefined();
  });
  it('refuses a --kubeconfig that does not exist, with a one-line reason', async () => {
    await expect(connect({ kubeconfig: join(dir, 'nope') })).rejects.toThrow(new KubeconfigError(`--kubeconfig ${join(dir, 'nope')}: no such file`));
  });
  it('bounds a credential plugin that never returns and names it (not the API server); the plugin is killed', async () => {
    const file = join(dir, 'config-exec');
    writeFileSync(file, kubeconfig('https://127.0.0.1:1').replace('    token: abc', '    exec: {apiVersion: client.authentication.k8s.io/v1, command: sleep, args: ["1000"]}'));
    const started = Date.now();
    const error = await connect({ kubeconfig: file, credentialTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeconfigError);
    expect((error as Error).message).toBe('credential plugin "sleep 1000" of kubeconfig user "test" did not finish within 300 ms');
    expect(Date.now() - started).toBeLessThan(5000);
  });
  it('a call that times out with a credential plugin configured says the plugin may be the one not answering', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const file = join(dir, 'config-exec-ok');
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 't' } });
    writeFileSync(file, kubeconfig(`http://127.0.0.1:${port}`).replace('    token: abc', `    exec: {apiVersion: client.authentication.k8s.io/v1, command: sh, args: ["-c", ${JSON.stringify(`echo '${credential}'`)}]}`));
    try {
      const connection = await connect({ kubeconfig: file, timeoutMs: 1000 });
      const error = await connection.api.serverVersion().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClusterUnreachable);
      expect((error as Error).message).toMatch(/no answer within 1 s \(from the API server, or the kubeconfig's credential plugin "sh"\)$/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
  it('refuses an oversized kubeconfig without reading it', async () => {
    const file = join(dir, 'huge');
    writeFileSync(file, Buffer.alloc(MAX_KUBECONFIG_BYTES + 1, 0x20));
    await expect(connect({ kubeconfig: file })).rejects.toThrow(new KubeconfigError(`--kubeconfig ${file}: ${MAX_KUBECONFIG_BYTES + 1} bytes, over the ${MAX_KUBECONFIG_BYTES}-byte limit for a kubeconfig`));
  });
  it('names the contexts when --context is wrong', async () => {
    const file = join(dir, 'config');
    writeFileSync(file, kubeconfig('https://127.0.0.1:1'));
    await expect(connect({ kubeconfig: file, context: 'other' })).rejects.toThrow(`--context other: no such context in --kubeconfig ${file} (have: test)`);
  });
  it('reports an API server that refuses connections as unreachable (a real connection attempt to a closed port)', async () => {
    const file = join(dir, 'config');
    writeFileSync(file, kubeconfig('https://127.0.0.1:1'));
    const connection = await connect({ kubeconfig: file, timeoutMs: 10_000 });
    const error = await connection.api.serverVersion().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterUnreachable);
    expect((error as Error).message).toMatch(/^API server unreachable: .*ECONNREFUSED/);
  });
});

function kubeconfig(server: string): string {
  return ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: test', '  cluster:', `    server: ${server}`, '    insecure-skip-tls-verify: true', 'users:', '- name: test', '  user:', '    token: abc', 'contexts:', '- name: test', '  context: {cluster: test, user: test}', 'current-context: test', ''].join('\n');
}
