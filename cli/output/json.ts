// The JSON formats. Their shapes are a documented interface (docs/output.md, docs/schema/): add keys, never rename them.
import type { Mismatch } from '../../sim/expect.js';
import type { ContainerResult, Decision, Minor, Outcome, Pod, Stage, TraceEntry, WorkloadDecision } from '../../sim/types.js';
import { formatMinor } from '../../sim/version.js';
import type { SkippedDocument } from '../commands/manifests.js';
import type { WorkloadRef } from '../commands/workloads.js';
import type { InputError } from '../../io/load/source.js';
import type { InputErrorJson } from './input-errors.js';
import { inputErrorsJson } from './input-errors.js';
import type { DryRunFormat, DryRunSummary, PodOutcome, ScenarioOutcome } from './report.js';
import { suppressionJson } from '../commands/config.js';

export const DRY_RUN_SCHEMA_VERSION = 1;
/** The version of the shapes below, described by docs/schema/*.schema.json; `version` is the same number, kept for readers written before schemaVersion. */
export const JSON_SCHEMA_VERSION = DRY_RUN_SCHEMA_VERSION;
/** How every dry-run JSON document starts. */
export const DRY_RUN_JSON_HEAD = `{\n  "schemaVersion": ${JSON_SCHEMA_VERSION},\n  "version": ${DRY_RUN_SCHEMA_VERSION},\n  "results": `;

export interface ContainerJson {
  name: string;
  kind: ContainerResult['kind'];
  requested: string | null;
  requestedBy: ContainerResult['requestedBy'];
  appliedProfile: string | null;
  procAttrCurrent: string | null;
  state: ContainerResult['state'];
  waitingReason: string | null;
}

export interface PodResultJson {
  file: string;
  line: number;
  kind: 'Pod';
  namespace: string;
  name: string;
  outcome: Outcome;
  stage: Stage;
  reason: string;
  message: string;
  warnings: string[];
  containers: ContainerJson[];
  storedPod?: Pod | null;
  trace?: TraceEntry[];
  /** Only for a pod built from a workload's pod template. */
  workload?: WorkloadRef;
  /** Only for a refusal the config file suppresses. */
  suppressed?: ReturnType<typeof suppressionJson>;
  /** Only for a workload: the create of the workload itself, and the controller's event when the pod is refused. */
  workloadCreate?: WorkloadCreateJson;
}

export interface WorkloadCreateJson {
  kind: string;
  groupKind: string;
  name: string;
  outcome: WorkloadDecision['outcome'];
  reason: string;
  message: string;
  warnings: string[];
  event: { object: string; reason: string; message: string } | null;
  trace?: TraceEntry[];
}

export function workloadCreateJson(workload: WorkloadDecision, explain: boolean): WorkloadCreateJson {
  const json: WorkloadCreateJson = {
    kind: workload.kind,
    groupKind: workload.groupKind,
    name: workload.name,
    outcome: workload.outcome,
    reason: workload.reason,
    message: workload.message,
    warnings: workload.warnings,
    event: workload.event ?? null,
  };
  if (explain) json.trace = workload.trace;
  return json;
}

export interface DryRunJson {
  schemaVersion: typeof JSON_SCHEMA_VERSION;
  version: typeof DRY_RUN_SCHEMA_VERSION;
  results: PodResultJson[];
  skipped: SkippedDocument[];
  /** The API server version simulated. */
  k8sVersions: string[];
  /** The kubelet version simulated. */
  kubeletVersion: string;
  /** Input errors of single files or documents (file, line, column, message); the results of the rest are complete. */
  errors: InputErrorJson[];
}

/** Pretty-printed like JSON.stringify(body, null, 2) of a DryRunJson, assembled from per-pod pieces. */
export function dryRunJson(explain: boolean, versions: { apiserver: Minor; kubelet: Minor }): DryRunFormat {
  /** Everything after the results. */
  const tail = (summary: DryRunSummary): string => {
    const skipped = summary.skipped.map(({ file, line, kind, name, why }) => ({ file, line, kind, name, why }));
    const simulated = `,\n  "k8sVersions": [${JSON.stringify(formatMinor(versions.apiserver))}],\n  "kubeletVersion": ${JSON.stringify(formatMinor(versions.kubelet))}`;
    const errors = JSON.stringify(inputErrorsJson(summary.errors), null, 2).replace(NEWLINES, '\n  ');
    return `,\n  "skipped": ${JSON.stringify(skipped, null, 2).replace(NEWLINES, '\n  ')}${simulated},\n  "errors": ${errors}\n}\n`;
  };
  return {
    pod: (result) => `    ${JSON.stringify(podResultJson(result, explain), null, 2).replace(NEWLINES, '\n    ')}`,
    document(pods, summary) {
      const results = pods.length > 0 ? `[\n${pods.join(',\n')}\n  ]` : '[]';
      return `${DRY_RUN_JSON_HEAD}${results}${tail(summary)}`;
    },
    stream: { head: `${DRY_RUN_JSON_HEAD}[\n`, separator: ',\n', tail: (summary) => `\n  ]${tail(summary)}` },
  };
}

const NEWLINES = /\n/g;

export function podResultJson(result: PodOutcome, explain: boolean): PodResultJson {
  const { decision } = result;
  const json: PodResultJson = {
    file: result.file,
    line: result.line,
    kind: 'Pod',
    namespace: result.namespace,
    name: result.name,
    outcome: decision.outcome,
    stage: decision.stage,
    reason: decision.reason,
    message: decision.message,
    warnings: decision.warnings,
    containers: decision.containers.map(containerJson),
  };
  if (explain) {
    json.storedPod = decision.storedPod;
    json.trace = decision.trace;
  }
  if (result.workload) json.workload = { kind: result.workload.kind, name: result.workload.name };
  if (decision.workload) json.workloadCreate = workloadCreateJson(decision.workload, explain);
  if (result.suppressed) json.suppressed = suppressionJson(result.suppressed);
  return json;
}

export function containerJson(c: ContainerResult): ContainerJson {
  return {
    name: c.name,
    kind: c.kind,
    requested: c.requested,
    requestedBy: c.requestedBy,
    appliedProfile: c.appliedProfile,
    procAttrCurrent: c.procAttrCurrent,
    state: c.state,
    waitingReason: c.waitingReason ?? null,
  };
}

export interface ScenarioResultJson {
  name: string;
  file: string;
  passed: boolean;
  actual: {
    outcome: Outcome;
    stage: Stage;
    reason: string;
    message: string;
    containers: Record<string, { profile: string | null }>;
    warnings: string[];
    /** Only for a workload scenario. */
    workload?: WorkloadCreateJson;
  };
  mismatches: Mismatch[];
}

export interface ScenariosJson {
  schemaVersion: typeof JSON_SCHEMA_VERSION;
  total: number;
  passed: number;
  failed: number;
  results: ScenarioResultJson[];
  /** Scenario files or entries that could not be read; the others ran. */
  errors: InputErrorJson[];
}

export function scenariosJson(outcomes: readonly ScenarioOutcome[], errors: readonly InputError[] = []): string {
  return `${JSON.stringify(scenariosJsonBody(outcomes, errors), null, 2)}\n`;
}

export function scenariosJsonBody(outcomes: readonly ScenarioOutcome[], errors: readonly InputError[] = []): ScenariosJson {
  const results = outcomes.map(scenarioResultJson);
  const passed = results.filter((r) => r.passed).length;
  return { schemaVersion: JSON_SCHEMA_VERSION, total: results.length, passed, failed: results.length - passed, results, errors: inputErrorsJson(errors) };
}

function scenarioResultJson(outcome: ScenarioOutcome): ScenarioResultJson {
  return {
    name: outcome.name,
    file: outcome.file,
    passed: outcome.mismatches.length === 0,
    actual: actualJson(outcome.decision),
    mismatches: outcome.mismatches.map(({ field, expected, actual }) => ({ field, expected, actual })),
  };
}

function actualJson(decision: Decision): ScenarioResultJson['actual'] {
  const containers: Record<string, { profile: string | null }> = {};
  for (const c of decision.containers) containers[c.name] = { profile: c.procAttrCurrent };
  const actual: ScenarioResultJson['actual'] = { outcome: decision.outcome, stage: decision.stage, reason: decision.reason, message: decision.message, containers, warnings: decision.warnings };
  if (decision.workload) actual.workload = workloadCreateJson(decision.workload, false);
  return actual;
}
