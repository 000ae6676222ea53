// Placement by what decides, checked through `apparmor-sim conformance plan --cluster` (the built CLI, a cluster file
// like dry-run --cluster reads) and the --kind description; nothing here creates or contacts anything.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../io/load/scenario.js';
import { decidingStage, placeScenario } from '../../conformance/nodefacts.js';
import { kindCluster, planCommand, planScenarios } from '../../conformance/plan.js';
import { connect } from '../../conformance/k8s-client.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'apparmor-sim.js');
const BUILT = existsSync(join(ROOT, 'dist', 'conformance', 'plan.js'));
const TMP = mkdtempSync(join(tmpdir(), 'conformance-plan-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function plan(args: string[]) {
  const run = spawnSync(process.execPath, [BIN, 'conformance', 'plan', ...args], { cwd: ROOT, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: TMP } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
type Planned = { name: string; node: string | null; skipReason: string | null };
const byName = (stdout: string) => new Map((JSON.parse(stdout) as { scenarios: Planned[] }).scenarios.map((s) => [s.name, s]));

const CLUSTER = join(TMP, 'cluster.yaml');
writeFileSync(CLUSTER, ['version: "1.30"', 'nodes:', '  - name: off-node', '    kubeletVersion: "1.30"', '    appArmorEnabled: false', '  - name: on-node', '    kubeletVersion: "1.30"', '    appArmorEnabled: true', ''].join('\n'));

describe.skipIf(!BUILT)(`conformance plan --cluster${BUILT ? '' : ' (skipped: dist/conformance/plan.js missing; run npm run build)'}`, () => {
  it('API-server and admission decisions go to any Ready Linux node; kubelet and runtime decisions only to a matching one', () => {
    const run = plan(['scenarios/', '--cluster', CLUSTER, '-o', 'json']);
    expect(run.status, run.stderr).toBe(0);
    const planned = byName(run.stdout);
    // Validation (API server): the first Ready Linux node, although it has AppArmor off and the scenario's node has it on.
    expect(planned.get('api-field-localhost-missing-name-1.30')).toEqual({ name: 'api-field-localhost-missing-name-1.30', node: 'off-node', skipReason: null });
    // Pod Security Admission.
    expect(planned.get('psa-baseline-unconfined-annotation-synced-1.30')?.node).toBe('off-node');
    // Runtime decisions need AppArmor on: only on-node.
    expect(planned.get('tutorial-fields-deny-write-loaded-1.30')?.node).toBe('on-node');
    // A kubelet decision on a node with AppArmor off: only off-node.
    expect(planned.get('host-apparmor-disabled-runtime-default-1.30')?.node).toBe('off-node');
    // Another API server version: skipped with the reason.
    expect(planned.get('tutorial-fields-deny-write-loaded-1.35')).toEqual({ name: 'tutorial-fields-deny-write-loaded-1.35', node: null, skipReason: 'needs API server 1.35; the cluster runs v1.30' });
  });

  it('a runtime-decided scenario with no matching node is skipped naming each node and why', () => {
    const offOnly = join(TMP, 'off-only.yaml');
    writeFileSync(offOnly, ['version: "1.30"', 'nodes:', '  - name: off-node', '    appArmorEnabled: false', ''].join('\n'));
    const planned = byName(plan(['scenarios/tutorial.yaml', '--cluster', offOnly, '-o', 'json']).stdout);
    expect(planned.get('tutorial-fields-deny-write-loaded-1.30')?.skipReason).toBe("no node meets the scenario's node preconditions (off-node: AppArmor disabled in the kernel, scenario needs it enabled)");
  });

  it('the table names the cluster, each scenario, and the count', () => {
    const run = plan(['scenarios/api-fields.yaml', '--cluster', CLUSTER, '--filter', '1.30']);
    expect(run.stdout).toBe(
      [
        'cluster: API server v1.30; nodes: off-node (kubelet v1.30.0, linux, containerd, AppArmor off), on-node (kubelet v1.30.0, linux, containerd, AppArmor on)',
        'RUN  api-field-localhost-missing-name-1.30 scenarios/api-fields.yaml:2 on off-node',
        'RUN  api-field-localhost-too-long-1.30 scenarios/api-fields.yaml:63 on off-node',
        'RUN  api-field-runtime-default-with-name-1.30 scenarios/api-fields.yaml:105 on off-node',
        'SKIP api-field-unknown-before-1.30 scenarios/api-fields.yaml:182: needs API server 1.29; the cluster runs v1.30',
        '4 scenarios: 3 would run, 1 would be skipped',
        '',
      ].join('\n'),
    );
  });

  it('needs exactly one cluster source; bad input is exit 2 with one line', () => {
    expect(plan(['scenarios/', '--kind', '--cluster', CLUSTER])).toMatchObject({ status: 2, stderr: expect.stringMatching(/^apparmor-sim: conformance plan needs exactly one of --kind, --kubeconfig FILE, --cluster FILE \(got --kind, --cluster\)\n/) });
    expect(plan(['scenarios/'])).toMatchObject({ status: 2 });
    expect(plan(['scenarios/', '--kubeconfig', '/dev/zero'])).toMatchObject({ status: 2, stderr: 'apparmor-sim: --kubeconfig /dev/zero: not a regular file (a character device)\n' });
  });
});

describe('conformance plan --kind', () => {
  it("describes the kind nodes a run creates with this host's AppArmor, and plans on them", async () => {
    const tutorial = await loadScenarioFile(join(ROOT, 'scenarios', 'tutorial.yaml'), ROOT);
    const on = kindCluster(35, 1, {}, true);
    expect(on.nodes.map((n) => `${n.name} ${n.kubeletVersion} ${n.runtime ?? ''} ${n.runtimeAppArmor}`)).toEqual(['kind-control-plane v1.35.0 containerd applies', 'kind-worker v1.35.0 containerd applies']);
    const planned = new Map(planScenarios(tutorial, on).map((p) => [p.name, p]));
    expect(planned.get('tutorial-fields-deny-write-loaded-1.35')?.node).toBe('kind-control-plane');
    const off = new Map(planScenarios(tutorial, kindCluster(35, 0, {}, false)).map((p) => [p.name, p]));
    expect(off.get('tutorial-fields-deny-write-loaded-1.35')?.skipReason).toBe("no node meets the scenario's node preconditions (kind-control-plane: AppArmor disabled in the kernel, scenario needs it enabled)");
  });

  it('the deciding stage is the model stage for the scenario itself', async () => {
    const api = await loadScenarioFile(join(ROOT, 'scenarios', 'api-fields.yaml'), ROOT);
    const first = api[0];
    expect(first && decidingStage(first)).toBe('apiserver');
    const tutorial = await loadScenarioFile(join(ROOT, 'scenarios', 'tutorial.yaml'), ROOT);
    const runtime = tutorial.find((s) => s.name === 'tutorial-fields-deny-write-loaded-1.35');
    expect(runtime && decidingStage(runtime)).toBe('runtime');
  });

  it('an API-decided scenario on a node unlike its own is placed with a note, and its profiles are not loaded there', async () => {
    const api = await loadScenarioFile(join(ROOT, 'scenarios', 'api-fields.yaml'), ROOT);
    const base = api.find((s) => s.name === 'api-field-localhost-missing-name-1.30');
    if (!base) throw new Error('scenario missing');
    const withProfiles = { ...base, nodes: base.nodes.map((n) => ({ ...n, profiles: [{ name: 'some-profile', mode: 'enforce' as const }] })) };
    const off = placeScenario(withProfiles, kindCluster(30, 0, {}, false));
    expect(off).toMatchObject({ ok: true, loadProfiles: false });
    expect(off.ok && off.notes[0]).toBe("decided by the API server; placed on kind-control-plane although its node facts differ (AppArmor disabled in the kernel, scenario needs it enabled), without loading the scenario's profiles there");
    expect(placeScenario(withProfiles, kindCluster(30, 0, {}, true))).toMatchObject({ ok: true, loadProfiles: true, notes: [] });
  });
});

describe('conformance plan --kubeconfig (a canned local API server, read only)', () => {
  it('reads version and nodes with GETs only; places API-decided scenarios; says AppArmor is unknown for the others', async () => {
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (req.url === '/version') return res.end(JSON.stringify({ major: '1', minor: '30', gitVersion: 'v1.30.2' }));
      if (req.url?.startsWith('/api/v1/nodes')) {
        return res.end(JSON.stringify({ kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'worker-1' }, status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.30.2', operatingSystem: 'linux', osImage: 'Ubuntu 24.04', kernelVersion: '6.8.0', containerRuntimeVersion: 'containerd://1.7.13', architecture: 'amd64', bootID: '', containerRuntime: '', kubeProxyVersion: '', machineID: '', systemUUID: '' } } }] }));
      }
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const file = join(TMP, 'kubeconfig');
    writeFileSync(file, ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: c', '  cluster:', `    server: http://127.0.0.1:${(server.address() as AddressInfo).port}`, '    insecure-skip-tls-verify: true', 'users:', '- name: u', '  user: {token: t}', 'contexts:', '- name: c', '  context: {cluster: c, user: u}', 'current-context: c', ''].join('\n'));
    let stdout = '';
    let stderr = '';
    try {
      const code = await planCommand(['scenarios/tutorial.yaml', 'scenarios/api-fields.yaml', '--kubeconfig', file, '-o', 'json', '--filter', '1.30'], {
        stdout: (t) => void (stdout += t),
        stderr: (t) => void (stderr += t),
        connect: (options) => connect({ ...options, timeoutMs: 5000 }),
        hostAppArmor: () => true,
      });
      expect(code, stderr).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(requests.every((r) => r.startsWith('GET '))).toBe(true);
    const planned = byName(stdout);
    expect(planned.get('api-field-localhost-missing-name-1.30')?.node).toBe('worker-1');
    expect(planned.get('tutorial-fields-deny-write-loaded-1.30')?.skipReason).toBe("no node meets the scenario's node preconditions (worker-1: AppArmor state unknown until a run probes the node (describe it in a --cluster file to plan with it), scenario needs it enabled)");
  });
});

