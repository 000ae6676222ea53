// apparmor-sim migrate: annotations to securityContext.appArmorProfile, formatting kept, outcomes kept.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { MigrateSettings } from '../cli/commands/migrate.js';
import { NodeCache, migrateText } from '../cli/commands/migrate.js';
import { planPod } from '../cli/commands/migrate-plan.js';
import { applyLineEdits, lineDiff, splitLines } from '../cli/output/diff.js';
import type { InputError } from '../io/load/source.js';
import { ROOT, cli } from './helpers-cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-migrate-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const F = 'fixtures/migrate';
const A = 'container.apparmor.security.beta.kubernetes.io/';

function copy(name: string): string {
  const to = join(TMP, `${Math.random().toString(36).slice(2)}-${name}`);
  copyFileSync(join(ROOT, F, name), to);
  return to;
}

/** Lines removed and added by a unified diff. */
function changedLines(diff: string): { removed: string[]; added: string[] } {
  const lines = diff.split('\n').filter((l) => !l.startsWith('---') && !l.startsWith('+++'));
  return { removed: lines.filter((l) => l.startsWith('-')).map((l) => l.slice(1)), added: lines.filter((l) => l.startsWith('+')).map((l) => l.slice(1)) };
}

describe('migrate', () => {
  it('moves agreeing annotations to the pod-level field and removes them for 1.30+ targets', () => {
    const run = cli(['migrate', 'examples/hello-apparmor-annotation.yaml', '--k8s-version', '1.30-1.35']);
    expect(run.status, run.stderr).toBe(0);
    const { removed, added } = changedLines(run.stdout);
    expect(removed).toEqual(['  annotations:', `    ${A}hello: localhost/k8s-apparmor-example-deny-write`]);
    expect(added).toEqual(['  securityContext:', '    appArmorProfile:', '      type: Localhost', '      localhostProfile: k8s-apparmor-example-deny-write']);
    expect(run.stderr).toContain('examples/hello-apparmor-annotation.yaml:2  Pod/hello-apparmor: spec.securityContext.appArmorProfile Localhost k8s-apparmor-example-deny-write; 1 annotation removed');
  });

  it('keeps the annotations when a target version predates the fields', () => {
    const run = cli(['migrate', 'examples/hello-apparmor-annotation.yaml', '--k8s-version', '1.29,1.30']);
    expect(run.status, run.stderr).toBe(0);
    const { removed, added } = changedLines(run.stdout);
    expect(removed).toEqual([]);
    expect(added).toHaveLength(4);
    expect(run.stderr).toContain('annotations kept for 1.29 (no appArmorProfile fields before 1.30)');
  });

  it('writes container-level fields when containers differ (init containers too), and leaves what it cannot convert', () => {
    const file = copy('workloads.yaml');
    const run = cli(['migrate', file, '--write']);
    expect(run.status, run.stderr).toBe(0);
    const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Record<string, any>);
    const deployment = docs[0]?.['spec']['template'];
    expect(deployment['spec']['securityContext']).toEqual({ appArmorProfile: { type: 'Localhost', localhostProfile: 'k8s-apparmor-example-deny-write' } });
    expect(deployment['metadata']['annotations']).toEqual({ 'prometheus.io/scrape': 'true' });
    const cron = docs[1]?.['spec']['jobTemplate']['spec']['template'];
    expect(cron['metadata']).toBeUndefined();
    expect(cron['spec']['securityContext']).toBeUndefined();
    expect(cron['spec']['initContainers'][0]['securityContext']).toEqual({ appArmorProfile: { type: 'RuntimeDefault' } });
    expect(cron['spec']['containers'][0]['securityContext']).toEqual({ runAsNonRoot: true, appArmorProfile: { type: 'Localhost', localhostProfile: 'k8s-apparmor-example-deny-write' } });
    const listPod = docs[2]?.['items'][0];
    expect(listPod['spec']['securityContext']).toEqual({ appArmorProfile: { type: 'Unconfined' } });
    // An annotation naming no container is not the migration's to fix.
    expect(listPod['metadata']['annotations']).toEqual({ [`${A}gone`]: 'runtime/default' });
    expect(run.stdout).toContain('Pod/debug: container.apparmor.security.beta.kubernetes.io/gone: no container named "gone"; left as is');
    expect(run.stdout).toContain('3 pods changed, 0 refused (target 1.35)');
    // Migrated once, nothing is left to do.
    const again = cli(['migrate', file, '--check']);
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('0 pods would change');
  });

  it('keeps comments, quoting, blank lines and sequence style of everything else (block YAML is edited in place)', () => {
    for (const file of [`${F}/workloads.yaml`, 'fixtures/manifests/helm-ingress-nginx.yaml', 'fixtures/manifests/kustomize-build.yaml']) {
      const run = cli(['migrate', file, '--k8s-version', '1.29-1.35']);
      expect(run.status, run.stderr).toBe(0);
      const { removed, added } = changedLines(run.stdout);
      // Both kept for 1.29: only lines are added, all of them securityContext / appArmorProfile lines.
      expect(removed, file).toEqual([]);
      for (const line of added) expect(line, file).toMatch(/^ *(securityContext:|appArmorProfile:|type: (Localhost|RuntimeDefault|Unconfined)|localhostProfile: [\w.-]+)$/);
      const newest = changedLines(cli(['migrate', file]).stdout);
      // For 1.35 only: removed lines are AppArmor annotations (and annotations:/metadata: keys left empty).
      for (const line of newest.removed) expect(line, file).toMatch(/^ *(container\.apparmor\.security\.beta\.kubernetes\.io\/[\w-]+: \S+|annotations:|metadata:)$/);
    }
    const written = copy('workloads.yaml');
    cli(['migrate', written, '--write']);
    const after = readFileSync(written, 'utf8');
    for (const kept of ['  name: web   # the shop front end', '        prometheus.io/scrape: "true"', '        # both containers run confined', "        image: 'busybox:1.36'", '        ports: [ {containerPort: 80} ]', '\n\n      - name: sidecar', '          - sleep']) {
      expect(after).toContain(kept);
    }
  });

  it('prints a diff that git apply accepts and that gives what --write writes', () => {
    const git = spawnSync('git', ['--version']);
    if (git.status !== 0) return;
    const dir = mkdtempSync(join(TMP, 'repo-'));
    for (const name of ['workloads.yaml', 'pod.json']) copyFileSync(join(ROOT, F, name), join(dir, name));
    const run = spawnSync(process.execPath, [join(ROOT, 'bin/apparmor-sim.js'), 'migrate', 'workloads.yaml', 'pod.json', '--k8s-version', '1.28-1.35'], { cwd: dir, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    writeFileSync(join(dir, 'patch.diff'), run.stdout);
    const apply = spawnSync('git', ['apply', '--unsafe-paths', 'patch.diff'], { cwd: dir, encoding: 'utf8' });
    expect(apply.status, apply.stderr).toBe(0);
    const patched = ['workloads.yaml', 'pod.json'].map((n) => readFileSync(join(dir, n), 'utf8'));
    for (const name of ['workloads.yaml', 'pod.json']) copyFileSync(join(ROOT, F, name), join(dir, name));
    const write = spawnSync(process.execPath, [join(ROOT, 'bin/apparmor-sim.js'), 'migrate', 'workloads.yaml', 'pod.json', '--k8s-version', '1.28-1.35', '--write'], { cwd: dir, encoding: 'utf8' });
    expect(write.status, write.stderr).toBe(0);
    expect(['workloads.yaml', 'pod.json'].map((n) => readFileSync(join(dir, n), 'utf8'))).toEqual(patched);
  });

  it('keeps CRLF line ends, and diffs a file without a final newline so that git apply takes it', () => {
    const dir = mkdtempSync(join(TMP, 'ends-'));
    const crlf = 'apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: crlf\r\n  annotations:\r\n    container.apparmor.security.beta.kubernetes.io/app: runtime/default\r\nspec:\r\n  containers:\r\n  - name: app\r\n    image: busybox\r\n';
    writeFileSync(join(dir, 'crlf.yaml'), crlf);
    const noEol = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: noeol\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/c: localhost/x\nspec:\n  containers:\n  - name: c\n    image: busybox';
    writeFileSync(join(dir, 'noeol.yaml'), noEol);
    const bin = join(ROOT, 'bin/apparmor-sim.js');
    const diff = spawnSync(process.execPath, [bin, 'migrate', 'crlf.yaml', 'noeol.yaml'], { cwd: dir, encoding: 'utf8' });
    expect(diff.status, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('-    image: busybox\n\\ No newline at end of file\n+    image: busybox\n+  securityContext:\n');
    expect(diff.stdout.trimEnd().endsWith('+      localhostProfile: x\n\\ No newline at end of file')).toBe(true);
    const write = spawnSync(process.execPath, [bin, 'migrate', 'crlf.yaml', 'noeol.yaml', '--write'], { cwd: dir, encoding: 'utf8' });
    expect(write.status, write.stderr).toBe(0);
    const crlfAfter = readFileSync(join(dir, 'crlf.yaml'), 'utf8');
    expect(crlfAfter.replace(/\r\n/g, '')).not.toContain('\n');
    expect(crlfAfter).toContain('  securityContext:\r\n    appArmorProfile:\r\n      type: RuntimeDefault\r\n');
    const noEolAfter = readFileSync(join(dir, 'noeol.yaml'), 'utf8');
    expect(noEolAfter.endsWith('      localhostProfile: x')).toBe(true);
    if (spawnSync('git', ['--version']).status !== 0) return;
    writeFileSync(join(dir, 'noeol.yaml'), noEol);
    writeFileSync(join(dir, 'patch.diff'), diff.stdout.split('--- a/noeol.yaml')[1] ? `--- a/noeol.yaml${diff.stdout.split('--- a/noeol.yaml')[1]}` : '');
    const apply = spawnSync('git', ['apply', 'patch.diff'], { cwd: dir, encoding: 'utf8' });
    expect(apply.status, apply.stderr).toBe(0);
    expect(readFileSync(join(dir, 'noeol.yaml'), 'utf8')).toBe(noEolAfter);
  });

  it('inserts before comments that trail a map and after a block scalar that keeps its blank lines', () => {
    const file = join(TMP, 'edge.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: edge\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/app: "runtime/default"   # why\n    note: |\n      multi\n      line\nspec:\n  containers:\n  - name: app\n    image: busybox\n    args:\n    - |+\n      keep\n\n  # trailing comment in spec\n# final comment\n');
    const run = cli(['migrate', file, '--write']);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('apiVersion: v1\nkind: Pod\nmetadata:\n  name: edge\n  annotations:\n    note: |\n      multi\n      line\nspec:\n  containers:\n  - name: app\n    image: busybox\n    args:\n    - |+\n      keep\n\n  securityContext:\n    appArmorProfile:\n      type: RuntimeDefault\n  # trailing comment in spec\n# final comment\n');
  });

  it('rewrites JSON as JSON with the same indentation', () => {
    const file = copy('pod.json');
    const run = cli(['migrate', file, '--write']);
    expect(run.status, run.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('\n        "securityContext": {\n            "appArmorProfile": {\n                "type": "Localhost",');
    expect(JSON.parse(text)['metadata']).toEqual({ name: 'hello-apparmor' });
  });

  it('refuses a migration that changes an outcome, with the reason, and writes nothing for it', () => {
    const file = copy('windows.yaml');
    const before = readFileSync(file, 'utf8');
    const run = cli(['migrate', file, '--k8s-version', '1.29-1.31', '--write']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('Pod/win: refused: on Kubernetes 1.30 the pod would go from Run (app: cri-containerd.apparmor.d) to Forbidden (Invalid: Pod "win" is invalid: spec.securityContext.appArmorProfile: Forbidden: cannot be set for a windows pod)');
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('refuses to remove the annotations where a feature gate drops the fields', () => {
    const run = cli(['migrate', 'examples/hello-apparmor-annotation.yaml', '--k8s-version', '1.30', '--feature-gates', 'AppArmorFields=false', '--check']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('Pod/hello-apparmor: refused: on Kubernetes 1.30 the pod would go from Run (hello: k8s-apparmor-example-deny-write) to Run (hello: cri-containerd.apparmor.d)');
    expect(cli(['migrate', 'examples/hello-apparmor-annotation.yaml', '--k8s-version', '1.31', '--feature-gates', 'AppArmorFields=false']).stderr).toMatch(/^apparmor-sim: --feature-gates: /);
  });

  it('--check exits 1 when something would change and changes nothing', () => {
    const file = copy('workloads.yaml');
    const before = readFileSync(file, 'utf8');
    const run = cli(['migrate', file, '--check']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('3 pods would change, 0 refused');
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(cli(['migrate', 'examples/hello-apparmor.yaml', '--check']).status).toBe(0);
  });

  it('reports a bad document as file:line, exit 2, and still migrates the others', () => {
    const run = cli(['migrate', `${F}/broken.yaml`]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^fixtures\/migrate\/broken\.yaml:\d+:? ?\d*:? invalid YAML: /m);
    expect(changedLines(run.stdout).added).toEqual(['  securityContext:', '    appArmorProfile:', '      type: RuntimeDefault']);
    const missing = cli(['migrate', 'no-such-file.yaml']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('no-such-file.yaml: cannot read: no such file or directory\n');
  });

  it('turns hostile input into file:line errors, never a stack trace', () => {
    const deep = join(TMP, 'deep.yaml');
    writeFileSync(deep, `${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    const binary = join(TMP, 'binary.yaml');
    writeFileSync(binary, Buffer.from([0x61, 0x3a, 0x00, 0x01]));
    const cases: [string, RegExp][] = [
      ['fixtures/hostile/alias-bomb.yaml', /^fixtures\/hostile\/alias-bomb\.yaml:\d+: invalid YAML: /m],
      ['fixtures/hostile/duplicate-keys.yaml', /^fixtures\/hostile\/duplicate-keys\.yaml:5: invalid YAML: Map keys must be unique$/m],
      ['fixtures/hostile/truncated.yaml', /^fixtures\/hostile\/truncated\.yaml:\d+: invalid YAML: /m],
      ['fixtures/hostile/wrong-types-pod.yaml', /^fixtures\/hostile\/wrong-types-pod\.yaml:5: metadata\.annotations\.container\.apparmor\.security\.beta\.kubernetes\.io\/app: annotation values must be strings, got a list$/m],
      [deep, /nesting deeper than 64 levels/],
      [binary, /binary data \(NUL byte\)/],
    ];
    for (const [file, message] of cases) {
      const run = cli(['migrate', file]);
      expect(run.status, file + run.stderr).toBe(2);
      expect(run.stdout, file).toBe('');
      expect(run.stderr, file).toMatch(message);
      expect(run.stderr, file).not.toMatch(/^\s+at |internal error/m);
    }
  });

  it('rejects contradictory flags', () => {
    expect(cli(['migrate', 'x.yaml', '--check', '--write']).stderr).toBe("apparmor-sim: --check and --write cannot be combined\nRun 'apparmor-sim migrate --help' for usage.\n");
    expect(cli(['migrate', '-']).status).toBe(2);
  });
});

describe('migrate keeps what the model decides', () => {
  const containerName = fc.constantFrom('a', 'b', 'init');
  const value = fc.constantFrom('runtime/default', 'unconfined', 'localhost/p1', 'localhost/p2');
  const podArb = fc.record({
    values: fc.dictionary(containerName, value),
    init: fc.boolean(),
    version: fc.integer({ min: 26, max: 35 }),
    extra: fc.integer({ min: 30, max: 35 }),
  });

  it('never has to refuse a Linux pod with valid annotations (annotation and field mean the same from 1.30)', async () => {
    await fc.assert(
      fc.asyncProperty(podArb, async ({ values, init, version, extra }) => {
        const containers = ['a', 'b'];
        const annotations = Object.fromEntries(Object.entries(values).filter(([name]) => name !== 'init' || init).map(([name, v]) => [`${A}${name}`, v]));
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', annotations },
          spec: { ...(init ? { initContainers: [{ name: 'init', image: 'x' }] } : {}), containers: containers.map((name) => ({ name, image: 'x' })) },
        };
        const settings: MigrateSettings = { inputs: [], versions: [...new Set([version, extra])].sort((x, y) => x - y), mode: 'diff', nodeFile: undefined, profiles: [], labels: {}, gates: {} };
        const errors: InputError[] = [];
        const result = await migrateText(JSON.stringify(pod, null, 2), 'p.json', 'p.json', settings, new NodeCache(settings), errors);
        expect(errors).toEqual([]);
        for (const site of result.sites) expect(site.refused).toBeUndefined();
        if (Object.keys(annotations).length > 0) {
          const migrated = parse(result.newText ?? '') as Record<string, any>;
          const plan = planPod(pod, settings.versions.every((v) => v >= 30));
          // Pod level exactly when every container carries the same profile.
          const all = [...(init ? ['init'] : []), ...containers];
          const same = all.every((c) => annotations[`${A}${c}`] !== undefined && annotations[`${A}${c}`] === annotations[`${A}a`]);
          expect(plan.podField !== undefined).toBe(same);
          expect(migrated['spec']['securityContext'] !== undefined).toBe(same);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('line diff', () => {
  it('produces edits that turn one text into the other', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 }), fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 }), (a, b) => {
        const edits = lineDiff(a, b);
        expect(edits).toBeDefined();
        expect(applyLineEdits(a, edits ?? [])).toEqual(b);
      }),
    );
    expect(splitLines('x\ny\n')).toEqual({ lines: ['x', 'y'], finalNewline: true });
  });
});
