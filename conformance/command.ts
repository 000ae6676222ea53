// `apparmor-sim conformance ...`: entry point called by cli/main.ts (runConformanceCommand). Parses the command line
// and hands over to run.ts; usage mistakes are thrown as UsageError/InputFailure for main to print on one line.
import { join } from 'node:path';
import type { OptionSpecs } from '../io/args.js';
import { EXIT, flagFailure, parseChoice, parseCommandLine, parseFeatureGates, parseVersionFlag, UsageError } from '../io/args.js';
import { loadScenarios } from '../io/load/scenarios.js';
import { gateProblems } from '../sim/feature-gates.js';
import type { Minor } from '../sim/types.js';
import { hostExec } from './exec.js';
import { DEFAULT_HELPER_IMAGE, DEFAULT_KIND_MINOR, KIND_NODE_IMAGES, kindImageFor } from './images.js';
import { kindClusterName } from './kind.js';
import { planCommand, readHostAppArmor } from './plan.js';
import { newRunId } from './run-id.js';
import { realClock } from './replay.js';
import type { ConformanceDeps, ConformanceOptions, Signal, Target } from './run.js';
import { CONFORMANCE_EXIT, runConformance } from './run.js';

const RUN_OPTIONS = {
  kind: { type: 'boolean' },
  'k8s-version': { type: 'string' },
  image: { type: 'string' },
  name: { type: 'string' },
  workers: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'feature-gates': { type: 'string', multiple: true },
  keep: { type: 'boolean' },
  parallel: { type: 'string' },
  timeout: { type: 'string' },
  filter: { type: 'string' },
  output: { type: 'string', short: 'o' },
  record: { type: 'string' },
  logs: { type: 'string' },
  'helper-image': { type: 'string' },
  'sweep-age': { type: 'string' },
} as const satisfies OptionSpecs;

export const CONFORMANCE_EXIT_HELP = `Exit codes:
  0    every replayed scenario agrees with the model and its expectation
  1    some scenario disagrees or hit an infrastructure error; the run failed (cluster setup, node facts unknown,
       --kind nodes whose runtime still refuses AppArmor after preparation, a named cluster that does not answer);
       nothing could be replayed on the cluster; or cleanup left resources behind
  2    usage or input error (one line per error on stderr), including a --kubeconfig that does not exist, is not a
       regular file or does not parse, a --context it lacks, and a credential plugin that fails or hangs
  3    internal error (a bug in apparmor-sim; please report it)
  4    no cluster at all: kind or a container engine missing for --kind, no kubeconfig, or the default kubeconfig's
       API server not answering
  130  interrupted (SIGINT), after cleanup; 143 for SIGTERM`;

export const CONFORMANCE_HELP = `Usage: apparmor-sim conformance run <files|dirs> (--kind | --kubeconfig FILE) [options]
       apparmor-sim conformance plan <files|dirs> (--kind | --kubeconfig FILE | --cluster FILE) [--output json]
       apparmor-sim conformance images [--output json]

Replays scenarios on a real cluster and compares what it does with the model's prediction for that cluster's nodes and
with each scenario's expectation. Scenarios decided by the API server or admission run on any Ready Linux node of their
API server version; the others need a node that meets their preconditions (kubelet version, OS, runtime, AppArmor on or
off, feature gates) and are skipped with the reason otherwise. 'conformance plan' shows the placement without running.

Cluster:
  --kind                  create a kind cluster for the run (needs kind and docker or podman, and network access from
                          the nodes to deb.debian.org: apparmor_parser is installed in each node); deleted afterwards
  --k8s-version V         Kubernetes version of the kind cluster (${KIND_NODE_IMAGES.map((r) => `1.${r.minor}`).join(', ')}; default 1.${DEFAULT_KIND_MINOR})
  --image IMAGE           kind node image instead of the table's (see 'conformance images')
  --name NAME             kind cluster name (default apparmor-sim-<run id>)
  --workers N             kind worker nodes besides the control plane (default 0)
  --kubeconfig FILE       use an existing cluster (default: $KUBECONFIG or ~/.kube/config)
  --context NAME          kubeconfig context to use
  --feature-gates A=true  gates the cluster runs with (kind: configured on every component; existing cluster: declared)

Run:
  --parallel N            scenarios at a time (default 4)
  --timeout SECONDS       per scenario (default 300)
  --filter SUBSTRING      only scenarios whose name contains SUBSTRING
  --keep                  keep the cluster, namespaces and loaded profiles
  --record DIR            save each observation as a recording (checked by 'scenarios run --recordings DIR')
  --logs DIR              diagnostics (pod status, events, kubelet/runtime logs) go here (default .conformance-runs/<run id>)
  --helper-image IMAGE    image of the privileged probe/loader pods (default ${DEFAULT_HELPER_IMAGE})
  --sweep-age SECONDS     delete leftovers (namespaces; profiles, by the start time in their run id) of earlier runs
                          older than this (default 3600)
  -o, --output FORMAT     table (default) | json | junit
  -h, --help              show this help

${CONFORMANCE_EXIT_HELP}
`;

export async function runConformanceCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(CONFORMANCE_HELP);
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  if (sub === 'images') return imagesCommand(rest);
  if (sub === 'plan') {
    return planCommand(rest, {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      connect: async (options) => (await import('./k8s-client.js')).connect(options),
      hostAppArmor: readHostAppArmor,
    });
  }
  if (sub !== 'run') throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (expected: run, plan, images)`, true, 'conformance');
  return runCommand(rest, realDeps());
}

function imagesCommand(argv: string[]): number {
  const { values, positionals, help } = parseCommandLine(argv, { output: { type: 'string', short: 'o' } } as const, 'conformance');
  if (help) {
    process.stdout.write(CONFORMANCE_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0] ?? ''}`, true, 'conformance');
  const output = parseChoice('--output', values.output ?? 'table', ['table', 'json'] as const);
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify(KIND_NODE_IMAGES.map((r) => ({ version: `1.${r.minor}`, image: r.image, kind: r.kind, source: r.source })), null, 2)}\n`);
  } else {
    process.stdout.write(KIND_NODE_IMAGES.map((r) => `1.${r.minor}  ${r.image}  kind ${r.kind}`).join('\n') + '\n');
  }
  return EXIT.ok;
}

/** The run options as given on the command line: scenario paths and a filter instead of loaded scenarios. */
export type ParsedRun = Omit<ConformanceOptions, 'scenarios' | 'pollMs' | 'nodesReadySec'> & {
  paths: string[];
  filter: string | undefined;
};

/** Parses `conformance run` arguments; throws UsageError or InputFailure. Exported for tests. */
export function parseRunArguments(argv: readonly string[], runId = newRunId()): ParsedRun | 'help' {
  const { values, positionals, help } = parseCommandLine(argv, RUN_OPTIONS, 'conformance');
  if (help) return 'help';
  if (positionals.length === 0) throw new UsageError('conformance run needs at least one scenario file or directory', true, 'conformance');
  const kindOnly = (['k8s-version', 'image', 'name', 'workers'] as const).filter((flag) => values[flag] !== undefined);
  if (values.kind && (values.kubeconfig !== undefined || values.context !== undefined)) {
    throw new UsageError('--kind creates its own cluster; it cannot be combined with --kubeconfig or --context', true, 'conformance');
  }
  if (!values.kind && kindOnly.length > 0) throw new UsageError(`${kindOnly.map((f) => `--${f}`).join(', ')} only apply with --kind`, true, 'conformance');
  const featureGates = parseFeatureGates(values['feature-gates'] ?? []);

  let target: Target;
  if (values.kind) {
    const minor = kindMinor(values['k8s-version'], values.image);
    const row = kindImageFor(minor);
    const image = values.image ?? row?.image;
    if (!image) {
      throw new UsageError(`--k8s-version: no kind node image for 1.${minor} in the table (have ${KIND_NODE_IMAGES.map((r) => `1.${r.minor}`).join(', ')}); pass --image kindest/node:v1.${minor}.N`);
    }
    const problems = [...gateProblems(featureGates, minor, 'kube-apiserver'), ...gateProblems(featureGates, minor, 'kubelet')].map((p) => p.message);
    if (problems.length > 0) throw flagFailure(problems);
    target = {
      kind: 'kind',
      minor,
      image,
      imageKind: values.image === undefined ? row?.kind : undefined,
      name: values.name ?? kindClusterName(runId),
      workers: integerFlag('--workers', values.workers, 0, 0, 10),
    };
  } else {
    target = { kind: 'kubeconfig', kubeconfig: values.kubeconfig, context: values.context };
  }
  return {
    paths: positionals,
    filter: values.filter,
    target,
    featureGates,
    keep: values.keep === true,
    parallel: integerFlag('--parallel', values.parallel, 4, 1, 64),
    timeoutSec: integerFlag('--timeout', values.timeout, 300, 10, 86_400),
    output: parseChoice('--output', values.output ?? 'table', ['table', 'json', 'junit'] as const),
    recordDir: values.record,
    logsDir: values.logs ?? join('.conformance-runs', runId),
    helperImage: values['helper-image'] ?? DEFAULT_HELPER_IMAGE,
    sweepAgeSec: integerFlag('--sweep-age', values['sweep-age'], 3600, 0, 365 * 86_400),
    runId,
  };
}

function kindMinor(version: string | undefined, image: string | undefined): Minor {
  const fromImage = image === undefined ? undefined : /:v1\.(\d+)\./.exec(image)?.[1];
  const fromFlag = version === undefined ? undefined : parseVersionFlag('--k8s-version', version);
  if (fromFlag !== undefined && fromImage !== undefined && Number(fromImage) !== fromFlag) {
    throw new UsageError(`--image ${image ?? ''} is Kubernetes 1.${fromImage}, but --k8s-version says 1.${fromFlag}`);
  }
  if (fromFlag !== undefined) return fromFlag;
  if (fromImage !== undefined) return Number(fromImage);
  if (image !== undefined) throw new UsageError(`--image ${image}: cannot tell its Kubernetes version from the tag; add --k8s-version`);
  return DEFAULT_KIND_MINOR;
}

function integerFlag(flag: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return Number(value);
}

export async function runCommand(argv: readonly string[], deps: ConformanceDeps): Promise<number> {
  const parsed = parseRunArguments(argv);
  if (parsed === 'help') {
    deps.stdout(CONFORMANCE_HELP);
    return EXIT.ok;
  }
  let scenarios = await loadScenarios(parsed.paths);
  if (scenarios.length === 0) throw new UsageError(`no scenarios found in ${parsed.paths.join(', ')}`);
  if (parsed.filter !== undefined) {
    const filter = parsed.filter;
    scenarios = scenarios.filter((s) => s.name.includes(filter));
    if (scenarios.length === 0) throw new UsageError(`--filter: no scenario name contains ${JSON.stringify(filter)}`);
  }
  return runConformance({ ...parsed, scenarios }, deps);
}

function realDeps(): ConformanceDeps {
  return {
    exec: hostExec,
    connect: async (options) => (await import('./k8s-client.js')).connect(options),
    clock: realClock,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    forceExit: (code) => process.exit(code),
    onSignal(handler) {
      const onInt = () => handler('SIGINT');
      const onTerm = () => handler('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      return () => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
      };
    },
  };
}

export type { Signal };
export { newRunId };
export { CONFORMANCE_EXIT };
