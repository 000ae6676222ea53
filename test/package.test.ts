// The package as users get it: `npm pack` from a fresh copy of the sources (as a release or a git install builds it),
// installed with `npm install -g --prefix` into a temporary prefix, and run from outside any clone.
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-pack-'));
// Two installed dependency trees: removing them takes a while on a busy machine.
afterAll(() => rmSync(TMP, { recursive: true, force: true }), 120_000);

const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; files: string[] };

/** The environment without the npm_* variables `npm test` sets, which would point npm at this project's config. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return { ...env, NO_COLOR: '1' };
}

function run(command: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 240_000 });
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  expect(result.error, `${what}: ${String(result.error)}`).toBeUndefined();
  expect(result.status, `${what} failed:\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

/** A copy of the files a clone has (tracked, and new ones not ignored), without dist/ or node_modules. */
function copySources(into: string): void {
  mkdirSync(into, { recursive: true });
  const listed = ok(run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT), 'git ls-files');
  // node_modules is a symlink in worktrees, which `node_modules/` in .gitignore does not match.
  const files = listed.split('\0').filter((f) => f !== '' && f !== 'node_modules' && !f.startsWith('dist/'));
  const tar = spawnSync('tar', ['--null', '-T', '-', '-cf', '-'], { cwd: ROOT, input: files.join('\0'), maxBuffer: 256 * 1024 * 1024 });
  expect(tar.status, String(tar.stderr)).toBe(0);
  const extract = spawnSync('tar', ['-xf', '-'], { cwd: into, input: tar.stdout });
  expect(extract.status, String(extract.stderr)).toBe(0);
}

describe('npm pack and install', () => {
  it('packs a built package without stale files, installs it into a prefix, and runs it', () => {
    const source = join(TMP, 'src');
    copySources(source);
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    // A module left over from an earlier build must not ship: the build starts from an empty dist/.
    mkdirSync(join(source, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(source, 'dist', 'cli', 'removed-long-ago.js'), 'export {};\n');

    const out = join(TMP, 'out');
    mkdirSync(out);
    const packed = JSON.parse(ok(run('npm', ['pack', '--json', '--pack-destination', out], source), 'npm pack')) as { filename: string; files: { path: string }[] }[];
    const paths = (packed[0]?.files ?? []).map((f) => f.path);
    expect(paths).toContain('bin/apparmor-sim.js');
    expect(paths).toContain('dist/cli/main.js');
    expect(paths).toContain('dist/sim/simulate.d.ts');
    expect(paths).toContain('examples/hello-apparmor.yaml');
    expect(paths).not.toContain('dist/cli/removed-long-ago.js');
    // Sources and tests stay in the repository: only compiled code, declarations, data and docs ship.
    expect(paths.filter((p) => p.startsWith('test/') || (p.endsWith('.ts') && !p.endsWith('.d.ts')))).toEqual([]);

    const tarball = join(out, packed[0]?.filename ?? '');
    const prefix = join(TMP, 'prefix');
    // Same dependencies as the project: from npm's cache when it has them, else from the registry.
    ok(run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], TMP), 'npm install -g');

    const bin = join(prefix, 'bin', 'apparmor-sim');
    expect(ok(run(bin, ['--version'], TMP), 'apparmor-sim --version')).toBe(`${MANIFEST.version}\n`);
    const installed = join(prefix, 'lib', 'node_modules', 'apparmor-sim');
    const dryRun = run(bin, ['dry-run', join(installed, 'examples/hello-apparmor.yaml'), '--k8s-version', '1.30', '--profiles', join(installed, 'examples/profiles/k8s-apparmor-example-deny-write')], TMP);
    expect(dryRun.status, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toContain('default/hello-apparmor  Run  runtime\n    hello: k8s-apparmor-example-deny-write (enforce)\n');
    // Refused on a node without the profile: exit code 1, the runtime's message.
    const refused = run(bin, ['dry-run', join(installed, 'examples/hello-apparmor.yaml'), '--k8s-version', '1.30'], TMP);
    expect(refused.status, refused.stderr).toBe(1);
    expect(refused.stdout).toContain('CreateContainerError');
  }, 300_000);

  it('installs from git as a dependency: npm installs the dev dependencies and runs prepare, which builds', () => {
    // A git repository of the sources, as `npm install git+https://…` would clone it.
    const repo = join(TMP, 'repo');
    copySources(repo);
    ok(run('git', ['init', '-q'], repo), 'git init');
    ok(run('git', ['add', '-A'], repo), 'git add');
    ok(run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', 'commit', '-qm', 'sources'], repo), 'git commit');
    const project = join(TMP, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{"name": "consumer", "version": "1.0.0", "private": true}\n');
    ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `git+file://${repo}`], project), 'npm install <git URL>');
    const bin = join(project, 'node_modules', '.bin', 'apparmor-sim');
    expect(ok(run(bin, ['--version'], project), 'apparmor-sim --version')).toBe(`${MANIFEST.version}\n`);
    const dryRun = run(bin, ['dry-run', join(project, 'node_modules/apparmor-sim/examples/mixed.yaml'), '--k8s-version', '1.9', '--runtime', 'docker'], project);
    expect(dryRun.status, dryRun.stderr).toBe(1);
    expect(dryRun.stdout).toContain('Blocked  kubelet  AppArmor');
  }, 300_000);
});
