// `scenarios run --recordings DIR`: the conformance harness compares recorded cluster runs with the scenarios.
// Its result entries are its own business; this reads only the fields every report needs (name, passed, mismatches).
import { isMap } from '../../sim/pod.js';
import { UsageError } from '../../io/args.js';
import type { Scenario } from '../../io/load/scenario.js';
import { scenariosJsonBody } from '../output/json.js';
import type { ScenarioOutcome } from '../output/report.js';
import { importOptional } from './optional.js';

export interface RecordingsReport {
  failed: boolean;
  /** Lines appended to the table output; empty for junit, where a trailer would not be valid XML. */
  text: string;
  json(outcomes: readonly ScenarioOutcome[]): string;
}

export async function recordingsReport(dir: string, scenarios: readonly Scenario[], format: string): Promise<RecordingsReport> {
  const check = (await importOptional(() => import('../../conformance/recordings.js'), 'conformance/recordings.js'))?.['checkRecordings'];
  if (typeof check !== 'function') throw new UsageError('--recordings: conformance recordings support not available in this build');
  const value: unknown = await check(dir, scenarios);
  const results: unknown[] | undefined = isMap(value) && Array.isArray(value['results']) ? value['results'] : undefined;
  if (!results) throw new Error('checkRecordings returned no results list');
  const failed = results.some((r) => isMap(r) && (r['passed'] === false || r['ok'] === false));
  return {
    failed,
    text: format === 'table' ? recordingLines(results) : '',
    json: (outcomes) => `${JSON.stringify({ ...scenariosJsonBody(outcomes), recordings: { results } }, null, 2)}\n`,
  };
}

function recordingLines(results: readonly unknown[]): string {
  const lines: string[] = [];
  let failed = 0;
  for (const result of results) {
    if (!isMap(result)) continue;
    const passed = result['passed'] !== false && result['ok'] !== false;
    if (!passed) failed++;
    lines.push(`RECORDING ${passed ? 'PASS' : 'FAIL'} ${String(result['name'] ?? result['scenario'] ?? '?')}`);
    const mismatches = Array.isArray(result['mismatches']) ? result['mismatches'] : [];
    for (const m of mismatches) {
      if (isMap(m)) lines.push(`    ${String(m['field'])}: expected ${JSON.stringify(m['expected'])}, recorded ${JSON.stringify(m['actual'])}`);
    }
    // Differences the recording itself explains (e.g. a documentation page pieced together from several runs).
    const known = Array.isArray(result['knownDifferences']) ? result['knownDifferences'] : [];
    for (const k of known) {
      if (isMap(k)) lines.push(`    known difference ${String(k['field'])}: model ${JSON.stringify(k['expected'])}, recorded ${JSON.stringify(k['actual'])} (${String(k['why'])})`);
    }
  }
  lines.push(`recordings: ${results.length - failed} agree, ${failed} disagree`);
  return `${lines.join('\n')}\n`;
}
