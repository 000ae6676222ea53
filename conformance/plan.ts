// `apparmor-sim conformance plan`: where each scenario would run, and why the others would be skipped, without
// creating anything. Users audit a run before pointing it at a shared cluster. The cluster is described by a cluster
// file (as `dry-run --cluster` reads it), by the nodes a `--kind` run would create on this host, or by an existing
// cluster's node list (read only; no probe pods, so the nodes' AppArmor state is unknown).
import { readFileSync } from 'node:fs';
import type { OptionSpecs } from '../io/args.js';
import { parseChoice, parseCommandLine, parseFeatureGates, parseVersionFlag, UsageError } from '../io/args.js';
import { loadCluster } from '../io/load/cluster.js';
import type { Scenario } from '../io/load/scenario.js';
import { loadScenarios } from '../io/load/scenarios.js';
import type { FeatureGates, Minor } from '../sim/types.js';
import { DEFAULT_KIND_MINOR, kindImageFor } from './images.js';
import type { ConnectOptions, Connection } from './k8s-client.js';
import { KubeconfigError, NoKubeconfig } from './k8s-client.js';
import { describeApiError } from './cluster-api.js';
import type { ClusterDescription, ClusterNode } from './nodefacts.js';
import { clusterNodeFromInfo, parseMinor, placeScenario } from './nodefacts.js';

const PLAN_OPTIONS = {
  kind: { type: 'boolean' },
  'k8s-version': { type: 'string' },
  workers: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  cluster: { type: 'string' },
  'feature-gates': { type: 'string', multiple: true },
  filter: { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const satisfies OptionSpecs;

export const PLAN_HELP = `Usage: apparmor-sim conformance plan <files|dirs> (--kind | --kubeconfig FILE | --cluster FILE) [options]

Prints where each scenario would run and why the others would be skipped; creates nothing.

  --kind                  the nodes a --kind run would create here: kind's containerd nodes of --k8s-version, with
                          AppArmor as this host's kernel has it (/sys/module/apparmor/parameters/enabled), prepared
                          so that containerd applies profiles
  --k8s-version V         with --kind (default 1.${DEFAULT_KIND_MINOR}), or the API server version of a cluster file without one
  --workers N             with --kind: worker nodes besides the control plane (default 0)
  --kubeconfig FILE       an existing cluster's nodes, read through the API (no pods; AppArmor state unknown)
  --context NAME          kubeconfig context to use
  --cluster FILE          a cluster file, as for dry-run --cluster (nodes with version, runtime, appArmorEnabled, profiles)
  --feature-gates A=true  gates the cluster runs with
  --filter SUBSTRING      only scenarios whose name contains SUBSTRING
  -o, --output FORMAT     table (default) | json: {"scenarios": [{"name", "node", "skipReason"}]}
`;

export interface PlanDeps {
  stdout(text: string): void;
  stderr(text: string): void;
  connect(options: ConnectOptions): Promise<Connection>;
  /** Whether this host's kernel has AppArmor enabled (kind nodes share it); null when unknown. */
  hostAppArmor(): boolean | null;
}

export interface PlannedScenario {
  name: string;
  node: string | null;
  skipReason: string | null;
}

/** /sys/module/apparmor/parameters/enabled of this host, as the kubelet and containerd in a kind node would read it. */
export function readHostAppArmor(): boolean | null {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    return null;
  }
}

export function planScenarios(scenarios: readonly Scenario[], cluster: ClusterDescription): PlannedScenario[] {
  return scenarios.map((scenario) => {
    const placement = placeScenario(scenario, cluster);
    return placement.ok ? { name: scenario.name, node: placement.node.name, skipReason: null } : { name: scenario.name, node: null, skipReason: placement.reason };
  });
}

export async function planCommand(argv: readonly string[], deps: PlanDeps): Promise<number> {
  const { values, positionals, help } = parseCommandLine(argv, PLAN_OPTIONS, 'conformance');
  if (help) {
    deps.stdout(PLAN_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('conformance plan needs at least one scenario file or directory', true, 'conformance');
  const targets = [values.kind ? '--kind' : '', values.kubeconfig !== undefined || values.context !== undefined ? '--kubeconfig' : '', values.cluster !== undefined ? '--cluster' : ''].filter(Boolean);
  if (targets.length !== 1) throw new UsageError(`conformance plan needs exactly one of --kind, --kubeconfig FILE, --cluster FILE${targets.length > 1 ? ` (got ${targets.join(', ')})` : ''}`, true, 'conformance');
  if (values.workers !== undefined && !values.kind) throw new UsageError('--workers only applies with --kind', true, 'conformance');
  const output = parseChoice('--output', values.output ?? 'table', ['table', 'json'] as const);
  const featureGates = parseFeatureGates(values['feature-gates'] ?? []);
  const version = values['k8s-version'] === undefined ? undefined : parseVersionFlag('--k8s-version', values['k8s-version']);

  let scenarios = await loadScenarios(positionals);
  if (values.filter !== undefined) {
    const filter = values.filter;
    scenarios = scenarios.filter((s) => s.name.includes(filter));
  }
  if (scenarios.length === 0) throw new UsageError(`no scenarios found in ${positionals.join(', ')}${values.filter !== undefined ? ` matching --filter ${JSON.stringify(values.filter)}` : ''}`);

  let cluster: ClusterDescription;
  if (values.kind) {
    cluster = kindCluster(version ?? DEFAULT_KIND_MINOR, workersFlag(values.workers), featureGates, deps.hostAppArmor());
  } else if (values.cluster !== undefined) {
    cluster = await fileCluster(values.cluster, version, featureGates);
  } else {
    if (version !== undefined) throw new UsageError('--k8s-version does not apply with --kubeconfig (the API server says its version)', true, 'conformance');
    try {
      cluster = await liveCluster(deps, values.kubeconfig, values.context, featureGates);
    } catch (error) {
      if (error instanceof UsageError) throw error;
      deps.stderr(`apparmor-sim: conformance plan: ${describeApiError(error)}\n`);
      return 1;
    }
  }
  const planned = planScenarios(scenarios, cluster);
  if (output === 'json') deps.stdout(`${JSON.stringify({ scenarios: planned }, null, 2)}\n`);
  else deps.stdout(planTable(planned, scenarios, cluster));
  return 0;
}

function planTable(planned: readonly PlannedScenario[], scenarios: readonly Scenario[], cluster: ClusterDescription): string {
  const lines = [`cluster: API server ${cluster.serverVersion}; nodes: ${cluster.nodes.map((n) => `${n.name} (kubelet ${n.kubeletVersion}, ${n.os}, ${n.runtime ?? n.containerRuntimeVersion}, AppArmor ${n.appArmorEnabled === null ? 'unknown' : n.appArmorEnabled ? 'on' : 'off'})`).join(', ')}`];
  planned.forEach((p, i) => {
    const s = scenarios[i];
    const where = s ? `${s.file}:${s.line}` : '';
    lines.push(p.node !== null ? `RUN  ${p.name} ${where} on ${p.node}` : `SKIP ${p.name} ${where}: ${p.skipReason ?? ''}`);
  });
  const runs = planned.filter((p) => p.node !== null).length;
  lines.push(`${planned.length} scenarios: ${runs} would run, ${planned.length - runs} would be skipped`);
  return `${lines.join('\n')}\n`;
}

function workersFlag(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d+$/.test(value) || Number(value) > 10) throw new UsageError(`--workers: expected a whole number from 0 to 10, got ${JSON.stringify(value)}`);
  return Number(value);
}

function node(partial: Partial<ClusterNode> & Pick<ClusterNode, 'name' | 'kubeletMinor'>): ClusterNode {
  return {
    ready: true,
    kubeletVersion: `v1.${partial.kubeletMinor ?? 0}.0`,
    os: 'linux',
    osImage: '',
    kernelVersion: '',
    containerRuntimeVersion: '',
    runtime: undefined,
    appArmorEnabled: null,
    profiles: [],
    runtimeAppArmor: 'untested',
    runtimeNote: '',
    problems: [],
    failures: [],
    ...partial,
  };
}

/** The nodes `conformance run --kind` creates (kind names them <cluster>-control-plane, <cluster>-worker, -worker2...). */
export function kindCluster(minor: Minor, workers: number, featureGates: FeatureGates, hostAppArmor: boolean | null): ClusterDescription {
  const image = kindImageFor(minor);
  const names = ['kind-control-plane', ...Array.from({ length: workers }, (_, i) => `kind-worker${i === 0 ? '' : String(i + 1)}`)];
  const nodes = names.map((name) =>
    node({
      name,
      kubeletMinor: minor,
      kubeletVersion: image ? (/:(v[0-9.]+)@/.exec(image.image)?.[1] ?? `v1.${minor}.0`) : `v1.${minor}.0`,
      runtime: 'containerd',
      containerRuntimeVersion: 'containerd://',
      appArmorEnabled: hostAppArmor,
      appArmorUnknownWhy: hostAppArmor === null ? 'state unknown (this host has no /sys/module/apparmor/parameters/enabled)' : undefined,
      // The run prepares every node so that containerd applies profiles, and fails if it still does not.
      runtimeAppArmor: hostAppArmor ? 'applies' : 'untested',
    }),
  );
  return { serverVersion: nodes[0]?.kubeletVersion ?? `v1.${minor}`, serverMinor: minor, featureGates, nodes };
}

async function fileCluster(file: string, version: Minor | undefined, featureGates: FeatureGates): Promise<ClusterDescription> {
  const loaded = await loadCluster(file);
  const minor = version ?? loaded.version;
  if (minor === undefined) throw new UsageError(`--cluster ${file} names no API server version; add version: to it or pass --k8s-version`);
  const gates = { ...loaded.featureGates, ...featureGates };
  const nodes = loaded.nodesFor(minor, undefined);
  return {
    serverVersion: `v1.${minor}`,
    serverMinor: minor,
    featureGates: gates,
    nodes: (await nodes).map((n) =>
      node({
        name: n.name,
        kubeletMinor: n.facts.kubeletVersion,
        os: n.facts.os,
        runtime: n.facts.runtime,
        containerRuntimeVersion: `${n.facts.runtime}://`,
        appArmorEnabled: n.facts.appArmorEnabled,
        profiles: [...n.facts.profiles],
        // A cluster file states the node's AppArmor as the model means it: kernel on and runtime applying profiles.
        runtimeAppArmor: n.facts.appArmorEnabled ? 'applies' : 'untested',
      }),
    ),
  };
}

async function liveCluster(deps: PlanDeps, kubeconfig: string | undefined, context: string | undefined, featureGates: FeatureGates): Promise<ClusterDescription> {
  let connection: Connection;
  try {
    connection = await deps.connect({ kubeconfig, context });
  } catch (error) {
    if (error instanceof KubeconfigError || error instanceof NoKubeconfig) throw new UsageError(error.message);
    throw error;
  }
  const version = await connection.api.serverVersion();
  const nodes = (await connection.api.listNodes()).map((info) => ({
    ...clusterNodeFromInfo(info),
    appArmorUnknownWhy: 'state unknown until a run probes the node (describe it in a --cluster file to plan with it)',
  }));
  return { serverVersion: version.gitVersion, serverMinor: parseMinor(version.gitVersion) ?? version.minor, featureGates, nodes };
}
