// Infrastructure versus model: node preparation under --kind (with a scripted Exec standing in for kind and docker),
// failures of probe pods, execs and profile loads as errors (never mismatches or skips), the ServiceAccount wait,
// Windows nodes, and the exit codes of kubeconfig problems. The API is the in-memory fake of fake-cluster.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Scenario } from '../../io/load/scenario.js';
import { loadScenarioFile } from '../../io/load/scenario.js';
import type { Exec, ExecOptions, ExecResult } from '../../conformance/exec.js';
import { KubeconfigError } from '../../conformance/k8s-client.js';
import { PREPARE_NODE_SCRIPT } from '../../conformance/node-prep.js';
import { refusedForServiceAccount } from '../../conformance/replay.js';
import type { ConformanceDeps, ConformanceOptions } from '../../conformance/run.js';
import { CONFORMANCE_EXIT, runConformance } from '../../conformance/run.js';
import type { FakeOptions } from './fake-cluster.js';
import { FakeCluster, fakeClock, testRunOptions } from './fake-cluster.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tutorial = await loadScenarioFile(join(ROOT, 'scenarios', 'tutorial.yaml'), ROOT);
const pick = (...names: string[]): Scenario[] => names.map((n) => tutorial.find((x) => x.name === n) ?? fail(n));
const fail = (n: string): never => {
  throw new Error(`no scenario ${n}`);
};
const DENY_WRITE = 'tutorial-fields-deny-write-loaded-1.35';
const NOT_LOADED = 'tutorial-fields-allow-write-not-loaded-1.35';

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Call = { command: string; args: readonly string[]; options: ExecOptions | undefined };
/** Stands in for kind and docker: answers each command line from a script; records the calls. Not a container engine. */
function scriptedExec(answer: (command: string, args: readonly string[]) => ExecResult): Exec & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    async run(command, args, options) {
      calls.push({ command, args, options });
      return answer(command, args);
    },
  };
}
const ok = (stdout = ''): ExecResult => ({ exitCode: 0, stdout, stderr: '' });
const kindAnswers = (prepare: ExecResult) => (command: string, args: readonly string[]): ExecResult => {
  if (command === 'kind' && args[0] === 'version') return ok('kind v0.31.0 go1.25.5 linux/amd64');
  if (command === 'docker' && args[0] === 'info') return ok('28.2.2');
  if (command === 'kind' && args[0] === 'get') return ok('apparmor-sim-x-control-plane');
  if (command === 'docker' && args[0] === 'exec') return prepare;
  return ok();
};
const PREPARED = ok('AppArmor parser version 3.0.8\napparmor-sim: node prepared');

function setup(fakeOptions: FakeOptions, over: Partial<ConformanceOptions> = {}, exec?: Exec) {
  const fake = new FakeCluster(fakeOptions);
  const logsDir = mkdtempSync(join(tmpdir(), 'conformance-infra-'));
  temps.push(logsDir);
  let stdout = '';
  let stderr = '';
  const connects: Array<{ kubeconfig?: string | undefined; context?: string | undefined }> = [];
  const deps: ConformanceDeps = {
    exec: exec ?? scriptedExec(() => ok()),
    connect: async (options) => {
      connects.push(options);
      return { api: fake, server: 'https://fake.invalid:6443', context: 'fake' };
    },
    clock: fakeClock(),
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    onSignal: () => () => undefined,
  };
  const options = testRunOptions(pick(DENY_WRITE, NOT_LOADED), logsDir, over);
  return { fake, deps, options, connects, out: () => stdout, err: () => stderr };
}
const KIND_TARGET = { kind: 'kind' as const, minor: 35, image: 'kindest/node:v1.35.0', imageKind: 'v0.31.0', name: 'apparmor-sim-x', workers: 0 };

describe('--kind: node preparation', () => {
  it('after kind create, installs apparmor_parser in every node and restarts containerd, before connecting; then replays', async () => {
    const exec = scriptedExec(kindAnswers(PREPARED));
    const t = setup({}, { target: KIND_TARGET }, exec);
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.ok);
    const lines = exec.calls.map((c) => `${c.command} ${c.args.slice(0, 2).join(' ')}`);
    expect(lines).toEqual(['kind version', 'docker info --format', 'kind create cluster', 'kind get nodes', 'docker exec apparmor-sim-x-control-plane', 'kind delete cluster']);
    expect(exec.calls[4]?.args).toEqual(['exec', 'apparmor-sim-x-control-plane', 'sh', '-c', PREPARE_NODE_SCRIPT]);
    expect(t.err()).toContain('apparmor-sim: node apparmor-sim-x-control-plane: AppArmor parser version 3.0.8');
    expect(t.connects).toHaveLength(1);
  });

  it('the preparation script extracts only the parser (no postinst loading profiles into the shared kernel) and restarts containerd', () => {
    expect(PREPARE_NODE_SCRIPT).toContain('apt-get download -qq apparmor');
    expect(PREPARE_NODE_SCRIPT).toContain('dpkg-deb -x apparmor_*.deb root');
    expect(PREPARE_NODE_SCRIPT).toContain('install -m 0755 "$parser" /sbin/apparmor_parser');
    expect(PREPARE_NODE_SCRIPT).not.toMatch(/apt-get install/);
    expect(PREPARE_NODE_SCRIPT).toContain('systemctl restart containerd');
    expect(PREPARE_NODE_SCRIPT.indexOf('/sbin/apparmor_parser --version')).toBeLessThan(PREPARE_NODE_SCRIPT.indexOf('systemctl restart containerd'));
  });

  it('a canary that still refuses after preparation is a run error (exit 1) with its message; the cluster is still deleted', async () => {
    const exec = scriptedExec(kindAnswers(PREPARED));
    const t = setup({ node: { runtimeRefuses: true, name: 'apparmor-sim-x-control-plane' } }, { target: KIND_TARGET, output: 'junit' }, exec);
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    const message = 'apparmor-sim-x-control-plane: containerd does not apply AppArmor profiles after the harness prepared the node (canary: RuntimeDefault: CreateContainerError: failed to get container spec opts: failed to generate apparmor spec opts: apparmor is not supported)';
    expect(t.err()).toContain(`apparmor-sim: conformance run failed: ${message}`);
    expect(t.out()).toContain(`<testcase name="cluster" classname="conformance"><error type="run" message="${message}"/></testcase>`);
    expect(t.out()).toContain('<property name="node.apparmor-sim-x-control-plane" value="apparmor-sim-x-control-plane: linux, kubelet v1.35.0, containerd://2.1.1, AppArmor on, runtime refuses');
    expect(exec.calls.map((c) => `${c.command} ${c.args[0] ?? ''}`)).toContain('kind delete');
    expect(exec.calls.map((c) => `${c.command} ${c.args[0] ?? ''}`)).toContain('kind export');
  });

  it('a node that cannot be prepared fails the run naming the node and the error; nothing is replayed; the cluster is deleted', async () => {
    const exec = scriptedExec(kindAnswers({ exitCode: 100, stdout: '', stderr: 'E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving deb.debian.org' }));
    const t = setup({}, { target: KIND_TARGET }, exec);
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.err()).toContain('apparmor-sim: conformance run failed: preparing kind node apparmor-sim-x-control-plane for AppArmor (docker exec apparmor-sim-x-control-plane sh -c ...) failed with exit code 100: E: Failed to fetch');
    expect(t.connects).toHaveLength(0);
    expect(exec.calls.at(-1)?.args.slice(0, 2)).toEqual(['delete', 'cluster']);
  });
});

describe('infrastructure failures are errors, never mismatches or skips', () => {
  it('a probe pod that cannot pull its image fails the run: the node facts are unknown', async () => {
    const t = setup({ helperPullFails: ['probe'] });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.err()).toContain('apparmor-sim: conformance run failed: node facts unknown: kind-control-plane: AppArmor probe pod failed: helper pod ImagePullBackOff: Back-off pulling image "helper:test"');
    expect(t.out()).not.toContain('SKIP');
    expect([...t.fake.namespaces.keys()]).toEqual([]);
  });

  it('a profile loader pod that fails is an error of the scenario', async () => {
    const t = setup({ helperPullFails: ['load'] }, { scenarios: pick(DENY_WRITE) });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.out()).toContain(`ERROR    ${DENY_WRITE} scenarios/tutorial.yaml:188: loading profiles on kind-control-plane failed: helper pod ImagePullBackOff`);
  });

  it('a profile the kernel does not list after loading is an error, not a mismatch', async () => {
    const t = setup({ loadDrops: true }, { scenarios: pick(DENY_WRITE) });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.out()).toContain(`ERROR    ${DENY_WRITE} scenarios/tutorial.yaml:188: profiles not in place on kind-control-plane after loading: k8s-apparmor-example-deny-write-aasim-k2j9x0ab-0 is not listed in /sys/kernel/security/apparmor/profiles`);
    expect(t.out()).not.toContain('MISMATCH');
  });

  it('an exec that fails (broken websocket) is an error of the scenario, and of the canary (the run)', async () => {
    const t = setup({ exec: 'throws' });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.err()).toContain('conformance run failed: node facts unknown: kind-control-plane: runtime canary: exec into aasim-k2j9x0ab-sys/canary-0 container canary failed: websocket closed: 1006');
  });

  it('an exec into a scenario pod that fails is an error of that scenario, never a mismatch', async () => {
    const t = setup({ exec: 'throws-in-scenarios' }, { scenarios: pick(DENY_WRITE) });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.out()).toContain(`ERROR    ${DENY_WRITE} scenarios/tutorial.yaml:188: exec into aasim-k2j9x0ab-0/hello-apparmor container hello failed: websocket closed: 1006`);
  });

  it('a /proc/1/attr read that fails is "not observed": no profile is compared (no null), the report says why', async () => {
    const t = setup({ exec: 'cat-fails-in-scenarios' }, { scenarios: pick(DENY_WRITE), output: 'json' });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.ok);
    const body = JSON.parse(t.out()) as { results: Array<{ status: string; notes: string[]; observed: { containers: Array<Record<string, unknown>> } }> };
    expect(body.results[0]?.status).toBe('agree');
    expect(body.results[0]?.observed.containers[0]).not.toHaveProperty('profile');
    expect(body.results[0]?.notes).toContain('could not read the profile of container hello: cat /proc/1/attr/apparmor/current: exit code 1: cat: /proc/1/attr/apparmor/current: Permission denied; cat /proc/1/attr/current: exit code 1: cat: /proc/1/attr/current: Permission denied');
  });

  it("the canary's failed read fails the run: the runtime's AppArmor state is unknown", async () => {
    const t = setup({ exec: 'cat-fails' });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.err()).toContain('node facts unknown: kind-control-plane: runtime canary: could not read the profile of container canary: cat /proc/1/attr/apparmor/current: exit code 1');
  });
});

describe('namespaces are ready before pods', () => {
  it('waits for the default ServiceAccount and retries a create refused for it; the refusal is never the outcome', async () => {
    const t = setup({ serviceAccountDelay: 2 }, { scenarios: pick(DENY_WRITE, NOT_LOADED), output: 'json' });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.ok);
    const body = JSON.parse(t.out()) as { results: Array<{ status: string; observed: { outcome: string } }> };
    expect(body.results.map((r) => `${r.status} ${r.observed.outcome}`)).toEqual(['agree Run', 'agree CreateContainerError']);
  });

  it('a ServiceAccount that never appears is an error of the run (system namespace), not a Forbidden outcome', async () => {
    const t = setup({ serviceAccountDelay: 1_000_000 }, { pollMs: 5000 });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.err()).toContain('conformance run failed: the default ServiceAccount of namespace aasim-k2j9x0ab-sys did not appear within 60 s');
    expect(t.out()).not.toContain('Forbidden');
  });

  it('recognises the ServiceAccount admission refusals (plugin/pkg/admission/serviceaccount) and nothing else', () => {
    const refusal = (message: string) => ({ accepted: false as const, code: 403, reason: 'Forbidden', message, warnings: [] });
    expect(refusedForServiceAccount(refusal('pods "hello" is forbidden: error looking up service account aasim-x-0/default: serviceaccount "default" not found'))).toBe(true);
    expect(refusedForServiceAccount(refusal('pods "hello" is forbidden: no API token found for service account "ns/default", retry after the token is automatically created and added to the service account'))).toBe(true);
    expect(refusedForServiceAccount(refusal('pods "hello" is forbidden: Error looking up service account ns/default: serviceaccount "default" not found'))).toBe(true);
    expect(refusedForServiceAccount(refusal('pods "hello" is forbidden: service account ns/default was not found, retry after the service account is created'))).toBe(true);
    expect(refusedForServiceAccount(refusal('pods "hello" is forbidden: violates PodSecurity "baseline:latest": forbidden AppArmor profile'))).toBe(false);
    expect(refusedForServiceAccount({ accepted: true, warnings: [] })).toBe(false);
  });
});

describe('Windows nodes and exit codes', () => {
  it('never sends probe or canary pods to a Windows node', async () => {
    const windows = { name: 'win-1', ready: true, labels: {}, kubeletVersion: 'v1.35.0', operatingSystem: 'windows', osImage: 'Windows Server 2022 Datacenter', kernelVersion: '10.0.20348', containerRuntimeVersion: 'containerd://1.7.20' };
    const t = setup({ extraNodes: [windows] });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.ok);
    expect(t.fake.created.filter((p) => p.node === 'win-1')).toEqual([]);
    expect(t.fake.created.some((p) => p.node === 'kind-control-plane' && p.name.startsWith('probe-'))).toBe(true);
    expect(t.err()).toContain('node win-1: windows, kubelet v1.35.0, containerd://1.7.20, AppArmor unknown, runtime untested; problems: not probed: windows node (probe pods run on Linux nodes only)');
  });

  it('a kubeconfig or context that was asked for and cannot be used is exit 2 with one line, no document', async () => {
    const t = setup({}, { target: { kind: 'kubeconfig', kubeconfig: 'k', context: 'nope' }, output: 'junit' });
    t.deps.connect = async () => {
      throw new KubeconfigError('--context nope: no such context in --kubeconfig k (have: kind-kind)');
    };
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.usage);
    expect(t.err()).toBe('apparmor-sim: --context nope: no such context in --kubeconfig k (have: kind-kind)\n');
    expect(t.out()).toBe('');
  });

  it('the API server of a named kubeconfig not answering is a failure (1); of the default kubeconfig, no cluster (4)', async () => {
    const named = setup({ unreachable: true }, { target: { kind: 'kubeconfig', kubeconfig: 'k', context: undefined } });
    expect(await runConformance(named.options, named.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(named.err()).toContain('apparmor-sim: conformance run failed: API server https://fake.invalid:6443 unreachable: connect ECONNREFUSED 127.0.0.1:6443');
    const fallback = setup({ unreachable: true });
    expect(await runConformance(fallback.options, fallback.deps)).toBe(CONFORMANCE_EXIT.skipped);
  });
});
