// --cluster: scheduling filters and per-node outcomes, from a cluster file and from kubectl get nodes -o json.
import { describe, expect, it } from 'vitest';
import { runtimeOf } from '../io/load/cluster.js';
import { eligibleNodes, tolerates, unschedulableMessage } from '../cli/commands/scheduling.js';
import type { SchedulableNode } from '../cli/commands/scheduling.js';
import { parseVersionList } from '../cli/commands/versions.js';
import { placementOf } from '../cli/commands/workloads.js';
import { cli } from './helpers-cli.js';

const M = 'fixtures/manifests';
const CLUSTER = `${M}/cluster/three-nodes.yaml`;

const NODES: SchedulableNode[] = [
  { name: 'a', os: 'linux', labels: { zone: 'x', cores: '8' }, taints: [] },
  { name: 'b', os: 'linux', labels: { zone: 'y', cores: '32' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] },
  { name: 'w', os: 'windows', labels: { zone: 'x' }, taints: [{ key: 'os', value: 'windows', effect: 'NoExecute' }] },
];

const eligible = (spec: Record<string, unknown>, os?: string) => eligibleNodes(placementOf(spec, false), os, NODES).eligible.map((i) => NODES[i]?.name);

describe('scheduling filters', () => {
  it('applies nodeName, nodeSelector and required node affinity', () => {
    expect(eligible({})).toEqual(['a']);
    expect(eligible({ nodeName: 'b' })).toEqual(['b']);
    expect(eligible({ nodeSelector: { zone: 'x' }, tolerations: [{ operator: 'Exists' }] })).toEqual(['a', 'w']);
    const affinity = (expr: Record<string, unknown>) => ({ tolerations: [{ operator: 'Exists' }], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [expr] }] } } } });
    expect(eligible(affinity({ key: 'zone', operator: 'In', values: ['y'] }))).toEqual(['b']);
    expect(eligible(affinity({ key: 'zone', operator: 'NotIn', values: ['y'] }))).toEqual(['a', 'w']);
    expect(eligible(affinity({ key: 'cores', operator: 'Exists' }))).toEqual(['a', 'b']);
    expect(eligible(affinity({ key: 'cores', operator: 'DoesNotExist' }))).toEqual(['w']);
    expect(eligible(affinity({ key: 'cores', operator: 'Gt', values: ['16'] }))).toEqual(['b']);
    expect(eligible(affinity({ key: 'cores', operator: 'Lt', values: ['16'] }))).toEqual(['a']);
    const fields = { tolerations: [{ operator: 'Exists' }], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['w'] }] }] } } } };
    expect(eligible(fields)).toEqual(['w']);
  });

  it('matches taints against tolerations (Equal, Exists, empty key, effects) and the pod OS', () => {
    expect(tolerates({ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' })).toBe(true);
    expect(tolerates({ key: 'dedicated', operator: 'Equal', value: 'cpu', effect: '' }, { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' })).toBe(false);
    expect(tolerates({ key: '', operator: 'Exists', value: '', effect: '' }, { key: 'anything', value: 'v', effect: 'NoExecute' })).toBe(true);
    expect(tolerates({ key: 'dedicated', operator: 'Exists', value: '', effect: 'NoExecute' }, { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' })).toBe(false);
    expect(eligible({ tolerations: [{ key: 'dedicated', operator: 'Exists' }] })).toEqual(['a', 'b']);
    expect(eligible({ tolerations: [{ operator: 'Exists' }] }, 'windows')).toEqual(['w']);
    const none = eligibleNodes(placementOf({ nodeSelector: { zone: 'z' } }, false), undefined, NODES);
    expect(unschedulableMessage(3, none.ineligible)).toBe("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.");
  });

  it('reads kubectl runtime versions and version lists', () => {
    expect(runtimeOf('containerd://1.7.13', 30)).toBe('containerd');
    expect(runtimeOf('cri-o://1.29.1', 29)).toBe('cri-o');
    expect(runtimeOf('docker://20.10.7', 23)).toBe('docker');
    expect(runtimeOf('docker://24.0.7', 28)).toBe('remote');
    expect(parseVersionList('--k8s-version', '1.30,1.28-1.29,v1.23.4')).toEqual([23, 28, 29, 30]);
    expect(() => parseVersionList('--k8s-version', '1.31-1.28')).toThrow(/runs backwards/);
  });
});

describe('dry-run --cluster', () => {
  it('simulates each pod on every eligible node and flags the ones that vary', () => {
    const run = cli(['dry-run', `${M}/kustomize-build.yaml`, `${M}/workloads.yaml`, '--cluster', CLUSTER, '-o', 'json']);
    expect(run.status, run.stderr).toBe(1);
    const body = JSON.parse(run.stdout) as { results: Record<string, unknown>[]; nodes: { name: string }[]; k8sVersions: string[] };
    expect(body.k8sVersions).toEqual(['1.30']);
    expect(body.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b', 'gpu-1']);
    const byName = new Map(body.results.map((r) => [String((r['workload'] as { name: string }).name), r]));
    const web = byName.get('prod-web');
    expect(web).toMatchObject({ outcome: 'CreateContainerError', node: 'node-b', variesByNode: true, notScheduledTo: [{ node: 'gpu-1', why: 'had untolerated taint {dedicated: gpu}' }] });
    const groups = (web?.['matrix'] as { groups: { nodes: string[]; outcome: string }[] }[])[0]?.groups;
    expect(groups?.map((g) => [g.nodes, g.outcome])).toEqual([[['node-a'], 'Run'], [['node-b'], 'CreateContainerError']]);
    // The DaemonSet tolerates everything, so it lands on the tainted node too.
    expect((byName.get('prod-log-agent')?.['matrix'] as { groups: { nodes: string[] }[] }[])[0]?.groups.flatMap((g) => g.nodes)).toEqual(['node-a', 'node-b', 'gpu-1']);
    // Namespace labels from the cluster file: baseline forbids Unconfined.
    expect(byName.get('prod-report')).toMatchObject({ outcome: 'Forbidden', stage: 'admission', node: 'gpu-1', variesByNode: false });
    expect(byName.get('nowhere')).toMatchObject({ outcome: 'Unschedulable', stage: 'scheduler', message: "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector." });
    expect(byName.get('tmpl')).toMatchObject({ outcome: 'Run', node: 'node-b' });
    expect(byName.get('pinned')).toMatchObject({ outcome: 'Run', node: 'node-a' });
  });

  it('prints a pod x node table', () => {
    const run = cli(['dry-run', `${M}/workloads.yaml`, '--cluster', CLUSTER]);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^POD +node-a +node-b +gpu-1 +<- nodes \(Kubernetes 1\.30\)$/);
    expect(run.stdout).toMatch(/workloads\.yaml:49 {2}default\/nowhere-<random>-<random> \(Deployment\/nowhere\) +- +- +- +unschedulable/);
    expect(run.stdout).toContain('(a scheduling result, not an AppArmor outcome)');
    expect(run.stdout).toMatch(/^5 pods: 3 run on every eligible node, 1 refused somewhere, 1 unschedulable; 0 skipped$/m);
  });

  it('takes kubectl get nodes -o json and says what it assumes', () => {
    const run = cli(['dry-run', 'examples/hello-apparmor.yaml', '--cluster', `${M}/cluster/kubectl-get-nodes.json`, '-o', 'json']);
    expect(run.stderr).toContain('a node list does not say whether AppArmor is enabled');
    const body = JSON.parse(run.stdout) as { results: Record<string, unknown>[]; nodes: Record<string, unknown>[] };
    expect(body.nodes.map((n) => [n['name'], n['kubeletVersion'], n['runtime']])).toEqual([['cp-1', '1.30', 'containerd'], ['worker-1', '1.30', 'containerd'], ['worker-2', '1.29', 'cri-o']]);
    expect(body.results[0]).toMatchObject({ k8sVersion: '1.30', notScheduledTo: [{ node: 'cp-1', why: 'had untolerated taint {node-role.kubernetes.io/control-plane: }' }] });
  });

  it('refuses flags that describe the single node', () => {
    const run = cli(['dry-run', 'examples/hello-apparmor.yaml', '--cluster', CLUSTER, '--runtime', 'containerd']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^apparmor-sim: --cluster describes every node: --runtime cannot be combined with it/);
  });
});

describe('version matrix', () => {
  it('shows the same pods side by side and flags changes', () => {
    const run = cli(['dry-run', 'examples/mixed.yaml', '--k8s-version', '1.23,1.24,1.30-1.31']);
    expect(run.stdout.split('\n')[0]).toMatch(/^POD +1\.23 +1\.24 +1\.30 +1\.31 +<- Kubernetes versions$/);
    expect(run.stdout).toMatch(/examples\/mixed\.yaml:2 {2}default\/annotated +Blocked +CreateContainerError +CreateContainerError +CreateContainerError +varies by version/);
    const json = JSON.parse(cli(['dry-run', 'examples/mixed.yaml', '--k8s-version', '1.23,1.24', '-o', 'json']).stdout) as { results: Record<string, unknown>[] };
    expect((json.results[0]?.['matrix'] as { k8sVersion: string; groups: { outcome: string }[] }[]).map((m) => [m.k8sVersion, m.groups[0]?.outcome])).toEqual([['1.23', 'Blocked'], ['1.24', 'CreateContainerError']]);
    expect(json.results[0]).toMatchObject({ variesByVersion: true, variesByNode: false });
  });
});

describe('matrix output formats', () => {
  it('writes JUnit with one testcase per pod and version, unschedulable pods as skipped', () => {
    const run = cli(['dry-run', `${M}/workloads.yaml`, '--cluster', CLUSTER, '--k8s-version', '1.29-1.30', '-o', 'junit']);
    expect(run.stdout).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites tests="10" failures="2">/);
    expect(run.stdout).toContain('<testsuite name="apparmor-sim dry-run" tests="10" failures="2" errors="0" skipped="2">');
    expect(run.stdout).toContain('name="team-a/rs-&lt;random&gt; (ReplicaSet/rs) @ 1.29"');
    expect(run.stdout).toMatch(/<skipped message="unschedulable: 0\/3 nodes are available/);
  });

  it('keeps SARIF to dry-run and the version list to valid versions', () => {
    expect(cli(['scenarios', 'run', 'examples/scenarios', '-o', 'sarif']).stderr).toMatch(/^apparmor-sim: --output: unknown value "sarif"/);
    expect(cli(['dry-run', 'examples/hello-apparmor.yaml', '--k8s-version', '1.30,1.99']).stderr).toMatch(/^apparmor-sim: --k8s-version: unknown Kubernetes version 1\.99/);
  });

  it('adds the workload key to plain JSON results only for workloads', () => {
    const body = JSON.parse(cli(['dry-run', 'examples/hello-apparmor.yaml', `${M}/workloads.yaml`, '-o', 'json']).stdout) as { results: Record<string, unknown>[] };
    expect(Object.keys(body.results[0] ?? {})).not.toContain('workload');
    expect(body.results[1]).toMatchObject({ kind: 'Pod', namespace: 'team-a', name: 'rs-<random>', line: 1, workload: { kind: 'ReplicaSet', name: 'rs' } });
  });
});
