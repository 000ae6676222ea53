// SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps): one result per distinct refusal of a pod, located at
// the annotation or field that requested the profile when the manifest has one, else at the pod or workload.
import { readFileSync } from 'node:fs';
import { ANNOTATION_PREFIX } from '../../sim/pod.js';
import type { ContainerResult, Decision } from '../../sim/types.js';
import { formatMinor } from '../../sim/version.js';
import type { PodInput } from '../commands/manifests.js';
import { formatVersionRanges } from '../commands/versions.js';
import type { PodChange } from '../commands/impact.js';
import type { MatrixFormat, MatrixOutcome } from './matrix.js';
import { podLabel } from './report.js';
import type { Suppression } from '../../io/load/config.js';
import type { InputError } from '../../io/load/source.js';

const HELP_URI = 'https://kubernetes.io/docs/tutorials/security/apparmor/';

export interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string; markdown: string };
  helpUri: string;
  defaultConfiguration: { level: 'error' | 'warning' };
  properties: { tags: string[] };
}

function rule(id: string, name: string, short: string, full: string, help: string, level: 'error' | 'warning' = 'error'): SarifRule {
  return { id, name, shortDescription: { text: short }, fullDescription: { text: full }, help: { text: help, markdown: help }, helpUri: HELP_URI, defaultConfiguration: { level }, properties: { tags: ['kubernetes', 'apparmor', 'security'] } };
}

/** One rule per kind of refusal, and one for the API server's warnings. */
export const SARIF_RULES: readonly SarifRule[] = [
  rule('apparmor/invalid', 'PodInvalid', 'The API server refuses the pod as invalid (422).', 'Validation of the AppArmor annotations or securityContext.appArmorProfile fields fails: the pod is never stored.', 'Fix the annotation or field named in the message: a profile must be runtime/default, unconfined or localhost/<name> (annotations), or type RuntimeDefault, Unconfined or Localhost with localhostProfile (fields), and annotations and fields must agree.'),
  rule('apparmor/forbidden', 'PodForbidden', 'Admission forbids the pod (403).', 'Pod Security Admission or a PodSecurityPolicy refuses the AppArmor profile the pod asks for.', 'Request a profile the namespace policy allows (restricted and baseline allow runtime/default and localhost profiles, not unconfined), or change the namespace labels.'),
  rule('apparmor/blocked', 'PodBlocked', 'The kubelet blocks the pod (AppArmor).', 'Kubelet admission refuses the pod: AppArmor is off on the node, the runtime cannot apply profiles, or the profile is not loaded. The pod stays Pending with reason AppArmor.', 'Load the profile on every node the pod can be scheduled to (apparmor_parser -r), or schedule the pod only to nodes that have it (nodeSelector or node affinity).'),
  rule('apparmor/rejected', 'PodRejected', 'The kubelet rejects the pod.', 'The kubelet rejects the pod at admission (Failed, reason from the kubelet) because of its AppArmor request.', 'Use a profile the node can apply, or a kubelet version that supports the request.'),
  rule('apparmor/create-container-error', 'CreateContainerError', 'The runtime cannot create the container (CreateContainerError).', 'The container runtime fails to apply the AppArmor profile, typically because the profile is not loaded on the node; the container stays Waiting.', 'Load the profile on the node before the pod starts (e.g. with a DaemonSet or the security-profiles-operator), or request runtime/default.'),
  rule('apparmor/input-error', 'InputError', 'A file or document could not be read.', 'The YAML or JSON is malformed, crosses an input limit, or is not a valid Pod or workload; the other documents were still simulated.', 'Fix the document at the reported line; the message says what is wrong.'),
  rule('apparmor/api-warning', 'ApiWarning', 'The API server warns about the pod.', 'A Warning header returned with the create, e.g. deprecated AppArmor annotations.', 'Follow the warning: from 1.30 use securityContext.appArmorProfile instead of the beta annotations.', 'warning'),
];

export function ruleFor(decision: Decision): string {
  switch (decision.outcome) {
    case 'Forbidden':
      return decision.reason === 'Invalid' ? 'apparmor/invalid' : 'apparmor/forbidden';
    case 'Blocked':
      return 'apparmor/blocked';
    case 'Rejected':
      return 'apparmor/rejected';
    case 'CreateContainerError':
      return 'apparmor/create-container-error';
    case 'Run':
      return '';
  }
}

/** The line of the annotation or field behind a refusal or warning; the pod's (or workload's) line when unknown. */
export function requestLine(input: PodInput, text: string, containers: readonly ContainerResult[]): number {
  const req = input.requests;
  if (!req) return input.line;
  for (const [name, line] of Object.entries(req.annotations)) {
    if (text.includes(ANNOTATION_PREFIX + name)) return line;
  }
  const ordered = [...containers.filter((c) => c.state !== 'Running'), ...containers.filter((c) => c.state === 'Running')];
  for (const c of ordered) {
    const line = c.requestedBy === 'annotation' ? req.annotations[c.name] : c.requestedBy === 'container-field' ? req.containerFields[c.name] : c.requestedBy === 'pod-field' ? req.podField : undefined;
    if (line !== undefined) return line;
  }
  if (text.includes('appArmorProfile') && req.podField !== undefined) return req.podField;
  return Object.values(req.containerFields)[0] ?? Object.values(req.annotations)[0] ?? req.podField ?? input.line;
}

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: 'error' | 'warning';
  message: { text: string };
  locations: unknown[];
  partialFingerprints: Record<string, string>;
  /** SARIF 2.1.0 §3.27.23: present when the config file accepts the finding; viewers show it as suppressed. */
  suppressions?: SarifSuppression[];
  properties: Record<string, unknown>;
}

interface SarifSuppression {
  kind: 'external';
  status: 'accepted';
  justification: string;
  location: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } };
}

/** encodeURI leaves `#` and `?`, which would start a fragment or a query: a file named `a#b.yaml` must stay one path. */
export function artifactUri(file: string): string {
  if (file === '<stdin>') return 'stdin';
  const encode = (path: string) => encodeURI(path).replace(/[#?]/g, (ch) => (ch === '#' ? '%23' : '%3F'));
  if (file.startsWith('/')) return `file://${encode(file)}`;
  return encode(file.split('\\').join('/'));
}

function inputErrorResult(error: InputError): SarifResult {
  const ruleIndex = SARIF_RULES.findIndex((r) => r.id === 'apparmor/input-error');
  const region = error.line !== undefined ? { region: { startLine: error.line, ...(error.column !== undefined ? { startColumn: error.column } : {}) } } : {};
  return {
    ruleId: 'apparmor/input-error',
    ruleIndex,
    level: 'error',
    message: { text: error.message },
    locations: error.file === 'apparmor-sim' ? [] : [{ physicalLocation: { artifactLocation: { uri: artifactUri(error.file) }, ...region } }],
    partialFingerprints: { 'apparmorSim/v1': `apparmor/input-error:${error.file}:${hash(error.message)}` },
    properties: {},
  };
}

function resultsOf(outcome: MatrixOutcome): SarifResult[] {
  const found = new Map<string, { ruleId: string; text: string; line: number; decision: Decision; versions: Set<number>; nodes: Set<string> }>();
  const add = (ruleId: string, text: string, decision: Decision, version: number, nodes: readonly string[]) => {
    const line = requestLine(outcome.input, text, decision.containers);
    const key = `${ruleId}\u0000${text}\u0000${line}`;
    const entry = found.get(key) ?? { ruleId, text, line, decision, versions: new Set<number>(), nodes: new Set<string>() };
    entry.versions.add(version);
    for (const n of nodes) entry.nodes.add(n);
    found.set(key, entry);
  };
  for (const cell of outcome.cells) {
    for (const group of cell.groups) {
      const ruleId = ruleFor(group.decision);
      if (ruleId) add(ruleId, group.decision.message, group.decision, cell.version, group.nodes);
      // The workload's own warnings are what kubectl prints; the pod's are returned to its controller.
      for (const warning of [...(group.decision.workload?.warnings ?? []), ...group.decision.warnings]) {
        if (!warning.startsWith('apparmor-sim: ')) add('apparmor/api-warning', warning, group.decision, cell.version, group.nodes);
      }
    }
  }
  const pod = podLabel({ ...outcome, workload: outcome.input.workload });
  return [...found.values()].map((f): SarifResult => {
    const ruleIndex = SARIF_RULES.findIndex((r) => r.id === f.ruleId);
    const level = SARIF_RULES[ruleIndex]?.defaultConfiguration.level ?? 'error';
    const suppression = outcome.suppress?.(f.ruleId, f.decision);
    return {
      ruleId: f.ruleId,
      ruleIndex,
      level,
      message: { text: f.text },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri: artifactUri(outcome.input.file) }, region: { startLine: f.line } },
          logicalLocations: [{ name: pod, fullyQualifiedName: `${outcome.namespace}/${outcome.name}`, kind: 'resource' }],
        },
      ],
      partialFingerprints: { 'apparmorSim/v1': `${f.ruleId}:${outcome.namespace}/${outcome.input.workload ? `${outcome.input.workload.kind}/${outcome.input.workload.name}` : outcome.name}:${hash(f.text)}` },
      ...(suppression ? { suppressions: [sarifSuppression(suppression)] } : {}),
      properties: {
        outcome: f.decision.outcome,
        stage: f.decision.stage,
        reason: f.decision.reason,
        namespace: outcome.namespace,
        pod: outcome.name,
        workload: outcome.input.workload ?? null,
        k8sVersions: [...f.versions].sort((a, b) => a - b).map(formatMinor),
        k8sVersionRanges: formatVersionRanges([...f.versions].sort((a, b) => a - b)),
        nodes: [...f.nodes],
      },
    };
  });
}

function sarifSuppression(s: Suppression): SarifSuppression {
  const colon = s.at.lastIndexOf(':');
  return {
    kind: 'external',
    status: 'accepted',
    justification: `${s.reason}${s.expires !== undefined ? ` (until ${s.expires})` : ''}`,
    location: { physicalLocation: { artifactLocation: { uri: artifactUri(s.at.slice(0, colon)) }, region: { startLine: Number(s.at.slice(colon + 1)) } } },
  };
}

/** FNV-1a, enough to tell messages apart in a fingerprint. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export const matrixSarif: MatrixFormat = {
  pod: (outcome) => resultsOf(outcome).map((r) => JSON.stringify(r)).join('\n'),
  document(pods, summary) {
    const results = pods.filter((p) => p !== '').flatMap((p) => p.split('\n').map((line) => JSON.parse(line) as SarifResult));
    results.push(...summary.errors.map(inputErrorResult));
    const log = {
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: 'apparmor-sim', version: packageVersion(), semanticVersion: packageVersion(), informationUri: HELP_URI, rules: SARIF_RULES } },
          columnKind: 'utf16CodeUnits',
          results,
        },
      ],
    };
    return `${JSON.stringify(log, null, 2)}\n`;
  },
};

let cachedVersion: string | undefined;

export function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  // Built, this code is in a chunk of dist/bundle/ (scripts/build.mjs), or dist/cli/output/sarif.js; from source,
  // cli/output/sarif.ts. In this order no candidate is outside the package.
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'apparmor-sim' && typeof manifest.version === 'string') return (cachedVersion = manifest.version);
    } catch {
      // Not this candidate.
    }
  }
  return (cachedVersion = 'unknown');
}

/** `dry-run --impact --output sarif`: one result per pod that changes, at the request that the change concerns. */
export const IMPACT_RULE: SarifRule = rule(
  'apparmor/impact',
  'OutcomeChanges',
  "The pod's outcome, applied AppArmor profile or API warnings change between the compared settings.",
  'Compared with the first setting (version, namespace labels, feature gates, runtime, nodes), the pod is handled differently in the second: the message names the transition and the check that causes it.',
  'Read the check named as the cause (apparmor-sim dry-run --explain shows its trace) and change the pod or the nodes before the upgrade.',
  'warning',
);

export function impactSarif(changes: readonly PodChange[], title: string, errors: readonly InputError[]): string {
  const results = changes.map((change) => {
    const outcome = change.outcome;
    const after = change.groups[0]?.after.decision;
    const refusedAfter = change.groups.some((g) => g.after.decision !== undefined && g.after.decision.outcome !== 'Run');
    const text = `${title}: ${change.transition} (cause: ${change.cause})${after?.message ? `: ${after.message}` : ''}`;
    return {
      ruleId: IMPACT_RULE.id,
      ruleIndex: 0,
      level: refusedAfter ? 'error' : 'warning',
      message: { text },
      locations: [
        {
          physicalLocation: { artifactLocation: { uri: artifactUri(outcome.input.file) }, region: { startLine: requestLine(outcome.input, after?.message ?? '', after?.containers ?? []) } },
          logicalLocations: [{ name: podLabel({ ...outcome, workload: outcome.input.workload }), fullyQualifiedName: `${outcome.namespace}/${outcome.name}`, kind: 'resource' }],
        },
      ],
      partialFingerprints: { 'apparmorSim/v1': `${IMPACT_RULE.id}:${outcome.namespace}/${outcome.input.workload ? `${outcome.input.workload.kind}/${outcome.input.workload.name}` : outcome.name}:${hash(text)}` },
      ...(change.suppressed ? { suppressions: [sarifSuppression(change.suppressed)] } : {}),
      properties: { cause: change.cause, changed: change.aspects, transition: change.transition, nodes: change.groups.flatMap((g) => g.nodes) },
    };
  });
  // Input errors as in dry-run's other SARIF: at index 1 of this run's rules.
  const errorResults = errors.map((e) => ({ ...inputErrorResult(e), ruleIndex: 1 }));
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'apparmor-sim', version: packageVersion(), semanticVersion: packageVersion(), informationUri: HELP_URI, rules: [IMPACT_RULE, ...SARIF_RULES.filter((r) => r.id === 'apparmor/input-error')] } }, columnKind: 'utf16CodeUnits', results: [...results, ...errorResults] }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
