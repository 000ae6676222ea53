// The GitHub Action: action.yml's wiring, and its script (scripts/action.mjs) run locally as the action runs it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './helpers-cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-action-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const SCRIPT = join(ROOT, 'scripts', 'action.mjs');

interface Step {
  uses?: string;
  run?: string;
  id?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
interface Action {
  runs: { using: string; steps: Step[] };
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
}
const ACTION = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as Action;
const SCRIPT_SOURCE = readFileSync(SCRIPT, 'utf8');

let counter = 0;
/** Runs the action's script as the "Simulate" step does: inputs as environment variables, GitHub's files in TMP. */
function runAction(inputs: Record<string, string>, cwd = ROOT) {
  const dir = join(TMP, `run${counter++}`);
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], GITHUB_OUTPUT: `${dir}-output`, GITHUB_STEP_SUMMARY: `${dir}-summary`, APPARMOR_SIM_SARIF_FILE: `${dir}.sarif` };
  writeFileSync(`${dir}-output`, '');
  writeFileSync(`${dir}-summary`, '');
  for (const [name, value] of Object.entries(inputs)) env[`APPARMOR_SIM_${name.toUpperCase().replace(/-/g, '_')}`] = value;
  const result = spawnSync(process.execPath, [SCRIPT], { cwd, env, encoding: 'utf8' });
  const outputs = Object.fromEntries(readFileSync(`${dir}-output`, 'utf8').split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, outputs, summary: readFileSync(`${dir}-summary`, 'utf8'), sarifFile: `${dir}.sarif` };
}

describe('action.yml', () => {
  it('is a composite action whose steps use only declared inputs and pass each one to the script', () => {
    expect(ACTION.runs.using).toBe('composite');
    const text = readFileSync(join(ROOT, 'action.yml'), 'utf8');
    for (const [, name] of text.matchAll(/inputs\.([a-z0-9-]+)/g)) expect(Object.keys(ACTION.inputs)).toContain(name);
    const simulate = ACTION.runs.steps.find((s) => s.id === 'run');
    expect(simulate?.run).toBe('node "$GITHUB_ACTION_PATH/scripts/action.mjs"');
    // Every variable the step sets is read by the script, and every APPARMOR_SIM_ variable the script reads is set.
    const passed = Object.keys(simulate?.env ?? {});
    const read = [...new Set([...SCRIPT_SOURCE.matchAll(/(APPARMOR_SIM_[A-Z0-9_]+)/g)].map((m) => m[1] ?? ''))].filter((v) => v !== 'APPARMOR_SIM_BIN');
    expect(passed.sort()).toEqual(read.sort());
    // Uploads with the code scanning action, then fails: findings are uploaded even when the step fails.
    const uses = ACTION.runs.steps.map((s) => s.uses ?? s.id ?? s.run?.split('\n')[0]);
    expect(uses[0]).toMatch(/^actions\/setup-node@/);
    expect(ACTION.runs.steps.findIndex((s) => s.uses?.startsWith('github/codeql-action/upload-sarif@'))).toBeLessThan(ACTION.runs.steps.findIndex((s) => s.if?.includes("steps.run.outputs.failed == 'true'")));
    for (const output of Object.values(ACTION.outputs)) expect(SCRIPT_SOURCE).toContain(`setOutput('${/steps\.run\.outputs\.([a-z-]+)/.exec(output.value)?.[1]}'`);
  });

  it('the example workflow in docs/ci.md uses only inputs the action has', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'ci.md'), 'utf8');
    const workflow = parse(/```yaml\n([\s\S]*?)```/.exec(doc)?.[1] ?? '') as { jobs: Record<string, { steps: Step[] }> };
    const step = Object.values(workflow.jobs)[0]?.steps.find((s) => s.uses?.includes('apparmor-sim'));
    expect(step?.with).toBeDefined();
    for (const name of Object.keys(step?.with ?? {})) expect(Object.keys(ACTION.inputs)).toContain(name);
  });
});

describe('scripts/action.mjs', () => {
  it('writes SARIF, annotates refusals at their line, and fails on errors', () => {
    const run = runAction({ paths: 'examples/mixed.yaml', 'k8s-version': '1.9', runtime: 'docker' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('::error file=examples/mixed.yaml,line=8,title=apparmor/blocked default/annotated::Cannot enforce AppArmor: profile "k8s-apparmor-example-deny-write" is not loaded\n');
    expect(run.outputs).toEqual({ 'sarif-file': run.sarifFile, errors: '1', warnings: '0', suppressed: '0', failed: 'true' });
    const sarif = JSON.parse(readFileSync(run.sarifFile, 'utf8')) as { version: string; runs: { results: unknown[] }[] };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]?.results).toHaveLength(1);
    expect(run.summary).toContain('| examples/mixed.yaml:8 | default/annotated | apparmor/blocked | 1.9 | Cannot enforce AppArmor');
  });

  it('passes when everything runs, and with fail-on none', () => {
    const clean = runAction({ paths: 'examples/hello-apparmor.yaml', 'k8s-version': '1.30', profiles: 'examples/profiles/k8s-apparmor-example-deny-write' });
    expect(clean.outputs['failed']).toBe('false');
    expect(clean.outputs['errors']).toBe('0');
    const lenient = runAction({ paths: 'examples/mixed.yaml', 'k8s-version': '1.9', runtime: 'docker', 'fail-on': 'none' });
    expect(lenient.outputs['errors']).toBe('1');
    expect(lenient.outputs['failed']).toBe('false');
  });

  it('counts API warnings for fail-on warning', () => {
    // 1.30 warns about the deprecated annotation; the profile is loaded, so the pod runs.
    const run = runAction({ paths: 'examples/hello-apparmor-annotation.yaml', 'k8s-version': '1.30', profiles: 'examples/profiles/k8s-apparmor-example-deny-write', 'fail-on': 'warning' });
    expect(run.outputs['errors']).toBe('0');
    expect(run.outputs['warnings']).toBe('1');
    expect(run.outputs['failed']).toBe('true');
    expect(run.stdout).toMatch(/^::warning file=examples\/hello-apparmor-annotation\.yaml,line=\d+,title=apparmor\/api-warning default\/hello-apparmor::/m);
  });

  it('does not fail on suppressed findings, and counts them', () => {
    const config = join(TMP, 'suppress.yaml');
    writeFileSync(config, 'suppressions:\n  - check: apparmor/blocked\n    object: default/annotated\n    reason: profile shipped by the node image\n');
    const run = runAction({ paths: 'examples/mixed.yaml', 'k8s-version': '1.9', runtime: 'docker', config });
    expect(run.outputs).toMatchObject({ errors: '0', suppressed: '1', failed: 'false' });
    expect(run.stdout).not.toContain('::error');
  });

  it('reports input errors at their file and line, exit code 2', () => {
    const bad = join(TMP, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Pod\nmetadata: {name: x\n');
    const run = runAction({ paths: bad });
    expect(run.status).toBe(2);
    expect(run.stdout).toMatch(new RegExp(`^::error file=${bad.replace(/[/.]/g, '\\$&')},line=\\d+`, 'm'));
    expect(run.outputs['failed']).toBe('true');
    const badFailOn = runAction({ paths: 'examples/mixed.yaml', 'fail-on': 'sometimes' });
    expect(badFailOn.status).toBe(2);
    expect(badFailOn.stdout).toContain('fail-on: unknown value \\"sometimes\\"'.replace(/\\/g, ''));
  });
});
