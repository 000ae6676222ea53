// Workloads: the pod their controller creates, named and placed as it would be, with file:line of the workload.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readManifests } from '../cli/commands/manifests.js';
import { InputFailure } from '../io/load/source.js';
import { ROOT, cli } from './helpers-cli.js';

const M = 'fixtures/manifests';

describe('workloads in dry-run', () => {
  it('builds one pod per workload template with controller-style names and the workload namespace', async () => {
    const { pods, skipped } = await readManifests([`${M}/kustomize-build.yaml`, `${M}/workloads.yaml`], ROOT);
    const names = pods.map((p) => `${p.workload?.kind}/${p.workload?.name} ${p.pod.namespace ?? '-'} ${p.pod.name || `${p.pod.generateName}*`} @${p.line}`);
    expect(names).toEqual([
      'Deployment/prod-web shop-prod prod-web-<random>-* @18',
      'StatefulSet/prod-db shop-prod prod-db-0 @46',
      'DaemonSet/prod-log-agent shop-prod prod-log-agent-* @70',
      'CronJob/prod-report shop-prod prod-report-<random>-* @94',
      'ReplicaSet/rs team-a rs-* @1',
      'ReplicationController/rc - rc-* @14',
      'PodTemplate/tmpl - tmpl-* @23',
      'Job/pinned - pinned-* @35',
      'Deployment/nowhere - nowhere-<random>-* @49',
    ]);
    expect(skipped.map((s) => `${s.kind}/${s.name}`)).toEqual(['Namespace/shop-prod', 'ConfigMap/prod-shop-config-7t8g2fbk9c']);
    // The template's annotations become the pod's.
    expect(pods[0]?.pod.annotations).toEqual({ 'container.apparmor.security.beta.kubernetes.io/web': 'localhost/k8s-apparmor-example-deny-write' });
    expect(pods[0]?.requests?.annotations).toEqual({ web: 34 });
    expect(pods[2]?.placement?.everyNode).toBe(true);
  });

  it('reads helm template output: # Source comments, empty documents, other kinds skipped', () => {
    const run = cli(['dry-run', `${M}/helm-ingress-nginx.yaml`, '--k8s-version', '1.30', '-o', 'json']);
    expect(run.status, run.stderr).toBe(1);
    const body = JSON.parse(run.stdout) as { results: Record<string, unknown>[]; skipped: Record<string, unknown>[] };
    expect(body.results.map((r) => [r['line'], r['namespace'], r['name'], r['workload'], r['outcome']])).toEqual([
      [58, 'ingress', 'edge-ingress-nginx-controller-<random>-<random>', { kind: 'Deployment', name: 'edge-ingress-nginx-controller' }, 'CreateContainerError'],
      [150, 'ingress', 'edge-ingress-nginx-admission-create-<random>', { kind: 'Job', name: 'edge-ingress-nginx-admission-create' }, 'Run'],
    ]);
    expect(body.skipped.map((s) => s['kind'])).toEqual(['ServiceAccount', 'ConfigMap', 'Service', 'IngressClass', 'ValidatingWebhookConfiguration']);
  });

  it('names the workload in the table and reads stdin (kustomize build | apparmor-sim dry-run -)', () => {
    const run = cli(['dry-run', '-', '--k8s-version', '1.30', '--profiles', 'fixtures/node/kernel-profiles.txt'], readFileSync(join(ROOT, M, 'kustomize-build.yaml'), 'utf8'));
    expect(run.stdout).toMatch(/^<stdin>:18 {2}shop-prod\/prod-web-<random>-<random> \(Deployment\/prod-web\) {2}/m);
    expect(run.stdout).toMatch(/^<stdin>:46 {2}shop-prod\/prod-db-0 \(StatefulSet\/prod-db\) {2}Run/m);
    expect(run.stdout).toMatch(/<stdin>:94 {2}shop-prod\/prod-report-<random>-<random> \(CronJob\/prod-report\) {2}Run/);
    expect(run.stdout).toMatch(/^9 pods: .*; 2 skipped$|^4 pods: .*; 2 skipped$/m);
  });

  it('runs a whole directory of real-world-like manifests without a crash', () => {
    const run = cli(['dry-run', M, '-o', 'json']);
    expect([0, 1]).toContain(run.status);
    const body = JSON.parse(run.stdout) as { results: unknown[]; skipped: unknown[] };
    expect(body.results.length).toBe(11);
    expect(body.skipped.length).toBeGreaterThan(5);
  });

  it('points errors inside a template at the template line', async () => {
    const file = join(ROOT, 'test/fixtures-cli/../../fixtures/manifests/workloads.yaml');
    expect(file).toBeTruthy();
    const text = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        securityContext:\n          privileged: "yes"\n';
    const run = cli(['dry-run', '-'], text);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^<stdin>:10: spec\.template\.spec\.containers\.0\.securityContext\.privileged: .*privileged must be true or false/m);
    await expect(readManifests([`${M}/workloads.yaml`], ROOT)).resolves.toBeTruthy();
    expect(InputFailure).toBeDefined();
  });

  it('lists a workload without a pod template as skipped', () => {
    const run = cli(['dry-run', '-', '-o', 'json'], 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: empty}\nspec: {}\n');
    expect(JSON.parse(run.stdout)).toMatchObject({ results: [], skipped: [{ line: 1, kind: 'Deployment', name: 'empty', why: 'no pod template (spec.template)' }] });
  });
});
