// `apparmor-sim node snapshot`: a node's AppArmor facts as the YAML dry-run --node reads.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { snapshotNode } from '../cli/commands/node-snapshot.js';
import { ROOT, cli } from './helpers-cli.js';

const FAKE_ROOT = 'fixtures/manifests/node-root';
const TMP = mkdtempSync(join(tmpdir(), 'apparmor-sim-snapshot-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe('node snapshot', () => {
  it('reads a node tree under --root', () => {
    const { node, notes } = snapshotNode({ root: join(ROOT, FAKE_ROOT) });
    expect(notes).toEqual([]);
    expect(node).toMatchObject({ name: 'worker-7', kubeletVersion: '1.30', os: 'linux', appArmorEnabled: true, runtime: 'containerd' });
    expect(node.profiles).toContainEqual({ name: 'log-agent', mode: 'complain' });
    expect(node.profiles).toHaveLength(5);
  });

  it('runs the version commands when there is no --root', () => {
    const calls: string[] = [];
    const { node } = snapshotNode({ root: undefined, name: 'here', run: (command) => (calls.push(command), command === 'kubelet' ? 'Kubernetes v1.29.3\n' : command === 'crio' ? 'crio version 1.29.1\n' : undefined) });
    expect(calls).toEqual(['kubelet', 'containerd', 'crio']);
    expect(node).toMatchObject({ name: 'here', kubeletVersion: '1.29', runtime: 'cri-o' });
  });

  it('notes missing files instead of crashing, with AppArmor off', () => {
    const run = cli(['node', 'snapshot', '--root', join(TMP, 'empty')]);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/securityfs is not mounted/);
    expect(parse(run.stdout)).toMatchObject({ appArmorEnabled: false, profiles: [] });
  });

  it('writes a file dry-run --node takes', () => {
    const out = join(TMP, 'node.yaml');
    expect(cli(['node', 'snapshot', '--root', FAKE_ROOT, '--output', out]).status).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('kubeletVersion: "1.30"');
    const run = cli(['dry-run', 'examples/hello-apparmor.yaml', '--node', out]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('hello: k8s-apparmor-example-deny-write (enforce)');
  });

  it('has help and needs the subcommand', () => {
    expect(cli(['node', '--help']).stdout).toMatch(/^Usage: apparmor-sim node snapshot/);
    expect(cli(['node']).stderr).toMatch(/^apparmor-sim: node needs a subcommand: snapshot/);
  });
});
