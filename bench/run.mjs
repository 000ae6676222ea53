#!/usr/bin/env node
// Benchmark for the dry-run path (`npm run bench`, after a build). Targets:
//   10,000-pod file:  dry-run --output json  <= 1.5x  parsing the same file with the yaml package alone
//   cold start:       dry-run of one pod      <= 2.5x  `node -e 0`
//   peak RSS of the 10,000-pod dry-run        <= 1 GiB
//   peak RSS while reading hostile input      <= 1.25 GiB per input file (LIMITS in io/load/source.ts): 50 MB files
//     refused by a limit, a file over the size limit, an endless device, and the costliest file within every limit
// Exits 1 when a target is missed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'apparmor-sim.js');
const POD_COUNT = 10_000;
const TARGETS = { throughput: 1.5, coldStart: 2.5, rssBytes: 1024 ** 3, hostileRssBytes: 1.25 * 1024 ** 3 };

const dir = mkdtempSync(join(tmpdir(), 'apparmor-sim-bench-'));
try {
  process.exitCode = run() ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function run() {
  const bigFile = join(dir, 'pods.yaml');
  const onePod = join(dir, 'one-pod.yaml');
  writeFileSync(bigFile, generatePods(POD_COUNT));
  writeFileSync(onePod, generatePods(1));
  const baselineScript = `const {parseAllDocuments}=require('yaml');const t=require('fs').readFileSync(${JSON.stringify(bigFile)},'utf8');parseAllDocuments(t).map(d=>d.toJS());`;

  // Both runs must succeed before their times mean anything.
  check('baseline', runOnce(process.execPath, ['-e', baselineScript]), [0]);
  check('dry-run', runOnce(process.execPath, [BIN, 'dry-run', bigFile, '--output', 'json']), [0, 1]);

  console.log(`dry-run throughput: ${POD_COUNT} pods, median of 3 runs`);
  const baseline = median(3, () => runOnce(process.execPath, ['-e', baselineScript]).ms);
  const dryRun = median(3, () => runOnce(process.execPath, [BIN, 'dry-run', bigFile, '--output', 'json']).ms);
  const ok1 = report('yaml parse only', baseline, 'dry-run --output json', dryRun, TARGETS.throughput);

  console.log('cold start: one pod, median of 10 runs');
  const bare = median(10, () => runOnce(process.execPath, ['-e', '0']).ms);
  const cold = median(10, () => runOnce(process.execPath, [BIN, 'dry-run', onePod]).ms);
  const ok2 = report('node -e 0', bare, 'dry-run one pod', cold, TARGETS.coldStart);

  // Workloads (pod templates) on a 50-node cluster: every pod is checked against every node.
  const workloadFile = join(dir, 'workloads.yaml');
  const clusterFile = join(dir, 'cluster.yaml');
  writeFileSync(workloadFile, generateWorkloads(POD_COUNT));
  writeFileSync(clusterFile, generateCluster(50));
  const workloadBaseline = baselineScript.replace(JSON.stringify(bigFile), JSON.stringify(workloadFile));
  const clusterArgs = [BIN, 'dry-run', workloadFile, '--cluster', clusterFile, '--output', 'json'];
  check('dry-run --cluster', runOnce(process.execPath, clusterArgs), [0, 1]);
  console.log(`dry-run of ${POD_COUNT} workloads on a 50-node cluster, median of 3 runs`);
  const workloadBase = median(3, () => runOnce(process.execPath, ['-e', workloadBaseline]).ms);
  const clusterRun = median(3, () => runOnce(process.execPath, clusterArgs).ms);
  const ok4 = report('yaml parse only', workloadBase, 'dry-run --cluster (json)', clusterRun, TARGETS.throughput);

  const rss = peakRss([BIN, 'dry-run', bigFile, '--output', 'json']).bytes;
  const ok3 = rss <= TARGETS.rssBytes;
  console.log(`peak RSS of the ${POD_COUNT}-pod dry-run: ${(rss / 1024 ** 2).toFixed(0)} MiB (bound ${(TARGETS.rssBytes / 1024 ** 3).toFixed(0)} GiB) ${ok3 ? 'ok' : 'MISSED'}`);
  const ok5 = hostileInputs();
  return ok1 && ok2 && ok3 && ok4 && ok5;
}

/**
 * Peak RSS of a dry-run reading one hostile file. Each must end with the expected exit code (2: refused with an
 * input error; 0: within every limit, read and passed over) and stay under TARGETS.hostileRssBytes. Not timed.
 */
function hostileInputs() {
  const MB = 1024 * 1024;
  const cases = [
    { name: '50 MB of pods (token limit)', exit: 2, write: (f) => writeFileSync(f, generatePods(Math.ceil((50 * MB) / 400)).slice(0, 50 * MB)) },
    { name: '50 MB scalar (scalar limit)', exit: 2, write: (f) => writeFileSync(f, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${'a'.repeat(50 * MB)}\n`) },
    { name: '50 MB of list items (token limit)', exit: 2, write: (f) => writeFileSync(f, `items: [${'1,'.repeat(25 * MB)}1]\n`) },
    { name: '50 MB of quoted text (folded-text limit)', exit: 2, write: (f) => writeFileSync(f, Array.from({ length: 50 }, (_, i) => `k${i}: "${'q'.repeat(MB - 16)}"\n`).join('')) },
    { name: '65 MiB file (size limit)', exit: 2, write: (f) => writeFileSync(f, `# ${'x'.repeat(1021)}\n`.repeat(65 * 1024)) },
    { name: '/dev/zero (size limit while reading)', exit: 2, path: '/dev/zero' },
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

function median(runs, measure) {
  const times = Array.from({ length: runs }, measure).sort((a, b) => a - b);
  return times[Math.floor(runs / 2)];
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
