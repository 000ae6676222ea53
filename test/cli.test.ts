// End-to-end tests of the built CLI (`npm test` builds dist/ first; locally run `npm run build`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'apparmor-sim.js');
const FIXTURES = 'test/fixtures-cli';
const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-cli-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function json(run: Run): Record<string, unknown> {
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/**
 * An input error: exit 2, every stderr line `file:line[:col]: message` or `apparmor-sim: message`, no stack. A file or
 * document the reader refuses is also listed in the report on stdout, whose summary counts it; a flag or settings
 * file error leaves stdout empty.
 */
function expectInputError(run: Run, pattern: RegExp): void {
  expect(run.status, run.stderr).toBe(2);
  if (run.stdout !== '') expect(run.stdout).toMatch(/; \d+ input errors?\n$/);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  for (const line of run.stderr.trimEnd().split('\n')) expect(line).toMatch(/^(apparmor-sim|[^:\s][^:]*:\d+(:\d+)?|[^:\s][^:]*): \S/);
}

const POD_KEYS = ['file', 'line', 'kind', 'namespace', 'name', 'outcome', 'stage', 'reason', 'message', 'warnings', 'containers'];
const CONTAINER_KEYS = ['name', 'kind', 'requested', 'requestedBy', 'appliedProfile', 'procAttrCurrent', 'state', 'waitingReason'];

describe('apparmor-sim top level', () => {
  it('prints the package version', () => {
    const run = cli(['--version']);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(run).toMatchObject({ status: 0, stdout: `${version}\n` });
  });

  it('documents the exit codes in --help, per command too', () => {
    for (const args of [['--help'], ['dry-run', '--help'], ['scenarios', '-h']]) {
      const run = cli(args);
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^Usage: apparmor-sim/);
      expect(run.stdout).toContain('3  internal error');
    }
  });

  it('rejects unknown options and commands with a usage hint', () => {
    const run = cli(['dry-run', `${FIXTURES}/runs.yaml`, '--bogus']);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("apparmor-sim: unknown option --bogus\nRun 'apparmor-sim dry-run --help' for usage.\n");
    expect(cli(['frobnicate']).stderr).toMatch(/^apparmor-sim: unknown command "frobnicate"/);
    expect(cli(['dry-run']).status).toBe(2);
  });

  it('says when the conformance harness is not built in', () => {
    if (existsSync(join(ROOT, 'dist/conformance/command.js'))) return;
    const run = cli(['conformance', 'run']);
    expect(run).toMatchObject({ status: 2, stderr: 'apparmor-sim: conformance harness not available in this build\n' });
  });

  it('loads neither the Kubernetes client nor execa for a dry run', () => {
    const log = join(TMP, 'resolved.log');
    const hooks = join(TMP, 'hooks.mjs');
    // The built CLI is CommonJS chunks (scripts/build.mjs): what require() loaded is in require.cache at exit, and
    // each chunk marks where a module's code starts (// dist/conformance/…). The Kubernetes client and execa are ES
    // modules, imported: the resolve hook sees them.
    writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const result = await next(specifier, context);\n  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');\n  return result;\n}\n`);
    const preload = join(TMP, 'record-loads.cjs');
    writeFileSync(preload, `const { appendFileSync } = require('node:fs');\nrequire('node:module').register(${JSON.stringify(`file://${hooks}`)});\nprocess.on('exit', () => appendFileSync(${JSON.stringify(log)}, Object.keys(require.cache).join('\\n') + '\\n'));\n`);
    const result = spawnSync(process.execPath, ['--require', preload, BIN, 'dry-run', `${FIXTURES}/runs.yaml`], { cwd: ROOT, encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const resolved = readFileSync(log, 'utf8');
    const chunks = resolved.split('\n').filter((file) => /\/dist\/bundle\/[^/]*\.cjs$/.test(file));
    const code = chunks.map((file) => readFileSync(file, 'utf8')).join('\n');
    expect(code).toMatch(/^\/\/ dist\/cli\/commands\/dry-run\.js$/m);
    expect(code).not.toMatch(/^\/\/ dist\/conformance\//m);
    expect(resolved).not.toMatch(/client-node|execa|conformance/);
  });
});

describe('apparmor-sim dry-run', () => {
  it('exits 0 when every pod runs', () => {
    const run = cli(['dry-run', `${FIXTURES}/runs.yaml`, '--k8s-version', '1.30']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${FIXTURES}/runs.yaml:1  default/runs  Run  runtime\n    app: cri-containerd.apparmor.d (enforce)\n1 pod: 1 run, 0 refused; 0 skipped\n`);
  });

  it('exits 1 when a pod is refused, with the API error', () => {
    const run = cli(['dry-run', `${FIXTURES}/refused.yaml`, '--k8s-version', '1.20']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('default/refused  Forbidden  apiserver  Invalid  Pod "refused" is invalid');
  });

  it('prints the documented JSON shape', () => {
    const run = cli(['dry-run', `${FIXTURES}/runs.yaml`, `${FIXTURES}/refused.yaml`, '-o', 'json']);
    expect(run.status).toBe(1);
    const body = json(run);
    expect(Object.keys(body)).toEqual(['schemaVersion', 'version', 'results', 'skipped', 'k8sVersions', 'kubeletVersion', 'errors']);
    expect(body['version']).toBe(1);
    const results = body['results'] as Record<string, unknown>[];
    expect(results.map((r) => [r['name'], r['outcome']])).toEqual([['runs', 'Run'], ['refused', 'Forbidden']]);
    for (const result of results) {
      expect(Object.keys(result)).toEqual(POD_KEYS);
      for (const container of result['containers'] as Record<string, unknown>[]) expect(Object.keys(container)).toEqual(CONTAINER_KEYS);
    }
    expect(results[0]).toMatchObject({ file: `${FIXTURES}/runs.yaml`, line: 1, kind: 'Pod', namespace: 'default', stage: 'runtime', reason: '', message: '' });
  });

  it('adds the trace and the stored pod with --explain', () => {
    const [result] = json(cli(['dry-run', `${FIXTURES}/runs.yaml`, '-o', 'json', '--explain']))['results'] as Record<string, unknown>[];
    expect(Object.keys(result ?? {})).toEqual([...POD_KEYS, 'storedPod', 'trace']);
    expect((result?.['trace'] as unknown[]).length).toBeGreaterThan(5);
    expect(cli(['dry-run', `${FIXTURES}/runs.yaml`, '--explain']).stdout).toMatch(/^ {4}trace: pass +runtime-apply-apparmor-profile/m);
  });

  it('expands Lists and lists other kinds as skipped, with their lines', () => {
    const body = json(cli(['dry-run', `${FIXTURES}/mixed.yaml`, '-o', 'json']));
    const results = body['results'] as Record<string, unknown>[];
    expect(results.map((r) => `${String(r['namespace'])}/${String(r['name'])}@${String(r['line'])}`)).toEqual(['team-a/first@11', 'default/second@19']);
    expect(body['skipped']).toEqual([
      { file: `${FIXTURES}/mixed.yaml`, line: 1, kind: 'Service', name: 'web', why: 'not a Pod' },
      { file: `${FIXTURES}/mixed.yaml`, line: 16, kind: 'ConfigMap', name: 'config', why: 'not a Pod' },
    ]);
  });

  it('reads stdin for -', () => {
    const run = cli(['dry-run', '-', '-o', 'json'], { input: readFileSync(join(ROOT, FIXTURES, 'runs.yaml'), 'utf8') });
    expect(run.status).toBe(0);
    expect((json(run)['results'] as Record<string, unknown>[])[0]).toMatchObject({ file: '<stdin>', line: 1, name: 'runs' });
  });

  it('walks directories recursively, YAML files only', () => {
    const results = json(cli(['dry-run', `${FIXTURES}/dir`, '-o', 'json']))['results'] as Record<string, unknown>[];
    expect(results.map((r) => r['file'])).toEqual([`${FIXTURES}/dir/a.yaml`, `${FIXTURES}/dir/nested/b.yml`]);
  });

  it('writes valid JUnit XML with markup escaped', () => {
    const run = cli(['dry-run', `${FIXTURES}/runs.yaml`, `${FIXTURES}/refused.yaml`, '--output', 'junit']);
    expect(run.status).toBe(1);
    expect(() => checkXml(run.stdout)).not.toThrow();
    expect(run.stdout).toMatch(/<testsuite name="apparmor-sim dry-run" tests="2" failures="1"/);
    expect(run.stdout.match(/<testcase /g)).toHaveLength(2);
    expect(run.stdout).toMatch(/<failure type="Forbidden" message="Forbidden at apiserver: Invalid">[^<]*&lt;&amp;&gt;&apos;\\&quot;/);
  });

  it('takes node facts from --node, with flags overriding them', () => {
    const node = `${FIXTURES}/node-apparmor-off.yaml`;
    const pod = `${FIXTURES}/mixed.yaml`;
    expect(cli(['dry-run', pod, '--node', node]).stdout).toContain('app: running, AppArmor off on the node (no profile)');
    // The file's kubelet 1.29 with the flag's docker is a node no kubelet starts on; the file is blamed.
    expectInputError(cli(['dry-run', pod, '--node', node, '--runtime', 'docker']), /^test\/fixtures-cli\/node-apparmor-off\.yaml:2: runtime docker needs dockershim/);
    expect(cli(['dry-run', pod, '--node', node, '--runtime', 'docker', '--kubelet-version', '1.23']).status).toBe(0);
  });

  it('refuses bad flag values with one line each', () => {
    const cases: [string[], RegExp][] = [
      [['--k8s-version', '1.99'], /^apparmor-sim: --k8s-version: unknown Kubernetes version 1\.99/],
      [['--k8s-version', 'banana'], /^apparmor-sim: --k8s-version: invalid Kubernetes version "banana"/],
      [['--kubelet-version', 'v2.0'], /^apparmor-sim: --kubelet-version: invalid/],
      [['--runtime', 'podman'], /^apparmor-sim: --runtime: unknown value "podman" \(expected one of: containerd, cri-o, docker, remote, rkt\)/],
      [['--feature-gates', 'AppArmor'], /^apparmor-sim: --feature-gates: malformed entry "AppArmor"/],
      [['--feature-gates', 'AppArmor=maybe'], /malformed entry "AppArmor=maybe"/],
      [['--namespace-labels', 'novalue'], /^apparmor-sim: --namespace-labels: malformed label/],
      [['--output', 'xml'], /^apparmor-sim: --output: unknown value "xml"/],
      [['--k8s-version', '1.31', '--feature-gates', 'AppArmor=false'], /^apparmor-sim: --feature-gates: kube-apiserver 1\.31 does not start/],
      [['--k8s-version', '1.30', '--runtime', 'docker'], /^apparmor-sim: node: runtime docker needs dockershim/],
    ];
    for (const [flags, pattern] of cases) {
      const run = cli(['dry-run', `${FIXTURES}/runs.yaml`, ...flags]);
      expectInputError(run, pattern);
    }
    expect(cli(['dry-run', `${FIXTURES}/runs.yaml`, '--k8s-version', '1.99']).stderr.split('\n')).toHaveLength(2);
  });

  it('reports malformed YAML as file:line:col without a stack trace', () => {
    expectInputError(cli(['dry-run', `${FIXTURES}/malformed.yaml`]), /^test\/fixtures-cli\/malformed\.yaml:4:\d+: invalid YAML: /);
  });

  it('reports wrongly typed pod fields at their line', () => {
    expectInputError(cli(['dry-run', `${FIXTURES}/bad-pod.yaml`]), /^test\/fixtures-cli\/bad-pod\.yaml:9: .*privileged must be true or false/);
  });

  it('reports a missing file', () => {
    expectInputError(cli(['dry-run', `${FIXTURES}/nope.yaml`]), /^test\/fixtures-cli\/nope\.yaml: cannot read: no such file or directory$/m);
  });

  it('refuses binary input', () => {
    const file = join(TMP, 'nul.yaml');
    writeFileSync(file, Buffer.concat([Buffer.from('apiVersion: v1\nkind: Pod\n'), Buffer.from([0]), Buffer.from('\n')]));
    expectInputError(cli(['dry-run', file]), /nul\.yaml:3: binary data \(NUL byte\)/);
  });

  it('stops an alias bomb', () => {
    expectInputError(cli(['dry-run', `${FIXTURES}/alias-bomb.yaml`]), /alias-bomb\.yaml:\d+: invalid YAML: Excessive alias count/);
  });

  it('refuses a 70 MB document without parsing it', () => {
    const file = join(TMP, 'huge.yaml');
    const chunk = `# ${'x'.repeat(1021)}\n`;
    writeFileSync(file, chunk.repeat(70 * 1024));
    const started = Date.now();
    expectInputError(cli(['dry-run', file]), /huge\.yaml:1: a YAML document of more than 67108864 characters, over the limit/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expectInputError(cli(['dry-run', '-'], { input: readFileSync(file, 'utf8') }), /^<stdin>:1: a YAML document of more than 67108864 characters, over the limit/);
  });

  it('colours the table only for a terminal', () => {
    expect(cli(['dry-run', `${FIXTURES}/runs.yaml`], { env: { NO_COLOR: '' } }).stdout).not.toContain('\u001b[');
  });
});

describe('apparmor-sim scenarios run', () => {
  const dir = `${FIXTURES}/scenarios`;

  it('passes and fails scenarios, with a final count line', () => {
    const run = cli(['scenarios', 'run', dir]);
    expect(run.status, run.stderr).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toContain(`PASS cli-fixture-runtime-default ${dir}/pass.yaml:1`);
    expect(lines).toContain(`FAIL cli-fixture-wrong-expectation ${dir}/fail.yaml:2`);
    expect(lines.at(-1)).toBe('1 passed, 1 failed');
    // pod.yaml, the podFile target, is a manifest and not loaded as a scenario.
    expect(run.stdout).not.toContain('pod.yaml');
  });

  it('exits 0 when everything passes, honouring --filter', () => {
    const run = cli(['scenarios', 'run', dir, '--filter', 'runtime-default']);
    expect(run).toMatchObject({ status: 0, stdout: `PASS cli-fixture-runtime-default ${dir}/pass.yaml:1\n1 passed, 0 failed\n` });
    expectInputError(cli(['scenarios', 'run', dir, '--filter', 'nothing-matches']), /^apparmor-sim: --filter: no scenario name contains "nothing-matches"/);
  });

  it('prints exactly the documented JSON', () => {
    const body = json(cli(['scenarios', 'run', dir, '-o', 'json']));
    expect(Object.keys(body)).toEqual(['schemaVersion', 'total', 'passed', 'failed', 'results', 'errors']);
    expect(body).toMatchObject({ total: 2, passed: 1, failed: 1 });
    const [failed, passed] = body['results'] as Record<string, unknown>[];
    expect(Object.keys(failed ?? {})).toEqual(['name', 'file', 'passed', 'actual', 'mismatches']);
    expect(failed).toMatchObject({ name: 'cli-fixture-wrong-expectation', file: `${dir}/fail.yaml`, passed: false });
    expect(failed?.['mismatches']).toEqual([
      { field: 'outcome', expected: 'Blocked', actual: 'Run' },
      { field: 'stage', expected: 'kubelet', actual: 'runtime' },
    ]);
    expect(passed?.['actual']).toEqual({ outcome: 'Run', stage: 'runtime', reason: '', message: '', containers: { app: { profile: 'cri-containerd.apparmor.d (enforce)' } }, warnings: [] });
  });

  it('writes JUnit XML', () => {
    const run = cli(['scenarios', 'run', dir, '-o', 'junit']);
    expect(() => checkXml(run.stdout)).not.toThrow();
    expect(run.stdout).toContain('<failure type="mismatch" message="2 mismatches">');
  });

  it('reports scenario input errors with file:line', () => {
    const file = join(TMP, 'bad-scenario.yaml');
    writeFileSync(file, 'name: x\ncluster: {version: "1.99"}\npod: {}\nexpect: {outcome: Run}\n');
    expectInputError(cli(['scenarios', 'run', file]), /bad-scenario\.yaml:2: cluster\.version: unknown Kubernetes version 1\.99/);
  });

  it('needs the recordings module for --recordings', () => {
    if (existsSync(join(ROOT, 'dist/conformance/recordings.js'))) return;
    expectInputError(cli(['scenarios', 'run', dir, '--recordings', TMP]), /^apparmor-sim: --recordings: conformance recordings support not available in this build$/m);
  });

  it('needs the run subcommand', () => {
    expect(cli(['scenarios', dir]).stderr).toMatch(/^apparmor-sim: unknown subcommand/);
  });
});

/** A minimal well-formedness check: balanced tags, quoted attributes, no raw `<` or stray `&` in text. */
function checkXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let match: RegExpExecArray | null;
  let offset = 0;
  while (offset < body.length && (match = token.exec(body)) !== null) {
    offset = token.lastIndex;
    const [, closing, name, attributes, selfClosing, text] = match;
    const entities = (text ?? attributes ?? '').replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, '');
    if (entities.includes('&')) throw new Error(`unescaped & near offset ${offset}`);
    if (text !== undefined || !name) continue;
    if (closing) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}> at ${offset}`);
    } else if (!selfClosing) stack.push(name);
  }
  if (offset !== body.length) throw new Error(`not XML at offset ${offset}`);
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('>, <')}>`);
}
