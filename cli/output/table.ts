// Human-readable output: one line per pod or scenario, details indented under it.
import type { Decision } from '../../sim/types.js';
import type { Suppression } from '../../io/load/config.js';
import type { Palette } from './color.js';
import type { InputError } from '../../io/load/source.js';
import type { DryRunFormat, DryRunSummary, PodOutcome, ScenarioOutcome } from './report.js';
import { containerLabel, containerSummary, podLabel, refused } from './report.js';
import { tableErrorLine, terminalSafe as safe } from './input-errors.js';

const INDENT = '    ';

export function dryRunTable(explain: boolean, colors: Palette): DryRunFormat {
  const places: { file: string; line: number }[] = [];
  return {
    pod: (result) => {
      places.push({ file: result.file, line: result.line });
      return podLines(result, explain, colors);
    },
    document(pods, summary) {
      const lines = inPlace(pods, places, summary.errors, summary.files ?? [], (e) => colors.bad(tableErrorLine(e)));
      return `${[...lines, ...closingLines(summary, colors)].join('\n')}\n`;
    },
    // Input errors stand where their document is; the run's reader hands them over in that order.
    stream: { head: '', separator: '\n', error: (e) => colors.bad(tableErrorLine(e)), tail: (summary) => `\n${closingLines(summary, colors).join('\n')}\n` },
  };
}

/** The skipped documents and the summary line. */
function closingLines(summary: DryRunSummary, colors: Palette): string[] {
  const suppressed = summary.suppressed ?? 0;
  return [...skippedLines(summary.skipped, colors), `${summary.pods} pod${summary.pods === 1 ? '' : 's'}: ${summary.pods - summary.refused - suppressed} run, ${summary.refused} refused${suppressed > 0 ? `, ${suppressed} suppressed` : ''}; ${summary.skipped.length} skipped${errorCount(summary.errors.length)}`];
}

/**
 * The rendered pods with each input error placed where its document is: files in the order read, then lines. Both
 * lists are already in that order, so this is a merge.
 */
function inPlace(pods: readonly string[], places: readonly { file: string; line: number }[], errors: readonly InputError[], files: readonly string[], render: (error: InputError) => string): string[] {
  const order = new Map<string, number>();
  for (const file of files) if (!order.has(file)) order.set(file, order.size);
  const key = (file: string, line: number | undefined): [number, number] => [order.get(file) ?? Number.MAX_SAFE_INTEGER, line ?? 0];
  const before = (a: [number, number], b: [number, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const lines: string[] = [];
  let e = 0;
  pods.forEach((pod, i) => {
    const place = places[i];
    const at = place ? key(place.file, place.line) : ([Number.MAX_SAFE_INTEGER, 0] as [number, number]);
    for (let error = errors[e]; error !== undefined && before(key(error.file, error.line), at); error = errors[++e]) lines.push(render(error));
    lines.push(pod);
  });
  for (; e < errors.length; e++) {
    const error = errors[e];
    if (error) lines.push(render(error));
  }
  return lines;
}

export function skippedLines(skipped: DryRunSummary['skipped'], colors: Palette): string[] {
  return skipped.map((s) => {
    const what = [s.kind, s.name].filter(Boolean).join('/');
    return colors.dim(safe(`${s.file}:${s.line}  skipped ${what ? `${what}: ` : ''}${s.why}`));
  });
}

/** `; 2 input errors` after a summary, when there were any. */
export function errorCount(count: number): string {
  return count > 0 ? `; ${count} input error${count === 1 ? '' : 's'}` : '';
}

function podLines(result: PodOutcome, explain: boolean, colors: Palette): string {
  const lines: string[] = [];
  const { decision } = result;
  const outcome = refused(decision) ? colors.bad(decision.outcome) : colors.good(decision.outcome);
  const fields = [safe(`${result.file}:${result.line}`), safe(podLabel(result)), outcome, decision.stage];
  if (decision.reason) fields.push(safe(decision.reason));
  if (decision.message) fields.push(indentContinuation(decision.message));
  lines.push(fields.join('  '));
  if (result.suppressed) lines.push(colors.dim(`${INDENT}${suppressionText(result.suppressed)}`));
  decisionDetails(decision, explain, colors, lines);
  return lines.join('\n');
}

export function decisionDetails(decision: Decision, explain: boolean, colors: Palette, lines: string[]): void {
  workloadDetails(decision, explain, colors, lines);
  for (const c of decision.containers) lines.push(`${INDENT}${safe(containerLabel(c))}: ${safe(containerSummary(c))}`);
  for (const w of decision.warnings) lines.push(colors.warn(`${INDENT}warning: ${indentContinuation(w)}`));
  if (!explain) return;
  for (const t of decision.trace) lines.push(colors.dim(`${INDENT}trace: ${t.verdict.padEnd(6)} ${t.check} (${t.component}): ${indentContinuation(t.detail)}`));
}

/** `suppressed: <reason> (.apparmor-sim.yaml:12, until 2026-12-31)` */
export function suppressionText(s: Suppression): string {
  return safe(`suppressed: ${s.reason} (${s.at}${s.expires !== undefined ? `, until ${s.expires}` : ''})`);
}

/**
 * The workload's own create (what kubectl apply prints for it) and the event its controller records when the pod is
 * refused; the line above then is the pod's.
 */
function workloadDetails(decision: Decision, explain: boolean, colors: Palette, lines: string[]): void {
  const workload = decision.workload;
  if (!workload) return;
  const what = safe(`${workload.groupKind}/${workload.name}`);
  // A created workload with nothing to say is implied by the pod line under it.
  if (workload.outcome === 'Created' && workload.warnings.length === 0 && !workload.event && !explain) return;
  lines.push(`${INDENT}workload ${what}: ${workload.outcome === 'Created' ? colors.good('created') : `${colors.bad('refused')} (${workload.reason}; no pods are created)`}`);
  for (const w of workload.warnings) lines.push(colors.warn(`${INDENT}workload warning: ${indentContinuation(w)}`));
  if (workload.event) lines.push(colors.bad(`${INDENT}event ${workload.event.reason} on ${workload.event.object}: ${indentContinuation(workload.event.message)}`));
  if (!explain) return;
  for (const t of workload.trace) lines.push(colors.dim(`${INDENT}trace: ${t.verdict.padEnd(6)} ${t.check} (${t.component}): ${indentContinuation(t.detail)}`));
}

/**
 * Messages and warnings quote the input (names, annotation values), so their control characters are escaped: a
 * hostile manifest must not rewrite the terminal or fake a line.
 */
export function indentContinuation(text: string): string {
  return safe(text);
}

export function scenariosTable(outcomes: readonly ScenarioOutcome[], colors: Palette, errors: readonly InputError[] = []): string {
  const lines: string[] = [];
  let failed = 0;
  for (const outcome of outcomes) {
    const passed = outcome.mismatches.length === 0;
    if (!passed) failed++;
    lines.push(`${passed ? colors.good('PASS') : colors.bad('FAIL')} ${safe(outcome.name)} ${safe(outcome.file)}:${outcome.line}`);
    for (const m of outcome.mismatches) {
      lines.push(`${INDENT}${m.field}: expected ${safe(JSON.stringify(m.expected))}`);
      lines.push(`${INDENT}${' '.repeat(m.field.length)}  actual   ${safe(JSON.stringify(m.actual))}`);
    }
  }
  lines.push(...errors.map((e) => colors.bad(tableErrorLine(e))));
  lines.push(`${outcomes.length - failed} passed, ${failed} failed${errorCount(errors.length)}`);
  return `${lines.join('\n')}\n`;
}
