// dry-run answers what `kubectl apply` of the same file shows, object by object: workload-level outcomes, the pods the
// controller creates, fieldValidation, ephemeral containers, PodSecurityPolicy objects, node-list AppArmor state.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { simulate } from '../sim/simulate.js';
import type { ClusterFacts, NodeFacts, Pod } from '../sim/types.js';
import { ROOT, cli } from './helpers-cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-manifests-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const path = join(TMP, name);
  writeFileSync(path, text);
  return path;
}

const cluster = (version: number, labels: Record<string, string> = {}): ClusterFacts => ({ version, featureGates: {}, namespace: { name: 'default', labels }, podSecurityPolicies: [] });
const node = (version: number): NodeFacts => ({ name: 'n', kubeletVersion: version, featureGates: {}, os: 'linux', appArmorEnabled: true, runtime: 'containerd', profiles: [] });
const unconfinedPod: Pod = { name: '', generateName: 'web-<random>-', annotations: {}, containers: [{ kind: 'containers', name: 'web', privileged: false, appArmorProfile: { type: 'Unconfined' } }] };
const deployment = { kind: 'Deployment', apiVersion: 'apps/v1', name: 'web' };

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        securityContext:
          appArmorProfile: {type: Unconfined}
`;

describe('workloads: the workload create and the pods its controller creates', () => {
  it('warns on the workload only per the warn label: an enforce-only namespace gets no warning, the pods are refused', () => {
    const enforceOnly = simulate({ cluster: cluster(31, { 'pod-security.kubernetes.io/enforce': 'baseline' }), node: node(31), pod: unconfinedPod, workload: deployment });
    expect(enforceOnly.workload).toMatchObject({ outcome: 'Created', warnings: [] });
    expect(enforceOnly.outcome).toBe('Forbidden');
    expect(enforceOnly.workload?.event?.message).toMatch(/^Error creating: pods "web-<random>-<random>" is forbidden: violates PodSecurity "baseline:latest"/);
    const warnOnly = simulate({ cluster: cluster(31, { 'pod-security.kubernetes.io/warn': 'baseline' }), node: node(31), pod: unconfinedPod, workload: deployment });
    expect(warnOnly.workload?.warnings).toEqual(['would violate PodSecurity "baseline:latest": forbidden AppArmor profile (container "web" must not set AppArmor profile type to "Unconfined")']);
    expect(warnOnly.outcome).toBe('Run');
    expect(warnOnly.workload?.event).toBeUndefined();
  });

  it('fails open for an unparsable warn level and closed (restricted) for an unparsable enforce level (api/helpers.go)', () => {
    const badWarn = simulate({ cluster: cluster(31, { 'pod-security.kubernetes.io/warn': 'strict' }), node: node(31), pod: unconfinedPod, workload: deployment });
    expect(badWarn.workload?.warnings).toEqual([]);
    const badEnforce = simulate({ cluster: cluster(31, { 'pod-security.kubernetes.io/enforce': 'strict' }), node: node(31), pod: unconfinedPod });
    expect(badEnforce.message).toMatch(/violates PodSecurity "restricted:latest"/);
  });

  it('shows both levels in the table and JSON, and exits 1 when the pods are refused', () => {
    const manifest = file('deployment.yaml', DEPLOYMENT);
    const labels = 'pod-security.kubernetes.io/enforce=baseline,pod-security.kubernetes.io/warn=baseline';
    const table = cli(['dry-run', manifest, '--k8s-version', '1.34', '--namespace-labels', labels]);
    expect(table.status, table.stderr).toBe(1);
    expect(table.stdout).toContain('    workload Deployment.apps/web: created\n    workload warning: would violate PodSecurity "baseline:latest"');
    expect(table.stdout).toContain('    event FailedCreate on ReplicaSet/web-<random>: Error creating: pods "web-<random>-<random>" is forbidden: violates PodSecurity');
    const json = cli(['dry-run', manifest, '--k8s-version', '1.34', '--namespace-labels', labels, '-o', 'json']);
    const result = (JSON.parse(json.stdout) as { results: Record<string, unknown>[] }).results[0];
    expect(result).toMatchObject({ outcome: 'Forbidden', stage: 'admission', workload: { kind: 'Deployment', name: 'web' }, workloadCreate: { groupKind: 'Deployment.apps', outcome: 'Created', event: { reason: 'FailedCreate', object: 'ReplicaSet/web-<random>' } } });
  });

  it('exits 1 when the workload itself is refused, and reports no pod', () => {
    const run = cli(['dry-run', file('bad.yaml', DEPLOYMENT.replace('Unconfined', 'Bogus')), '--k8s-version', '1.31', '-o', 'json']);
    expect(run.status).toBe(1);
    const result = (JSON.parse(run.stdout) as { results: Record<string, unknown>[] }).results[0];
    expect(result).toMatchObject({ outcome: 'Forbidden', reason: 'Invalid', workloadCreate: { outcome: 'Forbidden', reason: 'Invalid', event: null }, containers: [{ name: 'web', state: 'NotCreated' }] });
    expect(result?.['message']).toBe('Deployment.apps "web" is invalid: spec.template.spec.containers[0].securityContext.appArmorProfile.type: Unsupported value: "Bogus": supported values: "Localhost", "RuntimeDefault", "Unconfined"');
  });
});

describe('--field-validation', () => {
  const manifest = () => file('fields.yaml', DEPLOYMENT);

  it('defaults to what kubectl apply of that version sends: Strict from 1.25 (HTTP 400), nothing before', () => {
    const strict = cli(['dry-run', manifest(), '--k8s-version', '1.28', '-o', 'json']);
    expect(strict.status).toBe(1);
    expect((JSON.parse(strict.stdout) as { results: Record<string, unknown>[] }).results[0]).toMatchObject({
      reason: 'BadRequest',
      message: 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].securityContext.appArmorProfile"',
    });
    const old = cli(['dry-run', manifest(), '--k8s-version', '1.24', '-o', 'json']);
    expect(old.status).toBe(0);
  });

  it('Warn warns and drops, Ignore drops silently, anything else is a usage error', () => {
    const warn = cli(['dry-run', manifest(), '--k8s-version', '1.28', '--field-validation', 'Warn', '-o', 'json']);
    expect(warn.status).toBe(0);
    const warned = (JSON.parse(warn.stdout) as { results: { workloadCreate: { warnings: string[] } }[] }).results[0];
    expect(warned?.workloadCreate.warnings[0]).toBe('unknown field "spec.template.spec.containers[0].securityContext.appArmorProfile"');
    const ignore = cli(['dry-run', manifest(), '--k8s-version', '1.28', '--field-validation', 'Ignore', '-o', 'json']);
    const ignored = (JSON.parse(ignore.stdout) as { results: { workloadCreate: { warnings: string[] } }[] }).results[0];
    expect(ignored?.workloadCreate.warnings.filter((w) => !w.startsWith('apparmor-sim: '))).toEqual([]);
    const bad = cli(['dry-run', manifest(), '--field-validation', 'strict']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--field-validation/);
  });
});

describe('ephemeral containers', () => {
  it('a Pod manifest with spec.ephemeralContainers is a simulated refusal (exit 1), a pod without containers too', () => {
    const pod = file('eph.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: x}]\n  ephemeralContainers: [{name: d, image: x}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: empty}\nspec: {containers: []}\n');
    const run = cli(['dry-run', pod, '--k8s-version', '1.30', '-o', 'json']);
    expect(run.status, run.stderr).toBe(1);
    const results = (JSON.parse(run.stdout) as { results: { message: string }[] }).results;
    expect(results.map((r) => r.message)).toEqual(['Pod "p" is invalid: spec.ephemeralContainers: Forbidden: cannot be set on create', 'Pod "empty" is invalid: spec.containers: Required value']);
  });

  it('--ephemeral-containers adds them through the subresource after the create', () => {
    const debug = file('debug.yaml', '- name: debugger\n  image: busybox\n  securityContext: {appArmorProfile: {type: Unconfined}}\n');
    const target = file('target.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: target}\nspec:\n  containers: [{name: app, image: busybox}]\n');
    const run = cli(['dry-run', target, '--k8s-version', '1.31', '--ephemeral-containers', debug, '--namespace-labels', 'pod-security.kubernetes.io/enforce=baseline', '-o', 'json']);
    const result = (JSON.parse(run.stdout) as { results: { outcome: string; message: string; containers: { name: string; kind: string }[] }[] }).results[0];
    expect(result?.outcome).toBe('Forbidden');
    expect(result?.message).toBe('pods "target" is forbidden: violates PodSecurity "baseline:latest": forbidden AppArmor profile (container "debugger" must not set AppArmor profile type to "Unconfined")');
    expect(result?.containers.map((c) => `${c.kind}/${c.name}`)).toContain('ephemeralContainers/debugger');
    const gateOff = cli(['dry-run', target, '--k8s-version', '1.20', '--ephemeral-containers', debug, '-o', 'json']);
    expect(gateOff.status).toBe(0);
    expect(gateOff.stdout).toContain('ephemeral containers cannot be added on a 1.20 API server (the EphemeralContainers feature gate is off)');
    const broken = cli(['dry-run', 'examples/hello-apparmor.yaml', '--ephemeral-containers', file('broken.yaml', '- name: d\n  securityContext: {privileged: "yes"}\n')]);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/broken\.yaml:2: .*privileged must be true or false/);
  });
});

describe('PodSecurityPolicy objects and node lists', () => {
  const PSP = 'apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata:\n  name: rd\n  annotations:\n    apparmor.security.beta.kubernetes.io/allowedProfileNames: runtime/default\nspec: {}\n';

  it('applies PodSecurityPolicy objects among the inputs up to 1.24, with a note for newer versions', () => {
    const input = file('psp.yaml', `${PSP}---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: x}]\n`);
    const old = cli(['dry-run', input, '--k8s-version', '1.24', '-o', 'json']);
    expect(old.status).toBe(1);
    expect((JSON.parse(old.stdout) as { results: { message: string }[]; skipped: unknown[] }).results[0]?.message).toBe('pods "p" is forbidden: PodSecurityPolicy: unable to admit pod: [pod.metadata.annotations[container.apparmor.security.beta.kubernetes.io/a]: Forbidden: AppArmor profile must be set]');
    const both = cli(['dry-run', input, '--k8s-version', '1.24,1.25']);
    expect(both.stderr).toContain('they apply to API servers up to 1.24 only');
  });

  it('reads podSecurityPolicies: in a --cluster file', () => {
    const clusterFile = file('cluster.yaml', `version: "1.22"\npodSecurityPolicies:\n- ${PSP.trimEnd().split('\n').join('\n  ')}\nnodes: [{name: n1}]\n`);
    const run = cli(['dry-run', 'examples/hello-apparmor-annotation.yaml', '--cluster', clusterFile, '-o', 'json']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('is not an allowed profile. Allowed values: \\"runtime/default\\"');
  });

  it('a node list whose Ready condition says "AppArmor enabled" is read, not assumed', () => {
    const list = JSON.parse(readFileSync(join(ROOT, 'fixtures/manifests/cluster/kubectl-get-nodes.json'), 'utf8')) as { items: { status: Record<string, unknown> }[] };
    for (const item of list.items) item.status['conditions'] = [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status. AppArmor enabled' }];
    const run = cli(['dry-run', 'examples/hello-apparmor.yaml', '--cluster', file('nodes.json', JSON.stringify(list))]);
    expect(run.stderr).toContain('says "AppArmor enabled"; a node list does not say which profiles are loaded');
    expect(run.stderr).not.toContain('assuming AppArmor is enabled');
  });
});
