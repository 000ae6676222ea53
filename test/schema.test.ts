// The JSON outputs against their published schemas (docs/schema/): real outputs of every mode, and the schema's
// strictness (a misspelt or missing key, an unknown outcome fail).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from './helpers-cli.js';
import { validate } from './json-schema.js';

const DRY_RUN = JSON.parse(readFileSync(join(ROOT, 'docs/schema/dry-run.schema.json'), 'utf8')) as Record<string, unknown>;
const SCENARIOS = JSON.parse(readFileSync(join(ROOT, 'docs/schema/scenarios.schema.json'), 'utf8')) as Record<string, unknown>;
const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-schema-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const M = 'fixtures/manifests';

function json(args: string[]): Record<string, unknown> {
  const run = cli(args);
  expect([0, 1], run.stderr).toContain(run.status);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe('dry-run JSON matches docs/schema/dry-run.schema.json', () => {
  const suppressions = join(TMP, 'suppress.yaml');
  writeFileSync(suppressions, 'suppressions:\n  - check: apparmor/blocked\n    reason: accepted\n    expires: 2999-01-01\n');
  const impactSuppressions = join(TMP, 'suppress-impact.yaml');
  writeFileSync(impactSuppressions, 'suppressions:\n  - check: apparmor/impact\n    object: debug/*\n    reason: accepted\n');
  it.each([
    ['one version', ['dry-run', 'examples/mixed.yaml', '--k8s-version', '1.9', '--runtime', 'docker', '-o', 'json']],
    ['--explain', ['dry-run', 'examples/mixed.yaml', '--explain', '-o', 'json']],
    ['workloads, helm, kustomize', ['dry-run', `${M}/workloads.yaml`, `${M}/helm-ingress-nginx.yaml`, `${M}/kustomize-build.yaml`, '-o', 'json']],
    ['suppressed', ['dry-run', 'examples/mixed.yaml', '--k8s-version', '1.9', '--runtime', 'docker', '--config', suppressions, '-o', 'json']],
    ['version matrix', ['dry-run', 'examples/mixed.yaml', `${M}/workloads.yaml`, '--k8s-version', '1.8,1.23-1.25,1.30,1.31', '-o', 'json', '--explain']],
    ['matrix, suppressed', ['dry-run', 'examples/mixed.yaml', '--k8s-version', '1.9,1.10', '--runtime', 'docker', '--config', suppressions, '-o', 'json']],
    ['--cluster', ['dry-run', `${M}/workloads.yaml`, `${M}/kustomize-build.yaml`, '--cluster', `${M}/cluster/three-nodes.yaml`, '-o', 'json']],
    ['kubectl get nodes', ['dry-run', 'examples/hello-apparmor.yaml', '--cluster', `${M}/cluster/kubectl-get-nodes.json`, '-o', 'json']],
    ['no pods', ['dry-run', `${M}/cluster/three-nodes.yaml`, '-o', 'json']],
    ['--impact', ['dry-run', 'examples/cluster-dump.json', '--impact', '--k8s-version', '1.29,1.30', '-o', 'json']],
    ['--impact, --cluster', ['dry-run', 'examples/cluster-dump.json', '--impact', '--k8s-version', '1.23,1.24', '--cluster', `${M}/cluster/three-nodes.yaml`, '-o', 'json']],
    ['--impact, suppressed, skipped', ['dry-run', 'examples/cluster-dump.json', 'examples/mixed.yaml', '--impact', '--after-namespace-labels', 'pod-security.kubernetes.io/enforce=baseline', '--config', impactSuppressions, '-o', 'json']],
  ])('%s', (_name, args) => {
    const document = json(args);
    expect(validate(DRY_RUN, document)).toEqual([]);
    expect(document['schemaVersion']).toBe(1);
    expect(Array.isArray(document['k8sVersions']) && document['k8sVersions'].length).toBeGreaterThan(0);
  });

  it('records the versions simulated', () => {
    expect(json(['dry-run', 'examples/hello-apparmor.yaml', '--k8s-version', '1.29', '--kubelet-version', '1.28', '-o', 'json'])).toMatchObject({ k8sVersions: ['1.29'], kubeletVersion: '1.28' });
    expect(json(['dry-run', 'examples/hello-apparmor.yaml', '--k8s-version', '1.28-1.30', '-o', 'json'])['k8sVersions']).toEqual(['1.28', '1.29', '1.30']);
    // examples/node.yaml runs a 1.29 kubelet.
    expect(json(['dry-run', 'examples/hello-apparmor.yaml', '--k8s-version', '1.30', '--node', 'examples/node.yaml', '-o', 'json'])).toMatchObject({ k8sVersions: ['1.30'], kubeletVersion: '1.29' });
    const byDefault = json(['dry-run', 'examples/hello-apparmor.yaml', '-o', 'json']);
    expect(byDefault['k8sVersions']).toEqual([byDefault['kubeletVersion']]);
  });

  it('rejects documents that break the contract', () => {
    const good = json(['dry-run', 'examples/mixed.yaml', '-o', 'json']);
    const results = good['results'] as Record<string, unknown>[];
    const broken = (change: (doc: Record<string, unknown>, first: Record<string, unknown>) => void) => {
      const copy = structuredClone(good);
      change(copy, (copy['results'] as Record<string, unknown>[])[0] ?? {});
      return validate(DRY_RUN, copy);
    };
    expect(results.length).toBeGreaterThan(0);
    expect(broken((_d, first) => void (first['outcome'] = 'Exploded'))).not.toEqual([]);
    expect(broken((_d, first) => void delete first['containers'])).not.toEqual([]);
    expect(broken((_d, first) => void (first['outcom'] = 'Run'))).not.toEqual([]);
    expect(broken((d) => void (d['schemaVersion'] = 2))).not.toEqual([]);
    expect(broken((d) => void (d['k8sVersions'] = ['1.30.2']))).not.toEqual([]);
  });
});

describe('scenarios run JSON matches docs/schema/scenarios.schema.json', () => {
  it.each([
    ['examples', ['scenarios', 'run', 'examples/scenarios', '-o', 'json']],
    ['the scenario library', ['scenarios', 'run', 'scenarios', '-o', 'json']],
  ])('%s', (_name, args) => {
    const document = json(args);
    expect(validate(SCENARIOS, document)).toEqual([]);
    expect(document['schemaVersion']).toBe(1);
  });
});
