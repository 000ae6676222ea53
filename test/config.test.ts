// .apparmor-sim.yaml: flag defaults, include/exclude, suppressions (with expiry), errors at file:line, discovery upward.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CONFIG_KEYS, globRegExp } from '../io/load/config.js';
import { ROOT } from './helpers-cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-config-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const BIN = join(ROOT, 'bin', 'apparmor-sim.js');
const PROFILE = join(ROOT, 'examples/profiles/k8s-apparmor-example-deny-write');

let counter = 0;
/** A fresh project directory with the tutorial pod and the given config file. */
function project(config: string | undefined): string {
  const dir = join(TMP, `p${counter++}`);
  mkdirSync(join(dir, 'manifests', 'vendor'), { recursive: true });
  mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
  copyFileSync(join(ROOT, 'examples/hello-apparmor.yaml'), join(dir, 'manifests', 'hello.yaml'));
  copyFileSync(join(ROOT, 'examples/hello-apparmor-annotation.yaml'), join(dir, 'manifests', 'vendor', 'annotated.yaml'));
  if (config !== undefined) writeFileSync(join(dir, '.apparmor-sim.yaml'), config);
  return dir;
}

function run(cwd: string, args: readonly string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('.apparmor-sim.yaml', () => {
  it('supplies flag defaults (paths relative to the config file), found from a subdirectory; flags override them', () => {
    const dir = project(`defaults:\n  k8s-version: 1.30\n  profiles: [${JSON.stringify(PROFILE)}]\n  output: json\n`);
    const fromSub = run(join(dir, 'sub', 'deeper'), ['dry-run', '../../manifests/hello.yaml']);
    expect(fromSub.status, fromSub.stderr).toBe(0);
    const json = JSON.parse(fromSub.stdout) as { results: { outcome: string; containers: { procAttrCurrent: string }[] }[] };
    expect(json.results[0]?.outcome).toBe('Run');
    expect(json.results[0]?.containers[0]?.procAttrCurrent).toBe('k8s-apparmor-example-deny-write (enforce)');
    // The command line wins over the config.
    const overridden = run(dir, ['dry-run', 'manifests/hello.yaml', '--k8s-version', '1.29', '-o', 'table']);
    // kubectl apply asks a 1.29 API server for strict field validation, which refuses the field it does not know.
    expect(overridden.stdout).toContain('strict decoding error: unknown field "spec.securityContext.appArmorProfile"');
    // `k8s-version: 1.20` unquoted is read from the YAML source as 1.20, not as the number 1.2.
    writeFileSync(join(dir, '.apparmor-sim.yaml'), 'defaults:\n  k8s-version: 1.20\n');
    expect(run(dir, ['dry-run', 'manifests/hello.yaml']).stdout).toContain('unknown to a 1.20 API server');
  });

  it('reads include globs when no path is given, and drops excluded files found in directories', () => {
    const dir = project('defaults:\n  k8s-version: "1.30"\ninclude: ["manifests/**/*.yaml"]\nexclude: [vendor/]\n');
    const byInclude = run(dir, ['dry-run']);
    expect(byInclude.stdout).toContain('manifests/hello.yaml:3  default/hello-apparmor');
    expect(byInclude.stdout).not.toContain('annotated.yaml');
    const byDirectory = run(dir, ['dry-run', 'manifests']);
    expect(byDirectory.stdout).toContain('1 pod:');
    // A file named on the command line is read even when excluded.
    const explicit = run(dir, ['dry-run', 'manifests/vendor/annotated.yaml']);
    expect(explicit.stdout).toContain('annotated.yaml:2');
  });

  it('suppresses a matching refusal: shown as suppressed, not counted in the exit code; other refusals still fail', () => {
    const dir = project(
      [
        'defaults: {k8s-version: "1.30"}',
        'suppressions:',
        '  - check: apparmor/create-container-error',
        '    object: default/hello-*',
        '    reason: loaded by the node-setup DaemonSet',
        '    expires: 2999-12-31',
        '',
      ].join('\n'),
    );
    const table = run(dir, ['dry-run', 'manifests/hello.yaml']);
    expect(table.status).toBe(0);
    expect(table.stdout).toContain('    suppressed: loaded by the node-setup DaemonSet (.apparmor-sim.yaml:3, until 2999-12-31)\n');
    expect(table.stdout).toContain('1 pod: 0 run, 0 refused, 1 suppressed; 0 skipped');

    const json = JSON.parse(run(dir, ['dry-run', 'manifests/hello.yaml', '-o', 'json']).stdout) as { results: { outcome: string; suppressed?: { reason: string; at: string } }[] };
    expect(json.results[0]?.outcome).toBe('CreateContainerError');
    expect(json.results[0]?.suppressed).toEqual({ reason: 'loaded by the node-setup DaemonSet', at: '.apparmor-sim.yaml:3', check: 'apparmor/create-container-error', object: 'default/hello-*', expires: '2999-12-31' });

    const sarifRun = run(dir, ['dry-run', 'manifests/hello.yaml', '-o', 'sarif']);
    expect(sarifRun.status).toBe(0);
    const sarif = JSON.parse(sarifRun.stdout) as { runs: { results: { ruleId: string; suppressions?: { kind: string; status: string; justification: string }[] }[] }[] };
    const results = sarif.runs[0]?.results ?? [];
    expect(results.find((r) => r.ruleId === 'apparmor/create-container-error')?.suppressions).toMatchObject([{ kind: 'external', status: 'accepted', justification: 'loaded by the node-setup DaemonSet (until 2999-12-31)' }]);

    const junit = run(dir, ['dry-run', 'manifests/hello.yaml', '-o', 'junit']);
    expect(junit.stdout).toContain('failures="0"');
    expect(junit.stdout).toContain('<skipped message="suppressed: loaded by the node-setup DaemonSet');

    // A pod the suppression does not name (another namespace) still fails.
    const other = run(dir, ['dry-run', 'manifests/hello.yaml', '--namespace', 'prod']);
    expect(other.status).toBe(1);
    expect(other.stdout).not.toContain('suppressed');
  });

  it('matches a model check name from the trace, and a workload by namespace/Kind/name', () => {
    const dir = project('suppressions:\n  - check: kubelet-apparmor-profile-loaded\n    reason: known\n');
    copyFileSync(join(ROOT, 'examples/mixed.yaml'), join(dir, 'mixed.yaml'));
    // A 1.9 kubelet blocks the annotated pod whose profile is not loaded (the check of that name fails).
    const byCheck = run(dir, ['dry-run', 'mixed.yaml', '--k8s-version', '1.9', '--runtime', 'docker']);
    expect(byCheck.status, byCheck.stdout).toBe(0);
    expect(byCheck.stdout).toContain('default/annotated  Blocked  kubelet  AppArmor  Cannot enforce AppArmor: profile "k8s-apparmor-example-deny-write" is not loaded\n    suppressed: known (.apparmor-sim.yaml:2)\n');
    expect(byCheck.stdout).toContain('2 pods: 1 run, 0 refused, 1 suppressed; 1 skipped');
    const deployment = join(dir, 'deploy.yaml');
    writeFileSync(deployment, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec:\n  template:\n    metadata:\n      annotations:\n        container.apparmor.security.beta.kubernetes.io/app: localhost/missing\n    spec:\n      containers: [{name: app, image: nginx}]\n');
    writeFileSync(join(dir, 'by-object.yaml'), 'suppressions:\n  - object: prod/Deployment/web\n    reason: accepted risk\n');
    const byObject = run(dir, ['dry-run', 'deploy.yaml', '--config', 'by-object.yaml', '--k8s-version', '1.30']);
    expect(byObject.status, byObject.stdout).toBe(0);
    expect(byObject.stdout).toContain('suppressed: accepted risk (by-object.yaml:2)');
  });

  it('over several versions, suppresses a pod only when every refusal it gets is suppressed', () => {
    const dir = project('suppressions:\n  - check: apparmor/blocked\n    reason: accepted\n  - check: apparmor/create-container-error\n    object: default/annotated\n    reason: accepted too\n');
    copyFileSync(join(ROOT, 'examples/mixed.yaml'), join(dir, 'mixed.yaml'));
    const partly = run(dir, ['dry-run', 'mixed.yaml', '--k8s-version', '1.23,1.31']);
    expect(partly.stdout).toContain('mixed.yaml:2  default/annotated    Blocked  CreateContainerError  varies by version, suppressed\n');
    expect(partly.stdout).toContain('2 pods: 0 run in every version, 1 refused somewhere (2 vary by version), 1 suppressed; 1 skipped');
    // default/not-loaded runs on 1.23 but not on 1.31: still refused.
    expect(partly.status).toBe(1);
    writeFileSync(join(dir, '.apparmor-sim.yaml'), 'suppressions:\n  - check: apparmor/blocked\n    reason: accepted\n  - check: apparmor/create-container-error\n    reason: accepted too\n');
    expect(run(dir, ['dry-run', 'mixed.yaml', '--k8s-version', '1.23,1.31']).status).toBe(0);
    // Suppressing only the 1.23 refusal of default/annotated leaves its 1.31 refusal: not suppressed.
    writeFileSync(join(dir, '.apparmor-sim.yaml'), 'suppressions:\n  - check: apparmor/blocked\n    reason: accepted\n');
    expect(run(dir, ['dry-run', 'mixed.yaml', '--k8s-version', '1.23,1.31']).stdout).not.toContain('suppressed');
  });

  it('ignores an expired suppression and says so', () => {
    const dir = project('suppressions:\n  - check: apparmor/create-container-error\n    reason: temporary\n    expires: 2001-01-31\n');
    const result = run(dir, ['dry-run', 'manifests/hello.yaml', '--k8s-version', '1.30']);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('apparmor-sim: warning: .apparmor-sim.yaml:2: suppression expired on 2001-01-31 and no longer applies (apparmor/create-container-error: temporary)\n');
    expect(result.stdout).not.toContain('suppressed');
  });

  it.each([
    ['defaults:\n  k8s-versoin: "1.30"\n', /^\.apparmor-sim\.yaml:2: defaults\.k8s-versoin: unknown option \(expected one of: k8s-version, /],
    ['defaults:\n  k8s-version: "1.99"\n', /^\.apparmor-sim\.yaml:2: defaults\.k8s-version: unknown Kubernetes version 1\.99/],
    ['defaults:\n  explain: yes-please\n', /^\.apparmor-sim\.yaml:2: defaults\.explain: must be true or false/],
    ['suppressions:\n  - check: apparmor/blocked\n', /^\.apparmor-sim\.yaml:2: suppressions\.0\.reason: is required/],
    ['suppressions:\n  - reason: everything\n', /^\.apparmor-sim\.yaml:2: suppressions\.0: needs check, object or both/],
    ['suppressions:\n  - check: x\n    reason: y\n    expires: 2026-02-30\n', /^\.apparmor-sim\.yaml:4: suppressions\.0\.expires: must be a date YYYY-MM-DD/],
    ['include: /etc/*.yaml\n', /^\.apparmor-sim\.yaml:1: include: must be a list/],
    ['colour: blue\n', /^\.apparmor-sim\.yaml:1: colour: unknown key/],
    ['defaults: [\n', /^\.apparmor-sim\.yaml:\d+:\d+: invalid YAML/],
  ])('reports %j at its line with exit code 2', (config, message) => {
    const dir = project(config);
    const result = run(dir, ['dry-run', 'manifests/hello.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n').every((line) => /^\.apparmor-sim\.yaml:\d+/.test(line))).toBe(true);
  });

  it('reports a missing --config file', () => {
    const result = run(project(undefined), ['dry-run', 'manifests/hello.yaml', '--config', 'nope.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^nope\.yaml: cannot read config file: /);
  });
});

describe('docs/config.md', () => {
  it('lists the keys and the defaults the code accepts', () => {
    const prose = readFileSync(join(ROOT, 'docs', 'config.md'), 'utf8').replace(/\s*\n\s*/g, ' ');
    const inline = (keys: readonly string[]) => keys.map((k) => `\`${k}\``).join(', ');
    expect(prose).toContain(`Top-level keys: ${inline(CONFIG_KEYS)}.`);
    // Every dry-run option but --config itself, as --help lists them.
    const help = spawnSync(process.execPath, [BIN, 'dry-run', '--help'], { encoding: 'utf8' }).stdout;
    const options = [...help.matchAll(/^ {2}(?:-o, )?--([a-z0-9-]+)/gm)].map((m) => m[1] ?? '').filter((o) => o !== 'config' && o !== 'help');
    expect(prose).toContain(`takes every \`dry-run\` option (${inline(options)});`);
  });
});

describe('globs', () => {
  it.each([
    ['manifests/**/*.yaml', 'manifests/a.yaml', true],
    ['manifests/**/*.yaml', 'manifests/x/y/a.yaml', true],
    ['manifests/**/*.yaml', 'other/a.yaml', false],
    ['*.json', 'deep/dir/a.json', true],
    ['vendor/', 'manifests/vendor/a.yaml', true],
    ['manifests/vendor/', 'other/manifests/vendor/a.yaml', false],
    ['**/vendor/', 'manifests/vendor/a.yaml', true],
    ['vendor', 'manifests/vendor/a.yaml', true],
    ['charts/*/templates/*.yaml', 'charts/web/templates/d.yaml', true],
    ['charts/*/templates/*.yaml', 'charts/web/x/templates/d.yaml', false],
    ['a?.yaml', 'x/ab.yaml', true],
  ])('%s against %s: %s', (glob, path, expected) => {
    expect(globRegExp(glob).test(path)).toBe(expected);
  });
});
