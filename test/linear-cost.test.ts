// Cost bounds, each with generated input, asserting work done (counted reads, items handled), never time.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { simulate } from '../sim/simulate.js';
import type { ClusterFacts, Container, LoadedProfile, NodeFacts, Pod } from '../sim/types.js';
import { SCALE_LIMITS } from '../io/load/scale-limits.js';
import { loadProfileFiles } from '../io/load/profile-files.js';
import { LIMITS } from '../io/load/source.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-linear-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

export function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, [join(ROOT, 'bin/apparmor-sim.js'), ...args], { cwd: ROOT, encoding: 'utf8', input, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 256 * 1024 * 1024 });
}

/** A pod of n containers of every kind of request, whose containers count every property read the model makes. */
function countingPod(n: number, reads: { count: number }, fields: boolean): Pod {
  const annotations: Record<string, string> = {};
  const containers: Container[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 10 === 0 ? 'initContainers' : 'containers';
    const name = `c${i}`;
    if (!fields) annotations[`container.apparmor.security.beta.kubernetes.io/${name}`] = i % 3 === 0 ? 'runtime/default' : 'localhost/p1';
    const container: Container = { kind, name, privileged: false, appArmorProfile: fields ? (i % 3 === 0 ? { type: 'RuntimeDefault' } : { type: 'Localhost', localhostProfile: 'p1' }) : undefined };
    containers.push(new Proxy(container, { get: (target, key) => (reads.count++, target[key as keyof Container]) }));
  }
  return { name: 'big', namespace: 'default', annotations, containers };
}

function cluster(version: number): ClusterFacts {
  return { version, featureGates: {}, namespace: { name: 'default', labels: {} }, podSecurityPolicies: [] };
}

function node(version: number, profiles: LoadedProfile[]): NodeFacts {
  return { name: 'n', kubeletVersion: version, featureGates: {}, os: 'linux', appArmorEnabled: true, runtime: version < 24 ? 'docker' : 'containerd', profiles };
}

describe('per-pod work is linear in its containers', () => {
  it.each([
    { version: 22, fields: false },
    { version: 30, fields: false },
    { version: 30, fields: true },
    { version: 35, fields: true },
  ])('1.$version, fields: $fields', ({ version, fields }) => {
    const profiles = Array.from({ length: 2000 }, (_, i) => ({ name: `p${i}`, mode: 'enforce' as const }));
    const readsFor = (n: number) => {
      const reads = { count: 0 };
      const decision = simulate({ cluster: cluster(version), node: node(version, profiles), pod: countingPod(n, reads, fields) });
      expect(decision.containers).toHaveLength(n);
      return reads.count;
    };
    const small = readsFor(1000);
    const large = readsFor(4000);
    // Quadratic work would read 16 times as much for 4 times the containers.
    expect(large / small).toBeLessThan(4.5);
  });
});

describe('alias-expanded sizes count toward the limits', () => {
  it('a 50,000-container pod built with a YAML alias is refused by the container limit', () => {
    const list = Array.from({ length: 50_000 }, (_, i) => `  - {name: c${i}, image: busybox}\n`).join('');
    const file = join(TMP, 'alias-containers.yaml');
    writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: wide\n  labels: {}\nx-spare: &many\n${list}spec:\n  containers: *many\n`);
    const run = cli(['dry-run', file]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/alias-containers\.yaml:\d+: containers: 50000 containers, over the 256-container limit/);
    // Nothing of the pod is simulated: the report counts no pod and the one input error.
    expect(run.stdout).toContain('0 pods: 0 run, 0 refused; 0 skipped; 1 input error');
  });
});

describe('node and profile counts', () => {
  it('nodes expanded from a YAML alias count toward the node limit', () => {
    const file = join(TMP, 'alias-nodes.yaml');
    const names = Array.from({ length: 5001 }, (_, i) => `  - {name: n${i}}\n`).join('');
    writeFileSync(file, `namespaces: &list\n${names}nodes: *list\n`);
    const run = cli(['dry-run', 'examples/hello-apparmor.yaml', '--cluster', file]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/alias-nodes\.yaml:\d+: nodes: 5001 nodes, over the 5000-node limit/);
  });

  it('--profiles DIR refuses more files than its cap, and stops checking after the error cap', async () => {
    const many = join(TMP, 'many-profiles');
    mkdirSync(many);
    for (let i = 0; i <= SCALE_LIMITS.maxProfileFiles; i++) writeFileSync(join(many, `p${i}`), `profile p${i} {}\n`);
    expect(await loadProfileFiles([many], { parser: null })).toEqual({ errors: [{ file: many, message: `directory holds ${SCALE_LIMITS.maxProfileFiles + 1} profile files, over the ${SCALE_LIMITS.maxProfileFiles}-file limit` }] });
    const broken = join(TMP, 'broken-profiles');
    mkdirSync(broken);
    for (let i = 0; i < 300; i++) writeFileSync(join(broken, `b${String(i).padStart(3, '0')}`), 'profile broken {\n');
    const result = await loadProfileFiles([broken], { parser: null });
    if (!('errors' in result)) throw new Error('expected errors');
    expect(result.errors).toHaveLength(LIMITS.maxReportedErrors + 1);
    expect(result.errors.at(-1)).toEqual({ file: 'apparmor-sim', message: `stopped after ${LIMITS.maxReportedErrors} profile errors: ${300 - LIMITS.maxReportedErrors} file(s) not checked` });
  });
});
