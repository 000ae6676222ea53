import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Scenario } from '../io/load/scenario.js';
import { loadScenarioFile, scenarioInput } from '../io/load/scenario.js';
import { compareExpectation } from '../sim/expect.js';
import { simulate } from '../sim/simulate.js';

const SCENARIO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

function scenarioFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return scenarioFiles(path);
      return /\.ya?ml$/.test(entry.name) ? [path] : [];
    })
    .sort();
}

const files = scenarioFiles(SCENARIO_DIR);
const library: Scenario[] = [];
for (const file of files) library.push(...(await loadScenarioFile(file)));

/** Version eras of the decision table: each pair is a boundary, and the library must cover both sides. */
export const ERA_BOUNDARIES: readonly (readonly [number, number])[] = [
  [3, 4],
  [4, 5],
  [7, 8],
  [8, 9],
  [13, 14],
  [19, 20],
  [21, 22],
  [23, 24],
  [24, 25],
  [29, 30],
  [30, 31],
  [33, 34],
];

/** A description cites a source when it names an upstream path, a PR/issue number, a URL or a CHANGELOG/KEP. */
const CITATION = /(#\d{3,})|(https?:\/\/)|([\w.-]+\/[\w./-]+\.(go|md|yaml))|CHANGELOG-1\.\d+|KEP-\d+|@v\d+\.\d+|@[0-9a-f]{7,}/;

describe('scenario library', () => {
  it('has at least 60 scenarios with unique names', () => {
    expect(library.length).toBeGreaterThanOrEqual(60);
    const names = library.map((s) => s.name);
    const duplicates = names.filter((name, index) => names.indexOf(name) !== index);
    expect(duplicates).toEqual([]);
  });

  it('cites an upstream source in every description', () => {
    const uncited = library.filter((s) => !CITATION.test(s.description)).map((s) => `${s.file}:${s.line} ${s.name}`);
    expect(uncited).toEqual([]);
  });

  it('covers both sides of every version era boundary', () => {
    const versions = new Set<number>();
    for (const s of library) {
      versions.add(s.cluster.version);
      for (const node of s.nodes) versions.add(node.kubeletVersion);
    }
    const missing = ERA_BOUNDARIES.flatMap(([a, b]) => [a, b]).filter((v) => !versions.has(v)).map((v) => `1.${v}`);
    expect([...new Set(missing)]).toEqual([]);
  });

  it('covers every outcome and stage', () => {
    expect(new Set(library.map((s) => s.expect.outcome))).toEqual(new Set(['Run', 'Forbidden', 'Blocked', 'Rejected', 'CreateContainerError']));
    expect(new Set(library.flatMap((s) => (s.expect.stage ? [s.expect.stage] : [])))).toEqual(new Set(['apiserver', 'admission', 'kubelet', 'runtime']));
  });
});

describe.each(files.map((file) => [file.slice(SCENARIO_DIR.length + 1), file] as const))('%s', (_label, file) => {
  const scenarios = library.filter((s) => s.file.endsWith(_label));
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
    const decision = simulate(scenarioInput(scenario));
    const mismatches = compareExpectation(decision, scenario.expect);
    if (mismatches.length > 0) {
      const lines = mismatches.map((m) => `  ${m.field}:\n    expected: ${m.expected}\n    model:    ${m.actual}`);
      throw new Error(`${scenario.name} (${scenario.file}:${scenario.line}) disagrees with the model:\n${lines.join('\n')}`);
    }
    void file;
  });
});
