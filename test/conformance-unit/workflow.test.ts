// The CI workflow and the harness's image table must name the same kind release for each Kubernetes version.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KIND_NODE_IMAGES } from '../../conformance/images.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workflow = parse(readFileSync(join(ROOT, '.github', 'workflows', 'conformance.yml'), 'utf8')) as {
  jobs: { kind: { 'runs-on': string; strategy: { matrix: { include: Array<{ k8s: string; kind: string }> } }; steps: Array<{ name?: string; run?: string; if?: string }> } };
};

describe('.github/workflows/conformance.yml', () => {
  const rows = workflow.jobs.kind.strategy.matrix.include;

  it('covers every version from 1.24 (the Blocked era and the loaded-profile check) to 1.35 on an Ubuntu runner', () => {
    expect(rows.map((r) => r.k8s)).toEqual(Array.from({ length: 12 }, (_, i) => `1.${24 + i}`));
    expect(workflow.jobs.kind['runs-on']).toMatch(/^ubuntu-/);
  });

  it('installs, for each version, the kind release whose default image the table uses', () => {
    for (const row of rows) {
      const image = KIND_NODE_IMAGES.find((r) => `1.${r.minor}` === row.k8s);
      expect(image, row.k8s).toBeDefined();
      expect(row.kind, row.k8s).toBe(image?.kind);
    }
  });

  it('runs the harness with kind, the matrix version and JUnit output', () => {
    const run = workflow.jobs.kind.steps.map((s) => s.run ?? '').find((r) => r.includes('conformance run'));
    expect(run).toContain('npx apparmor-sim conformance run scenarios/ --kind --k8s-version "${{ matrix.k8s }}"');
    expect(run).toContain('--output junit');
  });

  it('fails the job on any non-zero exit code (4 included) and when the JUnit file shows nothing replayed', () => {
    const run = workflow.jobs.kind.steps.map((s) => s.run ?? '').find((r) => r.includes('conformance run')) ?? '';
    expect(run).not.toMatch(/-eq 4/);
    expect(run.trimEnd().split('\n').at(-1)?.trim()).toBe('exit "$code"');
    const check = workflow.jobs.kind.steps.find((s) => s.run?.includes('check-replayed.mjs'));
    expect(check?.if).toBe('always()');
    expect(check?.run).toBe('node .github/scripts/check-replayed.mjs "conformance-${{ matrix.k8s }}.xml"');
  });
});

describe('.github/scripts/check-replayed.mjs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'check-replayed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const check = (name: string, body: string | undefined) => {
    const file = join(dir, name);
    if (body !== undefined) writeFileSync(file, body);
    return spawnSync(process.execPath, [join(ROOT, '.github', 'scripts', 'check-replayed.mjs'), file], { encoding: 'utf8' });
  };
  const junit = (tests: number, failures: number, errors: number, skipped: number) => `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}">\n</testsuites>\n`;

  it('passes a run that replayed something, mismatches included (the harness exit code fails those)', () => {
    expect(check('some.xml', junit(10, 1, 2, 6)).status).toBe(0);
  });
  it('fails a run whose cases were all skipped or errors, a missing file and a file that is not JUnit', () => {
    const allSkipped = check('skipped.xml', junit(12, 0, 0, 12));
    expect(allSkipped.status).toBe(1);
    expect(allSkipped.stdout).toContain('nothing was replayed (12 test cases: 12 skipped, 0 errors)');
    expect(check('errors.xml', junit(3, 0, 1, 2)).status).toBe(1);
    expect(check('missing.xml', undefined).status).toBe(1);
    expect(check('empty.xml', '').status).toBe(1);
  });
});

