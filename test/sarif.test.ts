// --output sarif: SARIF 2.1.0 with one rule per refusal kind, located at the requesting annotation or field.
import { describe, expect, it } from 'vitest';
import { cli } from './helpers-cli.js';

interface Sarif {
  version: string;
  runs: {
    tool: { driver: { name: string; version: string; rules: { id: string; help: { text: string }; defaultConfiguration: { level: string } }[] } };
    results: { ruleId: string; ruleIndex: number; level: string; message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[]; properties: Record<string, unknown> }[];
  }[];
}

const sarif = (args: string[]) => {
  const run = cli(['dry-run', ...args, '-o', 'sarif']);
  return { status: run.status, log: JSON.parse(run.stdout) as Sarif };
};

describe('SARIF output', () => {
  it('has the driver, one rule per refusal kind with help, and version 2.1.0', () => {
    const { log } = sarif(['examples/hello-apparmor.yaml']);
    expect(log.version).toBe('2.1.0');
    const driver = log.runs[0]?.tool.driver;
    expect(driver?.name).toBe('apparmor-sim');
    expect(driver?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(driver?.rules.map((r) => r.id)).toEqual(['apparmor/invalid', 'apparmor/forbidden', 'apparmor/blocked', 'apparmor/rejected', 'apparmor/create-container-error', 'apparmor/input-error', 'apparmor/api-warning']);
    for (const rule of driver?.rules ?? []) expect(rule.help.text.length).toBeGreaterThan(20);
  });

  it('locates refusals at the annotation or field that asked for the profile', () => {
    const { status, log } = sarif(['examples/mixed.yaml', '--k8s-version', '1.9', '--runtime', 'docker']);
    expect(status).toBe(1);
    const errors = log.runs[0]?.results.filter((r) => r.level === 'error') ?? [];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ ruleId: 'apparmor/blocked', message: { text: 'Cannot enforce AppArmor: profile "k8s-apparmor-example-deny-write" is not loaded' } });
    expect(errors[0]?.locations[0]?.physicalLocation).toEqual({ artifactLocation: { uri: 'examples/mixed.yaml' }, region: { startLine: 8 } });
  });

  it('points at a workload template field and lists the nodes it fails on', () => {
    const { log } = sarif(['fixtures/manifests/helm-ingress-nginx.yaml', '--cluster', 'fixtures/manifests/cluster/three-nodes.yaml']);
    const [result] = log.runs[0]?.results.filter((r) => r.level === 'error') ?? [];
    expect(result).toMatchObject({ ruleId: 'apparmor/create-container-error', properties: { nodes: ['node-b'], k8sVersions: ['1.30'], workload: { kind: 'Deployment', name: 'edge-ingress-nginx-controller' } } });
    expect(result?.message.text).toContain('apparmor profile not found ingress-nginx');
    expect(result?.locations[0]?.physicalLocation.region.startLine).toBe(104);
    const warning = log.runs[0]?.results.find((r) => r.ruleId === 'apparmor/api-warning');
    expect(warning).toMatchObject({ level: 'warning', locations: [{ physicalLocation: { region: { startLine: 163 } } }] });
  });

  it('names the invalid and forbidden rules', () => {
    const invalid = sarif(['test/fixtures-cli/refused.yaml', '--k8s-version', '1.20']).log.runs[0]?.results[0];
    expect(invalid?.ruleId).toBe('apparmor/invalid');
    const forbidden = sarif(['fixtures/manifests/kustomize-build.yaml', '--cluster', 'fixtures/manifests/cluster/three-nodes.yaml']).log.runs[0]?.results.find((r) => r.ruleId === 'apparmor/forbidden');
    expect(forbidden?.locations[0]?.physicalLocation.region.startLine).toBe(108);
  });
});
