// Human-readable output: one line per pod or scenario, details indented under it.
import type { Decision } from '../../sim/types.js';
import type { Palette } from './color.js';
import type { DryRunFormat, PodOutcome, ScenarioOutcome } from './report.js';
import { containerLabel, containerSummary, podLabel, refused } from './report.js';

const INDENT = '    ';

export function dryRunTable(explain: boolean, colors: Palette): DryRunFormat {
  return {
    pod: (result) => podLines(result, explain, colors),
    document(pods, summary) {
      const lines = [...pods];
      for (const s of summary.skipped) {
        const what = [s.kind, s.name].filter(Boolean).join('/');
        lines.push(colors.dim(`${s.file}:${s.line}  skipped ${what ? `${what}: ` : ''}${s.why}`));
      }
      lines.push(`${summary.pods} pod${summary.pods === 1 ? '' : 's'}: ${summary.pods - summary.refused} run, ${summary.refused} refused; ${summary.skipped.length} skipped`);
      return `${lines.join('\n')}\n`;
    },
  };
}

function podLines(result: PodOutcome, explain: boolean, colors: Palette): string {
  const lines: string[] = [];
  const { decision } = result;
  const outcome = refused(decision) ? colors.bad(decision.outcome) : colors.good(decision.outcome);
  const fields = [`${result.file}:${result.line}`, podLabel(result), outcome, decision.stage];
  if (decision.reason) fields.push(decision.reason);
  if (decision.message) fields.push(indentContinuation(decision.message));
  lines.push(fields.join('  '));
  decisionDetails(decision, explain, colors, lines);
  return lines.join('\n');
}

export function decisionDetails(decision: Decision, explain: boolean, colors: Palette, lines: string[]): void {
  workloadDetails(decision, explain, colors, lines);
  for (const c of decision.containers) lines.push(`${INDENT}${containerLabel(c)}: ${containerSummary(c)}`);
  for (const w of decision.warnings) lines.push(colors.warn(`${INDENT}warning: ${indentContinuation(w)}`));
  if (!explain) return;
  for (const t of decision.trace) lines.push(colors.dim(`${INDENT}trace: ${t.verdict.padEnd(6)} ${t.check} (${t.component}): ${indentContinuation(t.detail)}`));
}

/**
 * The workload's own create (what kubectl apply prints for it) and the event its controller records when the pod is
 * refused; the line above then is the pod's.
 */
function workloadDetails(decision: Decision, explain: boolean, colors: Palette, lines: string[]): void {
  const workload = decision.workload;
  if (!workload) return;
  const what = `${workload.groupKind}/${workload.name}`;
  // A created workload with nothing to say is implied by the pod line under it.
  if (workload.outcome === 'Created' && workload.warnings.length === 0 && !workload.event && !explain) return;
  lines.push(`${INDENT}workload ${what}: ${workload.outcome === 'Created' ? colors.good('created') : `${colors.bad('refused')} (${workload.reason}; no pods are created)`}`);
  for (const w of workload.warnings) lines.push(colors.warn(`${INDENT}workload warning: ${indentContinuation(w)}`));
  if (workload.event) lines.push(colors.bad(`${INDENT}event ${workload.event.reason} on ${workload.event.object}: ${indentContinuation(workload.event.message)}`));
  if (!explain) return;
  for (const t of workload.trace) lines.push(colors.dim(`${INDENT}trace: ${t.verdict.padEnd(6)} ${t.check} (${t.component}): ${indentContinuation(t.detail)}`));
}

/** Keeps multi-line messages (API errors list several fields) under their entry. */
export function indentContinuation(text: string): string {
  return text.includes('\n') ? text.replace(/\n/g, `\n${INDENT}${INDENT}`) : text;
}

export function scenariosTable(outcomes: readonly ScenarioOutcome[], colors: Palette): string {
  const lines: string[] = [];
  let failed = 0;
  for (const outcome of outcomes) {
    const passed = outcome.mismatches.length === 0;
    if (!passed) failed++;
    lines.push(`${passed ? colors.good('PASS') : colors.bad('FAIL')} ${outcome.name} ${outcome.file}:${outcome.line}`);
    for (const m of outcome.mismatches) {
      lines.push(`${INDENT}${m.field}: expected ${JSON.stringify(m.expected)}`);
      lines.push(`${INDENT}${' '.repeat(m.field.length)}  actual   ${JSON.stringify(m.actual)}`);
    }
  }
  lines.push(`${outcomes.length - failed} passed, ${failed} failed`);
  return `${lines.join('\n')}\n`;
}
