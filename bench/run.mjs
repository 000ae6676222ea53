#!/usr/bin/env node
// Benchmark for the dry-run path (`npm run bench`, after a build). Each target is a ratio to a floor measured in the
// same run, the two measured alternately (median of several runs each) so that a busy machine slows both alike:
//   100,000-pod `kubectl get pods -A -o json` dump:  dry-run -o json  <= 3x     JSON.parse of the same file
//                                                    peak RSS         <= 512 MiB
//   10,000 small YAML pods (block YAML, and JSON-style flow documents): dry-run -o json <= 1.3x parsing them with yaml
//   cold start:       dry-run of one pod              <= 2x     `node -e 0`
//   10,000 workloads on a 50-node cluster: dry-run --cluster -o json <= 1.5x parsing them with yaml
//   peak RSS of the 10,000-pod dry-run                <= 1 GiB
//   peak RSS while reading hostile input              <= 1.25 GiB per input (LIMITS in io/load/source.ts): 50 MB
//     files refused by a limit, 50 MB of pods read a document at a time, a document over the size limit, an endless
//     device, the costliest file within every limit
// Exits 1 when a target is missed. BENCH_DUMP_PODS changes the size of the dump (default 100,000).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeKubectlDump } from './kubectl-dump.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'apparmor-sim.js');
const POD_COUNT = 10_000;
const DUMP_PODS = Number(process.env.BENCH_DUMP_PODS ?? 100_000);
const TARGETS = { dump: 3, dumpRssBytes: 512 * 1024 ** 2, yaml: 1.3, coldStart: 2, cluster: 1.5, rssBytes: 1024 ** 3, hostileRssBytes: 1.25 * 1024 ** 3 };

const dir = mkdtempSync(join(tmpdir(), 'apparmor-sim-bench-'));
try {
  process.exitCode = run() ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function run() {
  const only = process.env.BENCH_ONLY?.split(',');
  const want = (name) => !only || only.includes(name);
  const results = [];
  if (want('dump')) results.push(...dumpBench());
  if (want('yaml')) results.push(yamlBench());
  if (want('flow')) results.push(flowBench());
  if (want('cold')) results.push(coldStartBench());
  if (want('cluster')) results.push(clusterBench());
  if (want('hostile')) results.push(hostileInputs());
  return results.every(Boolean);
}

function yamlParseScript(file) {
  return `const {parseAllDocuments}=require('yaml');const t=require('fs').readFileSync(${JSON.stringify(file)},'utf8');parseAllDocuments(t).map(d=>d.toJS());`;
}

function dumpBench() {
  const file = join(dir, 'pods-dump.json');
  const bytes = writeKubectlDump(file, DUMP_PODS);
  const baseline = [process.execPath, ['-e', `JSON.parse(require('fs').readFileSync(${JSON.stringify(file)},'utf8'))`]];
  const ours = [process.execPath, [BIN, 'dry-run', file, '--output', 'json']];
  check('JSON.parse', runOnce(...baseline), [0]);
  check('dry-run of the dump', runOnce(...ours), [0, 1]);
  console.log(`${DUMP_PODS}-pod kubectl get pods -A -o json dump (${(bytes / 1024 ** 2).toFixed(0)} MiB), median of 3 runs each`);
  const ok1 = compare('JSON.parse of the file', baseline, 'dry-run --output json', ours, 3, TARGETS.dump);
  const rss = peakRss([BIN, 'dry-run', file, '--output', 'json']).bytes;
  const ok2 = rss <= TARGETS.dumpRssBytes;
  console.log(`  peak RSS of the dry-run: ${(rss / 1024 ** 2).toFixed(0)} MiB (bound ${TARGETS.dumpRssBytes / 1024 ** 2} MiB) ${ok2 ? 'ok' : 'MISSED'}`);
  rmSync(file, { force: true });
  return [ok1, ok2];
}

function yamlBench() {
  const file = join(dir, 'pods.yaml');
  writeFileSync(file, generatePods(POD_COUNT));
  const ours = [process.execPath, [BIN, 'dry-run', file, '--output', 'json']];
  check('dry-run', runOnce(...ours), [0, 1]);
  console.log(`${POD_COUNT} pods, block YAML (${(statSync(file).size / 1024 ** 2).toFixed(1)} MiB), median of 3 runs each`);
  const ok = compare('yaml parse only', [process.execPath, ['-e', yamlParseScript(file)]], 'dry-run --output json', ours, 3, TARGETS.yaml);
  const rss = peakRss([BIN, 'dry-run', file, '--output', 'json']).bytes;
  const okRss = rss <= TARGETS.rssBytes;
  console.log(`  peak RSS of the dry-run: ${(rss / 1024 ** 2).toFixed(0)} MiB (bound ${(TARGETS.rssBytes / 1024 ** 3).toFixed(0)} GiB) ${okRss ? 'ok' : 'MISSED'}`);
  return ok && okRss;
}

function flowBench() {
  const file = join(dir, 'pods-flow.yaml');
  writeFileSync(file, generateFlowPods(POD_COUNT));
  const ours = [process.execPath, [BIN, 'dry-run', file, '--output', 'json']];
  check('dry-run', runOnce(...ours), [0, 1]);
  console.log(`${POD_COUNT} pods, JSON-style flow YAML documents (${(statSync(file).size / 1024 ** 2).toFixed(1)} MiB), median of 3 runs each`);
  return compare('yaml parse only', [process.execPath, ['-e', yamlParseScript(file)]], 'dry-run --output json', ours, 3, TARGETS.yaml);
}

function coldStartBench() {
  const onePod = join(dir, 'one-pod.yaml');
  writeFileSync(onePod, generatePods(1));
  console.log('cold start: one pod, median of 10 runs each');
  return compare('node -e 0', [process.execPath, ['-e', '0']], 'dry-run one pod', [process.execPath, [BIN, 'dry-run', onePod]], 10, TARGETS.coldStart);
}

function clusterBench() {
  // Workloads (pod templates) on a 50-node cluster: every pod is checked against every node.
  const workloadFile = join(dir, 'workloads.yaml');
  const clusterFile = join(dir, 'cluster.yaml');
  writeFileSync(workloadFile, generateWorkloads(POD_COUNT));
  writeFileSync(clusterFile, generateCluster(50));
  const ours = [process.execPath, [BIN, 'dry-run', workloadFile, '--cluster', clusterFile, '--output', 'json']];
  check('dry-run --cluster', runOnce(...ours), [0, 1]);
  console.log(`dry-run of ${POD_COUNT} workloads on a 50-node cluster, median of 3 runs each`);
  return compare('yaml parse only', [process.execPath, ['-e', yamlParseScript(workloadFile)]], 'dry-run --cluster (json)', ours, 3, TARGETS.cluster);
}

/** Runs floor and measured alternately, `runs` times each, and compares their medians. */
function compare(baseName, base, name, measured, runs, target) {
  const baseTimes = [];
  const times = [];
  for (let i = 0; i < runs; i++) {
    baseTimes.push(runOnce(...base).ms);
    times.push(runOnce(...measured).ms);
  }
  return report(baseName, median(baseTimes), name, median(times), target);
}

/**
 * Peak RSS of a dry-run reading one hostile file. Each must end with the expected exit code (2: refused with an
 * input error; 1: read and simulated, some pods refused; 0: within every limit, read and passed over) and stay under
 * TARGETS.hostileRssBytes. Not timed.
 */
function hostileInputs() {
  const MB = 1024 * 1024;
  const cases = [
    // Read a document at a time: within every per-document limit, so simulated (exit 1: some pods are refused).
    { name: '50 MB of pods (read by document)', exit: 1, write: (f) => writeFileSync(f, generatePods(Math.ceil((50 * MB) / 400)).slice(0, 50 * MB)) },
    { name: '50 MB scalar (scalar limit)', exit: 2, write: (f) => writeFileSync(f, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${'a'.repeat(50 * MB)}\n`) },
    { name: '50 MB of list items (token limit)', exit: 2, write: (f) => writeFileSync(f, `items: [${'1,'.repeat(25 * MB)}1]\n`) },
    { name: '50 MB of quoted text (folded-text limit)', exit: 2, write: (f) => writeFileSync(f, Array.from({ length: 50 }, (_, i) => `k${i}: "${'q'.repeat(MB - 16)}"\n`).join('')) },
    { name: '65 MiB document (size limit)', exit: 2, write: (f) => writeFileSync(f, `# ${'x'.repeat(1021)}\n`.repeat(65 * 1024)) },
    { name: '/dev/zero (not a regular file)', exit: 2, path: '/dev/zero' },
    { name: 'costliest file within every limit', exit: 0, write: (f) => writeFileSync(f, costliestWithinLimits()) },
  ];
  console.log(`peak RSS while reading hostile input (bound ${(TARGETS.hostileRssBytes / 1024 ** 3).toFixed(2)} GiB per file)`);
  let ok = true;
  for (const c of cases) {
    const file = c.path ?? join(dir, 'hostile.yaml');
    if (c.write) c.write(file);
    const result = peakRss([BIN, 'dry-run', file, '--output', 'json']);
    const good = result.status === c.exit && result.bytes <= TARGETS.hostileRssBytes;
    ok &&= good;
    console.log(`  ${c.name.padEnd(42)} ${(result.bytes / MB).toFixed(0).padStart(5)} MiB  exit ${result.status}${good ? '' : ` MISSED (expected exit ${c.exit})`}  ${result.firstLine}`);
    if (!c.path) rmSync(file, { force: true });
  }
  return ok;
}

/**
 * Just inside every limit, the structures the yaml package spends most memory on: 57 one-megabyte plain scalars
 * (the file's text), four folded block scalars of about 1 MiB (4 MiB of folded text), and a list of a million empty
 * items (the token budget). About 65 MB.
 */
function costliestWithinLimits() {
  const plain = Array.from({ length: 57 }, (_, i) => `p${i}: ${'a'.repeat(1_000_000)}\n`).join('');
  const folded = Array.from({ length: 4 }, (_, i) => `f${i}: >\n${'  abcdefghij\n'.repeat(80_499)}`).join('');
  return `${plain}${folded}n:\n${'  -\n'.repeat(999_700)}`;
}

function runOnce(command, args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, status: result.status, stderr: String(result.stderr) };
}

function check(what, result, codes) {
  if (!codes.includes(result.status)) throw new Error(`${what} exited ${result.status}: ${result.stderr.split('\n')[0]}`);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function report(baseName, base, name, measured, target) {
  const ratio = measured / base;
  const ok = ratio <= target;
  console.log(`  ${baseName.padEnd(24)} ${base.toFixed(0).padStart(6)} ms`);
  console.log(`  ${name.padEnd(24)} ${measured.toFixed(0).padStart(6)} ms`);
  console.log(`  ratio ${ratio.toFixed(2)}x (target <= ${target}x) ${ok ? 'ok' : 'MISSED'}`);
  return ok;
}

/** Peak resident set size in bytes, exit status and first stderr line: GNU time when installed, else a wrapper reading process.resourceUsage(). */
function peakRss(args) {
  if (existsSync('/usr/bin/time')) {
    const result = spawnSync('/usr/bin/time', ['-v', process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
    const stderr = String(result.stderr);
    const kib = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
    const status = /Exit status: (\d+)/.exec(stderr)?.[1];
    if (kib) return { bytes: Number(kib) * 1024, status: status === undefined ? null : Number(status), firstLine: stderr.split('\n')[0]?.slice(0, 100) ?? '' };
  }
  // maxRSS covers this process only, so the CLI runs in-process inside the wrapper.
  const wrapper = `process.argv.splice(1, 1);process.on('exit',()=>process.stderr.write('RSS='+process.resourceUsage().maxRSS+'\\n'));await import(${JSON.stringify(BIN)});`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', wrapper, 'wrapper', ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  const stderr = String(result.stderr);
  return { bytes: Number(/RSS=(\d+)/.exec(stderr)?.[1] ?? Infinity) * 1024, status: result.status, firstLine: stderr.split('\n')[0]?.slice(0, 100) ?? '' };
}

/** Pods covering the model's inputs: every annotation value kind, the fields, init containers, privileged, namespaces. */
function generatePods(count) {
  const requests = ['runtime/default', 'unconfined', 'localhost/k8s-apparmor-example-deny-write', 'localhost/missing-profile', 'bogus-value'];
  const fieldTypes = ['RuntimeDefault', 'Unconfined', 'Localhost'];
  const docs = [];
  for (let i = 0; i < count; i++) {
    const namespace = ['default', 'team-a', 'team-b', 'restricted'][i % 4];
    const annotation = requests[i % requests.length];
    const useField = i % 3 === 0;
    const lines = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      `  name: pod-${i}`,
      `  namespace: ${namespace}`,
      '  labels:',
      `    app: bench-${i % 50}`,
    ];
    if (!useField) {
      lines.push('  annotations:', `    container.apparmor.security.beta.kubernetes.io/app: ${annotation}`);
      if (i % 7 === 0) lines.push(`    container.apparmor.security.beta.kubernetes.io/init: runtime/default`);
    }
    lines.push('spec:');
    if (useField && i % 2 === 0) {
      const type = fieldTypes[i % fieldTypes.length];
      lines.push('  securityContext:', '    appArmorProfile:', `      type: ${type}`);
      if (type === 'Localhost') lines.push('      localhostProfile: k8s-apparmor-example-deny-write');
    }
    if (i % 7 === 0) {
      lines.push('  initContainers:', '  - name: init', '    image: busybox:1.36', '    command: ["sh", "-c", "true"]');
    }
    lines.push('  containers:', '  - name: app', '    image: busybox:1.36', '    command: ["sh", "-c", "cat /proc/1/attr/current && sleep 1h"]');
    if (useField && i % 2 === 1) {
      const type = fieldTypes[i % fieldTypes.length];
      lines.push('    securityContext:', `      privileged: ${i % 5 === 0}`, '      appArmorProfile:', `        type: ${type}`);
      if (type === 'Localhost') lines.push('        localhostProfile: k8s-apparmor-example-deny-write');
    } else if (i % 5 === 0) {
      lines.push('    securityContext:', '      privileged: true');
    }
    lines.push('    resources:', '      limits: {cpu: 100m, memory: 64Mi}');
    docs.push(lines.join('\n'));
  }
  return `${docs.join('\n---\n')}\n`;
}

/** The pods of generatePods as JSON-style flow documents, one per line, separated by `---`. */
function generateFlowPods(count) {
  return `${Array.from({ length: count }, (_, i) => JSON.stringify(kubectlLikeSmallPod(i))).join('\n---\n')}\n`;
}

function kubectlLikeSmallPod(i) {
  const requests = ['runtime/default', 'unconfined', 'localhost/k8s-apparmor-example-deny-write', 'localhost/missing-profile', 'bogus-value'];
  const useField = i % 3 === 0;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, namespace: ['default', 'team-a', 'team-b', 'restricted'][i % 4], labels: { app: `bench-${i % 50}` } }, spec: { containers: [{ name: 'app', image: 'busybox:1.36', command: ['sh', '-c', 'cat /proc/1/attr/current && sleep 1h'], resources: { limits: { cpu: '100m', memory: '64Mi' } } }] } };
  if (useField) pod.spec.containers[0].securityContext = { appArmorProfile: { type: ['RuntimeDefault', 'Unconfined', 'Localhost'][i % 3], ...(i % 3 === 2 ? { localhostProfile: 'k8s-apparmor-example-deny-write' } : {}) } };
  else pod.metadata.annotations = { 'container.apparmor.security.beta.kubernetes.io/app': requests[i % requests.length] };
  return pod;
}

/** The pods of generatePods wrapped in workloads of every kind, with scheduling fields the cluster filters on. */
function generateWorkloads(count) {
  const pods = generatePods(count).trimEnd().split('\n---\n');
  const kinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet'];
  return `${pods
    .map((pod, i) => {
      const kind = kinds[i % kinds.length];
      const lines = pod.split('\n');
      const meta = lines.slice(3, lines.indexOf('spec:'));
      const name = meta.find((l) => l.startsWith('  name:'));
      const namespace = meta.find((l) => l.startsWith('  namespace:'));
      const templateMeta = meta.filter((l) => l !== name && l !== namespace);
      const spec = lines.slice(lines.indexOf('spec:') + 1);
      if (i % 10 === 0) spec.push('  nodeSelector: {pool: gpu}', '  tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]');
      const apiVersion = kind === 'Job' || kind === 'CronJob' ? 'batch/v1' : 'apps/v1';
      const pad = kind === 'CronJob' ? '        ' : '    ';
      const template = [`${pad.slice(2)}template:`, `${pad}metadata:`, ...templateMeta.map((l) => pad + l), `${pad}spec:`, ...spec.map((l) => pad + l)];
      const body = kind === 'CronJob' ? ['spec:', '  schedule: "0 * * * *"', '  jobTemplate:', '    spec:', ...template] : ['spec:', '  selector: {matchLabels: {app: bench}}', ...template];
      return [`apiVersion: ${apiVersion}`, `kind: ${kind}`, 'metadata:', name, namespace, ...body].join('\n');
    })
    .join('\n---\n')}\n`;
}

/** Nodes in three setups: with the profile, without it, and tainted GPU nodes with it. */
function generateCluster(count) {
  const lines = ['version: "1.30"', 'namespaces:', '- {name: restricted, labels: {pod-security.kubernetes.io/enforce: restricted}}', 'nodes:'];
  for (let i = 0; i < count; i++) {
    const gpu = i % 10 === 9;
    lines.push(`- name: node-${i}`, `  labels: {pool: ${gpu ? 'gpu' : 'general'}, zone: zone-${i % 3}}`, '  runtime: containerd');
    if (gpu) lines.push('  taints: [{key: dedicated, value: gpu, effect: NoSchedule}]');
    lines.push(i % 2 === 0 || gpu ? '  profiles: [k8s-apparmor-example-deny-write]' : '  profiles: []');
  }
  return `${lines.join('\n')}\n`;
}
