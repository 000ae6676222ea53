// Hostile input for every reader of the built CLI (`npm run build` first): scenario files, dry-run manifests (files
// and standard input), --node and --cluster files, --profiles (aa-status text and JSON, the kernel's profile list,
// profile sources) and the flags. Each mistake is an input error: exit code 2, nothing on stdout, one line per error
// on stderr naming the file and, where the problem has one, the line; never a stack trace, never a hang or a crash.
// Small inputs are committed in fixtures/hostile/; large, binary and deeply nested ones are generated here, in the
// system temporary directory. Memory is bounded by LIMITS (io/load/source.ts) and measured by bench/run.mjs, not
// timed here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../io/load/source.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'apparmor-sim.js');
const HOSTILE = 'fixtures/hostile';
const POD = `${HOSTILE}/pod.yaml`;
const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-hostile-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[], options: { input?: string | Buffer; timeout?: number } = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    maxBuffer: 16 * 1024 * 1024,
    timeout: options.timeout ?? 50_000,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Exit 2, empty stdout, no stack trace, at most LIMITS.maxReportedErrors error lines plus one "more not shown" line,
 * every line `<label>[:line[:col]]: message` or `apparmor-sim: message`, and a line number when `line` says so.
 */
function expectInputError(run: Run, label: string, message: RegExp, line: boolean): void {
  const shown = `status ${String(run.status)} signal ${String(run.signal)}\n${run.stderr.slice(0, 2000)}`;
  expect(run.signal, shown).toBeNull();
  expect(run.status, shown).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).not.toMatch(/^\s+at |internal error|FATAL|Error: /m);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines.length).toBeLessThanOrEqual(LIMITS.maxReportedErrors + 2);
  const own = new RegExp(`^(?:${escape(label)}(?::\\d+(?::\\d+)?)?|apparmor-sim): \\S`);
  for (const l of lines) expect(l, shown).toMatch(new RegExp(`${own.source}|^Run 'apparmor-sim [a-z-]+ --help' for usage\\.$`));
  expect(run.stderr, shown).toMatch(message);
  const first = lines[0] ?? '';
  if (line) expect(first, shown).toMatch(new RegExp(`^${escape(label)}:\\d+(?::\\d+)?: `));
  else expect(first, shown).toMatch(new RegExp(`^(?:${escape(label)}|apparmor-sim): `));
}

// ---- generated inputs ----

interface Input {
  path: string;
  label: string;
}

const generated = (name: string, content: string | Buffer): Input => {
  const path = join(TMP, name);
  writeFileSync(path, content);
  // Files outside the working directory are named in full.
  return { path, label: path };
};
const fixture = (name: string): Input => ({ path: `${HOSTILE}/${name}`, label: `${HOSTILE}/${name}` });

const MB = 1024 * 1024;
let big: { scalar: Input; tokens: Input; oversized: Input; folded: Input };

beforeAll(() => {
  // 50 MB, three ways: one enormous scalar, a flood of tiny list items (tokens), quoted text the parser folds.
  big = {
    scalar: generated('scalar-50mb.yaml', `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${'a'.repeat(50 * MB)}\n`),
    tokens: generated('tokens-50mb.yaml', `items: [${'1,'.repeat(25 * MB)}1]\n`),
    folded: generated('quoted-50mb.yaml', Array.from({ length: 50 }, (_, i) => `k${i}: "${'q'.repeat(MB - 16)}"\n`).join('')),
    oversized: generated('over-limit.yaml', `# ${'x'.repeat(1021)}\n`.repeat(65 * 1024)),
  };
});

/** Hostile YAML any YAML reader must refuse, with the error it gives. */
function yamlCases(): { name: string; input: () => Input; message: RegExp; line: boolean }[] {
  return [
    { name: 'malformed YAML', input: () => fixture('malformed.yaml'), message: /: invalid YAML: /, line: true },
    { name: 'truncated YAML', input: () => fixture('truncated.yaml'), message: /invalid YAML: Missing closing "quote/, line: true },
    { name: 'an alias bomb', input: () => fixture('alias-bomb.yaml'), message: /Excessive alias count/, line: true },
    { name: 'duplicate keys', input: () => fixture('duplicate-keys.yaml'), message: /:5: invalid YAML: Map keys must be unique/, line: true },
    { name: 'deep flow nesting', input: () => generated('deep-flow.yaml', `${'['.repeat(100_000)}${']'.repeat(100_000)}\n`), message: /nesting deeper than 64 levels/, line: true },
    { name: 'deep block nesting', input: () => generated('deep-block.yaml', Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i)}k${i}:\n`).join('')), message: /:66: nesting deeper than 64 levels/, line: true },
    { name: 'deep compact sequences', input: () => generated('deep-compact.yaml', `${'- '.repeat(200_000)}x\n`), message: /nesting (too deep to parse|deeper than)/, line: true },
    { name: 'a NUL byte', input: () => generated('nul.yaml', Buffer.concat([Buffer.from('apiVersion: v1\nkind: Pod\n'), Buffer.from([0, 1, 2]), Buffer.from('\n')])), message: /:3: binary data \(NUL byte\)/, line: true },
    { name: 'invalid UTF-8', input: () => generated('latin1.yaml', Buffer.concat([Buffer.from('apiVersion: v1\nkind: Pod\nmetadata: {name: "'), Buffer.from([0xe9, 0xff]), Buffer.from('"}\n')])), message: /:3: invalid UTF-8/, line: true },
    { name: 'a 50 MB scalar', input: () => big.scalar, message: /:4: a scalar of \d+ characters, over the 1048576 limit/, line: true },
    { name: '50 MB of list items', input: () => big.tokens, message: /:1: more than 1000000 YAML tokens in one file/, line: true },
    { name: '50 MB of quoted text', input: () => big.folded, message: /:\d+: more than 4194304 characters of quoted or multi-line scalars/, line: true },
    { name: 'a file over the size limit', input: () => big.oversized, message: /: file is 68157440 bytes, over the 67108864-byte limit$/m, line: false },
    { name: 'a device that never ends (/dev/zero)', input: () => ({ path: '/dev/zero', label: '/dev/zero' }), message: /^\/dev\/zero: input is over the 67108864-byte limit$/m, line: false },
    {
      name: 'a pod with 300 containers',
      input: () => generated('many-containers.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n${Array.from({ length: 300 }, (_, i) => `  - name: c${i}\n`).join('')}`),
      message: /:5: containers: 300 containers, over the 256-container limit/,
      line: true,
    },
  ];
}

const YAML_READERS: { name: string; args: (file: string) => string[] }[] = [
  { name: 'scenarios run', args: (f) => ['scenarios', 'run', f] },
  { name: 'dry-run manifests', args: (f) => ['dry-run', f] },
  { name: 'dry-run --node', args: (f) => ['dry-run', POD, '--node', f] },
  { name: 'dry-run --cluster', args: (f) => ['dry-run', POD, '--cluster', f] },
];

describe.each(YAML_READERS)('$name refuses hostile YAML', ({ args }) => {
  it.each(yamlCases())('$name', ({ input, message, line }) => {
    const { path, label } = input();
    expectInputError(cli(args(path)), label, message, line);
  });
});

describe('dry-run - (standard input) refuses hostile YAML', () => {
  it.each(yamlCases().filter((c) => !c.name.includes('/dev/zero') && !c.name.includes('size limit')))('$name', ({ input, message, line }) => {
    const { path } = input();
    expectInputError(cli(['dry-run', '-'], { input: readFileSync(path) }), '<stdin>', message, line);
  });

  it('an endless stream over the size limit', () => {
    expectInputError(cli(['dry-run', '-'], { input: Buffer.alloc(LIMITS.maxFileBytes + 1, 0x20) }), '<stdin>', /^<stdin>: input is over the 67108864-byte limit$/m, false);
  });
});

describe('wrong types and unknown kinds or versions, per reader', () => {
  it.each([
    { name: 'scenario with wrongly typed keys', args: ['scenarios', 'run', `${HOSTILE}/wrong-types-scenario.yaml`], file: 'wrong-types-scenario.yaml', message: /:2: cluster: must be a map, got a list/ },
    { name: 'scenario with unknown versions and keys', args: ['scenarios', 'run', `${HOSTILE}/unknown-versions-scenario.yaml`], file: 'unknown-versions-scenario.yaml', message: /unknown Kubernetes version 1\.36[^\n]*\n[^\n]*invalid Kubernetes version "2\.0"[\s\S]*unknown key/ },
    { name: 'pod with wrongly typed fields', args: ['dry-run', `${HOSTILE}/wrong-types-pod.yaml`], file: 'wrong-types-pod.yaml', message: /:10: [^\n]*privileged must be true or false, got string "yes"/ },
    { name: 'pod of an unknown apiVersion', args: ['dry-run', `${HOSTILE}/unknown-kinds-manifest.yaml`], file: 'unknown-kinds-manifest.yaml', message: /:1: apiVersion: Pods are apiVersion v1, got "v2"/ },
    { name: 'node file with wrong types', args: ['dry-run', POD, '--node', `${HOSTILE}/wrong-types-node.yaml`], file: 'wrong-types-node.yaml', message: /:1: appArmorEnabled: must be true or false, got string "yes"/ },
    { name: 'node file with unknown version, runtime, os, mode', args: ['dry-run', POD, '--node', `${HOSTILE}/unknown-versions-node.yaml`], file: 'unknown-versions-node.yaml', message: /:1: kubeletVersion: unknown Kubernetes version 1\.36[\s\S]*runtime "podman"[\s\S]*mode "paranoid"/ },
    { name: 'cluster file with wrong types', args: ['dry-run', POD, '--cluster', `${HOSTILE}/wrong-types-cluster.yaml`], file: 'wrong-types-cluster.yaml', message: /:3: nodes: must be a list, got string "node-1"/ },
  ])('$name', ({ args, file, message }) => {
    expectInputError(cli(args), `${HOSTILE}/${file}`, message, true);
  });

  it('other kinds in a manifest are listed as skipped with their line, not refused (README "dry-run")', () => {
    const input = generated('configmap.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n---\napiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n');
    const run = cli(['dry-run', input.path, '-o', 'json']);
    expect(run.status, run.stderr).toBe(0);
    const skipped = (JSON.parse(run.stdout) as { skipped: { line: number; kind: string }[] }).skipped;
    expect(skipped.map((s) => [s.kind, s.line])).toEqual([['ConfigMap', 1], ['Gadget', 5]]);
  });

  it('a flood of wrongly typed pods is reported as the first errors and a count of the rest', () => {
    const input = generated('many-errors.yaml', Array.from({ length: 500 }, (_, i) => `---\napiVersion: v1\nkind: Pod\nmetadata: {name: p${i}}\nspec: {containers: 5}\n`).join(''));
    const run = cli(['dry-run', input.path]);
    expectInputError(run, input.label, /^apparmor-sim: 450 more input error\(s\) not shown$/m, true);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(LIMITS.maxReportedErrors + 1);
  });
});

describe('--profiles refuses hostile node facts', () => {
  const profiles = (file: string) => ['dry-run', POD, '--profiles', file];

  it.each([
    { name: 'truncated aa-status text', input: () => fixture('aa-status-truncated.txt'), message: /:3: header announces 38 enforce profiles but 2 are listed/, line: true },
    { name: 'aa-status JSON of the wrong shape', input: () => fixture('aa-status-json-wrong-types.json'), message: /:1: aa-status --json output has no "profiles" object/, line: true },
    { name: 'a kernel profile list with an unknown mode', input: () => fixture('kernel-profiles-bad-mode.txt'), message: /:2: unknown profile mode "paranoid"/, line: true },
    { name: 'an unclosed profile source', input: () => fixture('profile-unclosed'), message: /:5: /, line: true },
    { name: 'binary bytes', input: () => generated('profiles.bin', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00])), message: /:1: binary data \(NUL byte\)/, line: true },
    { name: 'invalid UTF-8', input: () => generated('profiles-latin1.txt', Buffer.concat([Buffer.from('apparmor module is loaded.\n1 profiles are loaded.\n1 profiles are in enforce mode.\n   caf'), Buffer.from([0xe9]), Buffer.from('\n')])), message: /:4: invalid UTF-8/, line: true },
    { name: 'a file over the size limit', input: () => big.oversized, message: /: file is 68157440 bytes, over the 67108864-byte limit$/m, line: false },
    { name: 'a device that never ends (/dev/zero)', input: () => ({ path: '/dev/zero', label: '/dev/zero' }), message: /^\/dev\/zero: input is over the 67108864-byte limit$/m, line: false },
  ])('$name', ({ input, message, line }) => {
    const { path, label } = input();
    expectInputError(cli(profiles(path)), label, message, line);
  });

  it('truncated aa-status --json is refused, naming the file', () => {
    const input = generated('aa-status-cut.json', '{"version": "1", "profiles": {"k8s-apparmor-example-deny-write": "enf');
    // The JSON reader (sim/nodefacts/aa-status.ts) reports JSON.parse's error without a line.
    expectInputError(cli(profiles(input.path)), input.label, /aa-status --json output is not valid JSON/, false);
  });

  it('profile files named by a --node file go through the same checks, blamed on the profile file', () => {
    const profile = generated('node-profile.bin', Buffer.from([0, 0, 0]));
    const node = generated('node-with-profile-files.yaml', `profileFiles: [${JSON.stringify(profile.path)}]\n`);
    expectInputError(cli(['dry-run', POD, '--node', node.path]), profile.label, /:1: binary data \(NUL byte\)/, true);
  });

  it('a valid 50 MB aa-status report is read (not an error) without running out of memory', () => {
    const count = 2_400_000;
    const body = Array.from({ length: count }, (_, i) => `   k8s-profile-${String(i).padStart(7, '0')}\n`).join('');
    const input = generated('aa-status-50mb.txt', `apparmor module is loaded.\n${count} profiles are loaded.\n${count} profiles are in enforce mode.\n${body}`);
    const run = cli(profiles(input.path));
    // The pod asks for a profile the report does not list: refused by the runtime, exit 1, no crash.
    expect([run.status, run.signal], run.stderr.slice(0, 500)).toEqual([1, null]);
    expect(run.stdout).toContain('apparmor profile not found k8s-apparmor-example-deny-write');
  });

  // The built-in profile reader runs even when apparmor_parser is installed (to learn the modes); it must stay linear
  // (it was quadratic once: 200 KB of prose took about 10 s).
  it('400 KB of text that is no profile is refused at once', () => {
    const input = generated('prose.txt', 'this is not an AppArmor profile, nor aa-status output\n'.repeat(8_000).replace(/,/g, ''));
    expectInputError(cli(profiles(input.path), { timeout: 10_000 }), input.label, /: /, true);
  }, 30_000);
});

describe('flags', () => {
  it.each([
    ['an unmodelled version', ['--k8s-version', '1.36'], /^apparmor-sim: --k8s-version: unknown Kubernetes version 1\.36/],
    ['a version of four numbers', ['--kubelet-version', '1.30.1.2'], /^apparmor-sim: --kubelet-version: invalid Kubernetes version/],
    ['a 100 KB version', ['--k8s-version', 'v1.'.padEnd(100_000, '9')], /^apparmor-sim: --k8s-version: /],
    ['control characters in a version', ['--k8s-version', '1.3\u0007\u001b[2J'], /^apparmor-sim: --k8s-version: /],
    ['an empty version', ['--k8s-version', ''], /^apparmor-sim: --k8s-version: /],
    ['a malformed gate list', ['--feature-gates', 'AppArmor=true,=false'], /^apparmor-sim: --feature-gates: malformed entry "=false"/],
    ['a locked gate', ['--k8s-version', '1.31', '--feature-gates', 'AppArmor=false'], /^apparmor-sim: --feature-gates: kube-apiserver 1\.31 does not start/],
    ['a namespace that is no DNS label', ['--namespace', '../../etc'], /^apparmor-sim: --namespace: "\.\.\/\.\.\/etc" is not a valid namespace name/],
    ['a 300-character namespace', ['--namespace', 'n'.repeat(300)], /^apparmor-sim: --namespace: /],
    ['a label without a value separator', ['--namespace-labels', 'pod-security.kubernetes.io/enforce'], /^apparmor-sim: --namespace-labels: malformed label/],
    ['an unknown runtime', ['--runtime', 'docker\n'], /^apparmor-sim: --runtime: unknown value/],
    ['an unknown output', ['--output', 'json,junit'], /^apparmor-sim: --output: unknown value "json,junit"/],
    ['an unknown option', ['--k8s-versoin', '1.30'], /^apparmor-sim: unknown option --k8s-versoin/],
    ['a missing value', ['--node'], /^apparmor-sim: option --node needs a value/],
    ['a missing node file', ['--node', `${HOSTILE}/nope.yaml`], /^fixtures\/hostile\/nope\.yaml: cannot read: no such file or directory$/m],
  ])('%s', (_name, flags, message) => {
    const run = cli(['dry-run', POD, ...flags]);
    const label = flags.includes('--node') && flags.length > 1 ? `${HOSTILE}/nope.yaml` : 'apparmor-sim';
    expectInputError(run, label, message, false);
    // One line per error, plus at most the pointer to --help.
    expect(run.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2);
  });
});
