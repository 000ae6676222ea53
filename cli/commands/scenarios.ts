// `apparmor-sim scenarios run`: runs scenario files against the model and compares with their expectations.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { compareExpectation } from '../../sim/expect.js';
import { simulate } from '../../sim/simulate.js';
import type { OptionSpecs } from '../args.js';
import { EXIT, EXIT_CODES_HELP, UsageError, parseChoice, parseCommandLine } from '../args.js';
import type { Scenario } from '../load/scenario.js';
import { loadScenarioFile, nodeForPod } from '../load/scenario.js';
import type { InputError } from '../load/source.js';
import { InputFailure, displayLabel, expandPaths, readTextFile } from '../load/source.js';
import { paletteFor } from '../output/color.js';
import { scenariosJson } from '../output/json.js';
import { scenariosJunit } from '../output/junit.js';
import type { ScenarioOutcome } from '../output/report.js';
import { scenariosTable } from '../output/table.js';
import { OUTPUT_FORMATS } from './dry-run.js';
import type { OutputFormat } from './dry-run.js';
import { recordingsReport } from './recordings.js';

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  filter: { type: 'string' },
  recordings: { type: 'string' },
} as const satisfies OptionSpecs;

export const SCENARIOS_HELP = `Usage: apparmor-sim scenarios run <files|dirs> [options]

Runs each scenario (directories are searched recursively for *.yaml and *.yml) against the model and compares the
decision with the scenario's expect: block.

Options:
  -o, --output FORMAT   table (default) | json | junit
  --filter SUBSTRING    run only scenarios whose name contains SUBSTRING
  --recordings DIR      also check recorded conformance runs in DIR against the scenarios
  -h, --help            show this help

${EXIT_CODES_HELP}
`;

export async function runScenarios(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseCommandLine(argv, OPTIONS, 'scenarios');
  if (help) {
    process.stdout.write(SCENARIOS_HELP);
    return EXIT.ok;
  }
  const [sub, ...paths] = positionals;
  if (sub !== 'run') throw new UsageError(sub === undefined ? 'scenarios needs a subcommand: run' : `unknown subcommand ${JSON.stringify(sub)} (expected: run)`, true);
  if (paths.length === 0) throw new UsageError('scenarios run needs at least one file or directory', true);
  const output = parseChoice('--output', values.output ?? 'table', OUTPUT_FORMATS);

  const scenarios = selectScenarios(await loadScenarios(paths), values.filter, paths);
  for (const note of new Set(scenarios.flatMap((s) => s.notes))) process.stderr.write(`apparmor-sim: warning: ${note}\n`);
  const outcomes = scenarios.map(runScenario);
  const failed = outcomes.some((o) => o.mismatches.length > 0);
  if (values.recordings === undefined) {
    process.stdout.write(render(outcomes, output));
    return failed ? EXIT.refusedOrFailed : EXIT.ok;
  }
  const recordings = await recordingsReport(values.recordings, scenarios, output);
  process.stdout.write(output === 'json' ? recordings.json(outcomes) : render(outcomes, output) + recordings.text);
  return failed || recordings.failed ? EXIT.refusedOrFailed : EXIT.ok;
}

export function runScenario(scenario: Scenario): ScenarioOutcome {
  const decision = simulate({ cluster: scenario.cluster, node: nodeForPod(scenario), pod: scenario.pod });
  return { name: scenario.name, file: scenario.file, line: scenario.line, decision, mismatches: compareExpectation(decision, scenario.expect) };
}

/** Loads every file, collecting the input errors of all of them before giving up. */
export async function loadScenarios(paths: readonly string[], cwd = process.cwd()): Promise<Scenario[]> {
  const scenarios: Scenario[] = [];
  const errors: InputError[] = [];
  for (const file of scenarioFiles(paths, cwd, errors)) {
    try {
      scenarios.push(...(await loadScenarioFile(file, cwd)));
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      errors.push(...error.errors);
    }
  }
  const seen = new Map<string, Scenario>();
  for (const s of scenarios) {
    const first = seen.get(s.name);
    // Within a file the loader reports duplicates; across files only this sees them.
    if (first && first.file !== s.file) errors.push({ file: s.file, line: s.line, message: `duplicate scenario name ${JSON.stringify(s.name)} (first in ${first.file}:${first.line})` });
    if (!first) seen.set(s.name, s);
  }
  if (errors.length > 0) throw new InputFailure(errors);
  return scenarios;
}

const SCENARIO_FILE = /\.ya?ml$/i;
// A top-level apiVersion and kind mark a Kubernetes manifest (a podFile target), never a scenario.
const MANIFEST_KEYS = [/^apiVersion:/m, /^kind:/m];

function scenarioFiles(paths: readonly string[], cwd: string, errors: InputError[]): string[] {
  return paths.flatMap((path) => {
    try {
      const absolute = resolve(cwd, path);
      const inDirectory = isDirectory(absolute);
      const files = expandPaths([absolute], cwd);
      if (!inDirectory) return files;
      return files.filter((file) => SCENARIO_FILE.test(file) && !isManifest(file, cwd));
    } catch (error) {
      if (!(error instanceof InputFailure)) throw error;
      errors.push(...error.errors);
      return [];
    }
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    // expandPaths reports the missing path with its own wording.
    return false;
  }
}

function isManifest(file: string, cwd: string): boolean {
  const text = readTextFile(file, displayLabel(file, cwd));
  return MANIFEST_KEYS.every((pattern) => pattern.test(text));
}

function selectScenarios(scenarios: Scenario[], filter: string | undefined, paths: readonly string[]): Scenario[] {
  if (scenarios.length === 0) throw new UsageError(`no scenarios found in ${paths.join(', ')}`);
  if (filter === undefined) return scenarios;
  const selected = scenarios.filter((s) => s.name.includes(filter));
  if (selected.length === 0) throw new UsageError(`--filter: no scenario name contains ${JSON.stringify(filter)}`);
  return selected;
}

function render(outcomes: readonly ScenarioOutcome[], format: OutputFormat): string {
  switch (format) {
    case 'json':
      return scenariosJson(outcomes);
    case 'junit':
      return scenariosJunit(outcomes);
    case 'table':
      return scenariosTable(outcomes, paletteFor(process.stdout));
  }
}
