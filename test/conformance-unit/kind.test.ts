// The kind driver: generated config, command lines, and the preflight's one-line reasons (with a fake Exec).
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Exec, ExecOptions, ExecResult } from '../../conformance/exec.js';
import { CommandNotFound } from '../../conformance/exec.js';
import { DEFAULT_KIND_MINOR, KIND_NODE_IMAGES, kindImageFor } from '../../conformance/images.js';
import { KindCluster, kindClusterName, kindConfig, kindCreateArgs, kindDeleteArgs, kindEnv, kindExportLogsArgs, kindPreflight } from '../../conformance/kind.js';

type Call = { command: string; args: readonly string[]; options: ExecOptions | undefined };

/** A scripted Exec: answers by command name; records every call. Not a container engine. */
function fakeExec(answers: Record<string, ExecResult | 'missing'>): Exec & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    async run(command, args, options) {
      calls.push({ command, args, options });
      const answer = answers[command];
      if (answer === undefined || answer === 'missing') throw new CommandNotFound(command);
      return answer;
    },
  };
}
const ok = (stdout = ''): ExecResult => ({ exitCode: 0, stdout, stderr: '' });

describe('kind config', () => {
  const spec = { name: 'apparmor-sim-abc', image: 'kindest/node:v1.35.0', workers: 2, featureGates: {} };

  it('mounts securityfs into every node', () => {
    const config = parse(kindConfig(spec)) as { kind: string; apiVersion: string; nodes: Array<{ role: string; extraMounts: unknown }>; featureGates?: unknown };
    expect(config.kind).toBe('Cluster');
    expect(config.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(config.nodes.map((n) => n.role)).toEqual(['control-plane', 'worker', 'worker']);
    for (const node of config.nodes) expect(node.extraMounts).toEqual([{ hostPath: '/sys/kernel/security', containerPath: '/sys/kernel/security' }]);
    expect(config.featureGates).toBeUndefined();
  });

  it('passes feature gates to every component', () => {
    const config = parse(kindConfig({ ...spec, workers: 0, featureGates: { AppArmor: false, AppArmorFields: true } })) as { featureGates: Record<string, boolean>; nodes: unknown[] };
    expect(config.featureGates).toEqual({ AppArmor: false, AppArmorFields: true });
    expect(config.nodes).toHaveLength(1);
  });

  it('builds the kind command lines', () => {
    expect(kindCreateArgs(spec, '/run/kind-config.yaml', '/run/kubeconfig')).toEqual(['create', 'cluster', '--name', 'apparmor-sim-abc', '--image', 'kindest/node:v1.35.0', '--config', '/run/kind-config.yaml', '--kubeconfig', '/run/kubeconfig']);
    expect(kindDeleteArgs('apparmor-sim-abc', '/run/kubeconfig')).toEqual(['delete', 'cluster', '--name', 'apparmor-sim-abc', '--kubeconfig', '/run/kubeconfig']);
    expect(kindExportLogsArgs('apparmor-sim-abc', '/run/logs')).toEqual(['export', 'logs', '/run/logs', '--name', 'apparmor-sim-abc']);
    expect(kindEnv('podman')).toEqual({ KIND_EXPERIMENTAL_PROVIDER: 'podman' });
    expect(kindEnv('docker')).toEqual({});
    expect(kindClusterName('K2J9X0AB')).toBe('apparmor-sim-k2j9x0ab');
  });

  it('runs create with the config and kubeconfig, and reports kind\'s ERROR line on failure', async () => {
    const exec = fakeExec({ kind: { exitCode: 1, stdout: '', stderr: 'Creating cluster ...\n ✗ Starting control-plane\nERROR: failed to create cluster: failed to init node with kubeadm' } });
    const cluster = new KindCluster(exec, spec, 'podman', '/run/kubeconfig');
    await expect(cluster.create('/run/kind-config.yaml', 1000)).rejects.toThrow('kind create cluster failed: ERROR: failed to create cluster: failed to init node with kubeadm');
    expect(exec.calls[0]?.args).toEqual(kindCreateArgs(spec, '/run/kind-config.yaml', '/run/kubeconfig'));
    expect(exec.calls[0]?.options?.env).toEqual({ KIND_EXPERIMENTAL_PROVIDER: 'podman' });
  });
});

describe('kind node images', () => {
  it('covers 1.24 to 1.35, pinned by digest, each from a named kind release', () => {
    expect(KIND_NODE_IMAGES.map((r) => r.minor)).toEqual([24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35]);
    for (const row of KIND_NODE_IMAGES) {
      expect(row.image).toMatch(new RegExp(`^kindest/node:v1\\.${row.minor}\\.\\d+@sha256:[0-9a-f]{64}$`));
      expect(row.kind).toMatch(/^v0\.\d+\.\d+$/);
      expect(row.source).toContain(`kubernetes-sigs/kind@${row.kind}`);
    }
    expect(kindImageFor(DEFAULT_KIND_MINOR)).toBeDefined();
    expect(kindImageFor(20)).toBeUndefined();
  });
});

describe('kind preflight', () => {
  it('kind missing: says so and how to install it', async () => {
    const result = await kindPreflight(fakeExec({ kind: 'missing', docker: ok('28.2.2') }));
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^kind not found on PATH; install kind: https:\/\/kind\.sigs\.k8s\.io\/docs\/user\/quick-start\/#installation/);
    expect(result.message).not.toContain('\n');
  });

  it('docker installed but its daemon down, no podman: names the daemon error', async () => {
    const exec = fakeExec({ kind: ok('kind v0.31.0 go1.25.5 linux/amd64'), docker: { exitCode: 1, stdout: '', stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' }, podman: 'missing' });
    const result = await kindPreflight(exec);
    expect(result).toEqual({
      ok: false,
      message: 'no container engine for kind: docker is installed but not usable (Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?); start the Docker daemon or install Docker (https://docs.docker.com/engine/install/) or Podman',
    });
  });

  it('neither engine installed', async () => {
    const result = await kindPreflight(fakeExec({ kind: ok('kind v0.31.0'), docker: 'missing', podman: 'missing' }));
    expect(result.message).toBe('no container engine for kind: neither docker nor podman is installed; start the Docker daemon or install Docker (https://docs.docker.com/engine/install/) or Podman');
  });

  it('falls back to podman and reports versions', async () => {
    const result = await kindPreflight(fakeExec({ kind: ok('kind v0.31.0 go1.25.5 linux/amd64'), docker: 'missing', podman: ok('5.4.0') }));
    expect(result).toEqual({ ok: true, message: 'kind v0.31.0, podman 5.4.0', engine: 'podman', kindVersion: 'v0.31.0' });
  });

  it('prefers docker when its daemon answers', async () => {
    const exec = fakeExec({ kind: ok('kind v0.30.0 go1.24 linux/amd64'), docker: ok('28.2.2'), podman: ok('5.4.0') });
    expect((await kindPreflight(exec)).engine).toBe('docker');
    expect(exec.calls.map((c) => `${c.command} ${c.args.join(' ')}`)).toEqual(['kind version', 'docker info --format {{.ServerVersion}}']);
  });
});
