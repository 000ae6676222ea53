// The harness's run logic against an in-memory fake API (fake-cluster.ts): placement and skips, run-unique profile
// names mapped back, comparison, diagnostics, cleanup on success, mismatch, timeout and interrupt, exit codes.
// The fake is a test double; nothing here says anything about a real cluster.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Scenario } from '../../io/load/scenario.js';
import { loadScenarioFile } from '../../io/load/scenario.js';
import { CommandNotFound } from '../../conformance/exec.js';
import { NoKubeconfig } from '../../conformance/k8s-client.js';
import { readRecording } from '../../conformance/recordings.js';
import { newRunId, runIdStartedAt, runOlderThan } from '../../conformance/run-id.js';
import type { ConformanceDeps, ConformanceOptions, Signal } from '../../conformance/run.js';
import { CONFORMANCE_EXIT, runConformance } from '../../conformance/run.js';
import { FakeCluster, fakeClock, testRunOptions } from './fake-cluster.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tutorial = await loadScenarioFile(join(ROOT, 'scenarios', 'tutorial.yaml'), ROOT);
const pick = (...names: string[]): Scenario[] => names.map((n) => {
  const s = tutorial.find((x) => x.name === n);
  if (!s) throw new Error(`no scenario ${n}`);
  return s;
});
const ON_135 = ['tutorial-fields-deny-write-loaded-1.35', 'tutorial-fields-allow-write-not-loaded-1.35'];

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(fake: FakeCluster, over: Partial<ConformanceOptions> = {}) {
  const logsDir = mkdtempSync(join(tmpdir(), 'conformance-run-'));
  temps.push(logsDir);
  let stdout = '';
  let stderr = '';
  let handler: ((signal: Signal) => void) | undefined;
  const deps: ConformanceDeps = {
    exec: { run: async (command) => { throw new CommandNotFound(command); } },
    connect: async () => ({ api: fake, server: 'https://fake.invalid:6443', context: 'fake' }),
    clock: fakeClock(),
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    onSignal: (h) => {
      handler = h;
      return () => void (handler = undefined);
    },
  };
  const options = testRunOptions(pick(...ON_135), logsDir, { parallel: 2, ...over });
  return { deps, options, out: () => stdout, err: () => stderr, signal: (s: Signal) => handler?.(s), logsDir };
}

function assertClean(fake: FakeCluster) {
  expect([...fake.namespaces.keys()]).toEqual([]);
  expect([...fake.pods.keys()]).toEqual([]);
  expect(fake.nodeProfiles.map((p) => p.name)).toEqual(['cri-containerd.apparmor.d']);
}

describe('runConformance with a fake API', () => {
  it('agrees where the fake behaves like the model; maps run-unique names back; cleans up; exit 0', async () => {
    const fake = new FakeCluster();
    const t = setup(fake, { scenarios: pick(...ON_135, 'tutorial-fields-deny-write-loaded-1.30') });
    const code = await runConformance(t.options, t.deps);
    expect(code).toBe(CONFORMANCE_EXIT.ok);
    const out = t.out();
    expect(out).toContain('AGREE    tutorial-fields-deny-write-loaded-1.35 scenarios/tutorial.yaml:188 on kind-control-plane');
    expect(out).toContain('    observed: Run at runtime; hello: k8s-apparmor-example-deny-write (enforce), write denied');
    expect(out).toContain('    observed: CreateContainerError at runtime: failed to get container spec opts: failed to generate apparmor spec opts: apparmor profile not found k8s-apparmor-example-allow-write');
    expect(out).toContain('SKIP     tutorial-fields-deny-write-loaded-1.30 scenarios/tutorial.yaml:130: needs API server 1.30; the cluster runs v1.35.0');
    expect(out.trimEnd().split('\n').at(-1)).toBe('3 scenarios: 2 agree, 0 mismatch, 0 error, 1 skipped');
    // The cluster saw only run-unique names; it is empty again, profiles unloaded.
    expect(fake.log.filter((l) => l.startsWith('create namespace'))).toEqual(['create namespace aasim-k2j9x0ab-sys', 'create namespace aasim-k2j9x0ab-0', 'create namespace aasim-k2j9x0ab-1']);
    assertClean(fake);
  });

  it('records observations that check out offline with their names restored', async () => {
    const fake = new FakeCluster();
    const record = mkdtempSync(join(tmpdir(), 'record-'));
    temps.push(record);
    const t = setup(fake, { recordDir: record });
    expect(await runConformance(t.options, t.deps)).toBe(0);
    const files = readdirSync(record).sort();
    expect(files).toEqual(['tutorial-fields-allow-write-not-loaded-1.35--v1.35.0.json', 'tutorial-fields-deny-write-loaded-1.35--v1.35.0.json']);
    const recording = readRecording(join(record, files[0] ?? ''));
    expect(JSON.stringify(recording)).not.toContain('aasim-k2j9x0ab');
    expect(recording.source.kind).toBe('cluster');
    expect(recording.node.kubeletVersion).toBe('v1.35.0');
  });

  it('reports a mismatch field by field, writes diagnostics, still cleans up; exit 1', async () => {
    const fake = new FakeCluster({ runtimeMessage: (m) => m.replace('apparmor profile not found', 'no such profile') });
    const t = setup(fake, { scenarios: pick('tutorial-fields-allow-write-not-loaded-1.35') });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    const out = t.out();
    expect(out).toContain('MISMATCH tutorial-fields-allow-write-not-loaded-1.35');
    expect(out).toContain('    model.message: expected "failed to get container spec opts: failed to generate apparmor spec opts: apparmor profile not found k8s-apparmor-example-allow-write", observed "failed to get container spec opts: failed to generate apparmor spec opts: no such profile k8s-apparmor-example-allow-write"');
    expect(out).toContain('    expect.messageContains: expected "apparmor profile not found k8s-apparmor-example-allow-write"');
    const diagnostics = JSON.parse(readFileSync(join(t.logsDir, 'scenarios', 'tutorial-fields-allow-write-not-loaded-1.35.json'), 'utf8')) as { diagnostics: { pod: unknown; events: unknown[] }; nodeLogs: Record<string, string> };
    expect(diagnostics.diagnostics.events).toHaveLength(1);
    expect(diagnostics.nodeLogs['logs/kubelet.log']).toMatch(/^\(unavailable: /);
    assertClean(fake);
  });

  it('times out a pod that never decides, reports what it was doing, cleans up; exit 1', async () => {
    const fake = new FakeCluster({ stuck: true });
    const t = setup(fake, { scenarios: pick('tutorial-fields-deny-write-loaded-1.35'), timeoutSec: 0.2 });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.out()).toMatch(/ERROR    tutorial-fields-deny-write-loaded-1\.35 scenarios\/tutorial\.yaml:188: timed out after 0\.2 s/);
    expect(t.out()).toContain('(last state: waiting for hello (waiting ContainerCreating))');
    assertClean(fake);
  });

  it('on SIGINT stops, cleans up everything and exits 130', async () => {
    let t: ReturnType<typeof setup> | undefined;
    const fake = new FakeCluster({ stuck: true, onScenarioPoll: (pod) => pod === 'hello-apparmor' && t?.signal('SIGINT') });
    t = setup(fake, { parallel: 1 });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.SIGINT);
    expect(t.err()).toContain('apparmor-sim: SIGINT: stopping; cleaning up');
    expect(t.out()).toContain('interrupted by SIGINT');
    expect(t.out()).toMatch(/ERROR    tutorial-fields-allow-write-not-loaded-1\.35 .*: not run: interrupted by SIGINT/);
    assertClean(fake);
  });

  it('with --keep leaves namespaces and profiles and says so', async () => {
    const fake = new FakeCluster();
    const t = setup(fake, { keep: true, scenarios: pick('tutorial-fields-deny-write-loaded-1.35') });
    expect(await runConformance(t.options, t.deps)).toBe(0);
    expect([...fake.namespaces.keys()].sort()).toEqual(['aasim-k2j9x0ab-0', 'aasim-k2j9x0ab-sys']);
    expect(fake.nodeProfiles.map((p) => p.name)).toContain('k8s-apparmor-example-deny-write-aasim-k2j9x0ab-0');
    expect(t.out()).toContain('kept: namespace aasim-k2j9x0ab-sys');
  });

  it('on an existing cluster whose runtime refuses AppArmor, skips AppArmor scenarios saying why; nothing replayed is exit 1', async () => {
    const fake = new FakeCluster({ node: { runtimeRefuses: true } });
    const t = setup(fake);
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.refusedOrFailed);
    expect(t.out().trimEnd().split('\n').at(-1)).toBe('2 scenarios: 0 agree, 0 mismatch, 0 error, 2 skipped; run failed: nothing replayed: none of the 2 scenario(s) could run on this cluster (see the SKIP reasons)');
    expect(t.out()).toContain('runtime refuses (RuntimeDefault: CreateContainerError: failed to get container spec opts: failed to generate apparmor spec opts: apparmor is not supported)');
    expect(t.out()).toContain("SKIP     tutorial-fields-deny-write-loaded-1.35 scenarios/tutorial.yaml:188: no node meets the scenario's node preconditions (kind-control-plane: the kernel has AppArmor on but containerd refuses AppArmor profiles");
    assertClean(fake);
  });

  it('sweeps namespaces of earlier runs older than the sweep age, and their profiles', async () => {
    const fake = new FakeCluster({ node: { profiles: [{ name: 'cri-containerd.apparmor.d', mode: 'enforce' }, { name: 'x-aasim-0old0run-3', mode: 'enforce' }] } });
    fake.namespaces.set('aasim-0old0run-3', { labels: { 'apparmor-sim/run': '0old0run' }, createdAt: new Date(0) });
    fake.namespaces.set('aasim-young000-1', { labels: { 'apparmor-sim/run': 'young000' }, createdAt: new Date(1_767_225_600_000) });
    const t = setup(fake, { scenarios: pick('tutorial-fields-deny-write-loaded-1.35') });
    expect(await runConformance(t.options, t.deps)).toBe(0);
    expect(t.err()).toMatch(/sweeping namespace aasim-0old0run-3 of run 0old0run/);
    expect(t.err()).toContain('unloading 1 stale profile(s) from kind-control-plane: x-aasim-0old0run-3');
    expect([...fake.namespaces.keys()]).toEqual(['aasim-young000-1']);
    expect(fake.nodeProfiles.map((p) => p.name)).toEqual(['cri-containerd.apparmor.d']);
  });

  it('unloads profiles only of runs whose id says they started longer than --sweep-age ago: a concurrent run on another kind cluster of the host keeps its profiles', async () => {
    const now = 1_767_225_600_000; // fakeClock's start
    const concurrent = newRunId(now - 10 * 60_000);
    const old = newRunId(now - 2 * 3600_000);
    const future = newRunId(now + 3600_000);
    const profiles = [concurrent, old, future].map((run) => ({ name: `x-aasim-${run}-0`, mode: 'enforce' as const }));
    const fake = new FakeCluster({ node: { profiles: [{ name: 'cri-containerd.apparmor.d', mode: 'enforce' }, ...profiles] } });
    const t = setup(fake, { scenarios: pick('tutorial-fields-deny-write-loaded-1.35') });
    expect(await runConformance(t.options, t.deps)).toBe(0);
    expect(t.err()).toContain(`unloading 1 stale profile(s) from kind-control-plane: x-aasim-${old}-0`);
    expect(fake.nodeProfiles.map((p) => p.name)).toEqual(['cri-containerd.apparmor.d', `x-aasim-${concurrent}-0`, `x-aasim-${future}-0`]);
  });

  it('run ids carry their start to the minute', () => {
    const at = Date.UTC(2026, 10, 30, 9, 41, 17);
    const id = newRunId(at);
    expect(id).toMatch(/^[a-z0-9]{8}$/);
    expect(runIdStartedAt(id)).toBe(Date.UTC(2026, 10, 30, 9, 41));
    expect(runOlderThan(id, 3600, at + 3600_000)).toBe(true);
    expect(runOlderThan(id, 3600, at + 3500_000)).toBe(false);
    expect(runOlderThan('NOT-AN-ID', 0, at)).toBe(false);
  });

  it('an unreachable API server is a skip with a one-line reason; exit 4', async () => {
    const fake = new FakeCluster({ unreachable: true });
    const t = setup(fake);
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.skipped);
    expect(t.out()).toBe('');
    expect(t.err()).toBe('apparmor-sim: conformance skipped: API server https://fake.invalid:6443 unreachable: connect ECONNREFUSED 127.0.0.1:6443; start the cluster or pass --kubeconfig/--context for one that runs (or --kind)\n');
  });

  it('no kubeconfig is a skip; with --output junit the document says skipped', async () => {
    const t = setup(new FakeCluster(), { output: 'junit' });
    t.deps.connect = async () => {
      throw new NoKubeconfig('no kubeconfig: KUBECONFIG is unset');
    };
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.skipped);
    expect(t.out()).toContain('<testcase name="cluster" classname="conformance"><skipped message="no kubeconfig: KUBECONFIG is unset"/></testcase>');
    expect(t.err()).toBe('apparmor-sim: conformance skipped: no kubeconfig: KUBECONFIG is unset\n');
  });

  it('--kind without kind installed is a skip naming kind; nothing is created', async () => {
    const t = setup(new FakeCluster(), { target: { kind: 'kind', minor: 35, image: 'kindest/node:v1.35.0', imageKind: 'v0.31.0', name: 'apparmor-sim-x', workers: 0 } });
    expect(await runConformance(t.options, t.deps)).toBe(CONFORMANCE_EXIT.skipped);
    expect(t.err()).toMatch(/^apparmor-sim: conformance skipped: kind not found on PATH; install kind/);
    expect(existsSync(join(t.logsDir, 'kind-config.yaml'))).toBe(false);
  });

  it('json output carries model, expectation and observation per scenario', async () => {
    const t = setup(new FakeCluster(), { output: 'json', scenarios: pick('tutorial-fields-deny-write-loaded-1.35') });
    expect(await runConformance(t.options, t.deps)).toBe(0);
    const body = JSON.parse(t.out()) as { summary: unknown; results: Array<{ status: string; model: { outcome: string }; expectation: { outcome: string }; observed: { outcome: string; containers: unknown[] } }> };
    expect(body.summary).toEqual({ total: 1, agree: 1, mismatch: 0, error: 0, skipped: 0 });
    expect(body.results[0]).toMatchObject({ status: 'agree', model: { outcome: 'Run' }, expectation: { outcome: 'Run' }, observed: { outcome: 'Run', containers: [{ name: 'hello', profile: 'k8s-apparmor-example-deny-write (enforce)', writeDenied: true }] } });
    expect(t.err()).toBe('apparmor-sim: node kind-control-plane: linux, kubelet v1.35.0, containerd://2.1.1, AppArmor on, runtime applies (RuntimeDefault runs as cri-containerd.apparmor.d (enforce))\napparmor-sim: replaying 1 of 1 scenarios (2 at a time)\napparmor-sim: agree tutorial-fields-deny-write-loaded-1.35\napparmor-sim: 1 scenarios: 1 agree, 0 mismatch, 0 error, 0 skipped\n');
  });
});
