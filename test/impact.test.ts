// dry-run --impact: the pods whose outcome, profile or warnings change between two settings, grouped by cause.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers-cli.js';

const DUMP = 'examples/cluster-dump.json';
const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-impact-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const BASELINE = ['--after-namespace-labels', 'pod-security.kubernetes.io/enforce=baseline'];

interface ImpactJson {
  impact: { compared: string; pods: number; changed: number; causes: { cause: string; pods: number; transitions: Record<string, number> }[] };
  changes: { name: string; cause: string; changed: string[]; transition: string; groups: { nodes: string[]; before: { outcome: string }; after: { outcome: string } }[] }[];
}

describe('dry-run --impact', () => {
  it('counts the changes per cause and lists only the pods that change (JSON)', () => {
    // --field-validation Ignore: the create of kubectl before 1.25, where an unknown field is dropped, not refused.
    const run = cli(['dry-run', DUMP, '--impact', '--k8s-version', '1.29,1.30', '--field-validation', 'Ignore', '-o', 'json']);
    expect(run.status, run.stderr).toBe(1);
    const body = JSON.parse(run.stdout) as ImpactJson;
    expect(body.impact.pods).toBe(5);
    expect(body.impact.changed).toBe(body.changes.length);
    // Counts per cause add up to the changes, and each change names one of the causes.
    expect(body.impact.causes.reduce((n, c) => n + c.pods, 0)).toBe(body.changes.length);
    for (const c of body.impact.causes) expect(Object.values(c.transitions).reduce((n, k) => n + k, 0)).toBe(c.pods);
    // 1.29 drops the appArmorProfile field as unknown; 1.30 applies it: the Localhost profile is not loaded.
    const cart = body.changes.find((c) => c.name === 'cart-5c4b2');
    expect(cart).toMatchObject({ cause: 'api-drop-unknown-apparmor-fields', transition: 'Run -> CreateContainerError' });
    expect(cart?.changed).toContain('outcome');
  });

  it('with the Strict create kubectl apply sends from 1.25, 1.29 refuses the unknown field instead of dropping it', () => {
    const body = JSON.parse(cli(['dry-run', DUMP, '--impact', '--k8s-version', '1.29,1.30', '-o', 'json']).stdout) as ImpactJson;
    expect(body.changes.find((c) => c.name === 'cart-5c4b2')).toMatchObject({ cause: 'api-drop-unknown-apparmor-fields', transition: 'Forbidden -> CreateContainerError' });
  });

  it('compares the same version under other namespace labels, and reports nothing when nothing changes', () => {
    const baseline = cli(['dry-run', DUMP, '--impact', '--after-namespace-labels', 'pod-security.kubernetes.io/enforce=baseline', '-o', 'json']);
    expect((JSON.parse(baseline.stdout) as ImpactJson).changes.map((c) => [c.name, c.cause, c.transition])).toEqual([['toolbox-0', 'admission-pod-security', 'Run -> Forbidden']]);
    const same = cli(['dry-run', DUMP, '--impact', '--after-namespace-labels', 'team=shop']);
    expect(same.status).toBe(0);
    expect(same.stdout).toMatch(/: 0 of 5 pods change\n/);
  });

  it('works node by node with --cluster, and writes SARIF', () => {
    const run = cli(['dry-run', DUMP, '--impact', '--k8s-version', '1.23,1.24', '--cluster', 'fixtures/manifests/cluster/three-nodes.yaml', '-o', 'sarif']);
    expect(run.status, run.stderr).toBe(1);
    const log = JSON.parse(run.stdout) as { runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; level: string; properties: { cause: string; nodes: string[] } }[] }[] };
    const results = log.runs[0]?.results ?? [];
    expect(results.map((r) => [r.ruleId, r.level, r.properties.cause, r.properties.nodes])).toEqual([['apparmor/impact', 'error', 'kubelet-apparmor-profile-loaded', ['node-a']]]);
  });

  it('needs two settings', () => {
    const run = cli(['dry-run', DUMP, '--impact']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^apparmor-sim: --impact compares two settings/);
  });

  it('refuses JUnit output', () => {
    const run = cli(['dry-run', DUMP, '--impact', ...BASELINE, '-o', 'junit']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--impact writes table, json or sarif, not junit/);
  });

  it('reports input errors in every format with exit code 2, and still compares the other documents', () => {
    const broken = join(TMP, 'broken.yaml');
    writeFileSync(broken, 'apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers: [{name: app, image: x}]\n---\nkind: Pod\nmetadata: [\n');
    const table = cli(['dry-run', DUMP, broken, '--impact', ...BASELINE]);
    expect(table.status).toBe(2);
    expect(table.stdout).toMatch(/: 1 of 6 pods change\n/);
    expect(table.stdout).toMatch(/broken\.yaml:\d+(:\d+)?: error: /);
    expect(table.stdout).toMatch(/; 1 input error\n$/);
    expect(table.stderr).toMatch(/broken\.yaml:\d+/);
    const json = cli(['dry-run', DUMP, broken, '--impact', ...BASELINE, '-o', 'json']);
    expect(json.status).toBe(2);
    const body = JSON.parse(json.stdout) as ImpactJson & { errors: { file: string; line: number | null }[] };
    expect(body.impact.pods).toBe(6);
    expect(body.errors.map((e) => e.file)).toEqual([broken.startsWith(process.cwd()) ? broken.slice(process.cwd().length + 1) : broken]);
    const sarif = cli(['dry-run', DUMP, broken, '--impact', ...BASELINE, '-o', 'sarif']);
    expect(sarif.status).toBe(2);
    const log = JSON.parse(sarif.stdout) as { runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; ruleIndex: number }[] }[] };
    const run = log.runs[0];
    expect(run?.results.map((r) => [r.ruleId, run.tool.driver.rules[r.ruleIndex]?.id])).toEqual([
      ['apparmor/impact', 'apparmor/impact'],
      ['apparmor/input-error', 'apparmor/input-error'],
    ]);
  });

  it('a suppression in the config file accepts a change: listed, marked, not failing', () => {
    const config = join(TMP, 'suppress.yaml');
    writeFileSync(config, 'suppressions:\n  - check: admission-pod-security\n    object: debug/*\n    reason: the toolbox moves to a privileged namespace\n');
    const table = cli(['dry-run', DUMP, '--impact', ...BASELINE, '--config', config]);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain('debug/toolbox-0  Run -> Forbidden  (cause: admission-pod-security)\n    suppressed: the toolbox moves to a privileged namespace');
    expect(table.stdout).toMatch(/5 pods: 1 change \(1 suppressed\), 4 unchanged/);
    const json = JSON.parse(cli(['dry-run', DUMP, '--impact', ...BASELINE, '--config', config, '-o', 'json']).stdout) as { changes: { suppressed?: { reason: string } }[] };
    expect(json.changes.map((c) => c.suppressed?.reason)).toEqual(['the toolbox moves to a privileged namespace']);
    // Another pod's name does not match: the change fails the run.
    writeFileSync(config, 'suppressions:\n  - check: admission-pod-security\n    object: shop/*\n    reason: not this one\n');
    expect(cli(['dry-run', DUMP, '--impact', ...BASELINE, '--config', config]).status).toBe(1);
  });

  it('with --fail-on, only a pod that newly meets a condition fails the run', () => {
    // 1.29 -> 1.30 under Strict validation: pods refused before run afterwards or stay refused (cart: Forbidden ->
    // CreateContainerError); the deprecation warnings are new in 1.30.
    const args = ['dry-run', DUMP, '--impact', '--k8s-version', '1.29,1.30'];
    expect(cli([...args, '--fail-on', 'refused']).status).toBe(0);
    expect(cli([...args, '--fail-on', 'warnings']).status).toBe(1);
    expect(cli([...args, '--fail-on', 'never']).status).toBe(0);
    expect(cli(args).status).toBe(1);
    // Baseline newly forbids the toolbox.
    expect(cli(['dry-run', DUMP, '--impact', ...BASELINE, '--fail-on', 'refused']).status).toBe(1);
  });
});
