// apparmor-sim explain: live pods built from the recorded statuses of the tutorial and the upstream e2e tests
// (conformance/recordings), as kubectl get pod -o json would show them.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenarios } from '../io/load/scenarios.js';
import type { Recording } from '../conformance/recordings.js';
import { ROOT, cli } from './helpers-cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-explain-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Case {
  name: string;
  recording: Recording;
  pod: string;
  events: string;
  node: string;
  version: string;
  outcome: string;
}

const cases: Case[] = [];

beforeAll(async () => {
  const scenarios = new Map((await loadScenarios([join(ROOT, 'scenarios')], ROOT)).map((s) => [s.name, s]));
  const dir = join(ROOT, 'conformance/recordings');
  for (const file of readdirSync(dir).sort()) {
    const recording = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Recording;
    const manifest = (recording.pod ?? (recording.inlineScenario?.['pod'] as Record<string, unknown> | undefined) ?? scenarios.get(recording.scenario)?.podManifest) as Record<string, any> | undefined;
    if (!manifest) throw new Error(`no pod for ${file}`);
    const base = join(TMP, file.replace(/\.json$/, ''));
    // What kubectl get pod -o json shows: the manifest, the node it was bound to, the recorded status.
    writeFileSync(`${base}.pod.json`, JSON.stringify({ ...manifest, spec: { ...manifest['spec'], nodeName: recording.node.name }, status: recording.observation.pod ?? {} }, null, 2));
    const items = recording.observation.events.map((e) => ({ kind: 'Event', involvedObject: { kind: 'Pod', name: manifest['metadata']['name'], fieldPath: e.fieldPath }, type: e.type, reason: e.reason, message: e.message, source: { component: e.source }, count: e.count }));
    writeFileSync(`${base}.events.json`, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    const { name, kubeletVersion, os, runtime, appArmorEnabled, profiles } = recording.node;
    writeFileSync(`${base}.node.yaml`, JSON.stringify({ name, kubeletVersion, os, runtime, appArmorEnabled, profiles }));
    cases.push({ name: file, recording, pod: `${base}.pod.json`, events: `${base}.events.json`, node: `${base}.node.yaml`, version: recording.cluster.version, outcome: recording.classified?.outcome ?? '' });
  }
});

const STATE = { Run: 'Running', Blocked: 'Blocked', Rejected: 'Rejected', CreateContainerError: 'CreateContainerError', Forbidden: 'Forbidden' } as const;

/** The recordings whose status (or events) alone decide the outcome; the others rest on commands run in the containers. */
function decidedByStatus(c: Case): boolean {
  return c.recording.observation.pod?.phase !== undefined || c.recording.observation.events.some((e) => e.reason === 'Started' || e.reason === 'Failed');
}

describe('explain on recorded statuses', () => {
  it('agrees with every recorded status, with node facts or inferring them, and names the check', () => {
    expect(cases.length).toBeGreaterThanOrEqual(12);
    let explained = 0;
    for (const c of cases.filter(decidedByStatus)) {
      for (const args of [['--k8s-version', c.version], ['--node', c.node]]) {
        const run = cli(['explain', c.pod, '--events', c.events, ...args]);
        expect(run.status, `${c.name} ${args.join(' ')}\n${run.stdout}${run.stderr}`).toBe(0);
        expect(run.stdout, c.name).toContain(`  state:    ${STATE[c.outcome as keyof typeof STATE]} (`);
        expect(run.stdout, c.name).toContain('  model:    agrees');
        if (c.outcome !== 'Run') expect(run.stdout, c.name).toMatch(/ {2}cause: {4}(kubelet|container runtime) .*, check [a-z-]+: /);
      }
      explained++;
    }
    expect(explained).toBeGreaterThanOrEqual(10);
  });

  it('tells to load the missing profile with apparmor_parser, and what happens next', () => {
    const tutorial = cases.find((c) => c.name === 'website-tutorial-annotations-hello-apparmor-2.json') as Case;
    const run = cli(['explain', tutorial.pod, '--events', tutorial.events, '--k8s-version', '1.17']);
    expect(run.stdout).toContain('  cause:    kubelet 1.17 (AppArmor admission), check kubelet-apparmor-profile-loaded: container "hello": profile "k8s-apparmor-example-allow-write" is not loaded');
    expect(run.stdout).toContain('  fix:      load profile k8s-apparmor-example-allow-write on gke-test-default-pool-239f5d02-x1kf: put its source in /etc/apparmor.d/ and run sudo apparmor_parser -r -W /etc/apparmor.d/<that file>');
    expect(run.stdout).toContain('the kubelet re-checks a Blocked pod each time it syncs it');
    expect(run.stdout).toContain('  assumed:  not loaded on gke-test-default-pool-239f5d02-x1kf: k8s-apparmor-example-allow-write (the pod\'s status says so)');

    const fields = cases.find((c) => c.name === 'website-tutorial-fields-hello-apparmor-2.json') as Case;
    const runtime = cli(['explain', fields.pod, '--events', fields.events, '--node', fields.node]);
    expect(runtime.status, runtime.stdout).toBe(0);
    expect(runtime.stdout).toContain('  cause:    container runtime containerd (creating the container, for kubelet 1.30), check runtime-apply-apparmor-profile');
    expect(runtime.stdout).toContain('run sudo apparmor_parser -r -W');
    expect(runtime.stdout).toContain('the kubelet retries creating it with back-off');

    const rancher = cases.find((c) => c.name === 'rancher-6317-apparmor-not-enabled-1.4.json') as Case;
    const host = cli(['explain', rancher.pod, '--k8s-version', '1.4']);
    expect(host.stdout).toContain('check kubelet-apparmor-kernel-enabled: AppArmor is not enabled on the host');
    expect(host.stdout).toContain('  fix:      enable AppArmor on hussein-10acre-1');
    expect(host.stdout).toContain('a rejected pod has failed for good');
  });

  it('says the pod is not decided when its status does not say (no guessing)', () => {
    const fields = cases.find((c) => c.name === 'website-tutorial-fields-hello-apparmor.json') as Case;
    const run = cli(['explain', fields.pod, '--k8s-version', '1.30']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('  state:    not decided yet (');
  });

  it('prints the model trace as a bug report when the model disagrees with the cluster', () => {
    const tutorial = cases.find((c) => c.name === 'website-tutorial-annotations-hello-apparmor-2.json') as Case;
    // The same Blocked status claimed for a 1.31 containerd node: the model says the runtime fails instead.
    const node = join(TMP, 'node-1.31.yaml');
    writeFileSync(node, JSON.stringify({ name: 'gke-test-default-pool-239f5d02-x1kf', kubeletVersion: '1.31', runtime: 'containerd', profiles: ['k8s-apparmor-example-deny-write'] }));
    const run = cli(['explain', tutorial.pod, '--node', node, '--k8s-version', '1.31']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('  model:    DISAGREES with the cluster: it predicts CreateContainerError at runtime');
    expect(run.stdout).toContain('This is a bug report');
    expect(run.stdout).toContain('            model.outcome: model "CreateContainerError", cluster "Blocked"');
    expect(run.stdout).toMatch(/^ {2}trace:\n(?: {4}\S.*\n)*? {4}apiserver 1\.31 +api-predates-apparmor +skip/m);
    expect(run.stdout).toMatch(/^ {4}kubelet 1\.31 +runtime-apply-apparmor-profile +fail /m);
  });

  it('reads the node from kubectl get node -o json: version, runtime and the Ready condition', () => {
    const tutorial = cases.find((c) => c.name === 'website-tutorial-annotations-hello-apparmor-2.json') as Case;
    const node = join(TMP, 'kubectl-node.json');
    writeFileSync(node, JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { kind: 'Node', metadata: { name: 'other' }, status: { nodeInfo: { kubeletVersion: 'v1.29.0' } } },
        {
          kind: 'Node',
          metadata: { name: 'gke-test-default-pool-239f5d02-x1kf' },
          status: {
            nodeInfo: { kubeletVersion: 'v1.17.3', containerRuntimeVersion: 'docker://19.3.1', operatingSystem: 'linux' },
            conditions: [{ type: 'Ready', status: 'True', message: 'kubelet is posting ready status. AppArmor enabled' }],
          },
        },
      ],
    }));
    const run = cli(['explain', tutorial.pod, '--node', node]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('on node gke-test-default-pool-239f5d02-x1kf (Kubernetes 1.17, kubelet 1.17, docker)');
    expect(run.stdout).toContain('  note:     node gke-test-default-pool-239f5d02-x1kf: its Ready condition says "AppArmor enabled"');
    expect(run.stdout).toContain("  note:     API server version taken to be the kubelet's, 1.17 (give --k8s-version)");
    expect(run.stdout).toContain('  model:    agrees: Blocked at kubelet');
  });

  it('writes JSON with -o json, and points out a profile in complain mode', () => {
    const live = JSON.parse(readFileSync(join(ROOT, 'fixtures/explain/hello-apparmor-2-1.30.json'), 'utf8')) as Record<string, any>;
    live['spec']['nodeName'] = 'n1';
    live['status'] = { phase: 'Running', containerStatuses: [{ name: 'hello', containerID: 'containerd://0123', state: { running: { startedAt: '2024-05-01T10:00:00Z' } } }] };
    const pod = join(TMP, 'running.json');
    writeFileSync(pod, JSON.stringify(live));
    const node = join(TMP, 'complain-node.yaml');
    writeFileSync(node, 'name: n1\nkubeletVersion: "1.31"\nruntime: containerd\nprofiles: [{name: k8s-apparmor-example-allow-write, mode: complain}]\n');
    const run = cli(['explain', pod, '--node', node, '--k8s-version', '1.31', '-o', 'json']);
    expect(run.status, run.stderr).toBe(0);
    const [explained] = (JSON.parse(run.stdout) as { pods: Record<string, any>[] }).pods;
    expect(explained?.['state']).toEqual({ decided: true, outcome: 'Run', stage: 'runtime', reason: '', message: '', evidence: 'every container started' });
    expect(explained?.['runsAs']).toEqual([{ container: 'hello', profile: 'k8s-apparmor-example-allow-write (complain)' }]);
    expect(explained?.['model']['agrees']).toBe(true);
    expect(explained?.['factsKnown']).toBe(true);
    expect(explained?.['fixes'][0]).toContain('hello runs under k8s-apparmor-example-allow-write in complain mode');
  });

  it('rejects bad input with file:line and exit 2', () => {
    const noStatus = join(TMP, 'no-status.yaml');
    writeFileSync(noStatus, 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: c, image: busybox}]\n');
    const run = cli(['explain', noStatus, '--k8s-version', '1.30']);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`${noStatus}:1: status: the pod has no status: give what kubectl get pod NAME -o yaml prints for a created pod\n`);
    const notPod = cli(['explain', 'examples/node.yaml', '--k8s-version', '1.30']);
    expect(notPod.status).toBe(2);
    expect(notPod.stderr).toBe('examples/node.yaml: no Pod in this file (expected kubectl get pod NAME -o yaml output)\n');
    const badStatus = join(TMP, 'bad-status.yaml');
    writeFileSync(badStatus, 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: c, image: busybox}]\nstatus:\n  phase: 3\n  containerStatuses: {name: c}\n');
    const bad = cli(['explain', badStatus, '--k8s-version', '1.30']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe(`${badStatus}:7: status.phase: must be a string, got number 3\n${badStatus}:8: status.containerStatuses: must be a list, got a map\n`);
    for (const hostile of ['fixtures/hostile/alias-bomb.yaml', 'fixtures/hostile/truncated.yaml']) {
      const run = cli(['explain', hostile, '--k8s-version', '1.30']);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(new RegExp(`^${hostile.replace(/[./]/g, '\\$&')}:\\d+(:\\d+)?: invalid YAML: `));
    }
    const noVersion = cli(['explain', cases[0]?.pod ?? '']);
    expect(noVersion.status).toBe(2);
    expect(noVersion.stderr).toContain("explain needs the cluster's version");
  });
});
