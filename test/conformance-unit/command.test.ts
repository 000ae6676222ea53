// `apparmor-sim conformance`: argument parsing, exit codes, and the built CLI's preflight with stand-in kind and
// docker executables on PATH (real processes; no container engine needed).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../io/args.js';
import { InputFailure } from '../../io/load/source.js';
import { newRunId, parseRunArguments } from '../../conformance/command.js';
import { hostExec } from '../../conformance/exec.js';
import { CommandNotFound } from '../../conformance/exec.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'apparmor-sim.js');
const BUILT = existsSync(join(ROOT, 'dist', 'conformance', 'command.js'));
const TMP = mkdtempSync(join(tmpdir(), 'conformance-cli-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe('parseRunArguments', () => {
  it('--kind picks the table image for the version and names the cluster after the run', () => {
    const parsed = parseRunArguments(['scenarios/', '--kind', '--k8s-version', '1.31'], 'k2j9x0ab');
    expect(parsed).toMatchObject({
      paths: ['scenarios/'],
      target: { kind: 'kind', minor: 31, image: expect.stringMatching(/^kindest\/node:v1\.31\.2@sha256:/), imageKind: 'v0.25.0', name: 'apparmor-sim-k2j9x0ab', workers: 0 },
      parallel: 4,
      timeoutSec: 300,
      output: 'table',
      logsDir: join('.conformance-runs', 'k2j9x0ab'),
    });
  });
  it('an explicit --image gives the version from its tag', () => {
    expect(parseRunArguments(['s', '--kind', '--image', 'kindest/node:v1.33.4'], 'x')).toMatchObject({ target: { minor: 33, image: 'kindest/node:v1.33.4', imageKind: undefined } });
    expect(() => parseRunArguments(['s', '--kind', '--image', 'kindest/node:v1.33.4', '--k8s-version', '1.34'], 'x')).toThrow('--image kindest/node:v1.33.4 is Kubernetes 1.33, but --k8s-version says 1.34');
  });
  it('defaults to the existing-cluster mode', () => {
    expect(parseRunArguments(['s', '--kubeconfig', 'k', '--context', 'c', '-o', 'junit', '--parallel', '8', '--timeout', '60'], 'x')).toMatchObject({ target: { kind: 'kubeconfig', kubeconfig: 'k', context: 'c' }, output: 'junit', parallel: 8, timeoutSec: 60 });
  });
  it('refuses contradictions and bad values, one line each', () => {
    const cases: Array<[string[], string]> = [
      [[], 'conformance run needs at least one scenario file or directory'],
      [['s', '--kind', '--kubeconfig', 'k'], '--kind creates its own cluster; it cannot be combined with --kubeconfig or --context'],
      [['s', '--k8s-version', '1.30'], '--k8s-version only apply with --kind'],
      [['s', '--kind', '--k8s-version', '1.20'], '--k8s-version: no kind node image for 1.20 in the table (have 1.24, 1.25, 1.26, 1.27, 1.28, 1.29, 1.30, 1.31, 1.32, 1.33, 1.34, 1.35); pass --image kindest/node:v1.20.N'],
      [['s', '--parallel', '0'], '--parallel: expected a whole number from 1 to 64, got "0"'],
      [['s', '--timeout', 'soon'], '--timeout: expected a whole number from 10 to 86400, got "soon"'],
      [['s', '-o', 'xml'], '--output: unknown value "xml" (expected one of: table, json, junit)'],
      [['s', '--bogus'], 'unknown option --bogus'],
    ];
    for (const [argv, message] of cases) {
      const error = (() => {
        try {
          parseRunArguments(argv, 'x');
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((error as Error).message).toBe(message);
    }
  });
  it('refuses feature gates the kind version would not start with', () => {
    expect(() => parseRunArguments(['s', '--kind', '--k8s-version', '1.31', '--feature-gates', 'AppArmor=false'], 'x')).toThrow(InputFailure);
    expect(parseRunArguments(['s', '--kind', '--k8s-version', '1.30', '--feature-gates', 'AppArmor=false'], 'x')).toMatchObject({ featureGates: { AppArmor: false } });
  });
  it('run ids are eight characters valid in names', () => {
    for (let i = 0; i < 50; i++) expect(newRunId()).toMatch(/^[a-z0-9]{8}$/);
  });
});

describe('hostExec', () => {
  it('maps a missing binary to CommandNotFound', async () => {
    await expect(hostExec.run('apparmor-sim-no-such-binary', [])).rejects.toBeInstanceOf(CommandNotFound);
  });
  it('returns exit code and output of a real command', async () => {
    expect(await hostExec.run('sh', ['-c', 'echo out; echo err >&2; exit 3'])).toEqual({ exitCode: 3, stdout: 'out', stderr: 'err' });
  });
});

function stub(dir: string, name: string, script: string): void {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${script}\n`);
  chmodSync(file, 0o755);
}

function cli(args: string[], path: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { HOME: TMP, PATH: path, NO_COLOR: '1', ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!BUILT)(`built CLI${BUILT ? '' : ' (skipped: dist/conformance missing; run npm run build)'}`, () => {
  it('--kind without kind on PATH: exit 4, one line naming kind and how to install it', () => {
    const empty = mkdtempSync(join(TMP, 'empty-'));
    const run = cli(['conformance', 'run', 'scenarios/', '--kind'], empty);
    expect(run.status).toBe(4);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('apparmor-sim: conformance skipped: kind not found on PATH; install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation (e.g. `go install sigs.k8s.io/kind@v0.31.0`)\n');
  });

  it('--kind with kind but a Docker daemon that does not answer: exit 4, the daemon error on one line', () => {
    const bin = mkdtempSync(join(TMP, 'bin-'));
    stub(bin, 'kind', 'echo "kind v0.31.0 go1.25.5 linux/amd64"');
    stub(bin, 'docker', 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1');
    const run = cli(['conformance', 'run', 'scenarios/', '--kind', '-o', 'junit'], bin);
    expect(run.status).toBe(4);
    expect(run.stderr).toBe('apparmor-sim: conformance skipped: no container engine for kind: docker is installed but not usable (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?); start the Docker daemon or install Docker (https://docs.docker.com/engine/install/) or Podman\n');
    expect(run.stdout).toContain('<skipped message="no container engine for kind: docker is installed but not usable');
  });

  it('no kubeconfig: exit 4 with the reason', () => {
    const run = cli(['conformance', 'run', 'scenarios/'], mkdtempSync(join(TMP, 'empty-')), { KUBECONFIG: '' });
    expect(run.status).toBe(4);
    expect(run.stderr).toBe('apparmor-sim: conformance skipped: no kubeconfig: KUBECONFIG is unset or names no existing file, and ~/.kube/config does not exist; pass --kubeconfig FILE, or --kind to create a cluster\n');
  });

  it('hostile --kubeconfig inputs end with one line and exit 2, in bounded time: /dev/zero, a FIFO, a directory, a missing file, a wrong --context', () => {
    const fifo = join(TMP, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const good = join(TMP, 'kubeconfig');
    writeFileSync(good, ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: c', '  cluster: {server: "https://127.0.0.1:1"}', 'users:', '- name: u', '  user: {token: t}', 'contexts:', '- name: only', '  context: {cluster: c, user: u}', 'current-context: only', ''].join('\n'));
    const cases: Array<[string[], string]> = [
      [['--kubeconfig', '/dev/zero'], 'apparmor-sim: --kubeconfig /dev/zero: not a regular file (a character device)\n'],
      [['--kubeconfig', fifo], `apparmor-sim: --kubeconfig ${fifo}: not a regular file (a FIFO)\n`],
      [['--kubeconfig', TMP], `apparmor-sim: --kubeconfig ${TMP}: not a regular file (a directory)\n`],
      [['--kubeconfig', join(TMP, 'missing')], `apparmor-sim: --kubeconfig ${join(TMP, 'missing')}: no such file\n`],
      [['--kubeconfig', good, '--context', 'other'], `apparmor-sim: --context other: no such context in --kubeconfig ${good} (have: only)\n`],
    ];
    for (const [flags, stderr] of cases) {
      const started = Date.now();
      const run = cli(['conformance', 'run', 'scenarios/', ...flags, '-o', 'junit'], '/usr/bin:/bin');
      expect(run.stderr, flags.join(' ')).toBe(stderr);
      expect(run.status, flags.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(Date.now() - started).toBeLessThan(20_000);
    }
  });

  it('KUBECONFIG naming a device or a FIFO is refused the same way (exit 2), without reading it', () => {
    const run = cli(['conformance', 'run', 'scenarios/'], '/usr/bin:/bin', { KUBECONFIG: '/dev/zero' });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('apparmor-sim: KUBECONFIG file /dev/zero: not a regular file (a character device)\n');
  });

  it('a kubeconfig whose credential plugin fails: exit 2 naming the plugin, not the API server', () => {
    const file = join(TMP, 'kubeconfig-exec');
    writeFileSync(file, ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: c', '  cluster: {server: "https://127.0.0.1:1"}', 'users:', '- name: u', '  user:', '    exec: {apiVersion: client.authentication.k8s.io/v1, command: sh, args: ["-c", "echo token expired >&2; exit 3"]}', 'contexts:', '- name: only', '  context: {cluster: c, user: u}', 'current-context: only', ''].join('\n'));
    const run = cli(['conformance', 'run', 'scenarios/', '--kubeconfig', file], '/usr/bin:/bin');
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('apparmor-sim: credential plugin "sh -c echo token expired >&2; exit 3" of kubeconfig user "u" failed (exit code 3): token expired\n');
  });

  it('usage errors exit 2 with a pointer to help', () => {
    const run = cli(['conformance', 'run', 'scenarios/', '--kind', '--context', 'x'], '/usr/bin:/bin');
    expect(run.status).toBe(2);
    expect(run.stderr).toBe("apparmor-sim: --kind creates its own cluster; it cannot be combined with --kubeconfig or --context\nRun 'apparmor-sim conformance --help' for usage.\n");
  });

  it('help lists the exit codes, 4 included', () => {
    const run = cli(['conformance', '--help'], '/usr/bin:/bin');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('  4    no cluster at all');
  });

  it('images prints the table; --output json for CI matrices', () => {
    const run = cli(['conformance', 'images', '-o', 'json'], '/usr/bin:/bin');
    expect(run.status).toBe(0);
    const rows = JSON.parse(run.stdout) as Array<{ version: string; image: string; kind: string }>;
    expect(rows.map((r) => r.version)).toEqual(['1.24', '1.25', '1.26', '1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34', '1.35']);
  });

  it('the console examples of docs/conformance.md print what they show without kind on the PATH', () => {
    const section = readFileSync(join(ROOT, 'docs', 'conformance.md'), 'utf8');
    const examples = [...section.matchAll(/^```console\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
    expect(examples.length).toBeGreaterThan(0);
    for (const block of examples) {
      const [command, ...output] = block.trimEnd().split('\n');
      const args = /^\$ npx apparmor-sim (.*)$/.exec(command ?? '')?.[1]?.split(/\s+/) ?? [];
      const run = cli(args, '/usr/bin:/bin');
      expect(run.status).toBe(0);
      expect(run.stdout.trimEnd()).toBe(output.join('\n'));
    }
    expect(section).toContain('| 4 | no cluster at all');
  });

  it('scenarios run --recordings checks the shipped recordings', () => {
    const run = cli(['scenarios', 'run', 'scenarios/', '--recordings', 'conformance/recordings'], '/usr/bin:/bin');
    expect(run.stdout).toContain('RECORDING PASS tutorial-fields-allow-write-not-loaded-1.30');
    expect(run.stdout).toContain('recordings: 12 agree, 0 disagree');
  });
});
