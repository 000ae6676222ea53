// What the commands hand to the output formats.
import type { Mismatch } from '../../sim/expect.js';
import type { ContainerResult, Decision } from '../../sim/types.js';
import type { InputError } from '../../io/load/source.js';
import type { SkippedDocument } from '../commands/manifests.js';
import type { WorkloadRef } from '../commands/workloads.js';
import type { Suppression } from '../../io/load/config.js';

export interface PodOutcome {
  file: string;
  line: number;
  namespace: string;
  name: string;
  decision: Decision;
  /** The workload whose pod template the pod was built from. */
  workload?: WorkloadRef | undefined;
  /** A refusal the config file accepts: reported as suppressed, not counted as refused. */
  suppressed?: Suppression | undefined;
}

/** `namespace/name`, followed by ` (Kind/name)` for a workload's pod. */
export function podLabel(result: Pick<PodOutcome, 'namespace' | 'name' | 'workload'>): string {
  return `${result.namespace}/${result.name}${result.workload ? ` (${result.workload.kind}/${result.workload.name})` : ''}`;
}

export interface DryRunSummary {
  pods: number;
  /** Refused pods, without the suppressed ones. */
  refused: number;
  /** Refused pods whose refusal the config file suppresses. */
  suppressed?: number;
  skipped: readonly SkippedDocument[];
  /** Input errors of single files or documents; the other documents' results are all there. */
  errors: readonly InputError[];
  /** Input labels in the order read (to print errors in place); errors go last when a file is not listed. */
  files?: readonly string[] | undefined;
}

/**
 * A dry-run output format. Each pod is rendered as soon as it is simulated so that only strings outlive the
 * simulation: keeping 10,000 decisions with their traces alive until the end costs more in garbage collection than
 * the simulation itself.
 */
export interface DryRunFormat {
  pod(result: PodOutcome): string;
  /** The whole output, from the rendered pods in input order. */
  document(pods: readonly string[], summary: DryRunSummary): string;
  /**
   * The same output written as results come: `head` before the first part, `separator` between parts, then `tail`.
   * Parts are rendered pods and, where `error` renders them in place (the table), input errors. Undefined when the
   * format needs every result before it writes (JUnit's counts lead the document); an output without parts is
   * written by `document`.
   */
  stream?: DryRunStream | undefined;
}

export interface DryRunStream {
  head: string;
  separator: string;
  error?: ((error: InputError) => string) | undefined;
  tail(summary: DryRunSummary): string;
}

export interface ScenarioOutcome {
  name: string;
  file: string;
  line: number;
  decision: Decision;
  mismatches: Mismatch[];
}

export function refused(decision: Decision): boolean {
  return decision.outcome !== 'Run';
}

/** How a container is labelled in the text formats: init and ephemeral containers are marked. */
export function containerLabel(container: ContainerResult): string {
  if (container.kind === 'initContainers') return `init:${container.name}`;
  if (container.kind === 'ephemeralContainers') return `ephemeral:${container.name}`;
  return container.name;
}

/** The container's /proc/1/attr/current, or why there is none. */
export function containerSummary(container: ContainerResult): string {
  if (container.procAttrCurrent !== null) return container.procAttrCurrent;
  if (container.state === 'Running') return 'running, AppArmor off on the node (no profile)';
  return `not started (${container.state}${container.waitingReason ? `: ${container.waitingReason}` : ''})`;
}
