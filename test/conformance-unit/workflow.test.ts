// The CI workflow and the harness's image table must name the same kind release for each Kubernetes version.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KIND_NODE_IMAGES } from '../../conformance/images.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workflow = parse(readFileSync(join(ROOT, '.github', 'workflows', 'conformance.yml'), 'utf8')) as {
  jobs: { kind: { 'runs-on': string; strategy: { matrix: { include: Array<{ k8s: string; kind: string }> } }; steps: Array<{ run?: string }> } };
};

describe('.github/workflows/conformance.yml', () => {
  const rows = workflow.jobs.kind.strategy.matrix.include;

  it('covers at least 1.29, 1.30, 1.31, 1.33 and 1.35 on an Ubuntu runner', () => {
    expect(rows.map((r) => r.k8s)).toEqual(expect.arrayContaining(['1.29', '1.30', '1.31', '1.33', '1.35']));
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
});
