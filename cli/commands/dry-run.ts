// `apparmor-sim dry-run`: simulates every Pod of the given manifests on one modelled node.
import { gateProblems } from '../../sim/feature-gates.js';
import { podDisplayName } from '../../sim/pod.js';
import { simulate } from '../../sim/simulate.js';
import { kubectlDefaultFieldValidation } from '../../sim/field-validation.js';
import type { ClusterFacts, Container, FeatureGates, FieldValidation, Minor, NodeFacts, Pod, RuntimeName, SimInput } from '../../sim/types.js';
import { FIELD_VALIDATIONS, RUNTIME_NAMES } from '../../sim/types.js';
import { readEphemeralContainersFile } from '../../io/load/ephemeral.js';
import { podSecurityPolicyNotes } from '../../io/load/psp.js';
import { NEWEST_MODELLED_MINOR } from '../../sim/version.js';
import type { OptionSpecs, Parsed } from '../../io/args.js';
import { EXIT, EXIT_CODES_HELP, UsageError, flagFailure, parseChoice, parseCommandLine, parseFeatureGates, parseLabels, parseVersionFlag } from '../../io/args.js';
import { paletteFor } from '../output/color.js';
import type { AfterSettings } from './impact.js';
import { dryRunJson } from '../output/json.js';
import { dryRunJunit } from '../output/junit.js';
import type { DryRunFormat, DryRunSummary, PodOutcome } from '../output/report.js';
import { PartsWriter } from '../output/chunked-writer.js';
import { PSP_REMOVED_IN } from '../../sim/checks/psp.js';
import { LIMITS, inLineOrder } from '../../io/load/source.js';
import type { InputError } from '../../io/load/source.js';
import { refused } from '../output/report.js';
import { dryRunTable } from '../output/table.js';
import { loadConfig, todayUtc } from '../../io/load/config.js';
import { Suppressor, selectInputs, withConfigLines, withDefaults } from './config.js';
import type { Manifests, PodInput } from './manifests.js';
import { readManifests } from './manifests.js';
import { buildNode } from './node.js';
import type { FailOnCondition } from './fail-on.js';
import { FAIL_ON_HELP, failsOn, parseFailOn } from './fail-on.js';
import { reportInputProblems } from './input-problems.js';
import { parseVersionList } from './versions.js';

export const OUTPUT_FORMATS = ['table', 'json', 'junit'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
/** dry-run also writes SARIF (scenarios run does not). */
export const DRY_RUN_OUTPUT_FORMATS = [...OUTPUT_FORMATS, 'sarif'] as const;
export type DryRunOutputFormat = (typeof DRY_RUN_OUTPUT_FORMATS)[number];

const OPTIONS = {
  'k8s-version': { type: 'string' },
  'kubelet-version': { type: 'string' },
  node: { type: 'string' },
  profiles: { type: 'string', multiple: true },
  runtime: { type: 'string' },
  'feature-gates': { type: 'string', multiple: true },
  'namespace-labels': { type: 'string', multiple: true },
  namespace: { type: 'string' },
  'apparmor-disabled': { type: 'boolean' },
  explain: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  cluster: { type: 'string' },
  config: { type: 'string' },
  'fail-on': { type: 'string', multiple: true },
  'field-validation': { type: 'string' },
  'ephemeral-containers': { type: 'string' },
  // --impact (cli/commands/impact.ts): the second setting to compare with.
  impact: { type: 'boolean' },
  'after-namespace-labels': { type: 'string', multiple: true },
  'after-feature-gates': { type: 'string', multiple: true },
  'after-runtime': { type: 'string' },
  'after-kubelet-version': { type: 'string' },
  'after-node': { type: 'string' },
  'after-cluster': { type: 'string' },
  'after-profiles': { type: 'string', multiple: true },
} as const satisfies OptionSpecs;

export const DRY_RUN_HELP = `Usage: apparmor-sim dry-run <files|dirs|-> [options]

Simulates each Pod in the given YAML/JSON manifests (multi-document files, directories recursively, - for stdin;
kind: List is expanded; other kinds are listed as skipped) and prints what happens to it.
Workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate) are
simulated as the pod their controller creates; helm template and kustomize build output can be piped in.

Options:
  --k8s-version V         API server version (default 1.${NEWEST_MODELLED_MINOR}, the newest modelled); several, side by side:
                          1.23,1.30,1.34 or ranges 1.28-1.31
  --kubelet-version V     kubelet version (default: the API server version)
  --node FILE             node facts: a YAML map with the keys of a scenario's nodes[] entry
  --cluster FILE          several nodes (labels, taints, facts) and namespaces, or kubectl get nodes -o json:
                          each pod is simulated on every node it could be scheduled to
  --profiles FILE|DIR     loaded profiles (repeatable): the text of /sys/kernel/security/apparmor/profiles,
                          aa-status output (text or --json), or AppArmor profile source files/directories
  --runtime NAME          ${RUNTIME_NAMES.join(' | ')} (default: docker before 1.24, containerd after)
  --feature-gates A=true,B=false
                          feature gates of the API server and the kubelet
  --namespace NAME        namespace of pods that do not name one (default: default)
  --namespace-labels k=v,k2=v2
                          labels of the pods' namespaces (Pod Security Admission reads them)
  --apparmor-disabled     the node's kernel has AppArmor disabled
  --field-validation V    Strict | Warn | Ignore: what the create asks the API server to do with unknown fields
                          (default: what kubectl apply of that version sends: Strict from 1.25, none before)
  --ephemeral-containers FILE
                          container specs (a YAML list) added to each pod through pods/ephemeralcontainers after it runs
  --explain               include each check's trace (and, in JSON, the stored pod)
  -o, --output FORMAT     table (default) | json | junit | sarif
  --impact                report only the pods whose outcome, applied profile or API warnings change between
                          the first and the last --k8s-version and/or the settings changed by --after-* flags,
                          grouped by cause (the check that decides differently); exit code 1 when some change
                          (with --fail-on: when some pod newly meets a condition)
  --after-namespace-labels k=v,...
  --after-feature-gates A=true,...
  --after-runtime NAME
  --after-kubelet-version V
  --after-node FILE
  --after-cluster FILE
  --after-profiles FILE|DIR
                          the second setting of --impact: replaces the first's (feature gates are added to it)
  --config FILE           defaults, files and suppressions (default: .apparmor-sim.yaml in the working directory or
                          the nearest parent that has one)
${FAIL_ON_HELP}
  -h, --help              show this help

Flags override the same settings in --node FILE and in the config file.

${EXIT_CODES_HELP}
`;

export interface DryRunSettings {
  inputs: string[];
  apiserver: Minor;
  /** Every --k8s-version given (a list or range), sorted; apiserver is the first. */
  versions: Minor[];
  /** Whether --k8s-version was given (a cluster file's version applies otherwise). */
  versionGiven: boolean;
  clusterFile: string | undefined;
  /** As given on the command line; undefined means "same as the API server". */
  kubeletText: string | undefined;
  kubelet: Minor;
  nodeFile: string | undefined;
  profiles: string[];
  runtime: RuntimeName | undefined;
  gates: FeatureGates;
  labels: Readonly<Record<string, string>>;
  namespace: string;
  appArmorDisabled: boolean;
  explain: boolean;
  output: DryRunOutputFormat;
  /** The config file's suppressions (none without one). */
  suppressor: Suppressor;
  /** --fail-on: the results that make the exit code 1. */
  failOn: ReadonlySet<FailOnCondition>;
  /** --field-validation; undefined: what kubectl apply of the API server's version sends. */
  fieldValidation: FieldValidation | undefined;
  /** --ephemeral-containers: added to each pod through the subresource. */
  ephemeralContainers: readonly Container[];
}

/** The model's input for one manifest's pod (or workload) on a node: a create as `kubectl apply` sends it. */
export function simInputFor(input: PodInput, cluster: ClusterFacts, node: NodeFacts, settings: Pick<DryRunSettings, 'fieldValidation' | 'ephemeralContainers'>): SimInput {
  return {
    cluster,
    node,
    pod: input.pod,
    ephemeralOnCreate: true,
    addEphemeralContainers: settings.ephemeralContainers.length > 0 ? settings.ephemeralContainers : undefined,
    workload: input.request,
    fieldValidation: settings.fieldValidation ?? kubectlDefaultFieldValidation(cluster.version),
  };
}

export async function runDryRun(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, OPTIONS, 'dry-run');
  if (parsed.help) {
    process.stdout.write(DRY_RUN_HELP);
    return EXIT.ok;
  }
  const config = loadConfig(parsed.values.config, process.cwd(), OPTIONS, todayUtc());
  for (const line of config?.expired ?? []) process.stderr.write(`apparmor-sim: warning: ${line}\n`);
  const configured = withDefaults({ values: parsed.values, positionals: selectInputs(parsed.positionals, config, process.cwd()) }, config);
  const settings = withConfigLines(config, parsed.values, () => readSettings(configured));
  settings.suppressor = new Suppressor(config?.suppressions ?? []);
  if (configured.values.impact === true) {
    const after = withConfigLines(config, parsed.values, () => afterSettings(configured));
    return (await import('./impact.js')).runImpact(settings, after, configured.values['fail-on'] !== undefined);
  }
  // Several versions, several nodes or SARIF: cli/commands/matrix.ts, loaded only then.
  if (settings.versions.length > 1 || settings.clusterFile !== undefined || settings.output === 'sarif') return (await import('./matrix.js')).runMatrix(settings);
  const baseCluster = clusterFor(settings);
  const { node, notes } = await buildNode(settings);
  for (const note of notes) process.stderr.write(`apparmor-sim: warning: ${note}\n`);
  const format = formatFor(settings, node.kubeletVersion);
  const run = new DryRunTally(settings);
  // A PodSecurityPolicy anywhere in the input admits pods anywhere in it: up to 1.24 every policy is read first.
  const stream = settings.apiserver >= PSP_REMOVED_IN ? format.stream : undefined;
  let manifests: Manifests;
  if (stream !== undefined) {
    const simulateOne = podSimulator(settings, node, baseCluster);
    const parts = new PartsWriter(stream.head, stream.separator);
    let errorsSeen = 0;
    const writeError = (error: InputError) => {
      if (stream.error && errorsSeen++ < LIMITS.maxReportedErrors) parts.add(stream.error(error));
    };
    manifests = await readManifests(settings.inputs, process.cwd(), {
      // A document's pods and errors in line order, as the table places errors.
      batch: (pods, errors) => inLineOrder(pods, errors, (input) => parts.add(format.pod(run.add(simulateOne(input)))), writeError),
      idle: () => parts.flush(),
    });
    const errors = reportNotesAndProblems(manifests, settings);
    const omitted = errors.find((error) => error.omitted !== undefined);
    if (stream.error && omitted) parts.add(stream.error(omitted));
    const summary = run.summary(manifests, errors);
    parts.end(() => stream.tail(summary), () => format.document([], summary));
  } else {
    manifests = await readManifests(settings.inputs);
    const simulateOne = podSimulator(settings, node, { ...baseCluster, podSecurityPolicies: manifests.podSecurityPolicies });
    const pods = manifests.pods.map((input) => format.pod(run.add(simulateOne(input))));
    process.stdout.write(format.document(pods, run.summary(manifests, reportNotesAndProblems(manifests, settings))));
  }
  // Input errors win: every result is printed, but a run that could not read all its input is not a pass.
  if (manifests.errors.length > 0) return EXIT.usage;
  return run.failing ? EXIT.refusedOrFailed : EXIT.ok;
}

/** Counts of the results so far, and whether one fails the run (--fail-on), suppressions applied. */
class DryRunTally {
  pods = 0;
  refused = 0;
  suppressed = 0;
  failing = false;

  constructor(private readonly settings: DryRunSettings) {}

  add(result: PodOutcome & { pod: Pod }): PodOutcome {
    this.pods++;
    result.suppressed = this.settings.suppressor.forDecision(result, result.decision);
    if (result.suppressed) this.suppressed++;
    else {
      if (refused(result.decision)) this.refused++;
      if (failsOn(this.settings.failOn, result.pod, result.decision)) this.failing = true;
    }
    return result;
  }

  summary(manifests: Manifests, errors: InputError[]): DryRunSummary {
    return { pods: this.pods, refused: this.refused, suppressed: this.suppressed, skipped: manifests.skipped, errors, files: manifests.files };
  }
}

function afterSettings({ values }: Parsed<typeof OPTIONS>): AfterSettings {
  const described: string[] = [];
  const given = <T>(flag: string, raw: string | string[] | undefined, parse: () => T): T | undefined => {
    if (raw === undefined) return undefined;
    described.push(`${flag} ${Array.isArray(raw) ? raw.join(',') : raw}`);
    return parse();
  };
  return {
    labels: given('--after-namespace-labels', values['after-namespace-labels'], () => parseLabels(values['after-namespace-labels'] ?? [])),
    gates: given('--after-feature-gates', values['after-feature-gates'], () => parseFeatureGates(values['after-feature-gates'] ?? [])),
    runtime: given('--after-runtime', values['after-runtime'], () => parseChoice('--after-runtime', values['after-runtime'] ?? '', RUNTIME_NAMES)),
    kubeletText: values['after-kubelet-version'],
    kubelet: given('--after-kubelet-version', values['after-kubelet-version'], () => parseVersionFlag('--after-kubelet-version', values['after-kubelet-version'] ?? '')),
    nodeFile: given('--after-node', values['after-node'], () => values['after-node']),
    clusterFile: given('--after-cluster', values['after-cluster'], () => values['after-cluster']),
    profiles: given('--after-profiles', values['after-profiles'], () => values['after-profiles']),
    described,
  };
}

function readSettings({ values, positionals }: Parsed<typeof OPTIONS>): DryRunSettings {
  if (positionals.length === 0) throw new UsageError('dry-run needs at least one file, directory, or - for stdin (or include globs in .apparmor-sim.yaml)', true);
  const versions = values['k8s-version'] !== undefined ? parseVersionList('--k8s-version', values['k8s-version']) : [NEWEST_MODELLED_MINOR];
  const apiserver = versions[0] ?? NEWEST_MODELLED_MINOR;
  const kubeletText = values['kubelet-version'];
  const namespace = values.namespace ?? 'default';
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) throw new UsageError(`--namespace: ${JSON.stringify(namespace)} is not a valid namespace name (lowercase letters, digits and -)`);
  return {
    inputs: positionals,
    apiserver,
    versions,
    versionGiven: values['k8s-version'] !== undefined,
    clusterFile: values.cluster,
    kubeletText,
    kubelet: kubeletText !== undefined ? parseVersionFlag('--kubelet-version', kubeletText) : apiserver,
    nodeFile: values.node,
    profiles: values.profiles ?? [],
    runtime: values.runtime !== undefined ? parseChoice('--runtime', values.runtime, RUNTIME_NAMES) : undefined,
    gates: parseFeatureGates(values['feature-gates'] ?? []),
    labels: parseLabels(values['namespace-labels'] ?? []),
    namespace,
    appArmorDisabled: values['apparmor-disabled'] === true,
    explain: values.explain === true,
    output: parseChoice('--output', values.output ?? 'table', DRY_RUN_OUTPUT_FORMATS),
    suppressor: new Suppressor([]),
    failOn: parseFailOn(values['fail-on']),
    fieldValidation: values['field-validation'] !== undefined ? parseChoice('--field-validation', values['field-validation'], FIELD_VALIDATIONS) : undefined,
    ephemeralContainers: values['ephemeral-containers'] !== undefined ? readEphemeralContainersFile(values['ephemeral-containers']) : [],
  };
}

/** The cluster for the default namespace; pods naming another namespace get a copy with that name. */
function clusterFor(settings: DryRunSettings): ClusterFacts {
  const problems = gateProblems(settings.gates, settings.apiserver, 'kube-apiserver');
  if (problems.length > 0) throw flagFailure(problems.map((p) => `--feature-gates: ${p.message}`));
  return {
    version: settings.apiserver,
    featureGates: settings.gates,
    namespace: { name: settings.namespace, labels: settings.labels },
    podSecurityPolicies: [],
  };
}

/** Simulates one pod; pods naming another namespace than the default get a copy of the cluster with that name. */
function podSimulator(settings: DryRunSettings, node: NodeFacts, cluster: ClusterFacts): (input: PodInput) => PodOutcome & { pod: Pod } {
  const clusters = new Map<string, ClusterFacts>([[settings.namespace, cluster]]);
  return (input) => {
    const { file, line, pod, workload } = input;
    const namespace = pod.namespace ?? settings.namespace;
    let podCluster = clusters.get(namespace);
    if (!podCluster) {
      podCluster = { ...cluster, namespace: { name: namespace, labels: cluster.namespace.labels } };
      clusters.set(namespace, podCluster);
    }
    return { file, line, namespace, name: podDisplayName(pod), workload, pod, decision: simulate(simInputFor(input, podCluster, node, settings)) };
  };
}

/** The PodSecurityPolicy note, then the input's notes and errors on standard error; the (capped) errors. */
function reportNotesAndProblems(manifests: Manifests, settings: DryRunSettings): InputError[] {
  for (const note of podSecurityPolicyNotes(manifests.podSecurityPolicies.length, [settings.apiserver])) process.stderr.write(`apparmor-sim: warning: ${note}\n`);
  return reportInputProblems(manifests);
}

function formatFor(settings: DryRunSettings, kubelet: Minor): DryRunFormat {
  switch (settings.output) {
    case 'json':
      // The node's kubelet: --kubelet-version, else the --node file's kubeletVersion, else the API server's.
      return dryRunJson(settings.explain, { apiserver: settings.apiserver, kubelet });
    case 'junit':
      return dryRunJunit;
    case 'table':
      return dryRunTable(settings.explain, paletteFor(process.stdout));
    case 'sarif':
      throw new Error('SARIF is written by cli/commands/matrix.ts');
  }
}
