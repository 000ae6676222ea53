// `apparmor-sim scenarios run`: runs scenario files against the model and compares with their expectations.
import { compareExpectation } from '../../sim/expect.js';
import { simulate } from '../../sim/simulate.js';
import type { OptionSpecs } from '../../io/args.js';
import { EXIT, EXIT_CODES_HELP, UsageError, parseChoice, parseCommandLine } from '../../io/args.js';
import type { Scenario } from '../../io/load/scenario.js';
import { scenarioInput } from '../../io/load/scenario.js';
import { loadScenariosRecovering } from '../../io/load/scenarios.js';
import type { InputError } from '../../io/load/source.js';
import { InputFailure } from '../../io/load/source.js';
import { reportInputProblems } from './input-problems.js';
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

  const loaded = await loadScenariosRecovering(paths);
  // Nothing could be read: the errors are the whole answer.
  if (loaded.scenarios.length === 0 && loaded.errors.length > 0) throw new InputFailure(loaded.errors);
  const scenarios = selectScenarios(loaded.scenarios, values.filter, paths);
  for (const note of new Set(scenarios.flatMap((s) => s.notes))) process.stderr.write(`apparmor-sim: warning: ${note}\n`);
  const outcomes = scenarios.map(runScenario);
  const failed = outcomes.some((o) => o.mismatches.length > 0);
  const errors = reportInputProblems(loaded);
  // Input errors win: the scenarios that could be read all ran and are reported, but the run is not a pass.
  const exit = (otherFailures: boolean) => (errors.length > 0 ? EXIT.usage : failed || otherFailures ? EXIT.refusedOrFailed : EXIT.ok);
  if (values.recordings === undefined) {
    process.stdout.write(render(outcomes, output, errors));
    return exit(false);
  }
  const recordings = await recordingsReport(values.recordings, scenarios, output);
  process.stdout.write(output === 'json' ? recordings.json(outcomes) : render(outcomes, output, errors) + recordings.text);
  return exit(recordings.failed);
}

export function runScenario(scenario: Scenario): ScenarioOutcome {
  const decision = simulate(scenarioInput(scenario));
  return { name: scenario.name, file: scenario.file, line: scenario.line, decision, mismatches: compareExpectation(decision, scenario.expect) };
}

function selectScenarios(scenarios: Scenario[], filter: string | undefined, paths: readonly string[]): Scenario[] {
  if (scenarios.length === 0) throw new UsageError(`no scenarios found in ${paths.join(', ')}`);
  if (filter === undefined) return scenarios;
  const selected = scenarios.filter((s) => s.name.includes(filter));
  if (selected.length === 0) throw new UsageError(`--filter: no scenario name contains ${JSON.stringify(filter)}`);
  return selected;
}

function render(outcomes: readonly ScenarioOutcome[], format: OutputFormat, errors: readonly InputError[]): string {
  switch (format) {
    case 'json':
      return scenariosJson(outcomes, errors);
    case 'junit':
      return scenariosJunit(outcomes, errors);
    case 'table':
      return scenariosTable(outcomes, paletteFor(process.stdout), errors);
  }
}
