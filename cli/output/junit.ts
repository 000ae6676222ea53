// JUnit XML, the report format CI systems understand: one testcase per pod or scenario.
import type { DryRunFormat, PodOutcome, ScenarioOutcome } from './report.js';
import { containerLabel, containerSummary, podLabel, refused } from './report.js';
import { escapeXml, junitDocument } from '../../io/junit.js';
import { suppressionText } from './table.js';
import type { InputError } from '../../io/load/source.js';
import { junitErrorCases } from './input-errors.js';

interface TestCase {
  name: string;
  classname: string;
  failure?: { type: string; message: string; body: string } | undefined;
  /** A refusal the config file suppresses: a skipped test, not a failure. */
  skipped?: string | undefined;
  output: string;
}

export const dryRunJunit: DryRunFormat = {
  pod: (result) => testCaseXml(podTestCase(result)),
  document: (pods, summary) => junitDocument('apparmor-sim dry-run', [...pods, ...junitErrorCases(summary.errors)], summary.refused, { skipped: summary.suppressed ?? 0, errors: summary.errors.length }),
};

function podTestCase(result: PodOutcome): TestCase {
  const { file, line, decision } = result;
  return {
    name: podLabel(result),
    classname: `${file}:${line}`,
    skipped: result.suppressed ? suppressionText(result.suppressed) : undefined,
    failure: refused(decision) && !result.suppressed
      ? { type: decision.outcome, message: `${decision.outcome} at ${decision.stage}${decision.reason ? `: ${decision.reason}` : ''}`, body: decision.message }
      : undefined,
    output: [...decision.containers.map((c) => `${containerLabel(c)}: ${containerSummary(c)}`), ...decision.warnings.map((w) => `warning: ${w}`)].join('\n'),
  };
}

export function scenariosJunit(outcomes: readonly ScenarioOutcome[], errors: readonly InputError[] = []): string {
  const cases = outcomes.map(({ name, file, line, decision, mismatches }): TestCase => ({
    name,
    classname: `${file}:${line}`,
    failure: mismatches.length
      ? { type: 'mismatch', message: `${mismatches.length} mismatch${mismatches.length === 1 ? '' : 'es'}`, body: mismatches.map((m) => `${m.field}: expected ${JSON.stringify(m.expected)}, actual ${JSON.stringify(m.actual)}`).join('\n') }
      : undefined,
    output: `${decision.outcome} at ${decision.stage}${decision.message ? `: ${decision.message}` : ''}`,
  }));
  return junitDocument('apparmor-sim scenarios', [...cases.map(testCaseXml), ...junitErrorCases(errors)], cases.filter((c) => c.failure).length, { errors: errors.length });
}

function testCaseXml(c: TestCase): string {
  const parts = [`    <testcase name="${escapeXml(c.name)}" classname="${escapeXml(c.classname)}">\n`];
  if (c.failure) {
    parts.push(`      <failure type="${escapeXml(c.failure.type)}" message="${escapeXml(c.failure.message)}">${escapeXml(c.failure.body)}</failure>\n`);
  }
  if (c.skipped) parts.push(`      <skipped message="${escapeXml(c.skipped)}"/>\n`);
  if (c.output) parts.push(`      <system-out>${escapeXml(c.output)}</system-out>\n`);
  parts.push('    </testcase>\n');
  return parts.join('');
}

