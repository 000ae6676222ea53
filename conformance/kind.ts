// The kind driver: the cluster config and command lines (pure, tested), and a small class that runs them.
import type { FeatureGates } from '../sim/types.js';
import type { Exec } from './exec.js';
import { CommandNotFound, firstLine } from './exec.js';

export type ContainerEngine = 'docker' | 'podman';

export interface KindClusterSpec {
  name: string;
  image: string;
  /** Worker nodes besides the control plane. */
  workers: number;
  featureGates: FeatureGates;
}

/**
 * Where the node's securityfs comes from. A kind node is a privileged container; sysfs is mounted in it but
 * securityfs (/sys/kernel/security, where /sys/kernel/security/apparmor lives) is a separate filesystem that is not,
 * so neither the kubelet's AppArmor check nor apparmor_parser would see AppArmor without this mount.
 */
export const SECURITYFS = '/sys/kernel/security';

/** The kind config (kind.x-k8s.io/v1alpha4) as YAML: securityfs mounted into every node, feature gates for all components. */
export function kindConfig(spec: KindClusterSpec): string {
  const lines = ['kind: Cluster', 'apiVersion: kind.x-k8s.io/v1alpha4'];
  const gates = Object.entries(spec.featureGates);
  if (gates.length > 0) {
    lines.push('featureGates:');
    for (const [gate, on] of gates) lines.push(`  ${JSON.stringify(gate)}: ${on}`);
  }
  lines.push('nodes:');
  const roles = ['control-plane', ...Array.from({ length: spec.workers }, () => 'worker')];
  for (const role of roles) {
    lines.push(`- role: ${role}`, '  extraMounts:', `  - hostPath: ${SECURITYFS}`, `    containerPath: ${SECURITYFS}`);
  }
  return `${lines.join('\n')}\n`;
}

export function kindCreateArgs(spec: KindClusterSpec, configPath: string, kubeconfigPath: string): string[] {
  // No --wait: it covers the control plane only; the harness polls until every node is Ready.
  return ['create', 'cluster', '--name', spec.name, '--image', spec.image, '--config', configPath, '--kubeconfig', kubeconfigPath];
}

export function kindDeleteArgs(name: string, kubeconfigPath: string): string[] {
  return ['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfigPath];
}

export function kindExportLogsArgs(name: string, dir: string): string[] {
  return ['export', 'logs', dir, '--name', name];
}

/** kind picks docker unless told otherwise (KIND_EXPERIMENTAL_PROVIDER, kind site docs/user/quick-start). */
export function kindEnv(engine: ContainerEngine): Record<string, string> {
  return engine === 'podman' ? { KIND_EXPERIMENTAL_PROVIDER: 'podman' } : {};
}

/** Cluster names are container name prefixes: lower-case DNS labels, short enough for `<name>-control-plane`. */
export function kindClusterName(runId: string): string {
  return `apparmor-sim-${runId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 40);
}

const INSTALL_KIND = 'install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation (e.g. `go install sigs.k8s.io/kind@v0.31.0`)';

export interface KindPreflight {
  ok: boolean;
  /** One line: what is missing and how to get it (when not ok), or what was found. */
  message: string;
  engine?: ContainerEngine | undefined;
  kindVersion?: string | undefined;
}

/** Is kind installed, and is there a container engine whose daemon answers? Never throws. */
export async function kindPreflight(exec: Exec): Promise<KindPreflight> {
  let kindVersion: string;
  try {
    const version = await exec.run('kind', ['version'], { timeoutMs: 15_000 });
    if (version.exitCode !== 0) return { ok: false, message: `kind is installed but \`kind version\` failed: ${firstLine(version)}` };
    kindVersion = /v\d+\.\d+\.\d+\S*/.exec(version.stdout)?.[0] ?? version.stdout.trim();
  } catch (error) {
    if (error instanceof CommandNotFound) return { ok: false, message: `kind not found on PATH; ${INSTALL_KIND}` };
    return { ok: false, message: `kind version: ${describe(error)}` };
  }
  const problems: string[] = [];
  for (const engine of ['docker', 'podman'] as const) {
    try {
      const info = await exec.run(engine, ['info', '--format', engine === 'docker' ? '{{.ServerVersion}}' : '{{.Version.Version}}'], { timeoutMs: 20_000 });
      if (info.exitCode === 0) return { ok: true, message: `kind ${kindVersion}, ${engine} ${info.stdout.trim()}`, engine, kindVersion };
      problems.push(`${engine} is installed but not usable (${firstLine(info) || `exit code ${info.exitCode}`})`);
    } catch (error) {
      if (!(error instanceof CommandNotFound)) problems.push(`${engine} info: ${describe(error)}`);
    }
  }
  const detail = problems.length > 0 ? problems.join('; ') : 'neither docker nor podman is installed';
  return { ok: false, message: `no container engine for kind: ${detail}; start the Docker daemon or install Docker (https://docs.docker.com/engine/install/) or Podman` };
}

export class KindCluster {
  constructor(
    readonly exec: Exec,
    readonly spec: KindClusterSpec,
    readonly engine: ContainerEngine,
    readonly kubeconfigPath: string,
  ) {}

  /** Creates the cluster; rejects with the first line kind printed on failure. */
  async create(configPath: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const result = await this.exec.run('kind', kindCreateArgs(this.spec, configPath, this.kubeconfigPath), { timeoutMs, env: kindEnv(this.engine), signal });
    if (result.exitCode !== 0) throw new Error(`kind create cluster failed: ${lastErrorLine(result.stderr) || firstLine(result)}`);
  }

  async exportLogs(dir: string): Promise<void> {
    const result = await this.exec.run('kind', kindExportLogsArgs(this.spec.name, dir), { timeoutMs: 300_000, env: kindEnv(this.engine) });
    if (result.exitCode !== 0) throw new Error(`kind export logs failed: ${firstLine(result)}`);
  }

  async delete(): Promise<void> {
    const result = await this.exec.run('kind', kindDeleteArgs(this.spec.name, this.kubeconfigPath), { timeoutMs: 300_000, env: kindEnv(this.engine) });
    if (result.exitCode !== 0) throw new Error(`kind delete cluster failed: ${firstLine(result)}`);
  }
}

/** kind prints progress then `ERROR: failed to create cluster: <why>`; the ERROR line is the useful one. */
function lastErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return [...lines].reverse().find((l) => l.startsWith('ERROR')) ?? '';
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}
