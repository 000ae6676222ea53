// Keeps the README and docs/ honest: their shell examples are run against the built CLI, its TypeScript example is compiled
// and run, and the lists it copies from the code (scenario keys, limits) are compared with the code.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLUSTER_KEYS, NODE_KEYS } from '../io/load/facts.js';
import { SCENARIO_KEYS } from '../io/load/scenario.js';
import { LIMITS } from '../io/load/source.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const DOC_FILES = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort();
/** The README followed by every page under docs/: the examples and lists of all of them are checked. */
const DOCS = [README, ...DOC_FILES.map((f) => readFileSync(join(ROOT, 'docs', f), 'utf8'))].join('\n');
const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-readme-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function blocks(language: string): string[] {
  const fence = new RegExp('^```' + language + '\\n([\\s\\S]*?)^```$', 'gm');
  return [...DOCS.matchAll(fence)].map((m) => m[1] ?? '');
}

interface Example {
  command: string;
  args: string[];
  output: string;
  exitCode: number;
}

/** `$ npx apparmor-sim …` lines with the output shown under them, and the code of a following `$ echo $?`. */
function shellExamples(): Example[] {
  const examples: Example[] = [];
  for (const block of blocks('console')) {
    const lines = block.replace(/\n$/, '').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const match = /^\$ (?:npm ci && )?npx apparmor-sim (.*)$/.exec(lines[i] ?? '');
      if (!match?.[1]) continue;
      let end = i + 1;
      while (end < lines.length && !lines[end]?.startsWith('$ ')) end++;
      const echo = lines[end] === '$ echo $?' ? Number(lines[end + 1]) : 0;
      examples.push({ command: lines[i] ?? '', args: match[1].split(/\s+/), output: lines.slice(i + 1, end).join('\n'), exitCode: echo });
    }
  }
  return examples;
}

describe('README', () => {
  const examples = shellExamples();

  it('has the two newcomer commands on its first screen', () => {
    const firstScreen = README.split('\n').slice(0, 25).join('\n');
    expect(firstScreen).toMatch(/^\$ npm ci && npx apparmor-sim dry-run /m);
    expect(firstScreen).toMatch(/^\$ npm test$/m);
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  it.each(examples.map((e) => [e.command, e] as const))('%s', (_command, example) => {
    const result = spawnSync(process.execPath, [join(ROOT, 'bin/apparmor-sim.js'), ...example.args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(result.status, result.stderr).toBe(example.exitCode);
    // Exit code 2 speaks on stderr; otherwise stderr holds only notes (e.g. whether apparmor_parser was there).
    const shown = example.exitCode === 2 ? result.stderr : result.stdout;
    expect(shown.trimEnd()).toBe(example.output);
  });

  it('lists the scenario keys and limits the code has', () => {
    const inline = (keys: readonly string[]) => keys.map((k) => `\`${k}\``).join(', ');
    const prose = DOCS.replace(/\s*\n\s*/g, ' ');
    expect(prose).toContain(`Top-level keys: ${inline(SCENARIO_KEYS)}.`);
    expect(prose).toContain(`Cluster keys: ${inline(CLUSTER_KEYS)}.`);
    expect(prose).toContain(`: ${inline(NODE_KEYS)}.`);
    expect(DOCS).toContain(`(${LIMITS.maxFileBytes} bytes)`);
    expect(DOCS).toContain(`| ${LIMITS.maxAliasCount} (`);
    expect(DOCS).toContain(`| ${LIMITS.maxDepth} levels |`);
    expect(DOCS).toContain(`| ${LIMITS.maxDocuments} |`);
    expect(DOC_FILES).toContain('conformance.md');
    // Every docs/ page is linked from the README.
    for (const f of DOC_FILES) expect(README).toContain(`](docs/${f})`);
  });

  it('has a TypeScript API example that type-checks and prints what it says', () => {
    const [example] = blocks('ts');
    expect(example).toBeDefined();
    const source = example ?? '';
    const printed = /^\/\/ prints: (.*)$/m.exec(source)?.[1];
    expect(printed).toBeDefined();
    // A consumer's view: the package under node_modules, strict NodeNext compilation.
    mkdirSync(join(TMP, 'node_modules'), { recursive: true });
    symlinkSync(ROOT, join(TMP, 'node_modules', 'apparmor-sim'), 'dir');
    writeFileSync(join(TMP, 'example.ts'), source);
    writeFileSync(
      join(TMP, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true, skipLibCheck: true, outDir: 'out', types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
        files: ['example.ts'],
      }),
    );
    writeFileSync(join(TMP, 'package.json'), '{"type":"module"}');
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', TMP], { encoding: 'utf8' });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const run = spawnSync(process.execPath, [join(TMP, 'out', 'example.js')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trimEnd()).toBe(printed);
  });
});
