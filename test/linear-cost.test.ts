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
import { Suppressor } from '../cli/commands/config.js';
import type { DryRunSettings } from '../cli/commands/dry-run.js';
import type { PodInput } from '../cli/commands/manifests.js';
import type { EvaluationStats } from '../cli/commands/matrix.js';
import { checkEvaluationLimit, evaluator, prepare } from '../cli/commands/matrix.js';
import { eligibleNodes } from '../cli/commands/scheduling.js';
import type { Placement } from '../cli/commands/workloads.js';

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

describe('--cluster evaluates each distinct node setup once per pod', () => {
  const clusterFile = join(TMP, 'big-cluster.yaml');
  const nodes = 3000;
  // Three node setups (profile loaded, not loaded, AppArmor off), the nodes spread over 7 zones, each with its own name
  // and host name label.
  writeFileSync(
    clusterFile,
    `version: "1.30"\nnodes:\n${Array.from({ length: nodes }, (_, i) => `- {name: n${i}, labels: {zone: z${i % 7}, kubernetes.io/hostname: n${i}}, runtime: containerd, profiles: [${i % 3 === 0 ? 'p1' : ''}]${i % 3 === 2 ? ', appArmorEnabled: false' : ''}}\n`).join('')}`,
  );
  const settings = (): DryRunSettings => ({
    inputs: [],
    apiserver: 30,
    versions: [30],
    versionGiven: false,
    clusterFile,
    kubeletText: undefined,
    kubelet: 30,
    nodeFile: undefined,
    profiles: [],
    runtime: undefined,
    gates: {},
    labels: {},
    namespace: 'default',
    appArmorDisabled: false,
    explain: false,
    output: 'json',
    suppressor: new Suppressor([]),
    failOn: new Set(['refused']),
    fieldValidation: undefined,
    ephemeralContainers: [],
  });
  const pod = (i: number, placement: Placement): PodInput => ({
    file: 'pods.yaml',
    line: i + 1,
    pod: { name: `p${i}`, namespace: 'default', annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'localhost/p1' }, containers: [{ kind: 'containers', name: 'app', privileged: false }] },
    placement,
  });
  const pods = (count: number): PodInput[] => Array.from({ length: count }, (_, i) => pod(i, { nodeSelector: i % 2 === 0 ? { zone: 'z1' } : {}, tolerations: [], everyNode: false }));

  it('3,000 nodes x 2,000 pods: one simulation per pod and node setup, every eligible node still listed', async () => {
    const run = await prepare(settings());
    const stats: EvaluationStats = { simulations: 0 };
    const evaluate = evaluator(run, 'default', stats);
    let nodesListed = 0;
    for (const input of pods(2000)) {
      expect(evaluate.simulationsFor(input)).toBe(3);
      const outcome = evaluate(input);
      nodesListed += outcome.cells[0]?.groups.reduce((n, g) => n + g.nodes.length, 0) ?? 0;
      expect(outcome.cells[0]?.groups.map((g) => g.decision.outcome).sort()).toEqual(['Blocked', 'CreateContainerError', 'Run'].sort());
    }
    expect(stats.simulations).toBe(2000 * 3);
    const inZone1 = Array.from({ length: nodes }, (_, i) => i).filter((i) => i % 7 === 1).length;
    expect(nodesListed).toBe(1000 * nodes + 1000 * inZone1);
  });

  it('eligibility per scheduling class equals eligibility node by node, also for placements that name nodes', async () => {
    const run = await prepare(settings());
    const first = run.columns[0];
    if (!first) throw new Error('no column');
    const placements: Placement[] = [
      { nodeSelector: { zone: 'z3' }, tolerations: [], everyNode: false },
      { nodeSelector: { 'kubernetes.io/hostname': 'n42' }, tolerations: [], everyNode: false },
      { nodeName: 'n7', nodeSelector: {}, tolerations: [], everyNode: false },
      { nodeSelector: {}, requiredTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1', 'n2'] }], matchFields: [] }], tolerations: [], everyNode: false },
      { nodeSelector: {}, requiredTerms: [{ matchExpressions: [], matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n5'] }] }], tolerations: [], everyNode: false },
      { nodeSelector: { zone: 'nowhere' }, tolerations: [], everyNode: false },
    ];
    const evaluate = evaluator(run, 'default');
    placements.forEach((placement, i) => {
      const outcome = evaluate(pod(i, placement));
      const direct = eligibleNodes(placement, undefined, first.nodes);
      expect(outcome.eligibleCount).toBe(direct.eligible.length);
      expect(outcome.ineligible).toEqual(direct.ineligible);
      expect(outcome.cells[0]?.groups.flatMap((g) => g.nodes).sort()).toEqual(direct.eligible.map((index) => first.nodes[index]?.name).sort());
    });
  });

  it('refuses, before simulating, a run over the cap on pods x node setups x versions', async () => {
    const saved = SCALE_LIMITS.maxEvaluations;
    SCALE_LIMITS.maxEvaluations = 3000;
    try {
      const run = await prepare(settings());
      const stats: EvaluationStats = { simulations: 0 };
      const evaluate = evaluator(run, 'default', stats);
      expect(() => checkEvaluationLimit(pods(2000), [evaluate], run)).toThrow(/^over the limit of 3000 pod simulations \(pods x node classes x versions\) at pod 1001 of 2000: /);
      expect(() => checkEvaluationLimit(pods(1000), [evaluate], run)).not.toThrow();
      // Pods that fit on no node cost nothing.
      expect(() => checkEvaluationLimit([...pods(1000), ...Array.from({ length: 5000 }, (_, i) => pod(i, { nodeSelector: { zone: 'nowhere' }, tolerations: [], everyNode: false }))], [evaluate], run)).not.toThrow();
      expect(stats.simulations).toBe(0);
    } finally {
      SCALE_LIMITS.maxEvaluations = saved;
    }
  });

  it('the CLI stops with exit code 2 and no results past the cap', () => {
    // 100 distinct node setups x 16 versions x 1,300 pods = 2,080,000 simulations, over the 2,000,000 cap.
    const setups = join(TMP, 'hundred-setups.yaml');
    writeFileSync(setups, `nodes:\n${Array.from({ length: 100 }, (_, i) => `- {name: s${i}, profiles: [p${i}]}\n`).join('')}`);
    const manifests = join(TMP, 'pods-1300.yaml');
    writeFileSync(manifests, Array.from({ length: 1300 }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec: {containers: [{name: app, image: x}]}\n`).join('---\n'));
    const run = cli(['dry-run', manifests, '--cluster', setups, '--k8s-version', '1.20-1.35', '-o', 'json']);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^apparmor-sim: over the limit of 2000000 pod simulations \(pods x node classes x versions\) at pod 1251 of 1300: 16 version\(s\) with up to 100 distinct node setup\(s\)/);
    expect(run.stdout).toBe('');
  });
});
